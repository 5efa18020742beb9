//! Docker, as haprepro uses it: one isolated network per case, labelled containers on it, and
//! teardown that happens after success, failure, panic and Ctrl-C.
//!
//! Everything haprepro creates carries the label `haprepro.run=<run id>` (plus the case and the
//! creating process), so `haprepro clean` finds leftovers of any earlier run, and the signal
//! watchdog finds this process's own.

mod bridge_addr;
mod engine;
mod error;
mod names;
mod orphans;
mod sandbox;
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
pub async fn clean(engine: &Engine, run: Option<&str>) -> Result<CleanReport, RuntimeError> {
    let filter = [(RUN_LABEL, run.unwrap_or(""))];
    remove_labelled(engine, &filter).await
}

/// What [`clean`] removed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct CleanReport {
    pub containers: usize,
    pub networks: usize,
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
    })
}
