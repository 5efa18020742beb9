//! On SIGINT, SIGTERM or SIGHUP, removes what this process created (bridge addresses,
//! containers, networks), then exits.
//!
//! `Drop` covers errors and panics; a signal ends the process without unwinding, so a thread of
//! its own waits for one. It works the same under `haprepro` and under `cargo test`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

use super::{remove_labelled, Engine};

static INSTALL: Once = Once::new();
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Whether a signal arrived: the watchdog is then removing this process's containers and will
/// end the process with 130. The main flow, which sees its case fail meanwhile, must not exit
/// first (see [`wait_if_interrupted`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Parks the calling thread for good when a signal arrived, leaving the exit to the watchdog
/// once its cleanup is done; returns at once otherwise.
pub fn wait_if_interrupted() {
    while interrupted() {
        std::thread::park();
    }
}

pub(crate) fn install() {
    INSTALL.call_once(|| {
        super::on_own_runtime(|| async {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
                signal(SignalKind::hangup()),
            ) else {
                return;
            };
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!("haprepro: interrupted, removing this run's containers and networks");
            super::bridge_addr::delete_all();
            // This process's session, not its pid: another process in another PID namespace
            // may have the same pid.
            let session = super::session::id();
            if let Ok(engine) = Engine::connect().await {
                let filter = [(super::session::SESSION_LABEL, session)];
                let _ = remove_labelled(&engine, &filter).await;
                // A container whose creation was in flight when the signal came appears only
                // after the first listing: a second pass, a moment later, removes it too.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                let _ = remove_labelled(&engine, &filter).await;
            }
            std::process::exit(130);
        });
    });
}
