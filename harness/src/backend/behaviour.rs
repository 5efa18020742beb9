//! What a backend does with a connection: how it takes connections at all ([`Connections`]),
//! and what it answers in HTTP ([`HttpAnswer`]) or TCP ([`TcpAnswer`]) mode. A backend reads
//! its behaviour when it accepts a connection, so a change applies to new connections; the
//! connection modes (`refuse`, `unreachable`, ...) apply to the listener at once.

use std::fmt;
use std::time::Duration;

/// How a backend answers: HTTP requests, or a TCP banner and echo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Http,
    Tcp,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Mode::Http => "http",
            Mode::Tcp => "tcp",
        })
    }
}

/// How the listener takes connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connections {
    /// Accepts and answers.
    #[default]
    Accept,
    /// The port is closed: a SYN gets an RST.
    Refuse,
    /// Accepts, then resets (RST) at once.
    Reset,
    /// Accepts and never reads or answers; the connection stays until the case ends.
    Hang,
    /// SYNs are never answered: the listen queue is cut to one slot, filled by the harness and
    /// never drained, so the kernel drops every SYN and a connect stays pending.
    Unreachable,
    /// Waits this long before each accept (the kernel completes the handshake meanwhile; the
    /// answer waits).
    SlowAccept(Duration),
}

impl Connections {
    /// The words a scenario writes.
    pub const WORDS: [&'static str; 6] = [
        "accept",
        "refuse",
        "reset",
        "hang",
        "unreachable",
        "slow_accept",
    ];

    /// From a scenario's word; `slow_accept` needs its delay.
    pub fn parse(word: &str, accept_delay: Option<Duration>) -> Result<Connections, String> {
        Ok(match (word, accept_delay) {
            ("accept", None) => Connections::Accept,
            ("refuse", None) => Connections::Refuse,
            ("reset", None) => Connections::Reset,
            ("hang", None) => Connections::Hang,
            ("unreachable", None) => Connections::Unreachable,
            ("slow_accept", Some(d)) => Connections::SlowAccept(d),
            ("slow_accept", None) => {
                return Err("`slow_accept` needs `accept_delay` (\"500ms\")".into())
            }
            (w, Some(_)) if Self::WORDS.contains(&w) => {
                return Err(format!(
                    "`accept_delay` goes with `slow_accept` only, not with {w:?}"
                ))
            }
            (w, _) => {
                return Err(format!(
                    "unknown connections mode {w:?}: expected one of {}",
                    Self::WORDS.join(", ")
                ))
            }
        })
    }
}

impl fmt::Display for Connections {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Connections::Accept => f.write_str("accept"),
            Connections::Refuse => f.write_str("refuse"),
            Connections::Reset => f.write_str("reset"),
            Connections::Hang => f.write_str("hang"),
            Connections::Unreachable => f.write_str("unreachable"),
            Connections::SlowAccept(d) => write!(f, "slow_accept {d:?}"),
        }
    }
}

/// An HTTP backend's answer to every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// Extra headers; `X-Server: <name>` is always sent (the backend names itself).
    pub headers: Vec<(String, String)>,
    /// `None`: the backend's name and a newline.
    pub body: Option<String>,
    /// Before each answer.
    pub delay: Duration,
    /// Close after the answer (`Connection: close`); otherwise keep-alive unless the client
    /// asks to close.
    pub close: bool,
}

impl Default for HttpAnswer {
    fn default() -> Self {
        HttpAnswer {
            status: 200,
            headers: Vec::new(),
            body: None,
            delay: Duration::ZERO,
            close: false,
        }
    }
}

/// A TCP backend's conduct on each connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpAnswer {
    /// The first line sent; `None`: the backend's name. `Some("")`: no banner.
    pub banner: Option<String>,
    /// Echo what arrives (otherwise it is read and dropped).
    pub echo: bool,
    /// Before the banner.
    pub delay: Duration,
    /// Close the connection once this many bytes arrived.
    pub close_after: Option<u64>,
}

impl Default for TcpAnswer {
    fn default() -> Self {
        TcpAnswer {
            banner: None,
            echo: true,
            delay: Duration::ZERO,
            close_after: None,
        }
    }
}

/// Everything a backend does; the mode decides which of `http` and `tcp` applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    pub connections: Connections,
    pub http: HttpAnswer,
    pub tcp: TcpAnswer,
}
