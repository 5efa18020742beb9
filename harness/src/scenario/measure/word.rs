//! What every measure word implements ([`MeasureWord`]) and the helpers measures share: apart
//! from the registry (`mod.rs`), which lists the measures, so a measure never imports the list
//! it is on.

pub(crate) use crate::scenario::check::Cx;
use crate::scenario::evidence::Evidence;
use crate::scenario::record::{RecordKind, Recorded};

/// One measure word.
pub(crate) trait MeasureWord {
    /// What can be checked when the file loads: the record it reads and its kind, names,
    /// fields.
    fn check(&self, cx: &mut Cx<'_, '_, '_>);

    /// The number, from the evidence; an error when the evidence it needs is missing.
    fn compute(&self, ev: &Evidence) -> Result<f64, String>;

    /// The record it reads, if any (the timeline draws the measure over that step).
    fn record(&self) -> Option<&str> {
        None
    }

    /// It reads an instance's death: in `reproduced_if`, it names the crash as the symptom.
    fn names_a_crash(&self) -> bool {
        false
    }
}

/// A record kind that is a runtime API answer of this command.
pub(crate) fn api(command: &'static str) -> impl Fn(&RecordKind) -> bool {
    move |k: &RecordKind| k.is_api(command)
}

/// A count as a measure's number.
pub(crate) fn count(n: usize) -> Result<f64, String> {
    Ok(n as f64)
}

pub(crate) fn record<'a>(ev: &'a Evidence, name: &str) -> Result<&'a Recorded, String> {
    ev.records
        .get(name)
        .ok_or_else(|| format!("no record {name:?} (did its step run?)"))
}

pub(crate) fn answer<'a>(ev: &'a Evidence, name: &str) -> Result<&'a str, String> {
    match record(ev, name)? {
        Recorded::Api { answer, .. } => Ok(answer),
        other => Err(wrong_kind(name, other, "a recorded answer")),
    }
}

pub(crate) fn wrong_kind(name: &str, found: &Recorded, wanted: &str) -> String {
    format!("record {name:?} is {}, not {wanted}", found.kind())
}

pub(crate) fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
