//! Debian's source package of a suite's haproxy: the `.dsc` of the version the suite's runtime
//! image holds, the upstream orig tarball it names, and (for `--debian-patches`) Debian's
//! packaging tarball with its patch series. Files are fetched from the mirror's pool by plain
//! HTTP, checked against the `.dsc`'s SHA-256 sums, and kept under the cache directory, so a
//! second build needs no network at all.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::super::ImageError;
use super::http;

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

/// The pool folder of a source package: `pool/main/h/haproxy`.
fn pool_url(mirror: &str, package: &str) -> String {
    let prefix = if package.starts_with("lib") {
        &package[..4]
    } else {
        &package[..1]
    };
    format!(
        "{}/pool/main/{prefix}/{package}",
        mirror.trim_end_matches('/')
    )
}

/// Fetches (or finds in the cache) the source package `haproxy` of `version`.
///
/// The `.dsc` names the files and their checksums; the mirror keeps a suite's current `.dsc`
/// only while that revision is in the main archive (a security update's revision may be
/// missing, as 3.0.11-1+deb13u4's is), so without one the files are taken by Debian's naming
/// convention (`haproxy_<upstream>.orig.tar.gz`, `haproxy_<version>.debian.tar.xz`), unchecked.
pub async fn fetch(
    mirror: &str,
    version: &str,
    with_debian: bool,
    progress: &(dyn Fn(String) + Sync),
) -> Result<DebianSource, ImageError> {
    // Epochs (`1:`) are not part of file names.
    let file_version = version.split_once(':').map(|(_, v)| v).unwrap_or(version);
    let upstream = file_version
        .rsplit_once('-')
        .map(|(u, _)| u)
        .unwrap_or(file_version);
    let dir = sources_dir();
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| ImageError::Io(format!("create {}", dir.display()), e))?;
    let pool = pool_url(mirror, "haproxy");
    let dsc_name = format!("haproxy_{file_version}.dsc");
    let dsc_path = dir.join(&dsc_name);
    let dsc = match tokio::fs::read_to_string(&dsc_path).await {
        Ok(text) => Some(text),
        Err(_) => {
            let url = format!("{pool}/{dsc_name}");
            progress(format!("fetching {url}"));
            match http::get(&url).await {
                Ok(bytes) => {
                    write(&dsc_path, &bytes).await?;
                    Some(String::from_utf8_lossy(&bytes).to_string())
                }
                Err(http::FetchError::NotFound { .. }) => {
                    progress(format!(
                        "{url}: not on the mirror; taking the files by their usual names"
                    ));
                    None
                }
                Err(source) => return Err(ImageError::Fetch { url, source }),
            }
        }
    };
    let files = dsc.as_deref().map(dsc_files);
    let pick = |marker: &str, usual: String| -> Option<(String, Option<String>)> {
        match &files {
            Some(files) => files
                .iter()
                .find(|(name, _)| name.contains(marker))
                .map(|(n, sum)| (n.clone(), Some(sum.clone()))),
            None => Some((usual, None)),
        }
    };
    let Some(orig) = pick(".orig.tar.", format!("haproxy_{upstream}.orig.tar.gz")) else {
        return Err(ImageError::BadDsc {
            path: dsc_path,
            reason: "it names no .orig.tar.* file".into(),
        });
    };
    let orig = get_file(&pool, &dir, &orig, progress).await?;
    let debian = if with_debian {
        match pick(
            ".debian.tar.",
            format!("haproxy_{file_version}.debian.tar.xz"),
        ) {
            Some(file) => Some(get_file(&pool, &dir, &file, progress).await?),
            None => {
                return Err(ImageError::BadDsc {
                    path: dsc_path,
                    reason: "it names no .debian.tar.* file (a native package has no patch series)"
                        .into(),
                })
            }
        }
    } else {
        None
    };
    Ok(DebianSource {
        version: version.to_string(),
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

/// A file of the package, from the cache when its checksum matches (or is not known), else
/// from the pool.
async fn get_file(
    pool: &str,
    dir: &Path,
    (name, sha256): &(String, Option<String>),
    progress: &(dyn Fn(String) + Sync),
) -> Result<PathBuf, ImageError> {
    let path = dir.join(name);
    if let Ok(bytes) = tokio::fs::read(&path).await {
        match sha256 {
            Some(sum) if hex::encode(Sha256::digest(&bytes)) != *sum => {}
            _ => return Ok(path),
        }
    }
    let url = format!("{pool}/{name}");
    progress(format!("fetching {url}"));
    let bytes = http::get(&url).await.map_err(|source| ImageError::Fetch {
        url: url.clone(),
        source,
    })?;
    let got = hex::encode(Sha256::digest(&bytes));
    if let Some(sum) = sha256.as_ref().filter(|sum| **sum != got) {
        return Err(ImageError::Fetch {
            url,
            source: http::FetchError::Failed(format!(
                "SHA-256 {got} differs from the .dsc's {sum}"
            )),
        });
    }
    write(&path, &bytes).await?;
    Ok(path)
}

/// The `Checksums-Sha256:` entries of a `.dsc`: (file name, sha256).
fn dsc_files(dsc: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut inside = false;
    for line in dsc.lines() {
        if line.starts_with("Checksums-Sha256:") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with(' ') {
                inside = false;
                continue;
            }
            let parts: Vec<&str> = line.split_whitespace().collect();
            if let [sum, _size, name] = parts.as_slice() {
                files.push((name.to_string(), sum.to_string()));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sha256_file_list_of_a_dsc() {
        let dsc = "Format: 3.0 (quilt)\nSource: haproxy\nChecksums-Sha1:\n aa 1 x.orig.tar.gz\n\
                   Checksums-Sha256:\n 0123 4738655 haproxy_3.0.11.orig.tar.gz\n \
                   4567 101172 haproxy_3.0.11-1+deb13u3.debian.tar.xz\nFiles:\n bb 1 y\n";
        assert_eq!(
            dsc_files(dsc),
            [
                ("haproxy_3.0.11.orig.tar.gz".to_string(), "0123".to_string()),
                (
                    "haproxy_3.0.11-1+deb13u3.debian.tar.xz".to_string(),
                    "4567".to_string()
                )
            ]
        );
    }

    #[test]
    fn pool_folders_follow_debians_layout() {
        assert_eq!(
            pool_url("http://deb.debian.org/debian/", "haproxy"),
            "http://deb.debian.org/debian/pool/main/h/haproxy"
        );
        assert_eq!(
            pool_url("http://m", "libfoo"),
            "http://m/pool/main/libf/libfoo"
        );
    }
}
