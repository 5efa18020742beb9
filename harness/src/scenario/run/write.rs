//! The case writer: what a case leaves on disk beside the evidence its steps kept as they ran
//! (pcaps, logs, records): its timeline (JSON and SVG), the folder of a repeated case's
//! aggregate, and `case.json`, written last. A file that cannot be written makes the case
//! `error` with the reason, never a verdict standing on nothing.

use std::path::Path;
use std::time::Instant;

use crate::report::{self, CaseRecord};
use crate::scenario::case::CaseState;
use crate::scenario::evidence::Evidence;
use crate::scenario::outcome::{verdict, Outcome};

use super::case::{Case, CaseEvent};

/// Writes the case's timeline, from the record and the evidence (the steps' records live in
/// the evidence once it is collected). Before teardown: HAProxy's log is read again, with
/// Docker's timestamps, while the loads still run.
pub(crate) async fn timeline(
    case: &Case<'_>,
    state: &mut CaseState<'_>,
    evidence: &Evidence,
    record: &CaseRecord,
) {
    let timeline = super::timeline::build(case, state, evidence, record).await;
    if let Ok(json) = serde_json::to_string(&timeline) {
        state.write_evidence(report::timeline::JSON_FILE, json);
    }
    state.write_evidence(report::timeline::SVG_FILE, report::timeline::svg(&timeline));
    // The evidence was flushed once already (for the measures); the timeline comes after.
    state.flush_evidence().await;
}

/// The aggregate of a repeated case shows the timeline of the run it speaks for, copied from
/// that run's folder into its own.
pub(crate) fn aggregate_folder(record: &mut CaseRecord, shown_run: &Path) {
    if std::fs::create_dir_all(&record.evidence_dir).is_ok() {
        for file in [report::timeline::JSON_FILE, report::timeline::SVG_FILE] {
            if std::fs::copy(shown_run.join(file), record.evidence_dir.join(file)).is_ok() {
                record.evidence.push(file.to_string());
            }
        }
    }
}

pub(crate) async fn finish(
    mut record: CaseRecord,
    started: Instant,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    record.wall_ms = started.elapsed().as_millis() as u64;
    record.verdict = verdict(record.outcome, record.expected);
    let copy = record.clone();
    let written = tokio::task::spawn_blocking(move || report::write_case(&copy))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    if let Err(e) = written {
        // A case whose record is not on disk is lost to the reports and to `report merge`.
        record
            .reason
            .push_str(&format!(" (case.json not written: {e})"));
        record.outcome = Outcome::Error;
        record.verdict = verdict(record.outcome, record.expected);
        record.harness_error.get_or_insert_with(|| {
            format!(
                "cannot write {}: {e}\n  Free space there, or give another --results-dir.",
                record.evidence_dir.join("case.json").display()
            )
        });
    }
    on_event(CaseEvent::Done(&record));
    record
}
