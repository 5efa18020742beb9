//! `servers_with = { record = "state", server = "be/s1", field = "srv_op_state", equals = "2" }`:
//! servers of a recorded `show servers state` whose column has this value.

use serde::Deserialize;

use super::word::{answer, api, count, join, Cx, MeasureWord};
use crate::haproxy::ServerState;
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub record: String,
    /// `backend/server`; all servers when absent.
    #[serde(default)]
    pub server: Option<String>,
    pub field: String,
    pub equals: String,
}

/// The columns of `show servers state` on the versions haprepro runs (2.2 to 3.4).
const SERVER_STATE_COLUMNS: [&str; 25] = [
    "be_id",
    "be_name",
    "srv_id",
    "srv_name",
    "srv_addr",
    "srv_op_state",
    "srv_admin_state",
    "srv_uweight",
    "srv_iweight",
    "srv_time_since_last_change",
    "srv_check_status",
    "srv_check_result",
    "srv_check_health",
    "srv_check_state",
    "srv_agent_state",
    "bk_f_forced_id",
    "srv_f_forced_id",
    "srv_fqdn",
    "srv_port",
    "srvrecord",
    "srv_use_ssl",
    "srv_check_port",
    "srv_check_addr",
    "srv_agent_addr",
    "srv_agent_port",
];

impl MeasureWord for FieldMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let kind = cx.reads(
            &self.record,
            &api("show servers state"),
            "a `show servers state` answer",
        );
        if !SERVER_STATE_COLUMNS.contains(&self.field.as_str()) {
            cx.error_in(
                "field",
                format!(
                    "{:?} is no column of `show servers state`: expected one of {}",
                    self.field,
                    SERVER_STATE_COLUMNS.join(", ")
                ),
            );
        }
        if let (Some(server), Some(RecordKind::Api { instance, .. })) = (&self.server, kind) {
            cx.server_in(instance, server, "server");
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let answer = answer(ev, &self.record)?;
        let servers = ServerState::parse_all(answer).map_err(|e| e.to_string())?;
        if let Some(id) = &self.server {
            if !servers.iter().any(|s| &s.id() == id) {
                return Err(format!(
                    "no server {id} in {:?}; it lists {}",
                    self.record,
                    join(servers.iter().map(|s| s.id()))
                ));
            }
        }
        if let Some(first) = servers.first() {
            if first.get(&self.field).is_none() {
                return Err(format!(
                    "`show servers state` has no column {:?} on this version; it has {}",
                    self.field,
                    join(first.fields.keys())
                ));
            }
        }
        count(
            servers
                .iter()
                .filter(|s| self.server.as_ref().is_none_or(|id| &s.id() == id))
                .filter(|s| s.get(&self.field) == Some(self.equals.as_str()))
                .count(),
        )
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
