//! HAProxy built from source: a git ref of a checkout (`git archive`, the checkout untouched),
//! a release tarball, or Debian's source package of a suite (its orig tarball, optionally with
//! Debian's patch series), plus `--patch` files, compiled in a builder container of a Debian
//! suite and placed into that suite's runtime image.
//!
//! The image is `haprepro/haproxy:src-<tree hash>-<profile>` (with `-p<hash>` for patches and
//! `-<suite>` for a suite other than the default), labelled with what it was made of. The cache
//! key is everything that shapes the binary (tree, patches, Debian patches, profile, builder
//! recipe, build script, runtime image); an image whose key label matches is used as is, so the
//! same commit built twice costs nothing, and a tree shared by two commits is built once.

pub mod binary_cache;
mod build;
mod builder;
mod debian_src;
#[cfg(test)]
mod fake_mirror_tests;
pub mod git;
mod http;
mod profile;
mod signed_index;
pub mod version_set;

use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

pub use build::{features_of, CCACHE_VOLUME};
pub use builder::BUILDER_REPO;
pub use debian_src::{fetch as fetch_debian_source, sources_dir, DebianSource};
pub use http::FetchError;
pub use profile::{feature_names, is_feature, Profile, FEATURES};
pub use signed_index::{DEFAULT_KEYRING, KEYRING_ENV};

use super::catalog::Catalog;
use super::{labels, BuildEvent, ImageError, ResolvedImage, HAPROXY_REPO};
use crate::runtime::Engine;

/// The suite source builds use unless told otherwise (`--build-suite`, or `debian:SUITE`).
pub const DEFAULT_SUITE: &str = "trixie";
/// Bumped when the meaning of the cache key changes.
const KEY_VERSION: u32 = 1;

/// Labels of source images, beside [`labels::SOURCE`] = `source` and [`labels::VERSION`].
pub mod source_labels {
    pub const KEY: &str = "haprepro.src.key";
    pub const ORIGIN: &str = "haprepro.src.origin";
    pub const COMMIT: &str = "haprepro.src.commit";
    pub const TREE: &str = "haprepro.src.tree";
    pub const PATCHES: &str = "haprepro.src.patches";
    pub const PROFILE: &str = "haprepro.src.profile";
    pub const BUILDER: &str = "haprepro.src.builder";
    pub const FEATURES: &str = "haprepro.src.features";
}

/// Where a source tree comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeSource {
    /// A git checkout and a ref of it (tag, branch, commit, `HEAD~3`).
    Git { dir: PathBuf, reference: String },
    /// A release tarball (`haproxy-3.0.11.tar.gz`).
    Tarball(PathBuf),
    /// Debian's source package of a suite: the version its runtime image holds.
    Debian(String),
}

/// A source build, as asked for on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    pub tree: TreeSource,
    /// Applied in order with `patch -p1`, after Debian's series.
    pub patches: Vec<PathBuf>,
    /// With [`TreeSource::Debian`]: also apply Debian's patch series.
    pub debian_patches: bool,
    pub profile: Profile,
    /// The suite whose builder compiles and whose runtime image runs the binary.
    pub suite: Option<String>,
}

impl SourceSpec {
    /// Parses `--src`: `debian:SUITE`, a tarball, or a git checkout (with `reference`).
    pub fn parse(src: &str, reference: Option<&str>) -> Result<SourceSpec, String> {
        let tree = if let Some(suite) = src.strip_prefix("debian:") {
            if reference.is_some() {
                return Err(
                    "--ref names a commit of a git checkout; --src debian:SUITE has none".into(),
                );
            }
            TreeSource::Debian(suite.to_string())
        } else {
            let path = git::expand_home(src);
            if path.is_dir() {
                TreeSource::Git {
                    dir: path,
                    reference: reference.unwrap_or("HEAD").to_string(),
                }
            } else if path.is_file() {
                if reference.is_some() {
                    return Err(format!(
                        "--ref names a commit of a git checkout; {src} is a file (a tarball)"
                    ));
                }
                TreeSource::Tarball(path)
            } else {
                return Err(format!(
                    "--src {src}: no such directory (a git checkout) or file (a tarball); or use debian:SUITE"
                ));
            }
        };
        Ok(SourceSpec {
            tree,
            patches: Vec::new(),
            debian_patches: false,
            profile: Profile::default(),
            suite: None,
        })
    }

    /// The same source at another ref of its checkout (bisect's candidates).
    pub fn at(&self, reference: &str) -> SourceSpec {
        let mut spec = self.clone();
        if let TreeSource::Git { reference: r, .. } = &mut spec.tree {
            *r = reference.to_string();
        }
        spec
    }

    /// The build and runtime suite.
    pub fn suite(&self) -> &str {
        match (&self.suite, &self.tree) {
            (Some(s), _) => s,
            (None, TreeSource::Debian(s)) => s,
            _ => DEFAULT_SUITE,
        }
    }
}

impl std::fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tree {
            TreeSource::Git { dir, reference } => write!(f, "{}@{reference}", dir.display())?,
            TreeSource::Tarball(p) => write!(f, "{}", p.display())?,
            TreeSource::Debian(s) => write!(f, "debian:{s}")?,
        }
        if self.debian_patches {
            write!(f, " +debian-patches")?;
        }
        for p in &self.patches {
            write!(
                f,
                " +{}",
                p.file_name().unwrap_or_default().to_string_lossy()
            )?;
        }
        write!(f, " ({})", self.profile)
    }
}

/// A built (or found) source image and what it cost.
#[derive(Debug, Clone)]
pub struct SourceBuild {
    pub image: ResolvedImage,
    /// True when the image existed with the same cache key: nothing was built.
    pub cached: bool,
    /// Wall time of this call (lock wait, fetch, build, image), in milliseconds.
    pub build_ms: u64,
    /// The build log (kept after success too), when a build ran.
    pub log: Option<PathBuf>,
    pub tree: String,
    pub commit: Option<String>,
    pub tag: String,
    /// Compiler-cache hits and misses of the build, when one ran.
    pub ccache: Option<String>,
    /// Seconds `make` itself took, when a build ran.
    pub make_seconds: Option<f64>,
    pub features: Vec<String>,
}

/// A source image on this machine, for `images list`.
#[derive(Debug, Clone)]
pub struct SourceImage {
    pub reference: String,
    pub version: String,
    pub origin: String,
    pub commit: Option<String>,
    pub profile: String,
    pub patches: String,
    pub size: i64,
}

/// Where build logs and the build lock are: `$XDG_CACHE_HOME/haprepro/builds`.
pub fn builds_dir() -> PathBuf {
    super::cache_dir().join("builds")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Identifies the tree of a source: (tree hash, commit, words for messages).
struct Identified {
    tree: String,
    commit: Option<String>,
    what: String,
    /// The archive, when identifying needed it anyway (tarballs); git archives are made later,
    /// only when a build runs.
    archive: Option<(String, Vec<u8>)>,
    debian: Option<Vec<u8>>,
    version_fallback: Option<String>,
}

async fn identify(
    engine: &Engine,
    catalog: &Catalog,
    spec: &SourceSpec,
    progress: &(dyn Fn(String) + Sync),
) -> Result<Identified, ImageError> {
    match &spec.tree {
        TreeSource::Git { dir, reference } => {
            let commit = git::commit_of(dir, reference).await?;
            let tree = git::tree_of(dir, &commit).await?;
            let subject = git::subject_of(dir, &commit).await.unwrap_or_default();
            Ok(Identified {
                tree,
                what: format!("commit {} ({subject})", &commit[..12.min(commit.len())]),
                commit: Some(commit),
                archive: None,
                debian: None,
                version_fallback: None,
            })
        }
        TreeSource::Tarball(path) => {
            let bytes = read(path).await?;
            let name = archive_name(&bytes)
                .ok_or_else(|| ImageError::NotATarball { path: path.clone() })?;
            Ok(Identified {
                tree: sha256_hex(&bytes),
                commit: None,
                what: format!("tarball {}", path.display()),
                archive: Some((name.to_string(), bytes)),
                debian: None,
                version_fallback: None,
            })
        }
        TreeSource::Debian(suite) => {
            let built = super::list_built(engine).await?;
            let image = built.iter().find(|b| b.suite == *suite).ok_or_else(|| {
                match catalog.find(suite) {
                    Some(_) => ImageError::NotBuilt {
                        wanted: suite.clone(),
                        suite: suite.clone(),
                    },
                    None => ImageError::UnknownVersion {
                        wanted: format!("debian:{suite}"),
                        known: catalog
                            .suites
                            .iter()
                            .map(|s| format!("debian:{}", s.name))
                            .collect::<Vec<_>>()
                            .join(", "),
                    },
                }
            })?;
            // Where the image's haproxy came from, then the suites it may also be in.
            let dists = catalog.find(suite).map(|s| {
                let mut dists = vec![];
                for d in [
                    s.install_from.as_deref(),
                    Some(&s.name),
                    Some(s.base_suite()),
                ] {
                    if let Some(d) = d.filter(|d| !dists.iter().any(|x: &String| x == d)) {
                        dists.push(d.to_string());
                    }
                }
                dists
            });
            let fetched = debian_src::fetch(
                &catalog.mirror,
                &dists.unwrap_or_else(|| vec![suite.clone()]),
                &image.version,
                spec.debian_patches,
                progress,
            )
            .await?;
            let bytes = read(&fetched.orig).await?;
            let name = archive_name(&bytes).ok_or_else(|| ImageError::NotATarball {
                path: fetched.orig.clone(),
            })?;
            let debian = match &fetched.debian {
                Some(p) => Some(read(p).await?),
                None => None,
            };
            Ok(Identified {
                tree: sha256_hex(&bytes),
                commit: None,
                what: format!(
                    "Debian {suite}'s haproxy {} (orig tarball{})",
                    fetched.version,
                    if debian.is_some() {
                        " + Debian's patches"
                    } else {
                        ""
                    }
                ),
                archive: Some((name.to_string(), bytes)),
                debian,
                version_fallback: None,
            })
        }
    }
}

async fn read(path: &Path) -> Result<Vec<u8>, ImageError> {
    tokio::fs::read(path).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ImageError::SourceMissing {
            path: path.to_path_buf(),
        },
        _ => ImageError::Io(format!("read {}", path.display()), e),
    })
}

/// The name a tarball gets in the builder (its compression told by its first bytes), or
/// `None` when it is no tar archive at all.
fn archive_name(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Some("source.tar.gz")
    } else if bytes.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("source.tar.xz")
    } else if bytes.starts_with(b"BZh") {
        Some("source.tar.bz2")
    } else if bytes.len() > 262 && &bytes[257..262] == b"ustar" {
        Some("source.tar")
    } else {
        None
    }
}

/// Builds the source (or finds its image) and returns the image with what it cost.
pub async fn build(
    engine: &Engine,
    spec: &SourceSpec,
    progress: &(dyn Fn(BuildEvent) + Sync),
) -> Result<SourceBuild, ImageError> {
    let built = build_or_find(engine, spec, progress, false).await?;
    Ok(built.expect("a build that may build returns an image"))
}

/// The image of a source if it is already built (same cache key), without building: what a
/// bisect asks to count the builds a plan would cost.
pub async fn find_built(
    engine: &Engine,
    spec: &SourceSpec,
) -> Result<Option<SourceBuild>, ImageError> {
    build_or_find(engine, spec, &|_| {}, true).await
}

async fn build_or_find(
    engine: &Engine,
    spec: &SourceSpec,
    progress: &(dyn Fn(BuildEvent) + Sync),
    find_only: bool,
) -> Result<Option<SourceBuild>, ImageError> {
    let started = Instant::now();
    let catalog = Catalog::builtin();
    let label = spec.to_string();
    let event = |step: &str, detail: String| {
        progress(BuildEvent {
            suite: label.clone(),
            step: step.to_string(),
            detail,
        })
    };
    let suite = catalog
        .suites
        .iter()
        .find(|s| s.name == spec.suite())
        .cloned()
        .ok_or_else(|| match &spec.tree {
            TreeSource::Debian(name) => ImageError::UnknownVersion {
                wanted: format!("debian:{name}"),
                known: catalog
                    .suites
                    .iter()
                    .map(|s| format!("debian:{}", s.name))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
            _ => ImageError::UnknownVersion {
                wanted: format!("--build-suite {}", spec.suite()),
                known: catalog
                    .suites
                    .iter()
                    .map(|s| s.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })?;
    if spec.debian_patches && !matches!(spec.tree, TreeSource::Debian(_)) {
        return Err(ImageError::Range(
            "--debian-patches applies Debian's patch series of a debian:SUITE source only".into(),
        ));
    }
    let runtime = super::list_built(engine)
        .await?
        .into_iter()
        .find(|b| b.suite == suite.name)
        .ok_or_else(|| ImageError::NotBuilt {
            wanted: suite.name.clone(),
            suite: suite.name.clone(),
        })?;
    let runtime_labels = engine
        .image_labels(&runtime.reference)
        .await?
        .unwrap_or_default();
    let identified = identify(engine, &catalog, spec, &|m| event("fetch", m)).await?;
    let mut patches = Vec::new();
    for path in &spec.patches {
        let bytes = read(path).await?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "patch".into());
        patches.push((name, bytes));
    }
    let patch_hashes: Vec<String> = patches
        .iter()
        .map(|(name, bytes)| format!("{name}:{}", &sha256_hex(bytes)[..12]))
        .collect();
    let builder_recipe = builder::recipe_hash(&catalog, &suite);

    let mut extra = Sha256::new();
    for h in &patch_hashes {
        extra.update(h);
    }
    if let Some(d) = &identified.debian {
        extra.update(Sha256::digest(d));
    }
    let mut tag = format!("src-{}", &identified.tree[..12]);
    if !patches.is_empty() || identified.debian.is_some() {
        tag.push_str(&format!(
            "-p{}",
            &hex::encode(extra.clone().finalize())[..8]
        ));
    }
    if suite.name != DEFAULT_SUITE {
        tag.push_str(&format!("-{}", suite.name));
    }
    tag.push_str(&format!("-{}", spec.profile));
    let key = {
        let mut h = Sha256::new();
        h.update(KEY_VERSION.to_le_bytes());
        h.update(&identified.tree);
        h.update(extra.finalize());
        h.update(spec.profile.name());
        h.update(&builder_recipe);
        h.update(Sha256::digest(build::SCRIPT));
        h.update(&suite.name);
        h.update(
            runtime_labels
                .get(labels::RECIPE)
                .map(String::as_str)
                .unwrap_or("-"),
        );
        hex::encode(&h.finalize()[..16])
    };
    let reference = format!("{HAPROXY_REPO}:{tag}");
    // Cases run the runtime image with the binary put in; its ID is read once, so that a
    // catalog image rebuilt during a matrix cannot change what later cases run.
    let runtime_id =
        engine
            .image_id(&runtime.reference)
            .await?
            .ok_or_else(|| ImageError::NotBuilt {
                wanted: suite.name.clone(),
                suite: suite.name.clone(),
            })?;

    let found = |cached: binary_cache::Cached| SourceBuild {
        image: ResolvedImage {
            id: runtime_id.clone(),
            reference: reference.clone(),
            version: cached.entry.version.clone(),
            source: format!("built from {} as {reference}", identified.what),
            binary: Some(cached.binary()),
        },
        cached: true,
        build_ms: started.elapsed().as_millis() as u64,
        log: None,
        tree: identified.tree.clone(),
        commit: identified.commit.clone(),
        tag: tag.clone(),
        ccache: None,
        make_seconds: None,
        features: cached
            .entry
            .labels
            .get(source_labels::FEATURES)
            .map(|f| {
                f.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
    };
    if find_only {
        return Ok(binary_cache::find(&tag, &key).map(found));
    }
    let _lock = super::build_lock::acquire(builds_dir().join("build.lock"), &|path| {
        event(
            "waiting",
            format!("another source build holds {}", path.display()),
        )
    })
    .await?;
    if let Some(cached) = binary_cache::find(&tag, &key) {
        event(
            "cached",
            format!(
                "{reference} ({}) in {}",
                identified.what,
                cached.dir.display()
            ),
        );
        return Ok(Some(found(cached)));
    }

    let t_prepare = Instant::now();
    let builder_ref = builder::ensure(engine, &catalog, &suite, progress).await?;
    let (archive, version_fallback) = match (&identified.archive, &spec.tree) {
        (Some(a), _) => (a.clone(), identified.version_fallback.clone()),
        (None, TreeSource::Git { dir, .. }) => {
            let commit = identified.commit.as_deref().unwrap_or("HEAD");
            event(
                "archive",
                format!("git archive {}", &commit[..12.min(commit.len())]),
            );
            let bytes = git::archive(dir, commit).await?;
            let describe = git::describe(dir, commit)
                .await
                .map(|d| d.trim_start_matches('v').to_string());
            (("source.tar".to_string(), bytes), describe)
        }
        (None, _) => unreachable!("tarball and Debian sources are read while identified"),
    };
    let log = builds_dir().join(format!("{tag}.log"));
    event(
        "build",
        format!(
            "make TARGET=linux-glibc ({}) of {} in {builder_ref} (log: {})",
            spec.profile,
            identified.what,
            log.display()
        ),
    );
    let input = build::BuildInput {
        builder: builder_ref.clone(),
        source: archive,
        debian: identified.debian.clone(),
        patches,
        profile: spec.profile,
        version_fallback,
        log: log.clone(),
        what: identified.what.clone(),
    };
    let prepare_s = t_prepare.elapsed().as_secs_f64();
    let t_build = Instant::now();
    let output = build::run(engine, &input, &|m| event("build", m)).await?;
    let build_s = t_build.elapsed().as_secs_f64();
    let t_image = Instant::now();
    let version =
        super::version_from_haproxy_v(&output.vv).ok_or_else(|| ImageError::SourceBuildFailed {
            what: identified.what.clone(),
            reason: format!(
                "`haproxy -vv` printed no version: {:?}",
                output.vv.lines().next().unwrap_or_default()
            ),
            log: log.clone(),
        })?;
    let features = features_of(&output.vv);

    event(
        "check",
        format!("haproxy -v with {}'s libraries", runtime.reference),
    );
    let label_pairs = [
        (labels::SOURCE, "source".to_string()),
        (labels::SUITE, suite.name.clone()),
        (labels::VERSION, version.clone()),
        (source_labels::KEY, key.clone()),
        (source_labels::ORIGIN, spec.to_string()),
        (
            source_labels::COMMIT,
            identified.commit.clone().unwrap_or_else(|| "-".into()),
        ),
        (source_labels::TREE, identified.tree.clone()),
        (source_labels::PATCHES, patch_hashes.join(",")),
        (source_labels::PROFILE, spec.profile.to_string()),
        (source_labels::BUILDER, builder_recipe.clone()),
        (source_labels::FEATURES, features.join(",")),
    ];
    let probed_version = match runs_in(engine, &runtime_id, &output.binary).await? {
        Ok(v) => v,
        Err(said) => {
            return Err(ImageError::SourceBuildFailed {
                what: identified.what.clone(),
                reason: format!(
                    "the binary does not run in {}: `haproxy -v` said {:?}",
                    runtime.reference,
                    said.trim()
                ),
                log,
            });
        }
    };
    let cached = binary_cache::store(
        &tag,
        &output.binary,
        &output.vv,
        binary_cache::Entry {
            key: key.clone(),
            version: probed_version.clone(),
            labels: label_pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        },
    )?;
    let build_ms = started.elapsed().as_millis() as u64;
    event(
        "done",
        format!(
            "HAProxy {probed_version} as {reference} in {:.1}s (builder image and archive {prepare_s:.1}s, build container {build_s:.1}s{}, check and cache {:.1}s{})",
            build_ms as f64 / 1000.0,
            output
                .make_seconds
                .map(|m| format!(" of which make {m:.1}s"))
                .unwrap_or_default(),
            t_image.elapsed().as_secs_f64(),
            output
                .ccache
                .as_deref()
                .map(|c| format!("; ccache {c}"))
                .unwrap_or_default()
        ),
    );
    Ok(Some(SourceBuild {
        image: ResolvedImage {
            id: runtime_id,
            reference: reference.clone(),
            version: probed_version,
            source: format!("built from {} as {reference}", identified.what),
            binary: Some(cached.binary()),
        },
        cached: false,
        build_ms,
        log: Some(log),
        tree: identified.tree,
        commit: identified.commit,
        tag,
        ccache: output.ccache,
        make_seconds: output.make_seconds,
        features,
    }))
}

/// The tar that puts a binary at `/usr/sbin/haproxy`.
pub fn binary_tar(binary: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(binary.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, "usr/sbin/haproxy", binary)
        .and_then(|_| tar.into_inner())
        .map_err(|e| ImageError::Io("pack the binary".into(), e))
}

/// Runs `haproxy -v` of a built binary in the runtime image (its libraries, not the
/// builder's): the version it prints, or (as `Err` inside) what it said instead.
async fn runs_in(
    engine: &Engine,
    runtime_id: &str,
    binary: &[u8],
) -> Result<Result<String, String>, ImageError> {
    let (code, said) = engine
        .run_once_with(
            runtime_id,
            &["/usr/sbin/haproxy", "-v"],
            super::debian::scratch_labels(),
            Some(binary_tar(binary)?),
        )
        .await?;
    Ok((code == 0)
        .then(|| super::version_from_haproxy_v(&said))
        .flatten()
        .ok_or(said))
}

/// The source builds in the binary cache, by tag.
pub fn list() -> Vec<SourceImage> {
    binary_cache::list()
        .into_iter()
        .map(|cached| {
            let get = |k: &str| cached.entry.labels.get(k).cloned().unwrap_or_default();
            SourceImage {
                reference: format!(
                    "{HAPROXY_REPO}:{}",
                    cached.dir.file_name().unwrap_or_default().to_string_lossy()
                ),
                version: cached.entry.version.clone(),
                origin: get(source_labels::ORIGIN),
                commit: cached
                    .entry
                    .labels
                    .get(source_labels::COMMIT)
                    .filter(|c| c.as_str() != "-")
                    .cloned(),
                profile: get(source_labels::PROFILE),
                patches: get(source_labels::PATCHES),
                size: std::fs::metadata(cached.binary())
                    .map(|m| m.len() as i64)
                    .unwrap_or(0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_told_by_their_first_bytes() {
        assert_eq!(archive_name(&[0x1f, 0x8b, 8, 0]), Some("source.tar.gz"));
        assert_eq!(archive_name(b"\xfd7zXZ\0rest"), Some("source.tar.xz"));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(archive_name(&tar), Some("source.tar"));
        assert_eq!(archive_name(b"<html>not found</html>"), None);
    }

    #[test]
    fn src_is_a_suite_a_directory_or_a_file() {
        let spec = SourceSpec::parse("debian:bookworm", None).unwrap();
        assert_eq!(spec.tree, TreeSource::Debian("bookworm".into()));
        assert_eq!(spec.suite(), "bookworm");
        let dir = std::env::temp_dir();
        let spec = SourceSpec::parse(dir.to_str().unwrap(), Some("v3.0.0")).unwrap();
        assert_eq!(spec.suite(), DEFAULT_SUITE);
        assert_eq!(
            spec.at("v3.0.1").to_string(),
            format!("{}@v3.0.1 (minimal)", dir.display())
        );
        let err = SourceSpec::parse("/no/such/haproxy", None).unwrap_err();
        assert!(err.contains("no such directory"), "{err}");
        assert!(SourceSpec::parse("debian:trixie", Some("HEAD")).is_err());
    }
}
