//! A backend's behaviour as a scenario writes it, in the topology (what it does from the start)
//! and in the `backend` step (what it does from now on): `connections` (accept, refuse, reset,
//! hang, unreachable, slow_accept with `accept_delay`), `http = { status, headers, body, delay,
//! close }`, `tcp = { banner, echo, delay, close_after }`. One spec for both places ([`Change`]
//! is the view of the four fields either writes), checked at load against the backend's mode,
//! so an HTTP status on a TCP backend is an error with its line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::backend::{Behaviour, Connections, Mode};
use crate::scenario::duration::Dur;

/// A problem with a behaviour: the span it is about, the field, and what is wrong.
pub(crate) type Problem = (std::ops::Range<usize>, &'static str, String);

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
