//! `http = { to = "haproxy:8080", count = 10, record = "..." }`: HTTP requests, each
//! exchange recorded (which backend answered, status, error, timing).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::bounds;
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;
use crate::scenario::problem::Problem;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// `role:port`.
    pub to: Spanned<String>,
    /// A client of the topology to send from (its own source address); the case network's
    /// gateway address otherwise.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_count")]
    pub count: u32,
    pub record: String,
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
}

fn default_path() -> String {
    "/".into()
}

fn default_count() -> u32 {
    1
}

fn default_http_timeout() -> Dur {
    Dur(Duration::from_secs(2))
}

impl Word for HttpStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most(
            "step.http.count",
            u64::from(self.count),
            u64::from(bounds::HTTP_COUNT),
        );
        cx.at_most_time("step.http.timeout", self.timeout.0, bounds::DURATION);
        cx.record(&self.record, RecordKind::Http);
        if let Some(from) = &self.from {
            cx.client(from, "step.http.from");
        }
        cx.role_port(&self.to, "step.http.to");
    }

    fn describe(&self) -> String {
        format!("http {}x GET {}{}", self.count, self.to.get_ref(), self.path)
    }

    fn budget(&self) -> Duration {
        let all = self.timeout.0.saturating_mul(self.count.max(1));
        match self.from {
            // From a client container: one exec running every request.
            Some(_) => all + crate::scenario::deadline::EXEC,
            None => all,
        }
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}

impl Run for HttpStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let h = self;
        let to = state.role_addr(h.to.get_ref())?;
        let from = state.client_ip(h.from.as_ref())?;
        let exchanges =
            crate::load::http_requests(from, to, &h.path, h.count, h.timeout.0, state.started)
                .await;
        let mut by_server: std::collections::BTreeMap<String, u32> = Default::default();
        for e in &exchanges {
            let key = match (&e.server, e.status, &e.error) {
                (Some(s), _, _) => s.clone(),
                (None, Some(status), _) => format!("status {status}"),
                (None, None, Some(err)) => format!("failed ({err})"),
                _ => "?".into(),
            };
            *by_server.entry(key).or_default() += 1;
        }
        state
            .kept.records
            .insert(h.record.clone(), Recorded::Http(exchanges));
        Ok(format!(
            "{} request(s): {}",
            h.count,
            by_server
                .iter()
                .map(|(k, v)| format!("{k} x{v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}
