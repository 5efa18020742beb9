//! `signal = { to = "haproxy", signal = "STOP", process = "worker" }`: a signal to an
//! instance's main process, or to the master's workers.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::runtime::host_proc;
use crate::scenario::case::CaseState;
use crate::scenario::problem::{problem, Problem};

/// Sends a signal to an instance's main process, or to its worker (master-worker mode).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalStep {
    pub to: Spanned<String>,
    /// `STOP`, `CONT`, `USR1`, `HUP`, ...
    pub signal: String,
    /// `worker`: the children of the master; the main process otherwise.
    #[serde(default)]
    pub process: Option<String>,
}

impl Word for SignalStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.c.role(cx.names.instances, &self.to, "step.signal.to");
        if self.process.as_deref().is_some_and(|p| p != "worker") {
            cx.error(
                "step.signal.process",
                "only \"worker\" (or nothing: the main process)",
            );
        }
    }

    fn describe(&self) -> String {
        format!(
            "signal {} to {}{}",
            self.signal,
            self.to.get_ref(),
            if self.process.is_some() {
                "'s worker"
            } else {
                ""
            }
        )
    }

    fn budget(&self) -> Duration {
        crate::scenario::deadline::EXEC
    }
}

/// `SIGUSR2`, `usr2`, `USR2` to `USR2`; an error for anything that is no signal name.
pub(crate) fn signal_name(signal: &str) -> Result<String, String> {
    let name = signal.trim_start_matches("SIG").to_uppercase();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("bad signal name {signal:?}"));
    }
    Ok(name)
}

impl Run for SignalStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let sig = self;
        let instance = state.instance(Some(sig.to.get_ref()))?;
        let container = instance
            .container
            .clone()
            .ok_or_else(|| format!("{} is not started", sig.to.get_ref()))?;
        let name = signal_name(&sig.signal)?;
        match sig.process.as_deref() {
            Some("worker") => {
                // From the host: the master's children, through its host PID (the official
                // images have no pgrep to run inside).
                let number = host_proc::signal_number(&name)
                    .ok_or_else(|| format!("SIG{name} cannot be sent to a worker"))?;
                let master = state
                    .live
                    .sandbox
                    .main_pid(&container)
                    .await
                    .map_err(|e| problem(&e))?;
                let workers = host_proc::children(master)
                    .map_err(|e| format!("listing the processes of /proc: {e}"))?;
                if workers.is_empty() {
                    return Err(format!(
                        "no worker to signal: the master (host pid {master}) has no child process"
                    ).into());
                }
                for w in &workers {
                    host_proc::kill(w.host_pid, number).map_err(|e| {
                        format!("SIG{name} to worker pid {} (host {}): {e}", w.ns_pid, w.host_pid)
                    })?;
                }
                let pids: Vec<String> = workers.iter().map(|w| w.ns_pid.to_string()).collect();
                Ok(format!("SIG{name} sent to worker pid(s) {}", pids.join(" ")))
            }
            _ => {
                state
                    .live.sandbox
                    .signal(&container, &format!("SIG{name}"))
                    .await
                    .map_err(|e| problem(&e))?;
                Ok(format!(
                    "SIG{name} sent to {}'s main process",
                    sig.to.get_ref()
                ))
            }
        }
    }
}
