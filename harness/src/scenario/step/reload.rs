//! `reload = { on = "haproxy" }`: reloads a master-worker instance (`master_cli = true`)
//! through its master CLI (`reload`), or with SIGUSR2 to the master (`via = "signal"`), and
//! waits until a new worker serves: the master's `show proc` lists a worker whose PID is new,
//! every old worker has left or is listed as old, and the runtime API is answered by the new
//! worker (`show info` gives its PID). Event-driven with a deadline (`within`), never a fixed
//! sleep. The old and new worker PIDs are recorded.

use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::word::{first_lines, Cx, Run, Word};
use crate::haproxy::ProcList;
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::record::{Recorded, ReloadLog};
use crate::scenario::case::CaseState;
use crate::scenario::problem::{problem, Problem};
use crate::scenario::words::POLL;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReloadStep {
    /// The instance; the first one by default. It needs `master_cli = true`.
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// `cli` (the master CLI's `reload`, the default) or `signal` (SIGUSR2 to the master).
    #[serde(default)]
    pub via: Option<Spanned<String>>,
    /// How long the new worker may take to serve.
    #[serde(default = "default_reload_within")]
    pub within: Dur,
    /// Keeps the old and new worker PIDs, for the `value` measure and the evidence folder.
    #[serde(default)]
    pub record: Option<String>,
}

fn default_reload_within() -> Dur {
    Dur(Duration::from_secs(10))
}

impl Word for ReloadStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most_time(
            "step.reload.within",
            self.within.0,
            crate::scenario::bounds::DURATION,
        );
        cx.instance(&self.on, "step.reload.on");
        if let Some(target) = cx.target(&self.on) {
            if cx.names.instances.contains(&target) && !cx.names.master_cli.contains(&target) {
                let at = self.on.as_ref().map_or(cx.span.clone(), |o| o.span());
                cx.error_at(
                    at,
                    "step.reload.on",
                    format!("{target:?} is not in master-worker mode: add master_cli = true to its [topology.haproxy]"),
                );
            }
        }
        if let Some(via) = &self.via {
            if !["cli", "signal"].contains(&via.get_ref().as_str()) {
                cx.error_at(
                    via.span(),
                    "step.reload.via",
                    format!("{:?}: expected \"cli\" or \"signal\"", via.get_ref()),
                );
            }
        }
        if let Some(r) = &self.record {
            cx.record(r, RecordKind::Reload);
        }
    }

    fn describe(&self) -> String {
        format!(
            "reload {} via {} (within {})",
            self.on
                .as_ref()
                .map(|o| o.get_ref().as_str())
                .unwrap_or("haproxy"),
            self.via().0,
            self.within
        )
    }

    fn budget(&self) -> Duration {
        // `show proc` before, the reload itself (a signal is a Docker call), then the wait.
        self.within.0 + crate::scenario::deadline::EXEC + MASTER_TIMEOUT * 2
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }
}

/// One master CLI command's own deadline.
const MASTER_TIMEOUT: Duration = Duration::from_secs(2);

impl ReloadStep {
    fn via(&self) -> (&str, bool) {
        match self.via.as_ref().map(|v| v.get_ref().as_str()) {
            Some("signal") => ("SIGUSR2", true),
            _ => ("the master CLI", false),
        }
    }
}

/// A master CLI command and its whole answer (the master closes once it is sent, after the
/// client's half-close); an error when the socket refuses or nothing came back in time.
async fn master(path: &std::path::Path, command: &str, within: Duration) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let exchange = async {
        // Never through a link the container put in its socket folder.
        let mut stream = crate::load::unix::connect(path).await?;
        stream.write_all(format!("{command}\n").as_bytes()).await?;
        stream.shutdown().await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(within, exchange).await {
        Ok(Ok(answer)) if !answer.is_empty() => Ok(String::from_utf8_lossy(&answer).into_owned()),
        Ok(Ok(_)) => Err(format!("no answer to `{command}`")),
        Ok(Err(e)) => Err(format!("`{command}`: {e}")),
        Err(_) => Err(format!("no answer to `{command}` within {within:?}")),
    }
}

impl Run for ReloadStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let on = self.on.as_ref().map(|o| o.get_ref().as_str());
        let instance = state.instance(on)?;
        let path = instance.sock_dir.join("master.sock");
        let api = instance.api.clone().with_timeout(Duration::from_millis(500));
        let container = instance
            .container
            .clone()
            .ok_or_else(|| format!("{} is not started", instance.name))?;
        let before_text = master(&path, "show proc", MASTER_TIMEOUT).await?;
        let before = ProcList::parse(&before_text).map_err(|e| e.to_string())?;
        let old: Vec<u32> = before.all_workers().map(|p| p.pid).collect();
        if old.is_empty() {
            return Err(format!(
                "no worker before the reload: {}",
                first_lines(&before_text, 4)
            ).into());
        }
        let started = Instant::now();
        let (via, signal) = self.via();
        let answer = if signal {
            state
                .live.sandbox
                .signal(&container, "SIGUSR2")
                .await
                .map_err(|e| problem(&e))?;
            String::new()
        } else {
            // 2.2 closes the connection without an answer while it re-executes; later versions
            // answer once the new worker is up (or the reload failed).
            master(&path, "reload", self.within.0)
                .await
                .unwrap_or_default()
        };
        if answer.contains("Success=0") {
            return Err(format!("the reload failed: {}", first_lines(&answer, 4)).into());
        }
        let deadline = started + self.within.0;
        let mut last = String::from("no answer yet");
        loop {
            if let Some(log) = self.served(&path, &api, &old, &mut last).await {
                let log = ReloadLog {
                    via: via.to_string(),
                    old_pids: old.clone(),
                    reload_ms: started.elapsed().as_millis() as u64,
                    answer: answer.clone(),
                    show_proc_before: before_text.clone(),
                    ..log
                };
                let detail = format!(
                    "reloaded via {via} in {}ms: worker(s) {:?} -> {:?} (serving: {}){}",
                    log.reload_ms,
                    log.old_pids,
                    log.new_pids,
                    log.serving_pid.map(|p| p.to_string()).unwrap_or_default(),
                    if log.old_left_running.is_empty() {
                        String::new()
                    } else {
                        format!("; old {:?} still finishing", log.old_left_running)
                    }
                );
                if let Some(name) = &self.record {
                    state.kept.records.insert(name.clone(), Recorded::Reload(log));
                }
                return Ok(detail);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "no new worker served within {} of the reload via {via} (old: {old:?}); last: {last}",
                    self.within
                ).into());
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl ReloadStep {
    /// Whether a new worker serves now: `show proc` lists a current worker with a new PID and
    /// no old one as current, and `show info` is answered by a new worker.
    async fn served(
        &self,
        path: &std::path::Path,
        api: &crate::haproxy::RuntimeApi,
        old: &[u32],
        last: &mut String,
    ) -> Option<ReloadLog> {
        let text = match master(path, "show proc", MASTER_TIMEOUT).await {
            Ok(t) => t,
            Err(e) => {
                *last = format!("show proc: {e}");
                return None;
            }
        };
        let list = match ProcList::parse(&text) {
            Ok(l) => l,
            Err(e) => {
                *last = format!("show proc: {e}");
                return None;
            }
        };
        let new: Vec<u32> = list
            .workers()
            .map(|p| p.pid)
            .filter(|p| !old.contains(p))
            .collect();
        // An old worker listed as current has the higher reload count where the version keeps
        // old workers in the same section: it is old by its PID either way.
        let old_left: Vec<u32> = list
            .all_workers()
            .map(|p| p.pid)
            .filter(|p| old.contains(p))
            .collect();
        *last = format!("show proc: {}", first_lines(&text, 6));
        let old_current = list.workers().any(|p| old.contains(&p.pid));
        if new.is_empty() || old_current {
            return None;
        }
        let serving = match api.show_info().await {
            Ok(info) => info.pid,
            Err(e) => {
                *last = format!("new worker(s) {new:?} listed; show info: {e}");
                return None;
            }
        };
        if !serving.is_some_and(|p| new.contains(&p)) {
            *last = format!("new worker(s) {new:?} listed; show info answered by pid {serving:?}");
            return None;
        }
        Some(ReloadLog {
            via: String::new(),
            old_pids: Vec::new(),
            new_pids: new,
            old_left_running: old_left,
            serving_pid: serving,
            reload_ms: 0,
            answer: String::new(),
            show_proc_before: String::new(),
            show_proc_after: text,
        })
    }
}
