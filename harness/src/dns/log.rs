//! The log of every query the server received, and event-driven waits on it.
//!
//! Scenario steps wait for HAProxy to ask (a re-resolution after a TTL, a retry after a fault)
//! instead of sleeping, and the whole log goes into the evidence folder so a verdict can be
//! checked against what HAProxy actually asked and what it was told.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::wait::WaitTimeout;

/// The transport a query came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// DNS over UDP.
    Udp,
    /// DNS over TCP.
    Tcp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        })
    }
}

/// One query and what the server did with it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct QueryRecord {
    /// When the query arrived.
    pub at: SystemTime,
    /// Who asked.
    pub client: SocketAddr,
    /// Over which transport.
    pub protocol: Protocol,
    /// The queried name, lowercase and fully qualified with the trailing dot ("app.svc.test."),
    /// whatever case the client used.
    pub name: String,
    /// The query type ("A", "AAAA", "SRV", ...).
    pub qtype: String,
    /// What was answered, in words: "NOERROR 3 answers 3 additional", "NXDOMAIN",
    /// "SERVFAIL (fault)", "dropped (fault)", "delayed 500ms then NOERROR 1 answer".
    pub answer: String,
}

impl fmt::Display for QueryRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} -> {}",
            humantime::format_rfc3339_millis(self.at),
            self.protocol,
            self.client,
            self.qtype,
            self.name,
            self.answer
        )
    }
}

/// A shared, append-only log of queries. Cloning is cheap; clones see the same log.
#[derive(Clone)]
pub struct QueryLog {
    entries: Arc<Mutex<Vec<QueryRecord>>>,
    /// Carries the number of entries; every push bumps it so waiters wake.
    len_tx: Arc<watch::Sender<usize>>,
}

impl fmt::Debug for QueryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryLog")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for QueryLog {
    fn default() -> Self {
        Self::new()
    }
}

impl QueryLog {
    /// An empty log.
    pub fn new() -> Self {
        QueryLog {
            entries: Arc::new(Mutex::new(Vec::new())),
            len_tx: Arc::new(watch::Sender::new(0)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<QueryRecord>> {
        // A panic while holding the lock cannot leave a Vec half-pushed; keep going.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn push(&self, record: QueryRecord) {
        let len = {
            let mut entries = self.lock();
            entries.push(record);
            entries.len()
        };
        self.len_tx.send_replace(len);
    }

    /// Every query so far, oldest first.
    pub fn entries(&self) -> Vec<QueryRecord> {
        self.lock().clone()
    }

    /// How many queries were logged so far. Pass it to [`QueryLog::wait_for_since`] to wait for a
    /// query that arrives after this point.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no query was logged yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until a query in the log, already there or arriving within `within`, satisfies
    /// `pred`. `what` names the wait in the timeout error.
    pub async fn wait_for(
        &self,
        what: &str,
        pred: impl Fn(&QueryRecord) -> bool,
        within: Duration,
    ) -> Result<QueryRecord, WaitTimeout> {
        self.wait_for_since(0, what, pred, within).await
    }

    /// Like [`QueryLog::wait_for`], but only considers queries at index `since` or later
    /// (take `since` from [`QueryLog::len`] before the action whose query you expect).
    pub async fn wait_for_since(
        &self,
        since: usize,
        what: &str,
        pred: impl Fn(&QueryRecord) -> bool,
        within: Duration,
    ) -> Result<QueryRecord, WaitTimeout> {
        let start = tokio::time::Instant::now();
        let deadline = start + within;
        // Subscribe before looking, so a push between the look and the wait still wakes us.
        let mut rx = self.len_tx.subscribe();
        let mut next = since;
        loop {
            {
                let entries = self.lock();
                if let Some(found) = entries.iter().skip(next).find(|r| pred(r)) {
                    return Ok(found.clone());
                }
                next = next.max(entries.len());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                // The sender lives in `self`, so it cannot be gone; treat it like the deadline.
                Ok(Err(_)) | Err(_) => {
                    return Err(WaitTimeout {
                        what: what.to_string(),
                        waited: start.elapsed(),
                        last_seen: self.last_seen(),
                    })
                }
            }
        }
    }

    fn last_seen(&self) -> String {
        match self.lock().last() {
            Some(r) => format!("last query: {r}"),
            None => "no query".to_string(),
        }
    }

    /// The log as text, one query per line, for the evidence folder.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for r in self.lock().iter() {
            out.push_str(&r.to_string());
            out.push('\n');
        }
        out
    }
}
