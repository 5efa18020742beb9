//! Offline HAProxy images: a minimal Debian rootfs with the suite's haproxy package, made by
//! mmdebstrap from Debian's mirror and turned into an image with `docker import`.
//!
//! This is the one source that works without a container registry. mmdebstrap rather than
//! debootstrap: it resolves with apt (so `haproxy/experimental` works), writes a tarball directly
//! and runs its `essential` variant in about 30 s. `haproxy -v` is run inside the finished rootfs
//! by a customize hook, so the version label is what the image really holds.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::catalog::{Catalog, Suite};
use super::{labels, BuildEvent, ImageError, HAPROXY_REPO};
use crate::runtime::Engine;

/// haprepro's cache directory: `$XDG_CACHE_HOME/haprepro` (`~/.cache/haprepro`).
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("haprepro")
}

/// Where build logs and scratch tarballs go: `$XDG_CACHE_HOME/haprepro/images`.
pub fn work_dir() -> PathBuf {
    cache_dir().join("images")
}

/// The tag under which a suite's image is cached; the version tag is added beside it.
pub fn suite_tag(suite: &str) -> String {
    format!("suite-{suite}")
}

/// Builds one suite's image unless an image of the same recipe exists. Returns the version.
pub async fn build(
    engine: &Engine,
    catalog: &Catalog,
    suite: &Suite,
    force: bool,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<String, ImageError> {
    let recipe = catalog.recipe_hash(suite);
    let tag = suite_tag(&suite.name);
    let event = |step: &str, detail: String| {
        progress(BuildEvent {
            suite: suite.name.clone(),
            step: step.to_string(),
            detail,
        })
    };
    if !force {
        if let Some(existing) = engine
            .image_labels(&format!("{HAPROXY_REPO}:{tag}"))
            .await?
        {
            if existing.get(labels::RECIPE) == Some(&recipe) {
                let version = existing.get(labels::VERSION).cloned().unwrap_or_default();
                event(
                    "cached",
                    format!("HAProxy {version}, recipe {recipe} unchanged"),
                );
                return Ok(version);
            }
        }
    }
    let dir = work_dir();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ImageError::Io(format!("create {}", dir.display()), e))?;
    let log_path = dir.join(format!("{}.log", suite.name));
    // Scratch names of this process's own: a build lock guards them, and a build killed
    // half-way never leaves a tarball that a later build could take for its own.
    let pid = std::process::id();
    let tarball = dir.join(format!("{}.{pid}.tar", suite.name));
    let version_file = dir.join(format!("{}.{pid}.haproxy-v", suite.name));
    remove_stale_scratch(&dir, &suite.name);

    event(
        "rootfs",
        format!("mmdebstrap {} (log: {})", suite.name, log_path.display()),
    );
    let step_failed = |step: &str, reason: String| ImageError::BuildFailed {
        suite: suite.name.clone(),
        step: step.to_string(),
        reason,
        log: log_path.clone(),
    };
    let args = mmdebstrap_args(catalog, suite, &tarball, &version_file);
    let status = mmdebstrap(&args, &log_path, &|msg| event("rootfs", msg.to_string())).await?;
    if !status.success() {
        let _ = tokio::fs::remove_file(&tarball).await;
        return Err(step_failed(
            "rootfs (mmdebstrap)",
            format!("exited with {status}"),
        ));
    }
    let haproxy_v = tokio::fs::read_to_string(&version_file)
        .await
        .map_err(|e| step_failed("haproxy -v in the rootfs", e.to_string()))?;
    let version = super::version_from_haproxy_v(&haproxy_v).ok_or_else(|| {
        step_failed(
            "haproxy -v in the rootfs",
            format!("unreadable: {haproxy_v:?}"),
        )
    })?;

    // The rootfs tarball is written, the image not yet made.
    crate::failpoint::hit("image-build");
    event("import", format!("docker import as {HAPROXY_REPO}:{tag}"));
    let changes = vec![
        format!("LABEL {}=debian", labels::SOURCE),
        format!("LABEL {}={}", labels::SUITE, suite.name),
        format!("LABEL {}={}", labels::RECIPE, recipe),
        format!("LABEL {}={}", labels::VERSION, version),
        "CMD [\"haproxy\", \"-v\"]".to_string(),
    ];
    let imported = engine
        .import_rootfs(&tarball, HAPROXY_REPO, &tag, changes)
        .await;
    let _ = tokio::fs::remove_file(&tarball).await;
    let _ = tokio::fs::remove_file(&version_file).await;
    imported.map_err(|e| step_failed("docker import", e.to_string()))?;
    let short = super::short_version(&version);
    engine
        .tag(&format!("{HAPROXY_REPO}:{tag}"), HAPROXY_REPO, &short)
        .await?;
    event(
        "done",
        format!("HAProxy {version} as {HAPROXY_REPO}:{short}"),
    );
    Ok(version)
}

/// Runs mmdebstrap with `args`, its whole output into `log_path`, and each of its `I:` lines
/// (what it is doing) to `on_info`.
pub(super) async fn mmdebstrap(
    args: &[String],
    log_path: &Path,
    on_info: &(dyn Fn(&str) + Sync),
) -> Result<std::process::ExitStatus, ImageError> {
    let mut log = tokio::fs::File::create(log_path)
        .await
        .map_err(|e| ImageError::Io(format!("create {}", log_path.display()), e))?;
    log.write_all(format!("$ mmdebstrap {}\n", args.join(" ")).as_bytes())
        .await
        .ok();
    let mut child = tokio::process::Command::new("mmdebstrap")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ImageError::MmdebstrapMissing,
            _ => ImageError::Io("run mmdebstrap".into(), e),
        })?;
    if let Some(stderr) = child.stderr.take() {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            log.write_all(line.as_bytes()).await.ok();
            log.write_all(b"\n").await.ok();
            if let Some(msg) = line.strip_prefix("I: ") {
                on_info(msg);
            }
        }
    }
    child
        .wait()
        .await
        .map_err(|e| ImageError::Io("wait for mmdebstrap".into(), e))
}

fn mmdebstrap_args(
    catalog: &Catalog,
    suite: &Suite,
    tarball: &Path,
    version_file: &Path,
) -> Vec<String> {
    let base = suite.base.as_deref().unwrap_or(&suite.name);
    let includes: Vec<String> = catalog
        .packages
        .iter()
        .map(|p| match (&suite.install_from, p.as_str()) {
            (Some(from), "haproxy") => format!("haproxy/{from}"),
            _ => p.clone(),
        })
        .collect();
    let mut args = vec![
        "--variant=essential".to_string(),
        format!("--include={}", includes.join(",")),
        // sid's and experimental's Release files can be past Valid-Until on a mirror snapshot.
        "--aptopt=Acquire::Check-Valid-Until \"false\"".to_string(),
        format!(
            "--customize-hook=chroot \"$1\" haproxy -v > '{}'",
            version_file.display()
        ),
        base.to_string(),
        tarball.display().to_string(),
        format!("deb {} {base} main", catalog.mirror),
    ];
    if let Some(from) = &suite.install_from {
        args.push(format!("deb {} {from} main", catalog.mirror));
    }
    args
}

/// Labels for the throwaway containers image work creates, so `clean` finds them too.
pub(crate) fn scratch_labels() -> HashMap<String, String> {
    HashMap::from([(crate::runtime::RUN_LABEL.to_string(), "images".to_string())])
}

/// Removes scratch files a killed build of `suite` left (the caller holds the build lock, so
/// no live build owns them).
fn remove_stale_scratch(dir: &Path, suite: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(suite).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let stale = rest.split_once('.').is_some_and(|(pid, ext)| {
            pid.bytes().all(|b| b.is_ascii_digit()) && (ext == "tar" || ext == "haproxy-v")
        });
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
