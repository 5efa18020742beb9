//! A backtrace of every thread from a crash's core, with the host's `gdb` over the crashed
//! container's own files (its HAProxy binary and libraries, exported from Docker), so the
//! frames are read against exactly what ran. Source builds keep an unstripped binary and give
//! HAProxy's function names; Debian's package is stripped, and its frames are addresses (with
//! the C library's names), which the record says plainly.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::HaproxyExit;

use crate::scenario::case::CaseState;

/// Where HAProxy's binary may be in an image: Debian's package and haprepro's own builds, then
/// the official images.
const BINARIES: &[&str] = &[
    "usr/sbin/haproxy",
    "usr/local/sbin/haproxy",
    "usr/bin/haproxy",
    "usr/local/bin/haproxy",
];

/// The parts of an image gdb reads: the binary and the shared libraries.
const WANTED: &[&str] = &[
    "usr/sbin/",
    "usr/local/",
    "usr/bin/haproxy",
    "usr/lib",
    "lib",
];

/// Writes `backtrace-<instance>.txt` from the core in the evidence folder; returns the file's
/// name (with a word on symbols), or why there is no backtrace.
pub(crate) async fn from_core(state: &mut CaseState<'_>, exit: &HaproxyExit, core: &str) -> String {
    if Command::new("gdb").arg("--version").output().is_err() {
        return "no backtrace: gdb is not installed on this host (apt-get install gdb)".into();
    }
    let Some(container) = state
        .live
        .instances
        .iter()
        .find(|i| i.name == exit.instance)
        .and_then(|i| i.container.clone())
    else {
        return "no backtrace: the container is gone".into();
    };
    let root = std::env::temp_dir().join(format!("hr-bt-{:08x}", rand::random::<u32>()));
    if let Err(e) = std::fs::create_dir_all(&root) {
        return format!("no backtrace: cannot create {}: {e}", root.display());
    }
    let tarball = root.join("fs.tar");
    let result = match state
        .live
        .sandbox
        .engine()
        .export(&container.id, &tarball)
        .await
    {
        Err(e) => Err(format!("no backtrace: {e}")),
        Ok(()) => {
            let core = state.evidence_dir.join(core);
            let out = state
                .evidence_dir
                .join(format!("backtrace-{}.txt", exit.instance));
            let root = root.clone();
            tokio::task::spawn_blocking(move || run_gdb(&root, &tarball, &core, &out))
                .await
                .unwrap_or_else(|e| Err(e.to_string()))
        }
    };
    let _ = std::fs::remove_dir_all(&root);
    match result {
        Ok(symbols) => {
            let name = format!("backtrace-{}.txt", exit.instance);
            state.kept.evidence.push(name.clone());
            if symbols {
                name
            } else {
                format!(
                    "{name} (addresses only for HAProxy's frames: its binary is stripped; a \
                     source build keeps the symbols)"
                )
            }
        }
        Err(e) => e,
    }
}

/// Unpacks the binary and libraries, runs gdb, writes its output; whether HAProxy's binary has
/// symbols.
fn run_gdb(root: &Path, tarball: &Path, core: &Path, out: &Path) -> Result<bool, String> {
    let sysroot = root.join("fs");
    std::fs::create_dir_all(&sysroot).map_err(|e| e.to_string())?;
    let file = std::fs::File::open(tarball).map_err(|e| e.to_string())?;
    let mut archive = tar::Archive::new(file);
    for entry in archive.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        let text = path.to_string_lossy();
        if WANTED.iter().any(|w| text.starts_with(w)) {
            // `unpack_in` refuses a path that would land outside the folder.
            entry.unpack_in(&sysroot).map_err(|e| e.to_string())?;
        }
    }
    let binary: PathBuf = BINARIES
        .iter()
        .map(|b| sysroot.join(b))
        .find(|p| p.is_file())
        .ok_or("no backtrace: no haproxy binary found in the container")?;
    let output = Command::new("gdb")
        // Nothing from the container's files may run on the host: no auto-loaded scripts.
        .args(["-batch", "-nx", "-iex", "set auto-load off"])
        .arg("-ex")
        .arg(format!("set sysroot {}", sysroot.display()))
        .args(["-ex", "set pagination off"])
        .args(["-ex", "info threads"])
        .args(["-ex", "thread apply all bt"])
        .arg(&binary)
        .arg(core)
        .output()
        .map_err(|e| format!("no backtrace: gdb: {e}"))?;
    // The container's paths, as they were in the container.
    let root_prefix = sysroot.display().to_string();
    let mut text = String::from_utf8_lossy(&output.stdout).replace(&root_prefix, "");
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&root_prefix, "");
    if !stderr.trim().is_empty() {
        text.push_str("\n# gdb's messages\n");
        text.push_str(&stderr);
    }
    let symbols = !text.contains("No symbol table is loaded")
        && !stderr.contains("no debugging symbols found")
        && has_symbol_table(&binary);
    std::fs::write(out, text).map_err(|e| format!("no backtrace: write: {e}"))?;
    Ok(symbols)
}

/// Whether an ELF file still has its `.symtab` (a stripped one keeps only `.dynsym`).
fn has_symbol_table(binary: &Path) -> bool {
    std::fs::read(binary)
        .map(|bytes| bytes.windows(8).any(|w| w == b".symtab\0"))
        .unwrap_or(false)
}
