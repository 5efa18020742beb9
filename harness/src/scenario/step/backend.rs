//! A backend's behaviour as a scenario writes it, in the topology (what it does from the start)
//! and in the `backend` step (what it does from now on): `connections` (accept, refuse, reset,
//! hang, unreachable, slow_accept with `accept_delay`), `http = { status, headers, body, delay,
//! close }`, `tcp = { banner, echo, delay, close_after }`. Checked at load against the
//! backend's mode, so an HTTP status on a TCP backend is an error with its line.


use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::backend::{Behaviour, Mode};
use crate::scenario::duration::Dur;
use crate::scenario::case::CaseState;
use crate::scenario::model::backend::{Change, HttpSpec, TcpSpec};
use crate::scenario::problem::Problem;

/// `backend = { name = "s1", connections = "unreachable" }`: changes a backend of the
/// topology. Only what is written changes; the rest stays as it was.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendStep {
    pub name: Spanned<String>,
    #[serde(default)]
    pub connections: Option<Spanned<String>>,
    /// With `connections = "slow_accept"`: the wait before each accept.
    #[serde(default)]
    pub accept_delay: Option<Dur>,
    #[serde(default)]
    pub http: Option<Spanned<HttpSpec>>,
    #[serde(default)]
    pub tcp: Option<Spanned<TcpSpec>>,
}

impl BackendStep {
    pub(crate) fn change(&self) -> Change<'_> {
        Change {
            connections: self.connections.as_ref(),
            accept_delay: self.accept_delay,
            http: self.http.as_ref(),
            tcp: self.tcp.as_ref(),
        }
    }
}


impl Word for BackendStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let name = self.name.get_ref();
        match cx.names.backends.get(name).copied() {
            None => {
                let known: Vec<&str> = cx.names.backends.keys().map(String::as_str).collect();
                let message = format!(
                    "{name:?} is not a backend: the topology's are {}",
                    known.join(", ")
                );
                cx.error_at(self.name.span(), "step.backend.name", message);
            }
            Some(mode) => {
                let change = self.change();
                if change.is_empty() {
                    cx.error(
                        "step.backend",
                        "changes nothing: give connections, http or tcp",
                    );
                }
                for (at, field, message) in change.problems(name, mode, cx.span.clone()) {
                    cx.error_at(at, &format!("step.backend.{field}"), message);
                }
            }
        }
    }

    fn describe(&self) -> String {
        describe(self)
    }

    fn budget(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
}

impl Run for BackendStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        run(state, self).await
    }
}

/// Runs a `backend` step.
async fn run(state: &mut CaseState<'_>, step: &BackendStep) -> Result<String, Problem> {
    let name = step.name.get_ref();
    let backend = state
        .live.backends
        .iter()
        .find(|b| b.name() == name)
        .ok_or_else(|| format!("no backend {name:?}"))?;
    let before = backend.behaviour();
    let after = step.change().apply(before.clone())?;
    backend.set_behaviour(after.clone()).await?;
    Ok(format!(
        "{name}: {}",
        describe_change(&before, &after, backend.mode())
    ))
}

/// What changed, in words, for the timeline.
fn describe_change(before: &Behaviour, after: &Behaviour, mode: Mode) -> String {
    let mut parts = Vec::new();
    if before.connections != after.connections {
        parts.push(format!(
            "connections {} -> {}",
            before.connections, after.connections
        ));
    }
    match mode {
        Mode::Http if before.http != after.http => parts.push(format!(
            "http status {}, {} extra header(s), delay {:?}, {}",
            after.http.status,
            after.http.headers.len(),
            after.http.delay,
            if after.http.close {
                "close"
            } else {
                "keep-alive"
            }
        )),
        Mode::Tcp if before.tcp != after.tcp => parts.push(format!(
            "tcp banner {:?}, echo {}, delay {:?}, close after {}",
            after.tcp.banner.as_deref().unwrap_or("(its name)"),
            after.tcp.echo,
            after.tcp.delay,
            after
                .tcp
                .close_after
                .map(|n| format!("{n} bytes"))
                .unwrap_or_else(|| "never".into())
        )),
        _ => {}
    }
    if parts.is_empty() {
        "unchanged".into()
    } else {
        parts.join("; ")
    }
}

/// A step in words, for the timeline's action column.
fn describe(step: &BackendStep) -> String {
    let mut parts = vec![format!("backend {}", step.name.get_ref())];
    if let Some(c) = &step.connections {
        parts.push(format!("connections {}", c.get_ref()));
    }
    if let Some(d) = step.accept_delay {
        parts.push(format!("accept_delay {d}"));
    }
    if step.http.is_some() {
        parts.push("http answer".into());
    }
    if step.tcp.is_some() {
        parts.push("tcp answer".into());
    }
    parts.join(" ")
}
