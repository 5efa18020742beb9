//! Who owns what haprepro made: every process labels each container and network it creates
//! with a random session id, and holds a lease on that id for its whole life, an exclusive
//! `flock` on `<lease folder>/<session>.lock`. The kernel drops the lock when the process ends,
//! however it ends (SIGKILL included), so "is the owner alive?" has a proof instead of a guess:
//! the lock can be taken (dead) or not (alive). A pid could not say it: two processes in
//! different PID namespaces share pids (CI containers with host networking), and a clock step
//! makes a start time lie.
//!
//! The lease folder is on the host (`/run/haprepro/sessions`, a tmpfs emptied at boot); the
//! labels also carry the host and its boot id, so an object from before a reboot is known dead.
//! An object whose lease is not visible from here (another host, or a process whose `/run` is
//! not this one) is `Unknown`: kept, unless `clean --force`.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The label with the creating process's session id.
pub const SESSION_LABEL: &str = "haprepro.session";
/// The label with the boot id of the host the session ran on.
pub const BOOT_LABEL: &str = "haprepro.boot";

/// This process's session: its id and the lease it holds.
struct Session {
    id: String,
    /// Kept open (and locked) until the process ends; `None` when no lease could be made.
    _lease: Option<File>,
    lease_problem: Option<String>,
}

static SESSION: OnceLock<Session> = OnceLock::new();

/// Where leases are kept; `HAPREPRO_LEASE_DIR` moves it (tests, or a host whose `/run` is not
/// writable).
pub fn lease_dir() -> PathBuf {
    std::env::var_os("HAPREPRO_LEASE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/run/haprepro/sessions"))
}

fn session() -> &'static Session {
    SESSION.get_or_init(|| {
        let id = format!("{:016x}", rand::random::<u64>());
        match take_lease(&id) {
            Ok(file) => Session {
                id,
                _lease: Some(file),
                lease_problem: None,
            },
            Err(e) => Session {
                id,
                _lease: None,
                lease_problem: Some(e),
            },
        }
    })
}

fn take_lease(id: &str) -> Result<File, String> {
    let dir = lease_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{id}.lock"));
    let file = File::create(&path).map_err(|e| format!("create {}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(format!(
            "lock {}: {}",
            path.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(file)
}

/// This process's session id (made, and its lease taken, on first use).
pub fn id() -> &'static str {
    &session().id
}

/// This process's session id, if it has one yet: asking who owns an object must not make a
/// session (and a lease file) for a process that creates nothing, such as `clean`.
pub fn current() -> Option<&'static str> {
    SESSION.get().map(|s| s.id.as_str())
}

/// Gives up this process's lease file at its end when nothing labelled with its session is
/// left (the usual end: every case tore down). What `--keep` left keeps the file, so a later
/// `clean` can still prove its owner dead; a process killed before this runs leaves the file
/// to the `clean` or sweep that removes its objects.
pub async fn release(engine: &super::Engine) {
    let Some(id) = current() else { return };
    let filter = [(SESSION_LABEL, id)];
    let left = match (
        engine.owned_containers_with(&filter).await,
        engine.owned_networks_with(&filter).await,
    ) {
        (Ok(c), Ok(n)) => c.len() + n.len(),
        _ => return,
    };
    if left == 0 {
        let _ = std::fs::remove_file(lease_dir().join(format!("{id}.lock")));
    }
}

/// Why this process holds no lease, if it does not (its objects then look `Unknown` to others,
/// which keeps them, rather than dead).
pub fn lease_problem() -> Option<&'static str> {
    session().lease_problem.as_deref()
}

/// The host's boot id: objects labelled with another one were made before a reboot.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| b.trim().to_string())
        .unwrap_or_default()
}

/// The labels every container and network this process creates carries.
pub fn labels() -> HashMap<String, String> {
    HashMap::from([
        (SESSION_LABEL.to_string(), id().to_string()),
        (BOOT_LABEL.to_string(), boot_id()),
        (
            super::orphans::HOST_LABEL.to_string(),
            super::orphans::host(),
        ),
        (
            super::orphans::PID_LABEL.to_string(),
            std::process::id().to_string(),
        ),
    ])
}

/// What can be proved about the session that made an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// Its lease is held: a process of it runs.
    Alive,
    /// Its lease is free, or it ran before this host's last boot.
    Dead,
    /// Not provable from here: another host, a lease folder this process does not see, or an
    /// object older than session labels.
    Unknown,
}

/// The owner of an object, from its labels.
pub fn owner(labels: &HashMap<String, String>) -> Owner {
    let Some(session) = labels.get(SESSION_LABEL) else {
        return Owner::Unknown;
    };
    if labels.get(super::orphans::HOST_LABEL) != Some(&super::orphans::host()) {
        return Owner::Unknown;
    }
    if Some(session.as_str()) == current() {
        return Owner::Alive;
    }
    if labels.get(BOOT_LABEL).is_some_and(|b| *b != boot_id()) {
        return Owner::Dead;
    }
    lease_state(session)
}

/// Whether a session's lease is held, by trying to take it.
fn lease_state(session: &str) -> Owner {
    if session.is_empty() || !session.chars().all(|c| c.is_ascii_hexdigit()) {
        return Owner::Unknown;
    }
    let path = lease_dir().join(format!("{session}.lock"));
    let Ok(file) = File::open(&path) else {
        return Owner::Unknown;
    };
    // SAFETY: flock on a descriptor this function owns; it is released when `file` drops.
    let taken = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
    if taken {
        Owner::Dead
    } else {
        Owner::Alive
    }
}

/// Forgets a dead session's lease file once what it owned is gone.
pub fn forget(session: &str) {
    if lease_state(session) == Owner::Dead {
        let _ = std::fs::remove_file(lease_dir().join(format!("{session}.lock")));
    }
}

/// Forgets every dead session's lease file but those of `owning` (sessions that still own an
/// object, whose lease proves them dead to the next `clean`).
pub fn forget_dead_except(owning: &[String]) {
    let Ok(entries) = std::fs::read_dir(lease_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        if !owning.iter().any(|o| o == id) {
            forget(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(session: &str) -> HashMap<String, String> {
        let mut l = labels();
        l.insert(SESSION_LABEL.into(), session.into());
        l
    }

    #[test]
    fn a_held_lease_is_alive_a_free_one_dead_a_missing_one_unknown() {
        assert_eq!(lease_problem(), None, "this test needs a lease folder");
        assert_eq!(owner(&labels()), Owner::Alive);
        // A lease held by another open file description (as another process would hold it).
        let other = format!("{:016x}", rand::random::<u64>());
        let held = take_lease(&other).unwrap();
        assert_eq!(owner(&labelled(&other)), Owner::Alive);
        drop(held);
        assert_eq!(owner(&labelled(&other)), Owner::Dead);
        forget(&other);
        assert_eq!(owner(&labelled(&other)), Owner::Unknown);
        // Before a reboot: dead whatever the lease folder says.
        let mut before = labelled(&other);
        before.insert(BOOT_LABEL.into(), "another-boot".into());
        assert_eq!(owner(&before), Owner::Dead);
        // Another host, or no session label: nothing provable.
        let mut elsewhere = labelled(&other);
        elsewhere.insert(super::super::orphans::HOST_LABEL.into(), "elsewhere".into());
        assert_eq!(owner(&elsewhere), Owner::Unknown);
        assert_eq!(owner(&HashMap::new()), Owner::Unknown);
        // A label that is no session id never names a path.
        assert_eq!(owner(&labelled("../../etc/passwd")), Owner::Unknown);
    }
}
