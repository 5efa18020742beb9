//! Watching every HAProxy of a case from its start to the teardown: HAProxy's crashes are the
//! results this harness exists for, so a death must be seen when it happens, not at the next
//! step that talks to HAProxy and times out.
//!
//! Each started container gets a task blocked in Docker's wait API (no polling: the daemon
//! answers when the main process ends). The task then reads how it ended (exit code, OOM kill,
//! Docker's time), the end of its output and HAProxy's last words, and records a
//! [`HaproxyExit`]; the runner, which races every step against [`WatchHandle::death`], stops the
//! case at once. Exits while an instance starts are recorded too, but only a fatal signal or
//! HAProxy's own crash text makes them a death: a `start = "step"` instance that fails to bind
//! and exits 1 is the symptom of some scenarios, measured by `instance_ready`.
//!
//! The tasks are stopped before the teardown removes the containers, so the teardown's own
//! removals are never taken for deaths.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::haproxy::last_words::signal_of_exit_code;
use crate::haproxy::LastWords;
use crate::report::HaproxyExit;
use crate::runtime::Engine;

/// How many lines of the dying output a record keeps.
const LAST_LINES: usize = 60;
/// A watcher of an instance that may be dying gets this long to finish its record.
const SETTLE_WITHIN: Duration = Duration::from_millis(500);
/// The end-of-case question that proves an instance alive.
const PROBE_WITHIN: Duration = Duration::from_millis(150);

/// What the watchers share with the runner.
struct Shared {
    started: Instant,
    /// `started` in seconds since the epoch, for asking Docker about the case's events.
    started_unix: f64,
    exits: Mutex<Vec<HaproxyExit>>,
    /// What the case is doing now, for the record of a death.
    during: Mutex<String>,
    ready: Mutex<BTreeSet<String>>,
    /// Counts recorded exits; waiters wake on each.
    recorded: watch::Sender<usize>,
}

/// The watchers of one case.
pub(crate) struct Watch {
    shared: Arc<Shared>,
    tasks: Vec<Watcher>,
}

struct Watcher {
    instance: String,
    container: String,
    engine: Engine,
    task: JoinHandle<()>,
}

/// What a step races against: the first death of an instance.
#[derive(Clone)]
pub(crate) struct WatchHandle {
    shared: Arc<Shared>,
}

impl Watch {
    pub fn new(started: Instant) -> Watch {
        Watch {
            shared: Arc::new(Shared {
                started,
                started_unix: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64() - started.elapsed().as_secs_f64())
                    .unwrap_or(0.0),
                exits: Mutex::new(Vec::new()),
                during: Mutex::new("setup".into()),
                ready: Mutex::new(BTreeSet::new()),
                recorded: watch::channel(0).0,
            }),
            tasks: Vec::new(),
        }
    }

    pub fn handle(&self) -> WatchHandle {
        WatchHandle {
            shared: self.shared.clone(),
        }
    }

    /// Watches a started container of an instance until [`Watch::stop`].
    pub fn watch(&mut self, engine: &Engine, instance: &str, container: &str) {
        let task = tokio::spawn(watch_one(
            engine.clone(),
            self.shared.clone(),
            instance.to_string(),
            container.to_string(),
        ));
        self.tasks.push(Watcher {
            instance: instance.to_string(),
            container: container.to_string(),
            engine: engine.clone(),
            task,
        });
    }

    /// The instance answered: an exit from now on is a death.
    pub fn mark_ready(&self, instance: &str) {
        lock(&self.shared.ready).insert(instance.to_string());
    }

    /// What runs now (`step 3 (api show info)`), named in the record of a death.
    pub fn set_during(&self, what: String) {
        *lock(&self.shared.during) = what;
    }

    /// Lets the watchers of dying instances finish their records before the case is judged:
    /// a step may have ended a moment before a death (HAProxy prints its last words, then
    /// traps), or failed on it (a refused connection) before Docker's wait answered. Each
    /// instance still watched is asked `show info`: an answer proves it alive; no answer (or a
    /// stopped container) waits for its watcher, at most [`SETTLE_WITHIN`].
    pub async fn settle(&mut self, apis: &[(String, crate::haproxy::RuntimeApi)]) {
        let pending = self.tasks.iter_mut().filter(|w| !w.task.is_finished());
        futures_util::future::join_all(pending.map(|w| async move {
            let api = apis.iter().find(|(name, _)| *name == w.instance);
            let alive = match api {
                Some((_, api)) => api
                    .clone()
                    .with_timeout(PROBE_WITHIN)
                    .show_info()
                    .await
                    .is_ok(),
                None => matches!(w.engine.exit_state(&w.container).await, Ok(s) if s.running),
            };
            if !alive {
                let _ = tokio::time::timeout(SETTLE_WITHIN, &mut w.task).await;
            }
        }))
        .await;
    }

    /// Stops every watcher (before the teardown) and returns the exits recorded.
    pub fn stop(&mut self) -> Vec<HaproxyExit> {
        for w in self.tasks.drain(..) {
            w.task.abort();
        }
        lock(&self.shared.exits).clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        for w in &self.tasks {
            w.task.abort();
        }
    }
}

impl WatchHandle {
    /// Resolves with the first death (see [`HaproxyExit::is_crash`]), or the first container
    /// stopped from outside (the case cannot go on either); pending forever if none.
    pub async fn death(&self) -> HaproxyExit {
        let mut rx = self.shared.recorded.subscribe();
        loop {
            let first = lock(&self.shared.exits)
                .iter()
                .find(|e| e.is_crash() || e.stopped_from_outside.is_some())
                .cloned();
            if let Some(exit) = first {
                return exit;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn watch_one(engine: Engine, shared: Arc<Shared>, instance: String, container: String) {
    // Docker's wait answers when the main process ends. A wait that fails while the container
    // still runs (a dropped connection) is made again.
    let mut outside = None;
    loop {
        if engine.wait_exit(&container).await.is_ok() {
            break;
        }
        match engine.exit_state(&container).await {
            Ok(s) if s.running => tokio::time::sleep(Duration::from_millis(200)).await,
            Ok(_) => break,
            Err(e) => {
                outside = Some(format!(
                    "the Docker daemon went away while HAProxy ran: {}",
                    super::problem::error_chain(&e)
                ));
                break;
            }
        }
    }
    if outside.is_none() {
        // Docker's own record of the signals it sent: more than haprepro asked for means the
        // container was stopped from outside (a daemon restart, a `docker stop`).
        outside = match engine.kill_events(&container, shared.started_unix).await {
            Ok(logged) => crate::runtime::outside::stopped_from_outside(&container, &logged),
            Err(e @ crate::runtime::RuntimeError::DockerUnavailable { .. }) => Some(format!(
                "the Docker daemon went away while HAProxy ran: {}",
                super::problem::error_chain(&e)
            )),
            Err(_) => None,
        };
    }
    let at_ms = shared.started.elapsed().as_millis() as u64;
    let state = engine.exit_state(&container).await.unwrap_or_default();
    let output = engine.logs(&container).await.unwrap_or_default();
    let exit = HaproxyExit {
        while_starting: !lock(&shared.ready).contains(&instance),
        during: lock(&shared.during).clone(),
        instance,
        at_ms,
        finished_at: state.finished_at,
        exit_code: state.exit_code,
        signal: state.exit_code.and_then(signal_of_exit_code),
        oom_killed: state.oom_killed,
        last_lines: last_lines(&output, LAST_LINES),
        last_words: LastWords::parse(&output),
        core: None,
        backtrace: None,
        stopped_from_outside: outside,
    };
    lock(&shared.exits).push(exit);
    shared.recorded.send_modify(|n| *n += 1);
}

fn last_lines(output: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}
