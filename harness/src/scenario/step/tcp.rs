//! `tcp = { to = "haproxy:8080", connect_close = 100 }`: TCP connections opened and closed
//! at once, sending nothing.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::case::CaseState;

/// TCP connections opened and closed at once, sending nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpStep {
    /// `role:port`.
    pub to: Spanned<String>,
    /// A client of the topology to connect from; the gateway address otherwise.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    pub connect_close: u32,
}

/// Each connection's own timeout.
const CONNECT: Duration = Duration::from_secs(2);

impl Word for TcpStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most(
            "step.tcp.connect_close",
            u64::from(self.connect_close),
            u64::from(crate::scenario::bounds::TCP_CONNECTS),
        );
        cx.role_port(&self.to, "step.tcp.to");
        if let Some(from) = &self.from {
            cx.client(from, "step.tcp.from");
        }
    }

    fn describe(&self) -> String {
        format!(
            "tcp {}: connect and close x{}",
            self.to.get_ref(),
            self.connect_close
        )
    }

    fn budget(&self) -> Duration {
        CONNECT.saturating_mul(self.connect_close.max(1))
    }
}

impl Run for TcpStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let addr = state.role_addr(self.to.get_ref())?;
        let from = state.client_ip(self.from.as_ref())?;
        let n = crate::load::connect_close(from, addr, self.connect_close, CONNECT).await;
        Ok(format!(
            "{n} of {} connections opened and closed",
            self.connect_close
        ))
    }
}
