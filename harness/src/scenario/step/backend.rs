//! A backend's behaviour as a scenario writes it, in the topology (what it does from the start)
//! and in the `backend` step (what it does from now on): `connections` (accept, refuse, reset,
//! hang, unreachable, slow_accept with `accept_delay`), `http = { status, headers, body, delay,
//! close }`, `tcp = { banner, echo, delay, close_after }`. Checked at load against the
//! backend's mode, so an HTTP status on a TCP backend is an error with its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::{Cx, Run, Word};
use crate::backend::{Behaviour, Connections, Mode};
use crate::scenario::duration::Dur;
use crate::scenario::case::CaseState;

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

/// What an HTTP backend answers; each field left out keeps its value (at first: 200, no extra
/// header, the backend's name as the body, no delay, keep-alive).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    #[serde(default)]
    pub status: Option<Spanned<u16>>,
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub body: Option<String>,
    /// Before each answer.
    #[serde(default)]
    pub delay: Option<Dur>,
    /// Close after each answer (otherwise keep-alive).
    #[serde(default)]
    pub close: Option<bool>,
}

/// What a TCP backend does; each field left out keeps its value (at first: its name as the
/// banner, echo, no delay, no close).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    /// The first line sent (`""`: none).
    #[serde(default)]
    pub banner: Option<String>,
    #[serde(default)]
    pub echo: Option<bool>,
    /// Before the banner.
    #[serde(default)]
    pub delay: Option<Dur>,
    /// Close once this many bytes arrived.
    #[serde(default)]
    pub close_after: Option<u64>,
}

/// The four behaviour fields, wherever they are written (topology or step).
pub(crate) struct Change<'a> {
    pub connections: Option<&'a Spanned<String>>,
    pub accept_delay: Option<Dur>,
    pub http: Option<&'a Spanned<HttpSpec>>,
    pub tcp: Option<&'a Spanned<TcpSpec>>,
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

/// A problem with a behaviour: the span it is about, the field, and what is wrong.
pub(crate) type Problem = (std::ops::Range<usize>, &'static str, String);

impl Change<'_> {
    /// Everything wrong with this change for a backend of this mode (empty: none).
    pub(crate) fn problems(
        &self,
        backend: &str,
        mode: Mode,
        whole: std::ops::Range<usize>,
    ) -> Vec<Problem> {
        let mut out = Vec::new();
        match self.connections {
            Some(word) => {
                if let Err(e) = Connections::parse(word.get_ref(), self.accept_delay.map(|d| d.0)) {
                    out.push((
                        word.span(),
                        "connections",
                        format!("backend {backend}: {e}"),
                    ));
                }
            }
            None if self.accept_delay.is_some() => out.push((
                whole.clone(),
                "accept_delay",
                format!(
                    "backend {backend}: `accept_delay` goes with connections = \"slow_accept\""
                ),
            )),
            None => {}
        }
        if let (Some(http), Mode::Tcp) = (self.http, mode) {
            out.push((
                http.span(),
                "http",
                format!(
                    "backend {backend} is mode tcp: it has no HTTP answer (status, headers, body); \
                     use tcp = {{ banner, echo, delay, close_after }}, or mode = \"http\""
                ),
            ));
        }
        if let (Some(tcp), Mode::Http) = (self.tcp, mode) {
            out.push((
                tcp.span(),
                "tcp",
                format!(
                    "backend {backend} is mode http: it has no TCP banner or echo; use http = \
                     {{ status, headers, body, delay, close }}, or mode = \"tcp\""
                ),
            ));
        }
        if let Some(status) = self.http.and_then(|h| h.get_ref().status.as_ref()) {
            if !(100..=599).contains(status.get_ref()) {
                out.push((
                    status.span(),
                    "http.status",
                    format!("backend {backend}: an HTTP status is 100 to 599"),
                ));
            }
        }
        out
    }

    /// Whether it changes anything at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.connections.is_none() && self.http.is_none() && self.tcp.is_none()
    }

    /// `base` with this change applied; the change was checked at load.
    pub(crate) fn apply(&self, mut base: Behaviour) -> Result<Behaviour, String> {
        if let Some(word) = self.connections {
            base.connections = Connections::parse(word.get_ref(), self.accept_delay.map(|d| d.0))?;
        }
        if let Some(http) = self.http.map(|h| h.get_ref()) {
            let a = &mut base.http;
            if let Some(s) = &http.status {
                a.status = *s.get_ref();
            }
            if let Some(h) = &http.headers {
                a.headers = h.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            }
            if let Some(b) = &http.body {
                a.body = Some(b.clone());
            }
            if let Some(d) = http.delay {
                a.delay = d.0;
            }
            if let Some(c) = http.close {
                a.close = c;
            }
        }
        if let Some(tcp) = self.tcp.map(|t| t.get_ref()) {
            let a = &mut base.tcp;
            if let Some(b) = &tcp.banner {
                a.banner = Some(b.clone());
            }
            if let Some(e) = tcp.echo {
                a.echo = e;
            }
            if let Some(d) = tcp.delay {
                a.delay = d.0;
            }
            if let Some(n) = tcp.close_after {
                a.close_after = Some(n);
            }
        }
        Ok(base)
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
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, String> {
        run(state, self).await
    }
}

/// Runs a `backend` step.
async fn run(state: &mut CaseState<'_>, step: &BackendStep) -> Result<String, String> {
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
