//! Docker, as haprepro uses it: one isolated network per case, labelled containers on it, and
//! teardown that happens after success, failure, panic and Ctrl-C.
//!
//! Everything haprepro creates carries the label `haprepro.run=<run id>` (plus the case and the
//! creating process), so `haprepro clean` finds leftovers of any earlier run, and the signal
//! watchdog finds this process's own.

mod bridge_addr;
mod engine;
mod error;
mod host_net;
pub mod host_proc;
mod names;
mod orphans;
pub mod outside;
mod sandbox;
pub mod session;
pub mod subnets;
mod watchdog;

pub use bridge_addr::AddrError;
pub use engine::{
    ContainerConfig, Engine, ExecOutput, ExitState, ImageSummary, NetworkInfo, Owned, CALL_TIMEOUT,
    EXEC_TIMEOUT, RUN_LABEL,
};
pub use error::RuntimeError;
pub use names::{new_run_id, sanitize};
pub use orphans::{remove_orphans, OrphanReport};
pub use sandbox::{Container, ContainerSpec, FileIn, Sandbox};
/// For containers made outside a sandbox (source builds): Ctrl-C must remove them too.
pub(crate) use watchdog::install as install_watchdog;
pub use watchdog::{interrupted, wait_if_interrupted};

/// Removes every container and network that any haprepro run left behind (or only those of one
/// run), and says what it removed.
///
/// Only what no living process owns: objects of a session whose lease is free (or of this very
/// process), and objects from before session labels whose pid is gone. What a running haprepro
/// owns (a matrix's cases, a source build, a bisect's probe) and what cannot be proved dead
/// (another host's, a session whose lease this process cannot see) is kept and counted, unless
/// `force`.
pub async fn clean(
    engine: &Engine,
    run: Option<&str>,
    force: bool,
) -> Result<CleanReport, RuntimeError> {
    clean_with(engine, run, force, false).await
}

/// What [`clean`] without `force` would remove and keep, removing nothing.
pub async fn clean_plan(engine: &Engine, run: Option<&str>) -> Result<CleanReport, RuntimeError> {
    clean_with(engine, run, false, true).await
}

async fn clean_with(
    engine: &Engine,
    run: Option<&str>,
    force: bool,
    dry_run: bool,
) -> Result<CleanReport, RuntimeError> {
    let filter = [(RUN_LABEL, run.unwrap_or(""))];
    let containers = engine.owned_containers_with(&filter).await?;
    let networks = engine.owned_networks_with(&filter).await?;
    let legacy: Vec<u32> = containers
        .iter()
        .chain(&networks)
        .filter(|o| !o.labels.contains_key(session::SESSION_LABEL))
        .filter_map(|o| o.pid())
        .filter(|pid| *pid != std::process::id() && !orphans::owner_alive(*pid, None))
        .collect();
    let mut report = CleanReport::default();
    let removable = |o: &Owned| {
        force
            || o.labels.get(session::SESSION_LABEL).map(String::as_str) == session::current()
            || orphans::is_orphan(o, &legacy)
    };
    let mut doomed = Vec::new();
    for c in &containers {
        if removable(c) {
            doomed.push(c.id.clone());
        } else {
            report.kept_containers += 1;
            report.note_owner(c);
        }
    }
    if !dry_run {
        let removals = doomed.iter().map(|id| engine.remove_container(id));
        for result in futures_util::future::join_all(removals).await {
            result?;
        }
    }
    report.containers = doomed.len();
    let mut sessions: Vec<&String> = containers
        .iter()
        .filter(|c| removable(c))
        .filter_map(|c| c.labels.get(session::SESSION_LABEL))
        .collect();
    for n in &networks {
        if removable(n) {
            if !dry_run {
                engine.remove_network(&n.id).await?;
            }
            report.networks += 1;
            sessions.extend(n.labels.get(session::SESSION_LABEL));
        } else {
            report.kept_networks += 1;
            report.note_owner(n);
        }
    }
    if !dry_run {
        sessions.sort();
        sessions.dedup();
        for s in sessions {
            session::forget(s);
        }
        // Leases of dead sessions that own nothing any more (a process killed after its
        // teardown, or before it made anything).
        let filter = [(session::SESSION_LABEL, "")];
        let owning: Vec<String> = engine
            .owned_containers_with(&filter)
            .await?
            .into_iter()
            .chain(engine.owned_networks_with(&filter).await?)
            .filter_map(|o| o.labels.get(session::SESSION_LABEL).cloned())
            .collect();
        session::forget_dead_except(&owning);
    }
    Ok(report)
}

/// What [`clean`] removed, and what it kept because a living process (or one it cannot prove
/// dead) owns it.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CleanReport {
    pub containers: usize,
    pub networks: usize,
    pub kept_containers: usize,
    pub kept_networks: usize,
    /// The owners of what was kept: `session 1a2b... (pid 42, alive)`.
    pub kept_owners: Vec<String>,
}

impl CleanReport {
    fn note_owner(&mut self, o: &Owned) {
        let owner = match o.labels.get(session::SESSION_LABEL) {
            Some(s) => format!(
                "session {s} (pid {}, {})",
                o.pid().map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                match session::owner(&o.labels) {
                    session::Owner::Alive => "running",
                    session::Owner::Dead => "gone",
                    session::Owner::Unknown => "not provably gone: another host or namespace",
                }
            ),
            None => format!(
                "pid {} (running)",
                o.pid().map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            ),
        };
        if !self.kept_owners.contains(&owner) {
            self.kept_owners.push(owner);
        }
    }
}

/// Runs `work` on a thread of its own with a runtime of its own, and waits for it: for cleanup
/// from places that cannot await (`Drop`, possibly while a panic unwinds) or that must outlive
/// the caller's runtime (the signal watchdog).
pub(crate) fn on_own_runtime<F>(
    work: impl FnOnce() -> F + Send + 'static,
) -> std::thread::JoinHandle<()>
where
    F: std::future::Future<Output = ()>,
{
    std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(work());
        }
    })
}

/// Runs `work` with an engine of its own on a thread of its own (its own runtime), for work
/// that goes on beside the caller's, such as builds ahead of a bisect's or a map's runs. If
/// the Docker daemon cannot be reached, nothing runs: the caller's own calls report it.
pub fn with_engine_on_own_thread<W, F>(work: W) -> std::thread::JoinHandle<()>
where
    W: FnOnce(Engine) -> F + Send + 'static,
    F: std::future::Future<Output = ()>,
{
    on_own_runtime(move || async move {
        if let Ok(engine) = Engine::connect().await {
            work(engine).await;
        }
    })
}

pub(crate) async fn remove_labelled(
    engine: &Engine,
    filter: &[(&str, &str)],
) -> Result<CleanReport, RuntimeError> {
    let containers = engine.containers_labelled(filter).await?;
    let removals = containers.iter().map(|id| engine.remove_container(id));
    for result in futures_util::future::join_all(removals).await {
        result?;
    }
    let networks = engine.networks_labelled(filter).await?;
    for name in &networks {
        engine.remove_network(name).await?;
    }
    Ok(CleanReport {
        containers: containers.len(),
        networks: networks.len(),
        ..Default::default()
    })
}
