//! `counted = { record = "up", value = "matched" }`: a count wait's tally.

use serde::Deserialize;
use toml::Spanned;

use super::word::{record, wrong_kind, Cx, MeasureWord};
use crate::scenario::record::CountTally;
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountedMatch {
    pub record: String,
    /// `matched` by default.
    #[serde(default)]
    pub value: Option<Spanned<String>>,
}

impl MeasureWord for CountedMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(
            &self.record,
            &|k| *k == RecordKind::Count,
            "a count wait's tally",
        );
        if let Some(v) = &self.value {
            cx.one_of(v, &CountTally::VALUES);
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        match record(ev, &self.record)? {
            Recorded::Count(tally) => {
                let value = self
                    .value
                    .as_ref()
                    .map_or("matched", |v| v.get_ref().as_str());
                tally
                    .value(value)
                    .ok_or_else(|| format!("unknown value {value}"))
            }
            other => Err(wrong_kind(&self.record, other, "a count wait's tally")),
        }
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
