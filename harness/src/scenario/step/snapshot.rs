//! `snapshot = { of = "load", record = "after" }`: the state of every session of a running
//! `sessions` load at this moment, for the `sessions` measure.

use std::time::Duration;

use serde::Deserialize;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;

/// Keeps the state of every session of a `sessions` load at this moment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotStep {
    /// The `sessions` step's record.
    pub of: String,
    pub record: String,
}

impl Word for SnapshotStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        match cx.flow.records.get(&self.of).map(|(kind, _)| kind.clone()) {
            Some(RecordKind::Load) => {}
            Some(kind) => cx.error(
                "step.snapshot.of",
                format!(
                    "{:?} is recorded by {}, not by a sessions step",
                    self.of,
                    kind.words()
                ),
            ),
            None => cx.error(
                "step.snapshot.of",
                format!("no earlier sessions step records {:?}", self.of),
            ),
        }
        cx.record(&self.record, RecordKind::Snapshot);
    }

    fn describe(&self) -> String {
        format!("snapshot of {} as {}", self.of, self.record)
    }

    fn budget(&self) -> Duration {
        Duration::ZERO
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}

impl Run for SnapshotStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let load = state
            .live.loads
            .get(&self.of)
            .ok_or_else(|| format!("no running load {:?}", self.of))?;
        let snapshot = load.snapshot();
        let open = snapshot.count(None, "open");
        let mut servers: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
        for s in &snapshot.sessions {
            let entry = servers
                .entry(s.server.clone().unwrap_or_else(|| "no banner".into()))
                .or_default();
            if s.closed_ms.is_none() && s.opened_ms.is_some() {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        let detail = format!(
            "{open} open of {}: {}; churn {} tried, {} answered",
            snapshot.sessions.len(),
            servers
                .iter()
                .map(|(k, (o, c))| format!("{k} {o} open/{c} closed"))
                .collect::<Vec<_>>()
                .join(", "),
            snapshot.churn.attempted,
            snapshot.churn.banners
        );
        state
            .kept.records
            .insert(self.record.clone(), Recorded::Sessions(snapshot));
        Ok(detail)
    }
}
