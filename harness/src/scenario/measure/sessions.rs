//! `sessions = { record = "after", server = "web1", state = "open" }`: sessions of a snapshot,
//! of a server (`none`: never got a banner), open, closed or any.

use serde::Deserialize;
use toml::Spanned;

use super::word::{count, record, wrong_kind, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsMatch {
    pub record: String,
    #[serde(default)]
    pub server: Option<String>,
    pub state: Spanned<String>,
}

impl MeasureWord for SessionsMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(
            &self.record,
            &|k| *k == RecordKind::Snapshot,
            "a snapshot (snapshot = { of = ..., record = ... })",
        );
        if !crate::load::sessions::STATES.contains(&self.state.get_ref().as_str()) {
            cx.error_here_at(
                self.state.span(),
                format!(
                    "unknown state {:?}: expected open, closed or any",
                    self.state.get_ref()
                ),
            );
        }
        if let Some(server) = &self.server {
            if server != "none" && !cx.names.backends.contains_key(server) {
                let backends = cx.names.backends.keys().cloned().collect::<Vec<_>>();
                cx.error_in(
                    "server",
                    format!(
                        "{server:?} is no backend of the topology (or \"none\": no banner); backends: {}",
                        backends.join(", ")
                    ),
                );
            }
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        match record(ev, &self.record)? {
            Recorded::Sessions(snapshot) => count(
                snapshot.count(self.server.as_deref(), self.state.get_ref()),
            ),
            other => Err(wrong_kind(&self.record, other, "a snapshot of sessions")),
        }
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
