//! What every step word implements ([`Word`], [`Run`]) and the helpers words share: apart
//! from the registry (`mod.rs`), which lists the words, so a word never imports the list it
//! is on.

use std::time::Duration;

pub(crate) use crate::scenario::case::CaseState;
pub(crate) use crate::scenario::check::Cx;
use crate::scenario::problem::Problem;

/// One step word. The sync part; [`Run`] is the async one.
pub(crate) trait Word {
    /// Everything that can be checked when the file loads: names, fields that go together,
    /// bounds (`bounds.rs`), the records the step keeps.
    fn check(&self, cx: &mut Cx<'_, '_, '_>);

    /// The step in words, for the timeline and the record.
    fn describe(&self) -> String;

    /// The longest the step can take when everything it waits for times out (the margin
    /// around it is added by `deadline.rs`).
    fn budget(&self) -> Duration;

    /// The record the step writes, if any (the timeline draws its window).
    fn record(&self) -> Option<&str> {
        None
    }

    /// DNS names the step sets or changes, as written (the zone knows them from then on).
    fn dns_names(&self) -> Vec<&str> {
        Vec::new()
    }

    /// A rough duration in seconds, for scheduling cases over workers.
    fn cost(&self) -> f64 {
        0.1
    }
}

/// Running a step word: returns what it saw (for the timeline) or why it failed, which ends
/// the case as `error`.
pub(crate) trait Run {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem>;
}

/// The text of an answer on one line: its first `n` non-empty lines, each cut at 100
/// characters, for step details.
pub(crate) fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut shown = lines
        .iter()
        .take(n)
        .map(|l| match l.char_indices().nth(100) {
            Some((i, _)) => format!("{}…", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ");
    if lines.len() > n {
        shown.push_str(&format!(" | ... ({} lines)", lines.len()));
    }
    shown
}

pub(crate) fn default_true() -> bool {
    true
}

pub(crate) fn default_within() -> crate::scenario::duration::Dur {
    crate::scenario::duration::Dur(Duration::from_secs(5))
}
