//! Fault injection for the fault tests: `HAPREPRO_FAILPOINT=NAME` makes this process kill
//! itself with SIGKILL when it reaches the point NAME, as an OOM killer, a CI timeout or a
//! power cut would, with no chance to clean up. The tests then check what such a death leaves:
//! nothing that `haprepro clean` does not remove, no half-written file, no lock held.
//!
//! Points: `setup` (containers started, before the first step), `steps` (after step 1),
//! `evidence` (the first evidence file written, the others not), `write:FILE` (FILE's bytes in
//! its temporary file, before the rename that makes it FILE; `write:case.json`),
//! `source-build` (a source build's container started) and `image-build` (a catalog image's
//! rootfs tarball written, before its import). Unset, a point costs one comparison.

use std::sync::LazyLock;

static ACTIVE: LazyLock<Option<String>> = LazyLock::new(|| {
    std::env::var("HAPREPRO_FAILPOINT")
        .ok()
        .filter(|s| !s.is_empty())
});

/// Dies here when `HAPREPRO_FAILPOINT` names `point`.
pub fn hit(point: &str) {
    if ACTIVE.as_deref() == Some(point) {
        die(point);
    }
}

/// [`hit`] for the write of a file named `name` (point `write:NAME`).
pub fn hit_write(name: &str) {
    if let Some(active) = ACTIVE.as_deref() {
        if active.strip_prefix("write:") == Some(name) {
            die(active);
        }
    }
}

fn die(point: &str) {
    eprintln!("haprepro: failpoint {point}: killing this process (HAPREPRO_FAILPOINT)");
    // SAFETY: a signal to this process; nothing after it runs.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
}
