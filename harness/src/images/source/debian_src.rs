//! Debian's source package of a suite's haproxy: the version the suite's runtime image holds,
//! its upstream orig tarball and (for `--debian-patches`) Debian's packaging tarball with its
//! patch series. Files are fetched from the mirror's pool by plain HTTP, taken only when the
//! suite's signed index vouches for them ([`signed_index`]), and kept under the cache
//! directory, so a second build needs no network at all.

use std::path::{Path, PathBuf};

use super::super::ImageError;
use super::http;
use super::signed_index::{self, IndexedFile, SourceEntry};

/// The files of one source package, on disk.
#[derive(Debug, Clone)]
pub struct DebianSource {
    /// `3.0.11-1+deb13u3`
    pub version: String,
    pub orig: PathBuf,
    pub debian: Option<PathBuf>,
}

/// Where fetched source files are kept: `$XDG_CACHE_HOME/haprepro/sources`.
pub fn sources_dir() -> PathBuf {
    super::super::cache_dir().join("sources")
}

/// Fetches (or finds in the cache) the source package `haproxy` of `version`, as the first of
/// `dists` whose signed index lists it (see [`signed_index`]).
///
/// What the signed index said is kept beside the files (`haproxy_<version>.verified.json`, a
/// file only haprepro writes), so a second build checks the cached files against it and needs
/// no network at all.
pub async fn fetch(
    mirror: &str,
    dists: &[String],
    version: &str,
    with_debian: bool,
    progress: &(dyn Fn(String) + Sync),
) -> Result<DebianSource, ImageError> {
    let keyring = signed_index::keyring()?;
    let wanted = Wanted {
        dists,
        version,
        with_debian,
    };
    fetch_into(mirror, &keyring, &sources_dir(), wanted, progress).await
}

/// What [`fetch`] is asked for.
pub(super) struct Wanted<'a> {
    pub dists: &'a [String],
    pub version: &'a str,
    pub with_debian: bool,
}

/// [`fetch`], checked against `keyring` and kept in `dir`.
pub(super) async fn fetch_into(
    mirror: &str,
    keyring: &Path,
    dir: &Path,
    Wanted {
        dists,
        version,
        with_debian,
    }: Wanted<'_>,
    progress: &(dyn Fn(String) + Sync),
) -> Result<DebianSource, ImageError> {
    // Epochs (`1:`) are not part of file names.
    let file_version = version.split_once(':').map(|(_, v)| v).unwrap_or(version);
    let dir = dir.to_path_buf();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ImageError::Io(format!("create {}", dir.display()), e))?;
    let record = dir.join(format!("haproxy_{file_version}.verified.json"));
    let known = tokio::fs::read(&record)
        .await
        .ok()
        .and_then(|bytes| serde_json::from_slice::<SourceEntry>(&bytes).ok())
        .filter(|entry| signed_index::version_matches(&entry.version, version));
    let entry = match known {
        Some(entry) => entry,
        None => {
            let entry =
                signed_index::find(mirror, keyring, dists, "haproxy", version, progress).await?;
            let json = serde_json::to_vec_pretty(&entry).expect("plain data");
            write(&record, &json).await?;
            entry
        }
    };
    let pool = format!("{}/{}", mirror.trim_end_matches('/'), entry.directory);
    let pick = |marker: &str| entry.files.iter().find(|f| f.name.contains(marker));
    let missing = |what: &str| ImageError::BadSourcePackage {
        what: format!("Debian's haproxy {version} ({})", entry.dist),
        reason: format!("its signed index entry names no {what} file"),
    };
    // Not the .dsc: nothing builds from it, and the signed index (not the .dsc's own
    // signature) is what vouches for the files. Mirrors also drop it before the files (seen:
    // 3.0.11-1+deb13u4's .dsc missing while its orig tarball is there).
    let orig = pick(".orig.tar.").ok_or_else(|| missing(".orig.tar.*"))?;
    let orig = get_file(&pool, &dir, orig, progress).await?;
    let debian = if with_debian {
        let file = pick(".debian.tar.")
            .ok_or_else(|| missing(".debian.tar.* (a native package has no patch series)"))?;
        Some(get_file(&pool, &dir, file, progress).await?)
    } else {
        None
    };
    Ok(DebianSource {
        version: entry.version.clone(),
        orig,
        debian,
    })
}

async fn write(path: &Path, bytes: &[u8]) -> Result<(), ImageError> {
    // Through a temporary name, so an interrupted download never looks complete.
    let tmp = path.with_extension(format!("part{}", std::process::id()));
    tokio::fs::write(&tmp, bytes)
        .await
        .map_err(|e| ImageError::Io(format!("write {}", tmp.display()), e))?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| ImageError::Io(format!("rename {}", tmp.display()), e))
}

/// A file of the package, from the cache when it is what the signed index says, else from the
/// pool (at most its signed size, and refused unless its SHA-256 is the signed one).
async fn get_file(
    pool: &str,
    dir: &Path,
    file: &IndexedFile,
    progress: &(dyn Fn(String) + Sync),
) -> Result<PathBuf, ImageError> {
    // The index was checked at load, this again where the name meets a path.
    assert!(signed_index::is_plain_file_name(&file.name));
    let path = dir.join(&file.name);
    if let Ok(bytes) = tokio::fs::read(&path).await {
        if signed_index::check_sum(&bytes, &file.sha256, file.size).is_ok() {
            return Ok(path);
        }
    }
    let url = format!("{pool}/{}", file.name);
    progress(format!("fetching {url}"));
    let bytes = http::get(&url, file.size)
        .await
        .map_err(|source| ImageError::Fetch {
            url: url.clone(),
            source,
        })?;
    signed_index::check_sum(&bytes, &file.sha256, file.size).map_err(|reason| {
        ImageError::Untrusted {
            what: url.clone(),
            reason,
        }
    })?;
    write(&path, &bytes).await?;
    Ok(path)
}
