//! The builder image of a suite: `mmdebstrap --variant=buildd` (gcc, make, libc's headers)
//! plus ccache, patch and the -dev packages of the `full` profile, imported as
//! `haprepro/builder:<suite>` like the catalog images are: offline from Debian's mirror, no
//! registry, cached by a recipe hash of everything that shapes it.

use sha2::{Digest, Sha256};

use super::super::catalog::{Catalog, Suite};
use super::super::{debian, labels, BuildEvent, ImageError};
use crate::runtime::Engine;

/// The repository of builder images.
pub const BUILDER_REPO: &str = "haprepro/builder";
/// Bumped when the way builder images are made changes.
const BUILDER_RECIPE_VERSION: u32 = 1;

/// The builder's packages for a suite: the catalog's `[builder]` list and the suite's Lua.
fn packages(catalog: &Catalog, suite: &Suite) -> Vec<String> {
    let mut packages = catalog.builder.packages.clone();
    packages.push(suite.lua_dev().to_string());
    packages
}

/// What shapes a suite's builder image; part of every source image's cache key.
pub fn recipe_hash(catalog: &Catalog, suite: &Suite) -> String {
    let mut hasher = Sha256::new();
    hasher.update(BUILDER_RECIPE_VERSION.to_le_bytes());
    hasher.update(&catalog.mirror);
    hasher.update(suite.base_suite());
    hasher.update(packages(catalog, suite).join(","));
    hex::encode(&hasher.finalize()[..8])
}

/// The builder image of the suite, built first if missing or outdated. Returns its reference.
pub async fn ensure(
    engine: &Engine,
    catalog: &Catalog,
    suite: &Suite,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<String, ImageError> {
    let base = suite.base_suite();
    let reference = format!("{BUILDER_REPO}:{base}");
    let recipe = recipe_hash(catalog, suite);
    if let Some(existing) = engine.image_labels(&reference).await? {
        if existing.get(labels::RECIPE) == Some(&recipe) {
            return Ok(reference);
        }
    }
    let event = |step: &str, detail: String| {
        progress(BuildEvent {
            suite: format!("builder {base}"),
            step: step.to_string(),
            detail,
        })
    };
    let dir = super::super::work_dir();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ImageError::Io(format!("create {}", dir.display()), e))?;
    let log = dir.join(format!("builder-{base}.log"));
    let tarball = dir.join(format!("builder-{base}.tar"));
    event(
        "rootfs",
        format!(
            "mmdebstrap --variant=buildd {base} for source builds, once (log: {})",
            log.display()
        ),
    );
    let args = vec![
        "--variant=buildd".to_string(),
        format!("--include={}", packages(catalog, suite).join(",")),
        "--aptopt=Acquire::Check-Valid-Until \"false\"".to_string(),
        base.to_string(),
        tarball.display().to_string(),
        format!("deb {} {base} main", catalog.mirror),
    ];
    let failed = |step: &str, reason: String| ImageError::BuildFailed {
        suite: format!("builder {base}"),
        step: step.to_string(),
        reason,
        log: log.clone(),
    };
    let status = debian::mmdebstrap(&args, &log, &|msg| event("rootfs", msg.to_string())).await?;
    if !status.success() {
        let _ = tokio::fs::remove_file(&tarball).await;
        return Err(failed(
            "rootfs (mmdebstrap)",
            format!("exited with {status}"),
        ));
    }
    event("import", format!("docker import as {reference}"));
    let changes = vec![
        format!("LABEL {}=builder", labels::SOURCE),
        format!("LABEL {}={base}", labels::SUITE),
        format!("LABEL {}={recipe}", labels::RECIPE),
    ];
    let imported = engine
        .import_rootfs(&tarball, BUILDER_REPO, base, changes)
        .await;
    let _ = tokio::fs::remove_file(&tarball).await;
    imported.map_err(|e| failed("docker import", e.to_string()))?;
    Ok(reference)
}
