//! `sockets = { in = "haproxy", state = "close-wait", dst = "{{ s1.ip }}", record = "ss" }`:
//! the TCP sockets of a container's network namespace, read from the host through the
//! container's main process (`/proc/<pid>/net/tcp{,6}`), so that an image without `ss` (the
//! official ones are slim) is observed like any other. One line per socket, in `ss -Htn`'s
//! form, so the `answer_lines` measure reads it as it read `exec ss`.

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{first_lines, Cx, Run, Word};
use crate::runtime::host_proc::{self, TcpState};
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;
use crate::scenario::problem::{problem, Problem};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketsStep {
    #[serde(rename = "in")]
    pub container: Spanned<String>,
    /// A TCP state as `ss` names it (`established`, `close-wait`); every state when absent.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// Only sockets whose peer has this address (placeholders allowed: `{{ s1.ip }}`).
    #[serde(default)]
    pub dst: Option<String>,
    /// Only sockets whose local port is this one.
    #[serde(default)]
    pub local_port: Option<u16>,
    #[serde(default)]
    pub record: Option<String>,
}

impl Word for SocketsStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.role(&self.container, "step.sockets.in");
        if let Some(state) = &self.state {
            if TcpState::parse(state.get_ref()).is_none() {
                cx.error_at(
                    state.span(),
                    "step.sockets.state",
                    format!(
                        "unknown TCP state {:?}; known: {}",
                        state.get_ref(),
                        TcpState::names().join(", ")
                    ),
                );
            }
        }
        if let Some(r) = &self.record {
            cx.record(r, RecordKind::Exec);
        }
    }

    fn describe(&self) -> String {
        let mut text = format!("sockets of {}", self.container.get_ref());
        if let Some(state) = &self.state {
            text.push_str(&format!(" state {}", state.get_ref()));
        }
        if let Some(dst) = &self.dst {
            text.push_str(&format!(" dst {dst}"));
        }
        if let Some(port) = self.local_port {
            text.push_str(&format!(" local port {port}"));
        }
        text
    }

    fn budget(&self) -> Duration {
        crate::scenario::deadline::EXEC
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }
}

impl Run for SocketsStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let container = state
            .live
            .containers
            .iter()
            .find(|c| &c.role == self.container.get_ref())
            .ok_or_else(|| format!("no container {:?} (not started?)", self.container.get_ref()))?
            .clone();
        let dst = match &self.dst {
            Some(dst) => {
                let rendered = crate::scenario::template::render(dst, &state.values)
                    .map_err(|errors| {
                        let text: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
                        format!("in dst {dst:?}: {}", text.join("; "))
                    })?;
                Some(
                    rendered
                        .trim()
                        .parse::<IpAddr>()
                        .map_err(|_| format!("dst {rendered:?} is not an IP address"))?,
                )
            }
            None => None,
        };
        let wanted = self.state.as_ref().and_then(|s| TcpState::parse(s.get_ref()));
        let pid = state
            .live
            .sandbox
            .main_pid(&container)
            .await
            .map_err(|e| problem(&e))?;
        let sockets: Vec<_> = host_proc::tcp_sockets(pid)
            .map_err(|e| format!("reading /proc/{pid}/net/tcp: {e}"))?
            .into_iter()
            .filter(|s| wanted.is_none_or(|w| s.state == w))
            .filter(|s| dst.is_none_or(|d| s.peer.ip() == d))
            .filter(|s| self.local_port.is_none_or(|p| s.local.port() == p))
            .collect();
        let answer = host_proc::format_sockets(&sockets);
        let detail = format!("{} socket(s): {}", sockets.len(), first_lines(&answer, 2));
        if let Some(name) = &self.record {
            state.kept.records.insert(
                name.clone(),
                Recorded::Api {
                    command: self.describe(),
                    answer,
                },
            );
        }
        Ok(detail)
    }
}
