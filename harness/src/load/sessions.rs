//! Long-lived TCP sessions through HAProxy that keep exchanging bytes, each tracked on its own:
//! which server it reached (the backend's banner), whether it is still alive, and exactly when
//! and how the peer closed it. Plus an optional churn of short connections.
//!
//! Built for "shutdown sessions leaves connections": the evidence must name the sessions that
//! stayed open, not only count them. Every loop is bounded: a session count cap, a per-exchange
//! timeout, and a hard stop when the load is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

/// The most sessions one load may open.
pub const MAX_SESSIONS: u32 = 2000;

/// One session as the client saw it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Session {
    pub id: u32,
    pub local: Option<SocketAddr>,
    /// The backend's banner: the server this session reached.
    pub server: Option<String>,
    pub opened_ms: Option<u64>,
    /// When the peer closed it (ms since the case started), and how: `eof`, `reset`, `error: ...`.
    pub closed_ms: Option<u64>,
    pub closed_how: Option<String>,
    pub exchanges: u64,
    pub last_exchange_ms: Option<u64>,
}

/// Counts of the churn of short connections.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Churn {
    pub attempted: u64,
    pub banners: u64,
    pub failed: u64,
}

/// A view of the load at one moment.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Snapshot {
    pub at_ms: u64,
    pub sessions: Vec<Session>,
    pub churn: Churn,
}

impl Snapshot {
    /// Sessions of a server (`none`: those that never got a banner) in a state (`open`,
    /// `closed`, `any`).
    pub fn count(&self, server: Option<&str>, state: &str) -> usize {
        self.sessions
            .iter()
            .filter(|s| match server {
                None => true,
                Some("none") => s.server.is_none(),
                Some(name) => s.server.as_deref() == Some(name),
            })
            .filter(|s| match state {
                "open" => s.opened_ms.is_some() && s.closed_ms.is_none(),
                "closed" => s.closed_ms.is_some(),
                _ => true,
            })
            .count()
    }
}

/// The states [`Snapshot::count`] knows.
pub const STATES: [&str; 3] = ["open", "closed", "any"];

/// A running load; stops when dropped.
pub struct SessionLoad {
    sessions: Arc<Mutex<Vec<Session>>>,
    churn: Arc<Mutex<Churn>>,
    stop: CancellationToken,
    case_start: Instant,
}

impl Drop for SessionLoad {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// What to start.
#[derive(Debug, Clone, Copy)]
pub struct LoadSpec {
    /// The source address (a client's own); the kernel's choice otherwise.
    pub from: Option<std::net::IpAddr>,
    pub to: SocketAddr,
    pub count: u32,
    /// Each session sends a line and waits for its echo this often.
    pub every: Duration,
    /// New short connections per second (0: none).
    pub churn_per_second: u32,
}

impl SessionLoad {
    pub fn start(spec: LoadSpec, case_start: Instant) -> SessionLoad {
        let stop = CancellationToken::new();
        let count = spec.count.min(MAX_SESSIONS);
        let sessions = Arc::new(Mutex::new(
            (0..count)
                .map(|id| Session {
                    id,
                    ..Default::default()
                })
                .collect::<Vec<_>>(),
        ));
        let churn = Arc::new(Mutex::new(Churn::default()));
        for id in 0..count {
            let (sessions, stop) = (sessions.clone(), stop.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = session(spec, id, sessions, case_start) => {}
                }
            });
        }
        if spec.churn_per_second > 0 {
            let (churn, stop) = (churn.clone(), stop.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = churn_loop(spec, churn) => {}
                }
            });
        }
        SessionLoad {
            sessions,
            churn,
            stop,
            case_start,
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            at_ms: self.case_start.elapsed().as_millis() as u64,
            sessions: lock(&self.sessions).clone(),
            churn: lock(&self.churn).clone(),
        }
    }

    /// Waits until `n` sessions are connected (to HAProxy), or the deadline.
    pub async fn wait_opened(&self, n: usize, within: Duration) -> Result<usize, usize> {
        self.wait_for(n, within, |s| s.opened_ms.is_some()).await
    }

    /// Waits until `n` sessions have their server's banner (their stream reached a server).
    pub async fn wait_banners(&self, n: usize, within: Duration) -> Result<usize, usize> {
        self.wait_for(n, within, |s| s.server.is_some()).await
    }

    async fn wait_for(
        &self,
        n: usize,
        within: Duration,
        pred: impl Fn(&Session) -> bool,
    ) -> Result<usize, usize> {
        let deadline = Instant::now() + within;
        loop {
            let seen = lock(&self.sessions).iter().filter(|s| pred(s)).count();
            if seen >= n {
                return Ok(seen);
            }
            if Instant::now() >= deadline {
                return Err(seen);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn session(spec: LoadSpec, id: u32, sessions: Arc<Mutex<Vec<Session>>>, start: Instant) {
    let ms = || start.elapsed().as_millis() as u64;
    let update = |f: &dyn Fn(&mut Session)| {
        if let Some(s) = lock(&sessions).get_mut(id as usize) {
            f(s);
        }
    };
    let stream = match tokio::time::timeout(
        Duration::from_secs(2),
        super::connect_from(spec.from, spec.to),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return update(&|s| close(s, ms(), format!("error: {e}"))),
        Err(_) => return update(&|s| close(s, ms(), "error: connect timed out".into())),
    };
    let local = stream.local_addr().ok();
    let opened = ms();
    update(&|s| {
        s.local = local;
        s.opened_ms = Some(opened);
    });
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    // The banner comes first; a session whose server never answers waits here, alive or not.
    let how = match stream.read_line(&mut line).await {
        Ok(0) => "eof".to_string(),
        Ok(_) => {
            let name = line.trim().to_string();
            update(&|s| s.server = Some(name.clone()));
            String::new()
        }
        Err(e) => classify(&e),
    };
    if !how.is_empty() {
        let at = ms();
        return update(&|s| close(s, at, how.clone()));
    }
    let mut ticker = tokio::time::interval(spec.every);
    loop {
        ticker.tick().await;
        if let Err(e) = stream.get_mut().write_all(b"ping\n").await {
            let at = ms();
            return update(&|s| close(s, at, classify(&e)));
        }
        line.clear();
        match stream.read_line(&mut line).await {
            Ok(0) => {
                let at = ms();
                return update(&|s| close(s, at, "eof".into()));
            }
            Ok(_) => {
                let at = ms();
                update(&|s| {
                    s.exchanges += 1;
                    s.last_exchange_ms = Some(at);
                });
            }
            Err(e) => {
                let at = ms();
                return update(&|s| close(s, at, classify(&e)));
            }
        }
    }
}

fn close(s: &mut Session, at: u64, how: String) {
    s.closed_ms.get_or_insert(at);
    s.closed_how.get_or_insert(how);
}

fn classify(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::ConnectionReset => "reset".into(),
        _ => format!("error: {e}"),
    }
}

async fn churn_loop(spec: LoadSpec, churn: Arc<Mutex<Churn>>) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / spec.churn_per_second.max(1));
    loop {
        ticker.tick().await;
        let churn = churn.clone();
        tokio::spawn(async move {
            lock(&churn).attempted += 1;
            let attempt = async {
                let stream = super::connect_from(spec.from, spec.to).await?;
                let mut reader = BufReader::new(stream);
                let mut banner = String::new();
                reader.read_line(&mut banner).await?;
                std::io::Result::Ok(!banner.is_empty())
            };
            match tokio::time::timeout(Duration::from_millis(500), attempt).await {
                Ok(Ok(true)) => lock(&churn).banners += 1,
                _ => lock(&churn).failed += 1,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sessions_know_their_server_and_when_they_were_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // A server that names itself, echoes, and closes session 0 after its first exchange.
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((stream, _)) = listener.accept().await {
                let first = n == 0;
                n += 1;
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    stream.get_mut().write_all(b"s9\n").await.unwrap();
                    let mut line = String::new();
                    while stream.read_line(&mut line).await.unwrap_or(0) > 0 {
                        if first {
                            return;
                        }
                        stream.get_mut().write_all(line.as_bytes()).await.unwrap();
                        line.clear();
                    }
                });
            }
        });
        let spec = LoadSpec {
            from: None,
            to: addr,
            count: 3,
            every: Duration::from_millis(20),
            churn_per_second: 10,
        };
        let load = SessionLoad::start(spec, Instant::now());
        assert_eq!(load.wait_opened(3, Duration::from_secs(2)).await, Ok(3));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let snap = load.snapshot();
        assert_eq!(snap.count(Some("s9"), "any"), 3);
        assert_eq!(snap.count(Some("s9"), "closed"), 1, "{snap:?}");
        assert_eq!(snap.count(Some("s9"), "open"), 2);
        assert!(snap
            .sessions
            .iter()
            .filter(|s| s.closed_ms.is_none())
            .all(|s| s.exchanges >= 3));
        assert!(snap.churn.banners >= 1, "{:?}", snap.churn);
    }
}
