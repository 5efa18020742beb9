//! `unix = { record = "r", value = "eagain" }`: a count of a `unix` step's tally.

use serde::Deserialize;
use toml::Spanned;

use super::{record, wrong_kind, MeasureCx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::load::RecordKind;
use crate::scenario::record::Recorded;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixMatch {
    pub record: String,
    pub value: Spanned<String>,
}

impl MeasureWord for UnixMatch {
    fn check(&self, cx: &mut MeasureCx<'_, '_, '_>) {
        cx.record(
            &self.record,
            &|k| matches!(k, RecordKind::Unix { .. }),
            "a unix step's tally",
        );
        cx.one_of(&self.value, &crate::load::unix::VALUES);
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        match record(ev, &self.record)? {
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
