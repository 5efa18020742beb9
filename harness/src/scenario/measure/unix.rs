//! `unix = { record = "r", value = "eagain" }`: a count of a `unix` step's tally.

use serde::Deserialize;
use toml::Spanned;

use super::word::{record, wrong_kind, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixMatch {
    pub record: String,
    pub value: Spanned<String>,
}

impl MeasureWord for UnixMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(
            &self.record,
            &|k| matches!(k, RecordKind::Unix { .. }),
            "a unix step's tally",
        );
        cx.one_of(&self.value, &crate::load::unix::VALUES);
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        match record(ev, &self.record)? {
            // Connects that all failed (no socket, refused) measured nothing: not a 0.
            Recorded::Unix(tally) if tally.attempts > 0 && tally.connected == 0 && tally.eagain == 0 => {
                Err(format!(
                    "none of the {} connect(s) of {:?} to {} connected: {}",
                    tally.attempts,
                    self.record,
                    tally.socket,
                    tally.errors.first().map(String::as_str).unwrap_or("no error kept")
                ))
            }
            Recorded::Unix(tally) => tally
                .value(self.value.get_ref())
                .ok_or_else(|| format!("unknown value {}", self.value.get_ref())),
            other => Err(wrong_kind(&self.record, other, "a unix step's tally")),
        }
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
