//! `streams = { record = "sess", server = "be/s1", older_than = "2s" }`: streams of a recorded
//! `show sess` on a server, optionally only those older than a time.

use serde::Deserialize;

use super::word::{answer, api, count, Cx, MeasureWord};
use crate::haproxy::Session;
use crate::scenario::duration::Dur;
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamsMatch {
    pub record: String,
    /// `backend/server`.
    pub server: String,
    #[serde(default)]
    pub older_than: Option<Dur>,
}

impl MeasureWord for StreamsMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        if let Some(RecordKind::Api { instance, .. }) =
            cx.reads(&self.record, &api("show sess"), "a `show sess` answer")
        {
            cx.server_in(instance, &self.server, "server");
        } else if !self.server.contains('/') {
            cx.error_here("server: expected backend/server, like be/s1");
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let answer = answer(ev, &self.record)?;
        let (be, srv) = self.server.split_once('/').unwrap_or((&self.server, ""));
        let streams = Session::parse_all(answer).map_err(|e| e.to_string())?;
        count(
            streams
                .iter()
                .filter(|s| s.on_server(be, srv))
                .filter(|s| {
                    self.older_than
                        .is_none_or(|d| s.age.is_some_and(|age| age >= d.0))
                })
                .count(),
        )
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
