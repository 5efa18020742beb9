//! The log of a backend: every connection (when, from whom, bytes each way, how it ended) and
//! every change of behaviour, kept as the case's evidence (`<backend>.log`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// One connection as the backend saw it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectionRecord {
    pub id: u64,
    pub peer: SocketAddr,
    /// Milliseconds since the case started.
    pub opened_ms: u64,
    pub closed_ms: Option<u64>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// The connection mode it was accepted under.
    pub accepted_as: String,
    /// `peer closed`, `peer reset`, `closed by the backend ...`, `reset by the backend`,
    /// `error: ...`; `None` while open.
    pub ended: Option<String>,
}

/// A line of the log that is not a connection: a behaviour change, a listener event.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub at_ms: u64,
    pub what: String,
}

#[derive(Debug, Default)]
struct Inner {
    connections: Vec<ConnectionRecord>,
    events: Vec<Event>,
}

/// Shared between the accept loop, the connections and the case.
#[derive(Debug, Clone)]
pub struct ConnectionLog {
    inner: Arc<Mutex<Inner>>,
    start: Instant,
}

impl ConnectionLog {
    pub fn new(start: Instant) -> ConnectionLog {
        ConnectionLog {
            inner: Arc::default(),
            start,
        }
    }

    pub(crate) fn ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn event(&self, what: impl Into<String>) {
        let at_ms = self.ms();
        self.lock().events.push(Event {
            at_ms,
            what: what.into(),
        });
    }

    /// Records a new connection; returns its id.
    pub(crate) fn opened(&self, peer: SocketAddr, accepted_as: String) -> u64 {
        let opened_ms = self.ms();
        let mut inner = self.lock();
        let id = inner.connections.len() as u64;
        inner.connections.push(ConnectionRecord {
            id,
            peer,
            opened_ms,
            closed_ms: None,
            bytes_in: 0,
            bytes_out: 0,
            accepted_as,
            ended: None,
        });
        id
    }

    pub(crate) fn bytes(&self, id: u64, bytes_in: u64, bytes_out: u64) {
        if let Some(c) = self.lock().connections.get_mut(id as usize) {
            c.bytes_in += bytes_in;
            c.bytes_out += bytes_out;
        }
    }

    pub(crate) fn ended(&self, id: u64, how: impl Into<String>) {
        let at = self.ms();
        if let Some(c) = self.lock().connections.get_mut(id as usize) {
            if c.ended.is_none() {
                c.closed_ms = Some(at);
                c.ended = Some(how.into());
            }
        }
    }

    pub fn connections(&self) -> Vec<ConnectionRecord> {
        self.lock().connections.clone()
    }

    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// The log as text, events and connections in time order, one line each.
    pub fn to_text(&self) -> String {
        let inner = self.lock();
        let mut lines: Vec<(u64, String)> = inner
            .events
            .iter()
            .map(|e| (e.at_ms, format!("{} {}", secs(e.at_ms), e.what)))
            .collect();
        for c in &inner.connections {
            let end = match (&c.ended, c.closed_ms) {
                (Some(how), Some(at)) => format!("ended {}: {how}", secs(at)),
                _ => "still open at the end".into(),
            };
            lines.push((
                c.opened_ms,
                format!(
                    "{} #{} from {} ({}) in={} out={} {end}",
                    secs(c.opened_ms),
                    c.id,
                    c.peer,
                    c.accepted_as,
                    c.bytes_in,
                    c.bytes_out
                ),
            ));
        }
        lines.sort_by_key(|(at, _)| *at);
        lines.into_iter().map(|(_, l)| l + "\n").collect()
    }
}

fn secs(ms: u64) -> String {
    format!("{:>8.3}s", ms as f64 / 1000.0)
}
