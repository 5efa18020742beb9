//! `responses = { record = "r", from = ["web1"], failed = false, status = 200 }`: HTTP
//! exchanges of an `http` step's record.

use std::collections::BTreeSet;

use serde::Deserialize;
use toml::Spanned;

use super::word::{count, record, wrong_kind, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseMatch {
    pub record: String,
    /// Only answers from these backends.
    #[serde(default)]
    pub from: Option<Vec<Spanned<String>>>,
    /// Only exchanges that failed (no HTTP answer), or only those that did not.
    #[serde(default)]
    pub failed: Option<bool>,
    #[serde(default)]
    pub status: Option<u16>,
}

impl MeasureWord for ResponseMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(
            &self.record,
            &|k| *k == RecordKind::Http,
            "an http step's exchanges",
        );
        let field = format!("{}.from", cx.field);
        for from in self.from.iter().flatten() {
            let backends: BTreeSet<String> = cx.names.backends.keys().cloned().collect();
            cx.c.role(&backends, from, &field);
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let exchanges = match record(ev, &self.record)? {
            Recorded::Http(exchanges) => exchanges,
            other => return Err(wrong_kind(&self.record, other, "an http step's exchanges")),
        };
        count(
            exchanges
                .iter()
                .filter(|e| {
                    self.failed.is_none_or(|f| f == e.status.is_none())
                        && self.status.is_none_or(|s| e.status == Some(s))
                        && self.from.as_ref().is_none_or(|from| {
                            e.server
                                .as_ref()
                                .is_some_and(|s| from.iter().any(|f| f.get_ref() == s))
                        })
                })
                .count(),
        )
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
