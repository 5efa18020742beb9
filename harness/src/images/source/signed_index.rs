//! Debian's source files taken only as apt takes them: the suite's `InRelease` checked with
//! `gpgv` against Debian's archive keyring, the `Sources` index checked against the SHA-256 the
//! signed `InRelease` gives, and each file of the package against the SHA-256 and size that the
//! signed index gives. The mirror is plain HTTP and may be anyone, so nothing it says is used
//! before one of those checks: not a file name (a plain name in the pool folder, never a path),
//! not a size (each download is capped at what the signed data announces).
//!
//! Like the offline image builds, `Valid-Until` is not enforced: sid's and experimental's
//! `InRelease` on a mirror snapshot is often past it, and what an older signed index can
//! bring is an older Debian-signed package, never a file Debian did not sign.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::super::ImageError;
use super::http;

/// Where Debian's `debian-archive-keyring` package puts the archive's keys.
pub const DEFAULT_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
/// Another keyring (a derivative's archive, or a test's fake mirror).
pub const KEYRING_ENV: &str = "HAPREPRO_DEBIAN_KEYRING";

/// No suite's `InRelease` comes near this (trixie's is 140 KB).
const INRELEASE_MAX: u64 = 16 << 20;
/// The compressed index fetched, and the uncompressed one its size is read from.
const SOURCES_GZ: &str = "main/source/Sources.gz";
const SOURCES: &str = "main/source/Sources";

/// One source package as a signed `Sources` index lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceEntry {
    /// The suite whose index lists it (`trixie`, `experimental`).
    pub dist: String,
    pub version: String,
    /// The pool folder, relative to the mirror (`pool/main/h/haproxy`).
    pub directory: String,
    pub files: Vec<IndexedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedFile {
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

fn untrusted(what: impl Into<String>, reason: impl Into<String>) -> ImageError {
    ImageError::Untrusted {
        what: what.into(),
        reason: reason.into(),
    }
}

/// The keyring `gpgv` checks against, which must exist.
pub fn keyring() -> Result<PathBuf, ImageError> {
    let path = std::env::var_os(KEYRING_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_KEYRING));
    if path.is_file() {
        Ok(path)
    } else {
        Err(ImageError::VerifierMissing {
            what: format!("the keyring {}", path.display()),
        })
    }
}

/// Finds `package` at `version` in the first of `dists` whose signed index lists it.
pub async fn find(
    mirror: &str,
    keyring: &Path,
    dists: &[String],
    package: &str,
    version: &str,
    progress: &(dyn Fn(String) + Sync),
) -> Result<SourceEntry, ImageError> {
    let mirror = mirror.trim_end_matches('/');
    let mut seen = Vec::new();
    for dist in dists {
        let release = signed_release(mirror, dist, keyring, progress).await?;
        let sources = sources_index(mirror, dist, &release, progress).await?;
        let stanzas = package_stanzas(&sources, package);
        let listed = |s: &&&str| field(s, "Version").is_some_and(|v| version_matches(v, version));
        if let Some(stanza) = stanzas.iter().find(listed) {
            let what = format!("{mirror}/dists/{dist}/{SOURCES_GZ}");
            let version = field(stanza, "Version").unwrap_or(version);
            return entry_of(stanza, dist, version).map_err(|reason| untrusted(what, reason));
        }
        seen.extend(
            stanzas
                .iter()
                .filter_map(|s| field(s, "Version"))
                .map(|v| format!("{v} ({dist})")),
        );
    }
    Err(ImageError::NotInIndex {
        package: package.to_string(),
        version: version.to_string(),
        dists: dists.join(", "),
        found: if seen.is_empty() {
            "none".into()
        } else {
            seen.join(", ")
        },
    })
}

/// Whether the index's `listed` version is the `wanted` one: the same Debian version (epochs
/// aside), or, when `wanted` has no Debian revision (`3.0.11`), the same upstream version.
pub fn version_matches(listed: &str, wanted: &str) -> bool {
    let bare = |v: &str| v.split_once(':').map(|(_, v)| v).unwrap_or(v).to_string();
    let (listed, wanted) = (bare(listed), bare(wanted));
    listed == wanted
        || (!wanted.contains('-') && listed.rsplit_once('-').is_some_and(|(up, _)| up == wanted))
}

/// The signed text of `dists/DIST/InRelease`, after `gpgv` accepted its signature.
async fn signed_release(
    mirror: &str,
    dist: &str,
    keyring: &Path,
    progress: &(dyn Fn(String) + Sync),
) -> Result<String, ImageError> {
    let url = format!("{mirror}/dists/{dist}/InRelease");
    progress(format!("fetching {url}"));
    let body = http::get(&url, INRELEASE_MAX)
        .await
        .map_err(|source| ImageError::Fetch {
            url: url.clone(),
            source,
        })?;
    check_clearsigned_shape(&body).map_err(|reason| untrusted(&url, reason))?;
    let text = gpgv(&body, keyring).await.map_err(|reason| match reason {
        GpgvError::Missing => ImageError::VerifierMissing {
            what: "gpgv".into(),
        },
        GpgvError::Refused(reason) => untrusted(&url, reason),
    })?;
    Ok(text)
}

/// `gpgv` would ignore data around the signed block (apt refuses such files since
/// CVE-2013-1051's kin): exactly one signed message, one signature, nothing after it.
fn check_clearsigned_shape(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|_| "it is not text".to_string())?;
    const BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----\n";
    const SIG: &str = "\n-----BEGIN PGP SIGNATURE-----\n";
    const END: &str = "\n-----END PGP SIGNATURE-----";
    if !text.starts_with(BEGIN) {
        return Err(
            "it is not a clearsigned file (no signature: an unsigned index is refused)".into(),
        );
    }
    if text.matches("-----BEGIN PGP SIGNED MESSAGE-----").count() != 1
        || text.matches(SIG).count() != 1
    {
        return Err("it holds more than one signed block".into());
    }
    let tail = text.trim_end_matches(['\n', '\r']);
    if !tail.ends_with(END) {
        return Err("data follows its signature".into());
    }
    Ok(())
}

enum GpgvError {
    Missing,
    Refused(String),
}

/// Runs `gpgv` on a clearsigned file and returns the signed text. Accepted as apt accepts: at
/// least one good signature by a key of the keyring, no bad one (a signature by a key the
/// keyring lacks, such as the next release's, is no reason to refuse).
async fn gpgv(body: &[u8], keyring: &Path) -> Result<String, GpgvError> {
    let mut child = tokio::process::Command::new("gpgv")
        .arg("--keyring")
        .arg(keyring)
        .args(["--status-fd", "2", "--output", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => GpgvError::Missing,
            _ => GpgvError::Refused(format!("gpgv could not start: {e}")),
        })?;
    let mut stdin = child.stdin.take().expect("piped");
    let body = body.to_vec();
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| GpgvError::Refused(format!("gpgv failed: {e}")))?;
    let _ = writer.await;
    let status = String::from_utf8_lossy(&out.stderr);
    let says = |word: &str| {
        status.lines().any(|l| {
            l.strip_prefix("[GNUPG:] ")
                .is_some_and(|l| l.starts_with(word))
        })
    };
    if says("BADSIG ") || says("EXPKEYSIG ") || says("REVKEYSIG ") {
        return Err(GpgvError::Refused(
            "its signature is bad (the file was changed after signing, or signed by a revoked or expired key)".into(),
        ));
    }
    if !says("VALIDSIG ") {
        let why = if says("NO_PUBKEY ") {
            "it is signed by no key of the keyring"
        } else {
            "gpgv found no valid signature"
        };
        return Err(GpgvError::Refused(why.into()));
    }
    String::from_utf8(out.stdout)
        .map_err(|_| GpgvError::Refused("its signed text is not UTF-8".into()))
}

/// The `SHA256:` entries of a Release file: (path, sha256, size).
fn release_sha256(release: &str) -> Vec<(String, String, u64)> {
    let mut files = Vec::new();
    let mut inside = false;
    for line in release.lines() {
        if !line.starts_with(' ') {
            inside = line.trim_end() == "SHA256:";
            continue;
        }
        if inside {
            if let [sum, size, path] = line.split_whitespace().collect::<Vec<_>>()[..] {
                if let Ok(size) = size.parse() {
                    files.push((path.to_string(), sum.to_ascii_lowercase(), size));
                }
            }
        }
    }
    files
}

/// The uncompressed `Sources` index of `dist`, its compressed form checked against the signed
/// Release first.
async fn sources_index(
    mirror: &str,
    dist: &str,
    release: &str,
    progress: &(dyn Fn(String) + Sync),
) -> Result<String, ImageError> {
    let url = format!("{mirror}/dists/{dist}/{SOURCES_GZ}");
    let listed = release_sha256(release);
    let entry = |path: &str| listed.iter().find(|(p, _, _)| p == path);
    let Some((_, sum, size)) = entry(SOURCES_GZ) else {
        return Err(untrusted(
            &url,
            format!("the signed InRelease of {dist} lists no SHA-256 for {SOURCES_GZ}"),
        ));
    };
    progress(format!("fetching {url} ({size} bytes)"));
    let gz = http::get(&url, *size)
        .await
        .map_err(|source| ImageError::Fetch {
            url: url.clone(),
            source,
        })?;
    check_sum(&gz, sum, *size).map_err(|reason| untrusted(&url, reason))?;
    // The uncompressed size is signed too; without it, a generous bound.
    let plain_max = entry(SOURCES).map(|(_, _, s)| *s).unwrap_or(1 << 30);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .take(plain_max + 1)
        .read_to_string(&mut text)
        .map_err(|e| untrusted(&url, format!("it does not decompress: {e}")))?;
    if text.len() as u64 > plain_max {
        return Err(untrusted(&url, "it decompresses past the signed size"));
    }
    Ok(text)
}

/// Whether `bytes` are the `size` bytes of SHA-256 `sum`.
pub fn check_sum(bytes: &[u8], sum: &str, size: u64) -> Result<(), String> {
    let got = hex::encode(Sha256::digest(bytes));
    if bytes.len() as u64 != size {
        return Err(format!(
            "{} bytes where the signed index says {size}",
            bytes.len()
        ));
    }
    if !got.eq_ignore_ascii_case(sum) {
        return Err(format!(
            "SHA-256 {got} differs from the signed index's {sum}"
        ));
    }
    Ok(())
}

/// The paragraphs of `Sources` for `package`.
fn package_stanzas<'a>(sources: &'a str, package: &str) -> Vec<&'a str> {
    sources
        .split("\n\n")
        .filter(|s| field(s, "Package") == Some(package))
        .collect()
}

/// A single-line field of a paragraph.
fn field<'a>(stanza: &'a str, name: &str) -> Option<&'a str> {
    stanza.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(str::trim)
    })
}

/// The continuation lines of a multi-line field.
fn field_lines<'a>(stanza: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = stanza.lines();
    let header = format!("{name}:");
    lines
        .by_ref()
        .find(|l| l.trim_end() == header)
        .map(|_| {
            lines
                .take_while(|l| l.starts_with(' '))
                .map(str::trim)
                .collect()
        })
        .unwrap_or_default()
}

/// A file name that stays in its folder: no separator, no `..`, no hidden or odd characters.
pub fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+~-".contains(&b))
}

fn entry_of(stanza: &str, dist: &str, version: &str) -> Result<SourceEntry, String> {
    let directory = field(stanza, "Directory").ok_or("its entry has no Directory")?;
    if !directory.starts_with("pool/") || !directory.split('/').all(is_plain_file_name) {
        return Err(format!(
            "its Directory {directory:?} is not a plain folder of the pool"
        ));
    }
    let mut files = Vec::new();
    for line in field_lines(stanza, "Checksums-Sha256") {
        let [sum, size, name] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            return Err(format!(
                "a Checksums-Sha256 line is not `sum size name`: {line:?}"
            ));
        };
        if !is_plain_file_name(name) {
            return Err(format!(
                "it names the file {name:?}, which is not a plain file name"
            ));
        }
        let size = size
            .parse()
            .map_err(|_| format!("the size of {name} is not a number: {size:?}"))?;
        files.push(IndexedFile {
            name: name.to_string(),
            sha256: sum.to_ascii_lowercase(),
            size,
        });
    }
    if files.is_empty() {
        return Err("its entry lists no Checksums-Sha256".into());
    }
    Ok(SourceEntry {
        dist: dist.to_string(),
        version: version.to_string(),
        directory: directory.to_string(),
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANZA: &str = "Package: haproxy\nBinary: haproxy\nVersion: 3.0.11-1+deb13u4\n\
        Checksums-Sha256:\n d42b 2462 haproxy_3.0.11-1+deb13u4.dsc\n a133 4738655 haproxy_3.0.11.orig.tar.gz\n\
        Directory: pool/main/h/haproxy\n";

    #[test]
    fn reads_a_sources_entry_and_refuses_names_that_leave_the_pool() {
        let entry = entry_of(STANZA, "trixie", "3.0.11-1+deb13u4").unwrap();
        assert_eq!(entry.directory, "pool/main/h/haproxy");
        assert_eq!(entry.files.len(), 2);
        assert_eq!(entry.files[1].name, "haproxy_3.0.11.orig.tar.gz");
        assert_eq!(entry.files[1].size, 4738655);
        for bad in ["../../etc/passwd", "/etc/passwd", "a/b", ".hidden", ""] {
            let stanza = STANZA.replace("haproxy_3.0.11.orig.tar.gz", bad);
            assert!(entry_of(&stanza, "t", "v").is_err(), "{bad:?} accepted");
        }
        let stanza = STANZA.replace("pool/main/h/haproxy", "pool/../../../etc");
        assert!(entry_of(&stanza, "t", "v").is_err());
        let stanza = STANZA.replace("pool/main/h/haproxy", "/srv");
        assert!(entry_of(&stanza, "t", "v").is_err());
    }

    #[test]
    fn a_version_is_the_debian_version_or_its_upstream_part() {
        assert!(version_matches("3.0.11-1+deb13u4", "3.0.11-1+deb13u4"));
        assert!(version_matches("3.0.11-1+deb13u4", "3.0.11"));
        assert!(version_matches("1:2.0-3", "2.0-3"));
        assert!(!version_matches("3.0.11-1+deb13u4", "3.0.11-1+deb13u3"));
        assert!(!version_matches("3.0.11-1", "3.0.1"));
    }

    #[test]
    fn reads_the_signed_sha256_list_of_a_release() {
        let release = "Origin: Debian\nMD5Sum:\n aa 10 main/source/Sources.gz\nSHA256:\n \
                       BB 12 main/source/Sources.gz\n cc 40 main/source/Sources\nNext: x\n";
        assert_eq!(
            release_sha256(release),
            [
                ("main/source/Sources.gz".into(), "bb".into(), 12),
                ("main/source/Sources".into(), "cc".into(), 40)
            ]
        );
    }

    #[test]
    fn only_one_clearsigned_block_with_nothing_after_it_passes_the_shape_check() {
        let good = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n\
                    -----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
        assert!(check_clearsigned_shape(good.as_bytes()).is_ok());
        assert!(check_clearsigned_shape(b"Origin: Debian\n").is_err());
        let trailing = format!("{good}SHA256:\n 00 1 main/source/Sources.gz\n");
        assert!(check_clearsigned_shape(trailing.as_bytes()).is_err());
        let twice = format!("{good}{good}");
        assert!(check_clearsigned_shape(twice.as_bytes()).is_err());
    }
}
