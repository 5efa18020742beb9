//! `value = { record = "flaps", value = "followed" }`: a named number of a `flap` or `reload`
//! step's record (`flips`, `followed`, `until_met`; `old_pid`, `new_pid`, `new_workers`,
//! `old_workers_left`, `reload_ms`).

use serde::Deserialize;
use toml::Spanned;

use super::word::{record, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;
use crate::scenario::record::FlapLog;
use crate::scenario::record::ReloadLog;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMatch {
    pub record: String,
    pub value: Spanned<String>,
}

impl MeasureWord for ValueMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let kind = cx.reads(
            &self.record,
            &|k| matches!(k, RecordKind::Flap | RecordKind::Reload),
            "a flap or reload step's record",
        );
        let values: &[&str] = match kind {
            Some(RecordKind::Flap) => &FlapLog::VALUES,
            Some(RecordKind::Reload) => &ReloadLog::VALUES,
            _ => return,
        };
        cx.one_of(&self.value, values);
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let rec = record(ev, &self.record)?;
        rec.value(self.value.get_ref()).ok_or_else(|| {
            format!(
                "record {:?} is {}, which has no value {:?}",
                self.record,
                rec.kind(),
                self.value.get_ref()
            )
        })
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
