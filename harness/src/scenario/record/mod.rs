//! Typed records: what a step keeps under its `record` name for the measures and the evidence
//! folder. Each kind is its own variant, so a measure that reads a record of another kind fails
//! naming the record and both kinds (at load from the steps' declared kinds, and again at run
//! time from what was kept), never reading 0.

use crate::load::HttpExchange;

mod capture;
mod count;
mod flap;
mod kind;
mod poll;
mod reload;

pub(crate) use capture::CaptureRun;
pub use count::CountTally;
pub use flap::{FlapLog, Flip};
pub(crate) use kind::RecordKind;
pub(crate) use poll::{note_poll, ServerPoll};
pub use reload::ReloadLog;

/// What the steps kept for the measures and the evidence folder.
#[derive(Debug, Clone)]
pub enum Recorded {
    Api {
        command: String,
        answer: String,
    },
    Http(Vec<HttpExchange>),
    /// A `start` step: whether the instance became ready, and what it said.
    Start {
        ready: bool,
    },
    /// A `unix` step's tally.
    Unix(crate::load::unix::UnixTally),
    /// Every session of a `sessions` load at one moment.
    Sessions(crate::load::sessions::Snapshot),
    /// A count wait's tally.
    Count(CountTally),
    /// A `flap` step's flips: what was set when, and whether HAProxy followed.
    Flap(FlapLog),
    /// A `reload` step's old and new workers.
    Reload(ReloadLog),
}

impl Recorded {
    /// The kind in words, for an error naming a record of the wrong kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Recorded::Api { .. } => "a recorded answer (api, exec or removable)",
            Recorded::Http(_) => "an http step's exchanges",
            Recorded::Start { .. } => "a start step's readiness",
            Recorded::Unix(_) => "a unix step's tally",
            Recorded::Sessions(_) => "a snapshot of sessions",
            Recorded::Count(_) => "a count wait's tally",
            Recorded::Flap(_) => "a flap step's flips",
            Recorded::Reload(_) => "a reload step's workers",
        }
    }

    /// A named number of the record, for the `value` measure (flap and reload records); `None`
    /// for a name the kind does not have.
    pub fn value(&self, name: &str) -> Option<f64> {
        match self {
            Recorded::Flap(log) => log.value(name),
            Recorded::Reload(log) => log.value(name),
            _ => None,
        }
    }

    /// The file the record is kept in in the evidence folder, and its contents.
    pub(crate) fn evidence_file(&self, name: &str) -> Option<(String, Vec<u8>)> {
        let json = |prefix: &str, value: &dyn erased::Json| {
            Some((format!("{prefix}-{name}.json"), value.pretty().into_bytes()))
        };
        match self {
            Recorded::Api { command, answer } => Some((
                format!("api-{name}.txt"),
                format!("> {command}\n{answer}").into_bytes(),
            )),
            Recorded::Http(exchanges) => json("http", exchanges),
            Recorded::Start { .. } => None,
            Recorded::Sessions(snapshot) => json("sessions", snapshot),
            Recorded::Unix(tally) => json("unix", tally),
            Recorded::Count(tally) => json("count", tally),
            Recorded::Flap(log) => json("flap", log),
            Recorded::Reload(log) => json("reload", log),
        }
    }
}

mod erased {
    /// Pretty JSON of any serialisable record, behind one reference type.
    pub trait Json {
        fn pretty(&self) -> String;
    }

    impl<T: serde::Serialize> Json for T {
        fn pretty(&self) -> String {
            serde_json::to_string_pretty(self).unwrap_or_default()
        }
    }
}
