//! `table_entries = { record = "t", field = "server_id", equals = "1" }`: entries of a
//! recorded `show table` whose data field has this value (every entry without a field).

use serde::Deserialize;

use super::word::{answer, api, count, join, Cx, MeasureWord};
use crate::haproxy::Table;
use crate::scenario::evidence::Evidence;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMatch {
    pub record: String,
    /// `server_id`, `gpc0`, ...; with `equals`. Without, every entry counts.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
}

/// Stick-table data types (before any `(period)` or `[index]`), and the words every entry has.
const TABLE_FIELDS: [&str; 31] = [
    "use",
    "exp",
    "shard",
    "server_id",
    "server_key",
    "server_name",
    "gpt0",
    "gpt",
    "gpc0",
    "gpc0_rate",
    "gpc1",
    "gpc1_rate",
    "gpc",
    "gpc_rate",
    "conn_cnt",
    "conn_cur",
    "conn_rate",
    "sess_cnt",
    "sess_rate",
    "http_req_cnt",
    "http_req_rate",
    "http_err_cnt",
    "http_err_rate",
    "http_fail_cnt",
    "http_fail_rate",
    "bytes_in_cnt",
    "bytes_in_rate",
    "bytes_out_cnt",
    "bytes_out_rate",
    "glitch_cnt",
    "glitch_rate",
];

impl MeasureWord for TableMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(&self.record, &api("show table"), "a `show table` answer");
        if let Some(f) = &self.field {
            let base = f.split(['(', '[']).next().unwrap_or(f);
            if !TABLE_FIELDS.contains(&base) {
                cx.error_in(
                    "field",
                    format!(
                        "{f:?} is no stick-table field: expected one of {}",
                        TABLE_FIELDS.join(", ")
                    ),
                );
            }
        }
        if self.equals.is_some() && self.field.is_none() {
            cx.error_here("equals needs a field");
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let answer = answer(ev, &self.record)?;
        let tables = Table::parse_all(answer).map_err(|e| e.to_string())?;
        let entries: Vec<_> = tables.iter().flat_map(|table| &table.entries).collect();
        if let Some(field) = &self.field {
            // Entries carry every data field of their table: if none has this one, the
            // table does not store it, and the count would be a silent 0.
            if !entries.is_empty() && !entries.iter().any(|e| e.data.contains_key(field)) {
                let mut known: Vec<&String> = entries.iter().flat_map(|e| e.data.keys()).collect();
                known.sort();
                known.dedup();
                return Err(format!(
                    "no entry of {:?} has a field {field:?}; its entries have {}",
                    self.record,
                    join(known)
                ));
            }
        }
        count(
            entries
                .iter()
                .filter(|e| match (&self.field, &self.equals) {
                    (Some(f), Some(v)) => e.data.get(f) == Some(v),
                    (Some(f), None) => e.data.contains_key(f),
                    _ => true,
                })
                .count(),
        )
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
