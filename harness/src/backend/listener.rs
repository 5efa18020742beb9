//! A backend's listener loop: takes connections as its connection mode says, changes mode when
//! a step changes the behaviour, and hands each accepted connection to its answer.
//!
//! `refuse` closes the listening socket (the kernel answers SYNs with RST) and binds it again
//! later. `unreachable` keeps the socket but cuts its listen queue to one slot with `listen(fd,
//! 0)`, fills that slot with a connection of its own from 127.0.0.1, and stops accepting: the
//! kernel then drops every SYN to the address (a listener whose queue is full does), so the
//! peer's connect stays pending, retransmitting, and never fails fast. Back to `accept`, the
//! queue is widened again and the filler's connection is dropped unlogged.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::answer::{self, ended_by, Counted};
use super::behaviour::{Behaviour, Connections, Mode};
use super::log::ConnectionLog;

/// The listen queue while accepting.
const BACKLOG: u32 = 1024;

pub(crate) struct Ctx {
    pub name: String,
    pub mode: Mode,
    pub addr: SocketAddr,
    /// The behaviour with its generation (one more at each change).
    pub behaviour: watch::Receiver<(u64, Behaviour)>,
    /// The generation whose connection mode is in place.
    pub applied: watch::Sender<u64>,
    pub log: ConnectionLog,
    pub stop: CancellationToken,
    pub listener: Option<TcpListener>,
}

/// Binds with SO_REUSEADDR (a rebind after `refuse` must not wait for TIME_WAIT) and listens.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

fn set_backlog(listener: &TcpListener, backlog: i32) {
    // SAFETY: listen(2) on a socket we own; calling it again only changes the queue length.
    unsafe { libc::listen(listener.as_raw_fd(), backlog) };
}

/// Makes the close of `stream` an RST (SO_LINGER with a zero timeout).
fn linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a value of the right type and size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as u32,
        )
    };
}

/// The harness's own connection that fills an `unreachable` listener's only queue slot.
struct Filler {
    stop: CancellationToken,
}

impl Filler {
    /// Connects (over loopback) and holds the connection until dropped; returns once the
    /// handshake is done, or after a moment if the queue was already full.
    async fn start(addr: SocketAddr, peers: Arc<Mutex<HashSet<SocketAddr>>>) -> Filler {
        let stop = CancellationToken::new();
        let token = stop.clone();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let connect = async {
                // From loopback's own address: Docker masquerades what leaves a case's subnet
                // by any other interface than its bridge, and loopback is one, so a filler
                // bound to the backend's address would arrive with the host's address instead.
                let (socket, local) = match addr {
                    SocketAddr::V4(_) => (TcpSocket::new_v4()?, IpAddr::V4(Ipv4Addr::LOCALHOST)),
                    SocketAddr::V6(_) => (TcpSocket::new_v6()?, IpAddr::V6(Ipv6Addr::LOCALHOST)),
                };
                socket.bind(SocketAddr::new(local, 0))?;
                if let Ok(local) = socket.local_addr() {
                    lock(&peers).insert(local);
                }
                socket.connect(addr).await
            };
            tokio::select! {
                _ = token.cancelled() => {}
                held = connect => {
                    let _ = done_tx.send(());
                    if let Ok(stream) = held {
                        token.cancelled().await;
                        drop(stream);
                    }
                }
            }
        });
        let _ = tokio::time::timeout(Duration::from_millis(500), done_rx).await;
        Filler { stop }
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn accept_on(
    listener: Option<&TcpListener>,
    delay: Option<Duration>,
) -> std::io::Result<(TcpStream, SocketAddr)> {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    listener.accept().await
}

pub(crate) async fn run(mut ctx: Ctx) {
    let connections = CancellationToken::new();
    let mut tasks: Vec<JoinHandle<()>> = Vec::new();
    let filler_peers = Arc::new(Mutex::new(HashSet::new()));
    let mut filler: Option<Filler> = None;
    loop {
        let (generation, behaviour) = ctx.behaviour.borrow_and_update().clone();
        let mode = behaviour.connections;
        if mode == Connections::Refuse {
            ctx.listener = None;
        } else if ctx.listener.is_none() {
            match bind(ctx.addr) {
                Ok(l) => ctx.listener = Some(l),
                Err(e) => ctx
                    .log
                    .event(format!("cannot listen again on {}: {e}", ctx.addr)),
            }
        }
        if let Some(l) = &ctx.listener {
            let unreachable = mode == Connections::Unreachable;
            set_backlog(l, if unreachable { 0 } else { BACKLOG as i32 });
            if unreachable && filler.is_none() {
                filler = Some(Filler::start(ctx.addr, filler_peers.clone()).await);
            }
        }
        if mode != Connections::Unreachable {
            filler = None;
        }
        let listening = match mode {
            Connections::Refuse | Connections::Unreachable => None,
            _ => ctx.listener.as_ref(),
        };
        let delay = match mode {
            Connections::SlowAccept(d) => Some(d),
            _ => None,
        };
        // The mode is in place: a step waiting for it may go on.
        ctx.applied.send_replace(generation);
        tokio::select! {
            _ = ctx.stop.cancelled() => break,
            changed = ctx.behaviour.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            accepted = accept_on(listening, delay) => match accepted {
                Ok((stream, peer)) => {
                    if lock(&filler_peers).remove(&peer) {
                        continue;
                    }
                    tasks.retain(|t| !t.is_finished());
                    let conn = Conn {
                        name: ctx.name.clone(),
                        mode: ctx.mode,
                        behaviour,
                        log: ctx.log.clone(),
                        stop: connections.clone(),
                    };
                    tasks.push(tokio::spawn(conn.serve(stream, peer)));
                }
                Err(e) => {
                    ctx.log.event(format!("accept failed: {e}"));
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(filler);
    drop(ctx.listener.take());
    connections.cancel();
    for t in tasks {
        let _ = t.await;
    }
}

/// One accepted connection with the behaviour it was accepted under.
struct Conn {
    name: String,
    mode: Mode,
    behaviour: Behaviour,
    log: ConnectionLog,
    stop: CancellationToken,
}

impl Conn {
    async fn serve(self, stream: TcpStream, peer: SocketAddr) {
        let log = &self.log;
        let id = log.opened(peer, self.behaviour.connections.to_string());
        let _ = stream.set_nodelay(true);
        if self.behaviour.connections == Connections::Reset {
            linger_zero(&stream);
            drop(stream);
            log.ended(id, "reset by the backend");
            return;
        }
        let count = Counted { log, id };
        let work = async {
            match (self.behaviour.connections, self.mode) {
                (Connections::Hang, _) => hang(stream, count).await,
                (_, Mode::Http) => {
                    answer::http(stream, &self.name, &self.behaviour.http, count).await
                }
                (_, Mode::Tcp) => answer::tcp(stream, &self.name, &self.behaviour.tcp, count).await,
            }
        };
        tokio::select! {
            // At the end of the case: the connection was still open (the log says so).
            _ = self.stop.cancelled() => {}
            how = work => log.ended(id, match how {
                Ok(how) => how,
                Err(e) => ended_by(&e),
            }),
        }
    }
}

/// Reads (to notice the peer closing) and never answers.
async fn hang(mut stream: TcpStream, count: Counted<'_>) -> std::io::Result<String> {
    let mut buf = vec![0u8; 4096];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok("peer closed (never answered)".into());
        }
        count.log.bytes(count.id, n as u64, 0);
    }
}
