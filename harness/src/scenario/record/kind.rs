//! What a step declares it records, so a measure can be checked at load against the kind it reads.

/// What a step records, so a measure can be checked against the kind it reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RecordKind {
    /// A runtime API answer, with its command and the instance asked.
    Api {
        command: String,
        instance: Option<String>,
    },
    /// A command's output in a container.
    Exec,
    /// A `removable` step's answer (`removable=1`...).
    Removable,
    Http,
    Start,
    /// A `unix` step's tally; `holds` when it keeps connections open (for `release`).
    Unix {
        holds: bool,
    },
    /// A running `sessions` load (for `snapshot`, not for measures).
    Load,
    /// A `snapshot` of a load.
    Snapshot,
    /// A count wait's tally.
    Count,
    /// A `flap` step's flips.
    Flap,
    /// A `reload` step's workers.
    Reload,
}

impl RecordKind {
    pub(crate) fn words(&self) -> String {
        match self {
            RecordKind::Api { command, .. } => format!("an api step (`{command}`)"),
            RecordKind::Exec => "an exec step".into(),
            RecordKind::Removable => "a removable step".into(),
            RecordKind::Http => "an http step".into(),
            RecordKind::Start => "a start step".into(),
            RecordKind::Unix { .. } => "a unix step".into(),
            RecordKind::Load => "a sessions step (snapshot it to measure it)".into(),
            RecordKind::Snapshot => "a snapshot step".into(),
            RecordKind::Count => "a count wait".into(),
            RecordKind::Flap => "a flap step".into(),
            RecordKind::Reload => "a reload step".into(),
        }
    }

    pub(crate) fn is_text(&self) -> bool {
        matches!(
            self,
            RecordKind::Api { .. } | RecordKind::Exec | RecordKind::Removable
        )
    }

    /// An api record of this runtime API command (`show servers state` matches
    /// `show servers state be`).
    pub(crate) fn is_api(&self, wanted: &str) -> bool {
        match self {
            RecordKind::Api { command, .. } => {
                let words: Vec<&str> = command.split_whitespace().collect();
                let wanted: Vec<&str> = wanted.split_whitespace().collect();
                // A master CLI prefix (`@1 show info`) talks to a worker: same answer.
                let words = match words.first() {
                    Some(w) if w.starts_with('@') => &words[1..],
                    _ => &words[..],
                };
                words.len() >= wanted.len() && words[..wanted.len()] == wanted[..]
            }
            _ => false,
        }
    }
}
