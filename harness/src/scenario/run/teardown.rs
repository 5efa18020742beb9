//! The teardown stage: clients, then backends (their sockets closed before their addresses
//! go), then Docker; the evidence the case wrote joins its record, and evidence that could not
//! be written makes the case `error` (its verdict would stand on files that are not there).

use crate::report::CaseRecord;
use crate::scenario::case::CaseState;
use crate::scenario::outcome::Outcome;
use crate::scenario::problem::error_chain;

pub(crate) async fn teardown(mut state: CaseState<'_>, record: &mut CaseRecord) {
    state.live.loads.clear();
    for backend in std::mem::take(&mut state.live.backends) {
        backend.shutdown().await;
    }
    if let Err(e) = state.live.sandbox.teardown().await {
        record
            .reason
            .push_str(&format!(" (teardown: {})", error_chain(&e)));
    }
    for instance in &state.live.instances {
        let _ = std::fs::remove_dir_all(&instance.sock_dir);
    }
    record.evidence = std::mem::take(&mut state.kept.evidence);
    if !state.kept.lost.is_empty() {
        record.outcome = Outcome::Error;
        record.reason = format!(
            "evidence not written ({}); was: {}",
            state.kept.lost.join("; "),
            record.reason
        );
        record.harness_error = Some(format!(
            "cannot write evidence into {}: {}\n  Free space there, or give another --results-dir.",
            record.evidence_dir.display(),
            state.kept.lost.join("; ")
        ));
    }
}
