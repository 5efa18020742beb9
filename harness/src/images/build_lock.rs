//! One build at a time on a machine, across processes: a build takes every core, two at once
//! only slow each other down, and a second request for the same image must wait for the first
//! and then find its image instead of building it again. Catalog builds and source builds each
//! hold their own lock file. An advisory `flock` on a file of the cache directory; the kernel
//! releases it when the process dies, so a crashed build never blocks the next one.

use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::ImageError;

/// Held while building; dropping it releases the lock.
pub struct BuildLock {
    _file: std::fs::File,
}

/// Takes the lock at `path`, calling `waiting` once if another process holds it.
pub async fn acquire(
    path: PathBuf,
    waiting: &(dyn Fn(&Path) + Sync),
) -> Result<BuildLock, ImageError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| ImageError::Io(format!("create {}", dir.display()), e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ImageError::Io(format!("open {}", path.display()), e))?;
    // SAFETY: flock on a file descriptor this function owns; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(BuildLock { _file: file });
    }
    waiting(&path);
    let file = tokio::task::spawn_blocking(move || {
        // SAFETY: as above; blocks this worker thread only.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc == 0 {
            Ok(file)
        } else {
            Err(std::io::Error::last_os_error())
        }
    })
    .await
    .map_err(|e| ImageError::Io("wait for the build lock".into(), std::io::Error::other(e)))?
    .map_err(|e| ImageError::Io(format!("lock {}", path.display()), e))?;
    Ok(BuildLock { _file: file })
}
