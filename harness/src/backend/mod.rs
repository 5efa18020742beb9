//! Scripted backends in the harness process (VTest's servers): each listens on its own address
//! of the case bridge, names itself in every answer, behaves as the scenario says (and as steps
//! change it at run time), and logs every connection.
//!
//! HAProxy reaches them over the bridge exactly as it reached backend containers: same
//! addresses, same SYNs in the capture. Being in-process, a backend can do what no program in a
//! container did: refuse, reset, hang, leave a SYN unanswered, or accept late, on cue.

mod answer;
mod behaviour;
mod listener;
mod log;

use std::net::SocketAddr;
use std::time::Instant;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use behaviour::{Behaviour, Connections, HttpAnswer, Mode, TcpAnswer};
pub use log::{ConnectionLog, ConnectionRecord, Event};

/// Why a backend could not start.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "backend {name}: {addr} is already in use on this host\n  Another program listens \
         there (`ss -tlnp src {addr}`); stop it, or let the case pick another subnet."
    )]
    InUse {
        name: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("backend {name}: cannot listen on {addr}")]
    Listen {
        name: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running backend. Stops (closing its listener and every connection) on
/// [`Backend::shutdown`], or when dropped.
pub struct Backend {
    name: String,
    mode: Mode,
    addr: SocketAddr,
    behaviour: watch::Sender<(u64, Behaviour)>,
    applied: watch::Receiver<u64>,
    log: ConnectionLog,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Backend {
    /// Listens on `addr` at once (so HAProxy, started next, finds it up) and serves in the
    /// background.
    pub fn start(
        name: &str,
        mode: Mode,
        addr: SocketAddr,
        behaviour: Behaviour,
        case_start: Instant,
    ) -> Result<Backend, BackendError> {
        let socket = listener::bind(addr).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                BackendError::InUse {
                    name: name.into(),
                    addr,
                    source,
                }
            } else {
                BackendError::Listen {
                    name: name.into(),
                    addr,
                    source,
                }
            }
        })?;
        let log = ConnectionLog::new(case_start);
        log.event(format!(
            "listening on {addr}, mode {mode}, connections {}",
            behaviour.connections
        ));
        let (tx, rx) = watch::channel((0, behaviour));
        let (applied_tx, applied) = watch::channel(0);
        let stop = CancellationToken::new();
        let task = tokio::spawn(listener::run(listener::Ctx {
            name: name.to_string(),
            mode,
            addr,
            behaviour: rx,
            applied: applied_tx,
            log: log.clone(),
            stop: stop.clone(),
            listener: Some(socket),
        }));
        Ok(Backend {
            name: name.to_string(),
            mode,
            addr,
            behaviour: tx,
            applied,
            log,
            stop,
            task: Some(task),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn behaviour(&self) -> Behaviour {
        self.behaviour.borrow().1.clone()
    }

    /// Replaces the behaviour, and returns once its connection mode is in place on the
    /// listener (closed, queue cut and filled, ...); answers apply to the connections accepted
    /// from now on. An error when the listener did not take the new mode within 2 s: a step
    /// must not report a change that did not happen.
    pub async fn set_behaviour(&self, behaviour: Behaviour) -> Result<(), String> {
        self.log.event(format!(
            "behaviour changed: connections {}",
            behaviour.connections
        ));
        let mut generation = 0;
        self.behaviour.send_modify(|(g, b)| {
            *g += 1;
            generation = *g;
            *b = behaviour;
        });
        let mut applied = self.applied.clone();
        let within = std::time::Duration::from_secs(2);
        let waited = tokio::time::timeout(within, applied.wait_for(|g| *g >= generation))
            .await
            .map(|r| r.is_ok());
        match waited {
            Ok(true) => Ok(()),
            Ok(false) => Err(format!("backend {}: its listener has stopped", self.name)),
            Err(_) => Err(format!(
                "backend {}: the listener did not take the new mode within {within:?}",
                self.name
            )),
        }
    }

    pub fn log(&self) -> ConnectionLog {
        self.log.clone()
    }

    /// Closes the listener and every connection, and waits until they are closed.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

#[cfg(test)]
mod tests;
