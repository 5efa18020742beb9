//! Where each HAProxy version's image comes from.
//!
//! Five kinds of source ([`ImageSource`], one file each in [`kind`]), chosen per run: an image
//! built offline from a Debian suite (the catalog, the only source that works without a
//! registry), an official `haproxy:<tag>`, any image reference, a local `haproxy` binary placed
//! into a base image that has HAProxy's runtime libraries, and HAProxy built from source (a git
//! ref, a tarball, Debian's source package, plus patches) in an offline builder container
//! ([`source`]). Whatever the source, the version
//! a case reports is read from `haproxy -v` inside the image, never from a tag.

mod build_lock;
mod catalog;
mod debian;
mod ensure;
pub mod kind;
pub mod nightly;
pub mod source;

use std::collections::HashMap;
use std::path::PathBuf;

pub use catalog::{Catalog, Suite};
pub use debian::{cache_dir, work_dir};
pub use ensure::{base_suite_needed, ensure, missing, Ensured};
pub use kind::{BuildOptions, ImageSource};
pub use nightly::{Nightly, NightlyError, PlanEntry};
pub use source::{Profile, SourceBuild, SourceSpec, TreeSource};

use crate::haproxy::HaproxyVersion;
use crate::runtime::{Engine, RuntimeError};

/// The repository of images haprepro builds: `haprepro/haproxy:<version>` and `:suite-<suite>`.
pub const HAPROXY_REPO: &str = "haprepro/haproxy";

/// Image labels haprepro writes and reads.
pub mod labels {
    pub const SOURCE: &str = "haprepro.source";
    pub const SUITE: &str = "haprepro.suite";
    pub const RECIPE: &str = "haprepro.recipe";
    /// The full version `haproxy -v` printed inside the image (`3.0.11-1+deb13u3`).
    pub const VERSION: &str = "haprepro.haproxy.version";
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("unknown HAProxy version {wanted:?}; known: {known}\n  Or run another source: --official TAG, --image REF, --haproxy-bin PATH.")]
    UnknownVersion { wanted: String, known: String },
    #[error("no image for HAProxy {wanted} yet (Debian {suite})\n  Build it with `haprepro images build {wanted}` (about a minute, offline from Debian's mirror).")]
    NotBuilt { wanted: String, suite: String },
    #[error("the official image haproxy:{tag} is not on this machine and could not be pulled (Docker's answer below)\n  Check that this machine reaches a registry (Docker Hub, or Docker's registry-mirrors) and that the tag exists (https://hub.docker.com/_/haproxy/tags). Without a registry, run the offline images instead (`haprepro images list`; --version / --versions), or `docker tag` a local image as haproxy:{tag}. Nothing was started.")]
    OfficialUnavailable {
        tag: String,
        #[source]
        source: RuntimeError,
    },
    #[error("image {reference} is not on this machine and could not be pulled")]
    ReferenceUnavailable {
        reference: String,
        #[source]
        source: RuntimeError,
    },
    #[error("{path}: not a haproxy binary that runs in {base}: `haproxy -v` said {said:?}")]
    BadBinary {
        path: PathBuf,
        base: String,
        said: String,
    },
    #[error("image {image}: `haproxy -v` failed or printed no version: {said:?}")]
    NoVersion { image: String, said: String },
    #[error("mmdebstrap is not installed; it builds the offline images\n  Install it: `apt-get install mmdebstrap` (Debian/Ubuntu).")]
    MmdebstrapMissing,
    #[error("building the {suite} image failed at step {step}: {reason}\n  Full log: {log}")]
    BuildFailed {
        suite: String,
        step: String,
        reason: String,
        log: PathBuf,
    },
    #[error("git is not installed; source builds from a checkout need it\n  Install it: `apt-get install git`.")]
    GitMissing,
    #[error("{dir}: git could not {what}: {said}")]
    Git {
        dir: PathBuf,
        what: String,
        said: String,
    },
    #[error("{path}: no such file or directory")]
    SourceMissing { path: PathBuf },
    #[error("{dir} is not a git repository (git said: {said})\n  --src takes a HAProxy git checkout, a release tarball (.tar.gz) or debian:SUITE.")]
    NotGitRepository { dir: PathBuf, said: String },
    #[error("{dir}: unknown ref {reference:?}: no commit by that name\n  Name a tag, a branch or a commit of that checkout (`git -C {dir} log --oneline`).")]
    UnknownRef { dir: PathBuf, reference: String },
    #[error("{path} is not a tar archive (gzip, xz, bzip2 or plain)")]
    NotATarball { path: PathBuf },
    #[error("cannot fetch {url}")]
    Fetch {
        url: String,
        #[source]
        source: source::FetchError,
    },
    #[error("{what}: {reason}")]
    BadSourcePackage { what: String, reason: String },
    #[error("{what}: not taken: {reason}\n  haprepro takes Debian's files only as apt does: the suite's InRelease signed by a key of Debian's archive keyring (checked by gpgv), then the signed SHA-256 of the Sources index and of each file. Check `mirror` in images/catalog.toml, or try again once the mirror has finished updating.")]
    Untrusted { what: String, reason: String },
    #[error("{what} is missing; it checks Debian's signatures on source packages\n  Install it: `apt-get install gpgv debian-archive-keyring` (or set HAPREPRO_DEBIAN_KEYRING to another keyring file).")]
    VerifierMissing { what: String },
    #[error("Debian's signed index of {dists} has no source package {package} {version} (it lists: {found})\n  The runtime image holds a version the mirror does not index any more: rebuild that suite's image (`haprepro images build SUITE`) so that both agree.")]
    NotInIndex {
        package: String,
        version: String,
        dists: String,
        found: String,
    },
    #[error("{what} is not a HAProxy source tree: {said}")]
    NotHaproxySource { what: String, said: String },
    #[error("{what}: {said}\n  Full log: {log}")]
    PatchFailed {
        what: String,
        said: String,
        log: PathBuf,
    },
    #[error("building {what} failed: {reason}\n  Build log: {log}")]
    SourceBuildFailed {
        what: String,
        reason: String,
        log: PathBuf,
    },
    #[error("images/catalog.toml: {0}")]
    Catalog(String),
    #[error("{0}")]
    Range(String),
    #[error("cannot {0}")]
    Io(String, #[source] std::io::Error),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl ImageError {
    /// Errors in what the user asked for (a path, a ref, a patch, a source that is not
    /// there): exit 2, not a harness failure.
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImageError::UnknownVersion { .. }
            | ImageError::SourceMissing { .. }
            | ImageError::NotGitRepository { .. }
            | ImageError::UnknownRef { .. }
            | ImageError::NotATarball { .. }
            | ImageError::NotHaproxySource { .. }
            | ImageError::PatchFailed { .. }
            | ImageError::Range(_) => true,
            ImageError::Fetch { source, .. } => {
                matches!(source, source::FetchError::NotFound { .. })
            }
            _ => false,
        }
    }
}

/// Progress of an image build, for the terminal.
#[derive(Debug, Clone)]
pub struct BuildEvent {
    pub suite: String,
    pub step: String,
    pub detail: String,
}

/// An image ready to run, with the version measured inside it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ResolvedImage {
    pub reference: String,
    /// The image's ID (`sha256:...`) when it was resolved: what cases run, so that a tag moved
    /// during a matrix (an `images build --force`, a `docker tag`) cannot change the HAProxy
    /// of its later cases. Empty only until [`resolve_with`] reads it.
    #[serde(default)]
    pub id: String,
    /// As `haproxy -v` printed it (`2.6.12-1+deb12u3`).
    pub version: String,
    /// How it was obtained, in words.
    pub source: String,
    /// A HAProxy built from source (the binary cache's file): put into every container of
    /// this image over its `/usr/sbin/haproxy` before the container starts. `id` is then the
    /// runtime image's and `reference` a name only (`haprepro/haproxy:src-...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<PathBuf>,
}

impl ResolvedImage {
    /// What haprepro knows of how the image was made: a source build's labels from its binary
    /// cache entry, the image's own labels otherwise.
    pub async fn labels(&self, engine: &Engine) -> HashMap<String, String> {
        if let Some(binary) = &self.binary {
            return binary
                .parent()
                .and_then(source::binary_cache::read)
                .map(|c| c.entry.labels)
                .unwrap_or_default();
        }
        engine
            .image_labels(self.to_run())
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// What a container of this image is created from: the ID read at resolve time (the tag
    /// only for an image made by hand, without one).
    pub fn to_run(&self) -> &str {
        if self.id.is_empty() {
            &self.reference
        } else {
            &self.id
        }
    }
}

/// A built catalog image, for `images list`.
#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub suite: String,
    pub version: String,
    pub reference: String,
    pub current: bool,
    pub size: i64,
}

/// Finds (or pulls, or assembles) the image for a source and reads its HAProxy version.
pub async fn resolve(engine: &Engine, source: &ImageSource) -> Result<ResolvedImage, ImageError> {
    resolve_with(engine, source, &|_| {}).await
}

/// [`resolve`], reporting the progress of a source build (the one slow kind) to `progress`.
pub async fn resolve_with(
    engine: &Engine,
    source: &ImageSource,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<ResolvedImage, ImageError> {
    let mut image = source.resolve(engine, progress).await?;
    if image.binary.is_some() {
        return Ok(image); // its id is the runtime image's, read when it was built or found
    }
    image.id = engine.image_id(&image.reference).await?.ok_or_else(|| {
        ImageError::Io(
            format!("read the ID of {}", image.reference),
            std::io::Error::other("the image was removed just after it was resolved"),
        )
    })?;
    Ok(image)
}

/// Pulls `reference` when it is not on this machine; `unavailable` says why a pull failed.
async fn pull_missing(
    engine: &Engine,
    reference: &str,
    unavailable: impl FnOnce(RuntimeError) -> ImageError,
) -> Result<(), ImageError> {
    if engine.image_labels(reference).await?.is_none() {
        engine.pull(reference).await.map_err(unavailable)?;
    }
    Ok(())
}

/// Runs `haproxy -v` in an image that haprepro did not build.
async fn probe(engine: &Engine, reference: &str, how: &str) -> Result<ResolvedImage, ImageError> {
    let (code, said) = engine
        .run_once(reference, &["haproxy", "-v"], debian::scratch_labels())
        .await?;
    let version = (code == 0)
        .then(|| version_from_haproxy_v(&said))
        .flatten()
        .ok_or_else(|| ImageError::NoVersion {
            image: reference.to_string(),
            said: said.clone(),
        })?;
    Ok(ResolvedImage {
        id: String::new(),
        reference: reference.to_string(),
        version,
        source: format!("{how} {reference}"),
        binary: None,
    })
}

/// The catalog images on this machine, current or built from an older recipe.
pub async fn list_built(engine: &Engine) -> Result<Vec<BuiltImage>, ImageError> {
    let catalog = Catalog::builtin();
    let images = engine
        .images_labelled(&[(labels::SOURCE, "debian")])
        .await?;
    let mut built: Vec<BuiltImage> = images
        .into_iter()
        .filter_map(|image| {
            let suite = image.labels.get(labels::SUITE)?.clone();
            let version = image.labels.get(labels::VERSION)?.clone();
            let current = catalog
                .suites
                .iter()
                .find(|s| s.name == suite)
                .map(|s| image.labels.get(labels::RECIPE) == Some(&catalog.recipe_hash(s)))
                .unwrap_or(false);
            let reference = format!("{HAPROXY_REPO}:{}", debian::suite_tag(&suite));
            Some(BuiltImage {
                suite,
                version,
                reference,
                current,
                size: image.size,
            })
        })
        .collect();
    let order = |suite: &str| catalog.suites.iter().position(|s| s.name == suite);
    built.sort_by_key(|b| order(&b.suite));
    Ok(built)
}

/// Removes every image haprepro built (catalog, `--haproxy-bin`, builder images, and source
/// images of versions before the binary cache), the compiler cache's volume and the binary
/// cache, and returns what it removed: images are kept across runs on
/// purpose, so this is the one way to get the disk back, or to force every suite to be built
/// again from scratch. Children go before their parents (source and local-binary images are
/// layers on a catalog image; Docker refuses to remove a parent first, with a 409).
pub async fn remove_built(engine: &Engine) -> Result<Vec<String>, ImageError> {
    let mut removed = Vec::new();
    for source in ["source", "local-bin", "debian", "builder"] {
        for image in engine.images_labelled(&[(labels::SOURCE, source)]).await? {
            engine.remove_image(&image.id).await?;
            if image.tags.is_empty() {
                removed.push(image.id);
            } else {
                removed.extend(image.tags);
            }
        }
    }
    if engine.remove_volume(source::CCACHE_VOLUME).await? {
        removed.push(format!("volume {}", source::CCACHE_VOLUME));
    }
    if source::binary_cache::remove_all()? {
        removed.push(format!(
            "binary cache {}",
            source::binary_cache::dir().display()
        ));
    }
    Ok(removed)
}

/// Builds the catalog images named by version or suite (all when `wanted` is empty),
/// concurrently: each suite's time goes mostly to downloads. Holds the catalog build lock, so
/// it never races a matrix (or another `images build`) that is building the same suites:
/// whoever comes second waits, then finds the image current and keeps it.
pub async fn build(
    engine: &Engine,
    wanted: &[String],
    force: bool,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<Vec<(String, Result<String, ImageError>)>, ImageError> {
    let _lock = build_lock::acquire(catalog_lock_path(), &|path| {
        progress(BuildEvent {
            suite: "lock".into(),
            step: "waiting".into(),
            detail: format!(
                "another haprepro process is building images (lock {})",
                path.display()
            ),
        })
    })
    .await?;
    build_locked(engine, wanted, force, progress).await
}

/// The lock every catalog build holds (`images build`, and a run building what it misses).
pub(crate) fn catalog_lock_path() -> PathBuf {
    work_dir().join("build.lock")
}

/// [`build`], for a caller that already holds the catalog build lock (a second `flock` on
/// another descriptor of the same file would wait for itself).
pub(crate) async fn build_locked(
    engine: &Engine,
    wanted: &[String],
    force: bool,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<Vec<(String, Result<String, ImageError>)>, ImageError> {
    let catalog = Catalog::builtin();
    let mut suites = Vec::new();
    for w in wanted {
        let suite = catalog.find(w).ok_or_else(|| ImageError::UnknownVersion {
            wanted: w.clone(),
            known: catalog.known(),
        })?;
        suites.push(suite.clone());
    }
    if wanted.is_empty() {
        suites = catalog.suites.clone();
    }
    if which("mmdebstrap").is_none() {
        return Err(ImageError::MmdebstrapMissing);
    }
    let builds = suites
        .iter()
        .map(|suite| debian::build(engine, &catalog, suite, force, progress));
    let results = futures_util::future::join_all(builds).await;
    Ok(suites.into_iter().map(|s| s.name).zip(results).collect())
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(program))
        .find(|p| p.is_file())
}

/// The image that runs haprepro's own programs (the backend) and hosts local binaries: the
/// catalog image whose Debian is the host's, or failing that the newest one built, since a
/// program built on one Debian release runs on the same or a newer one.
pub async fn base_image(engine: &Engine) -> Result<String, ImageError> {
    if let Ok(reference) = std::env::var("HAPREPRO_BASE_IMAGE") {
        return Ok(reference);
    }
    let built = list_built(engine).await?;
    let host = host_suite();
    built
        .iter()
        .find(|b| Some(&b.suite) == host.as_ref())
        .or_else(|| built.iter().rfind(|b| b.suite != "experimental"))
        .map(|b| b.reference.clone())
        .ok_or_else(|| ImageError::NotBuilt {
            wanted: host.clone().unwrap_or_else(|| "base".into()),
            suite: host.unwrap_or_else(|| "sid".into()),
        })
}

fn host_suite() -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    let fields: HashMap<_, _> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('"')))
        .collect();
    fields.get("VERSION_CODENAME").map(|s| s.to_string())
}

/// The version in the first line of `haproxy -v` ("HA-Proxy version 2.2.9-2+deb11u6 ..." on
/// 2.2, "HAProxy version 3.0.11-1+deb13u3 ..." later), as printed.
pub fn version_from_haproxy_v(output: &str) -> Option<String> {
    HaproxyVersion::from_haproxy_v(output)
        .ok()
        .map(|v| v.raw().to_string())
}

/// The upstream part of a version: `2.6.12-1+deb12u3` -> `2.6.12`, `3.0-dev12` stays; a string
/// that is no version is kept as it is.
pub fn short_version(full: &str) -> String {
    HaproxyVersion::parse(full)
        .map(|v| v.base().to_string())
        .unwrap_or_else(|_| full.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_line_of_every_generation() {
        assert_eq!(
            version_from_haproxy_v(
                "HA-Proxy version 2.2.9-2+deb11u6 2023/12/23 - https://haproxy.org/\n"
            )
            .as_deref(),
            Some("2.2.9-2+deb11u6")
        );
        assert_eq!(
            version_from_haproxy_v(
                "HAProxy version 3.0.11-1+deb13u3 2026/05/20 - https://haproxy.org/"
            )
            .as_deref(),
            Some("3.0.11-1+deb13u3")
        );
        assert_eq!(version_from_haproxy_v("sh: haproxy: not found"), None);
    }

    #[test]
    fn short_version_drops_distro_suffixes_only() {
        assert_eq!(short_version("2.6.12-1+deb12u3"), "2.6.12");
        assert_eq!(short_version("3.2.26-1"), "3.2.26");
        assert_eq!(short_version("3.0-dev12-7f1a2b"), "3.0-dev12");
        assert_eq!(short_version("3.0.11"), "3.0.11");
    }
}
