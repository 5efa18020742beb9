//! A racy case (`repeat = N`) as one record: the outcome over its runs ("3 of 20") and the run
//! it speaks for, shown in a folder of its own beside the runs' folders.

use std::path::PathBuf;

use crate::report::{self, CaseRecord};
use crate::scenario::outcome::{self, Outcome};

/// The aggregate of a repeated case's runs, named `name` (the case without its run number),
/// and the folder of the run it shows.
pub(crate) fn aggregate(
    runs: &[CaseRecord],
    name: String,
    evidence_dir: PathBuf,
) -> (CaseRecord, PathBuf) {
    let n = runs.len() as u32;
    let reproduced = runs
        .iter()
        .filter(|r| r.outcome == Outcome::Reproduced)
        .count() as u32;
    let errors = runs.iter().filter(|r| r.outcome == Outcome::Error).count() as u32;
    let outcomes: Vec<Outcome> = runs.iter().map(|r| r.outcome).collect();
    let (outcome, summary) = outcome::repeated(&outcomes);
    // The run whose record is shown: the first in which HAProxy died (a death outweighs the
    // rest), else the first that could not run (it is why the case is an error), else the
    // first that showed the symptom, else the last.
    let shown = [Outcome::Crashed, Outcome::Error, Outcome::Reproduced]
        .iter()
        .find_map(|o| runs.iter().find(|r| r.outcome == *o))
        .or(runs.last())
        .expect("at least two runs");
    let shown_dir = shown.evidence_dir.clone();
    let mut record = shown.clone();
    record.case = name;
    record.evidence_dir = evidence_dir;
    // The aggregate's folder shows the timeline of the run it speaks for (see `write`).
    record.evidence = Vec::new();
    record.outcome = outcome;
    record.reason = format!("{summary}; this run: {}", record.reason);
    record.repeat = Some(report::RepeatSummary {
        runs: n,
        ran: n - errors,
        reproduced,
        errors,
        each: runs
            .iter()
            .map(|r| report::RunSummary {
                outcome: r.outcome,
                reason: r.reason.clone(),
                evidence_dir: r.evidence_dir.clone(),
            })
            .collect(),
    });
    (record, shown_dir)
}
