//! Debian source fetching against a local fake mirror signed by a throwaway key: every way a
//! mirror can lie (an unsigned, foreign-signed, altered or extended InRelease, a Sources index
//! or a file whose checksum differs, a name that leaves the pool, a missing file, an endless
//! body, a redirect) is refused with a message, and nothing is written outside the cache.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::debian_src::{fetch_into, Wanted};
use crate::images::ImageError;

#[derive(Clone)]
enum Answer {
    Body(Vec<u8>),
    Redirect(String),
    /// 200 with chunks until the client stops reading.
    Endless,
}

/// A plain-HTTP server on loopback answering paths from `files` (404 for the rest).
async fn serve(files: HashMap<String, Answer>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let files = Arc::new(files);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = conn.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                match files.get(&path) {
                    Some(Answer::Body(body)) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = conn.write_all(head.as_bytes()).await;
                        let _ = conn.write_all(body).await;
                    }
                    Some(Answer::Redirect(to)) => {
                        let head = format!(
                            "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        );
                        let _ = conn.write_all(head.as_bytes()).await;
                    }
                    Some(Answer::Endless) => {
                        let head = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
                        let _ = conn.write_all(head.as_bytes()).await;
                        let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
                        // Bounded: 64 MiB at most, far past any cap the test expects.
                        for _ in 0..4096 {
                            if conn.write_all(chunk.as_bytes()).await.is_err() {
                                break;
                            }
                        }
                    }
                    None => {
                        let _ = conn
                            .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                            .await;
                    }
                }
            });
        }
    });
    format!("http://{addr}/debian")
}

/// A GnuPG home with a signing key, its public keyring exported.
struct Signer {
    home: PathBuf,
}

impl Signer {
    fn new(dir: &Path, name: &str) -> Signer {
        let home = dir.join(format!("gnupg-{name}"));
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let signer = Signer { home };
        signer.gpg(&[
            "--quick-gen-key",
            &format!("haprepro test {name} <{name}@example.invalid>"),
            "ed25519",
            "sign",
            "never",
        ]);
        signer
    }

    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("gpg")
            .env("GNUPGHOME", &self.home)
            .args([
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args)
            .output()
            .expect("gpg runs (apt-get install gnupg)");
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn keyring(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.gpg(&["--export"])).unwrap();
        path.to_path_buf()
    }

    fn clearsign(&self, text: &str) -> Vec<u8> {
        let input = self.home.join("in.txt");
        std::fs::write(&input, text).unwrap();
        self.gpg(&["--clearsign", "--output", "-", input.to_str().unwrap()])
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

const VERSION: &str = "9.9.1-1";
const POOL: &str = "/debian/pool/main/h/haproxy";

/// A consistent mirror: package files, a Sources index listing them, an InRelease signed by
/// `signer` listing the index. `alter` changes the pieces before they are signed and served.
struct Mirror {
    files: Vec<(String, Vec<u8>)>,
    /// Names the Sources entry gives (normally the files' own).
    listed_names: Vec<String>,
    sources_extra: String,
}

impl Mirror {
    fn new() -> Mirror {
        let files = vec![
            (
                format!("haproxy_{VERSION}.dsc"),
                b"Format: 3.0 (quilt)\n".to_vec(),
            ),
            (
                "haproxy_9.9.1.orig.tar.gz".to_string(),
                b"upstream tarball".to_vec(),
            ),
            (
                format!("haproxy_{VERSION}.debian.tar.xz"),
                b"debian tarball".to_vec(),
            ),
        ];
        let listed_names = files.iter().map(|(n, _)| n.clone()).collect();
        Mirror {
            files,
            listed_names,
            sources_extra: String::new(),
        }
    }

    fn sources(&self) -> String {
        let mut text = format!(
            "Package: other\nVersion: 1\nDirectory: pool/main/o/other\n\n\
             Package: haproxy\nVersion: 9.8.0-2\nDirectory: pool/main/h/haproxy\n\n\
             Package: haproxy\nBinary: haproxy\nVersion: {VERSION}\nChecksums-Sha256:\n"
        );
        for ((_, bytes), name) in self.files.iter().zip(&self.listed_names) {
            text.push_str(&format!(" {} {} {name}\n", sha(bytes), bytes.len()));
        }
        text.push_str("Directory: pool/main/h/haproxy\n");
        text.push_str(&self.sources_extra);
        text
    }

    fn release(sources_gz: &[u8], sources: &str) -> String {
        format!(
            "Origin: Debian\nSuite: unstable\nCodename: sid\nSHA256:\n {} {} main/source/Sources.gz\n {} {} main/source/Sources\n",
            sha(sources_gz),
            sources_gz.len(),
            sha(sources.as_bytes()),
            sources.len()
        )
    }

    /// The mirror's answers, InRelease signed by `signer`.
    fn answers(&self, signer: &Signer) -> HashMap<String, Answer> {
        let sources = self.sources();
        let gz = gzip(&sources);
        let release = Mirror::release(&gz, &sources);
        let mut map = HashMap::from([
            (
                "/debian/dists/sid/InRelease".to_string(),
                Answer::Body(signer.clearsign(&release)),
            ),
            (
                "/debian/dists/sid/main/source/Sources.gz".to_string(),
                Answer::Body(gz),
            ),
        ]);
        for (name, bytes) in &self.files {
            map.insert(format!("{POOL}/{name}"), Answer::Body(bytes.clone()));
        }
        map
    }
}

struct Case {
    root: PathBuf,
    keyring: PathBuf,
}

impl Case {
    async fn fetch(&self, mirror: &str, version: &str) -> Result<PathBuf, ImageError> {
        let cache = self.root.join(format!("cache-{}", rand::random::<u32>()));
        let wanted = Wanted {
            dists: &["sid".to_string()],
            version,
            with_debian: true,
        };
        let got = fetch_into(mirror, &self.keyring, &cache, wanted, &|_| {}).await;
        got.map(|_| cache)
    }
}

fn text(e: &ImageError) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_fake_mirror_is_believed_only_where_the_signature_vouches() {
    let root = std::env::temp_dir().join(format!("haprepro-fake-mirror-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let debian = Signer::new(&root, "archive");
    let stranger = Signer::new(&root, "stranger");
    let case = Case {
        keyring: debian.keyring(&root.join("archive.gpg")),
        root: root.clone(),
    };
    let good = Mirror::new();

    // The honest mirror: every file fetched and checked; then the cache alone serves.
    let mirror = serve(good.answers(&debian)).await;
    let cache = case.fetch(&mirror, VERSION).await.unwrap();
    for (name, bytes) in good.files.iter().filter(|(n, _)| !n.ends_with(".dsc")) {
        assert_eq!(std::fs::read(cache.join(name)).unwrap(), *bytes, "{name}");
    }
    let wanted = Wanted {
        dists: &["sid".to_string()],
        version: VERSION,
        with_debian: true,
    };
    let offline = fetch_into(
        "http://127.0.0.1:9/none",
        &case.keyring,
        &cache,
        wanted,
        &|_| {},
    )
    .await
    .expect("a second fetch needs no mirror");
    assert_eq!(offline.version, VERSION);
    // Asked by its upstream version, the index's full version is found.
    case.fetch(&mirror, "9.9.1").await.unwrap();

    let refused = |what: &'static str, answers: HashMap<String, Answer>, version: &'static str| {
        let case = &case;
        async move {
            let mirror = serve(answers).await;
            let err = case
                .fetch(&mirror, version)
                .await
                .map(|_| ())
                .expect_err(what);
            text(&err)
        }
    };

    // InRelease: unsigned, signed by a key not in the keyring, altered after signing, extended
    // after its signature, redirected.
    let mut answers = good.answers(&debian);
    let sources = good.sources();
    let plain = Mirror::release(&gzip(&sources), &sources);
    answers.insert(
        "/debian/dists/sid/InRelease".into(),
        Answer::Body(plain.clone().into_bytes()),
    );
    let err = refused("unsigned", answers, VERSION).await;
    assert!(
        err.contains("not taken") && err.contains("unsigned"),
        "{err}"
    );

    let mut answers = good.answers(&debian);
    answers.insert(
        "/debian/dists/sid/InRelease".into(),
        Answer::Body(stranger.clearsign(&plain)),
    );
    let err = refused("foreign key", answers, VERSION).await;
    assert!(err.contains("no key of the keyring"), "{err}");

    let mut answers = good.answers(&debian);
    let signed = String::from_utf8(debian.clearsign(&plain)).unwrap();
    let altered = signed.replacen("Origin: Debian", "Origin: Debiam", 1);
    answers.insert(
        "/debian/dists/sid/InRelease".into(),
        Answer::Body(altered.into_bytes()),
    );
    let err = refused("altered", answers, VERSION).await;
    assert!(err.contains("signature is bad"), "{err}");

    let mut answers = good.answers(&debian);
    let extended = format!("{signed}SHA256:\n 00 1 main/source/Sources.gz\n");
    answers.insert(
        "/debian/dists/sid/InRelease".into(),
        Answer::Body(extended.into_bytes()),
    );
    let err = refused("data after the signature", answers, VERSION).await;
    assert!(err.contains("data follows its signature"), "{err}");

    let mut answers = good.answers(&debian);
    answers.insert(
        "/debian/dists/sid/InRelease".into(),
        Answer::Redirect("http://192.0.2.1/debian/dists/sid/InRelease".into()),
    );
    let err = refused("redirect", answers, VERSION).await;
    assert!(
        err.contains("redirects to") && err.contains("192.0.2.1"),
        "{err}"
    );

    // The Sources index differs from what InRelease signed.
    let mut answers = good.answers(&debian);
    answers.insert(
        "/debian/dists/sid/main/source/Sources.gz".into(),
        Answer::Body(gzip(&format!("{sources}\n"))),
    );
    let err = refused("Sources changed", answers, VERSION).await;
    assert!(
        err.contains("Sources.gz") && err.contains("signed index"),
        "{err}"
    );

    // A file differs from its signed checksum; a file never ends (capped at its signed size);
    // the .dsc is missing.
    let mut answers = good.answers(&debian);
    answers.insert(
        format!("{POOL}/haproxy_9.9.1.orig.tar.gz"),
        Answer::Body(b"upstream tarbalL".to_vec()),
    );
    let err = refused("bad checksum", answers, VERSION).await;
    assert!(
        err.contains("orig.tar.gz") && err.contains("SHA-256"),
        "{err}"
    );

    let mut answers = good.answers(&debian);
    answers.insert(format!("{POOL}/haproxy_9.9.1.orig.tar.gz"), Answer::Endless);
    let err = refused("endless body", answers, VERSION).await;
    assert!(err.contains("longer than the 16 bytes"), "{err}");

    // No .dsc on the mirror: not needed, the signed index vouches for the files. A missing
    // Debian tarball is named.
    let mut answers = good.answers(&debian);
    answers.remove(&format!("{POOL}/haproxy_{VERSION}.dsc"));
    let mirror = serve(answers).await;
    case.fetch(&mirror, VERSION).await.expect("no .dsc needed");
    let mut answers = good.answers(&debian);
    answers.remove(&format!("{POOL}/haproxy_{VERSION}.debian.tar.xz"));
    let err = refused("missing Debian tarball", answers, VERSION).await;
    assert!(
        err.contains("debian.tar.xz") && err.contains("404"),
        "{err}"
    );

    // The signed index names a file outside the pool folder: refused before any fetch.
    let mut traversal = Mirror::new();
    traversal.listed_names[1] = "../../../../tmp/haprepro-escaped".into();
    let err = refused("traversal", traversal.answers(&debian), VERSION).await;
    assert!(err.contains("not a plain file name"), "{err}");
    assert!(!Path::new("/tmp/haprepro-escaped").exists());

    // A version the index does not have: the versions it has are named.
    let err = refused("unknown version", good.answers(&debian), "9.9.2-1").await;
    assert!(
        err.contains("has no source package haproxy 9.9.2-1") && err.contains("9.8.0-2 (sid)"),
        "{err}"
    );

    // Nothing but cache folders was written.
    for entry in std::fs::read_dir(&root).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            name.starts_with("cache-") || name.starts_with("gnupg-") || name == "archive.gpg",
            "{name}"
        );
    }
    drop((debian, stranger));
    let _ = std::fs::remove_dir_all(&root);
}
