//! Leftovers of runs whose process is gone: before its first case, a haprepro process removes
//! the containers and networks that earlier processes labelled (`haprepro.pid`) and that no
//! living process owns any more, so a run killed with SIGKILL (no watchdog, no `Drop`) does not
//! leave its containers up until someone runs `haprepro clean`.
//!
//! Several processes share one Docker daemon (parallel test binaries, several people on one
//! machine, CI jobs in PID namespaces of their own), so the test is strict: only what was made
//! on this host by a session whose lease is free (see [`super::session`]) is removed; objects
//! made before session labels existed are judged by their pid (gone, or reused since).
//! Anything else stays for `haprepro clean`.

use std::collections::BTreeMap;

use tokio::sync::OnceCell;

use super::engine::{Engine, Owned};
use super::{session, RuntimeError};

/// The label with the creating process's id.
pub(crate) const PID_LABEL: &str = "haprepro.pid";
/// The label with the host the creating process ran on.
pub(crate) const HOST_LABEL: &str = "haprepro.host";

static ONCE: OnceCell<()> = OnceCell::const_new();

/// What [`remove_orphans`] removed, by the pid that had made it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OrphanReport {
    pub containers: usize,
    pub networks: usize,
    pub pids: Vec<u32>,
}

/// This host's name, for the host label.
pub(crate) fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// Runs [`remove_orphans`] once per process, before the first case; a failure is printed, never
/// fatal (the case's own network does not depend on it).
pub(crate) async fn once(engine: &Engine) {
    ONCE.get_or_init(|| async {
        match remove_orphans(engine).await {
            Ok(r) if r.containers + r.networks > 0 => eprintln!(
                "haprepro: removed {} container(s) and {} network(s) left by earlier runs whose process is gone (pid {})",
                r.containers,
                r.networks,
                r.pids
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ok(_) => {}
            Err(e) => eprintln!("haprepro: could not look for leftovers of earlier runs: {e}"),
        }
    })
    .await;
}

/// Removes the containers and networks whose creating process is gone (see the module docs).
pub async fn remove_orphans(engine: &Engine) -> Result<OrphanReport, RuntimeError> {
    let here = host();
    let local = engine.is_local();
    let ours = |o: &Owned| match o.labels.get(HOST_LABEL) {
        Some(h) => *h == here,
        // Made before the host label existed: from this host only if the daemon is local.
        None => local,
    };
    let containers: Vec<Owned> = engine
        .owned_containers(PID_LABEL)
        .await?
        .into_iter()
        .filter(ours)
        .collect();
    let networks: Vec<Owned> = engine
        .owned_networks(PID_LABEL)
        .await?
        .into_iter()
        .filter(ours)
        .collect();
    let gone_pids = legacy_dead_pids(containers.iter().chain(&networks));
    let orphan = |o: &&Owned| is_orphan(o, &gone_pids);
    let doomed: Vec<&Owned> = containers.iter().filter(orphan).collect();
    let removals = doomed.iter().map(|c| engine.remove_container(&c.id));
    for result in futures_util::future::join_all(removals).await {
        result?;
    }
    let doomed_networks: Vec<&Owned> = networks.iter().filter(orphan).collect();
    for n in &doomed_networks {
        engine.remove_network(&n.id).await?;
    }
    let mut sessions: Vec<String> = doomed
        .iter()
        .chain(&doomed_networks)
        .filter_map(|o| o.labels.get(session::SESSION_LABEL).cloned())
        .collect();
    sessions.sort();
    sessions.dedup();
    for s in &sessions {
        session::forget(s);
    }
    let mut pids: Vec<u32> = doomed
        .iter()
        .chain(&doomed_networks)
        .filter_map(|o| o.pid())
        .collect();
    pids.sort();
    pids.dedup();
    Ok(OrphanReport {
        containers: doomed.len(),
        networks: doomed_networks.len(),
        pids,
    })
}

/// Whether no living process can own an object: its session's lease is free (or it predates
/// this boot); an object older than session labels is judged by its pid (see
/// [`legacy_dead_pids`]). An object whose owner cannot be proved dead stays.
pub(crate) fn is_orphan(o: &Owned, legacy_gone: &[u32]) -> bool {
    if o.labels.contains_key(session::SESSION_LABEL) {
        return session::owner(&o.labels) == session::Owner::Dead;
    }
    o.pid().is_some_and(|p| legacy_gone.contains(&p))
}

/// For objects made before session labels: the pids that are gone, or alive only since after
/// their oldest object was made (a reused pid).
fn legacy_dead_pids<'a>(objects: impl Iterator<Item = &'a Owned>) -> Vec<u32> {
    let mut oldest: BTreeMap<u32, Option<i64>> = BTreeMap::new();
    for o in objects.filter(|o| !o.labels.contains_key(session::SESSION_LABEL)) {
        if let Some(pid) = o.pid() {
            let entry = oldest.entry(pid).or_insert(o.created);
            *entry = match (*entry, o.created) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }
    oldest
        .into_iter()
        .filter(|(pid, created)| *pid != std::process::id() && !owner_alive(*pid, *created))
        .map(|(pid, _)| pid)
        .collect()
}

/// Whether the process that made a resource (created at `created`, Unix seconds) still runs:
/// its pid exists and its process started no later than the resource was made.
pub(crate) fn owner_alive(pid: u32, created: Option<i64>) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return true;
    };
    if raw <= 0 {
        return true;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let exists = unsafe { libc::kill(raw, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    if !exists {
        return false;
    }
    match (process_start(pid), created) {
        // A second of slack: Docker's creation time and the kernel's clock ticks round apart.
        (Some(started), Some(created)) => started <= created + 1,
        _ => true,
    }
}

/// When a process started, in Unix seconds, from `/proc/<pid>/stat` and the boot time.
fn process_start(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces: count fields after the last `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    // Field 22 (starttime) is the 20th after the name (state is field 3).
    let ticks: i64 = after.split_whitespace().nth(19)?.parse().ok()?;
    let boot: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| boot + ticks / hz as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!(owner_alive(std::process::id(), Some(now)));
        // A pid that exited: a child we waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!owner_alive(pid, Some(now)));
        // A living pid that started after the resource was made is not its owner.
        assert!(!owner_alive(std::process::id(), Some(now - 86_400 * 365)));
        assert!(process_start(std::process::id()).is_some_and(|s| s <= now));
    }
}
