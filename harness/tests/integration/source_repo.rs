//! The git repository the source-build tests bisect: real HAProxy 3.0.11 (Debian trixie's orig
//! tarball, upstream's release) with haproxy#2578 reintroduced by one commit and undone by a
//! later one. Made once and kept under the user's cache directory; commits have fixed authors
//! and dates, so the same hashes (and trees, and so images) come back if it is made again.
//!
//! ```text
//! #1 pristine 3.0.11 -- #2 doc -- #3 doc (tag t-mid) -- #4 MUTATION -- #5 doc -- #6 doc
//!    -- #7 undo (the fix) -- #8 doc
//! ```
//!
//! The mutation is the code before upstream's fix c16eba818: in `snr_resolution_cb` (both of
//! its failure paths) and `snr_resolution_error_cb`, src/server.c clears the whole
//! `struct server_inetaddr` it hands to `server_set_inetaddr()`, port included, instead of
//! taking the current one with `server_get_inetaddr()` and clearing only its `addr`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The commits, oldest first, by their role.
pub struct Repo {
    pub dir: PathBuf,
    /// Full hashes of #1..#8.
    pub commits: Vec<String>,
}

impl Repo {
    /// Commit `n` (1-based, as in the module's picture).
    pub fn commit(&self, n: usize) -> &str {
        &self.commits[n - 1]
    }
}

const FIXED: &str = "\t\t/* unset server's addr, keep port */
\t\tserver_get_inetaddr(s, &srv_addr);
\t\tsrv_addr.family = AF_UNSPEC;
\t\tmemset(&srv_addr.addr, 0, sizeof(srv_addr.addr));";
const MUTANT: &str = "\t\t/* unset server's addr AND port */
\t\tmemset(&srv_addr, 0, sizeof(srv_addr));";

/// Made once per test process; the first caller makes (or finds) it, the others wait.
pub fn repo() -> &'static Repo {
    static REPO: OnceLock<Repo> = OnceLock::new();
    REPO.get_or_init(make)
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=haprepro",
            "-c",
            "user.email=haprepro@example.invalid",
        ])
        .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e} (the source-build tests need git)"));
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The repository made earlier, if it is there with its `n` commits.
fn existing(dir: &Path, n: usize) -> Option<Repo> {
    if !dir.join(".git").is_dir() {
        return None;
    }
    let log = git(dir, &["log", "--reverse", "--format=%H"]);
    let commits: Vec<String> = log.lines().map(String::from).collect();
    (commits.len() == n).then(|| Repo {
        dir: dir.to_path_buf(),
        commits,
    })
}

/// Moves a repository made in `tmp` to its place, at once (a test that finds it finds it whole).
fn put_in_place(tmp: &Path, dir: PathBuf) -> Repo {
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(tmp, &dir).expect("move the test repository in place");
    let log = git(&dir, &["log", "--reverse", "--format=%H"]);
    Repo {
        dir,
        commits: log.lines().map(String::from).collect(),
    }
}

/// A commit that changes only a doc file: a new tree, the same compiled code.
fn doc_commit(dir: &Path, n: usize) {
    let path = dir.join("doc/haprepro-test-notes.txt");
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str(&format!("harmless change {n}\n"));
    std::fs::write(&path, text).expect("write a doc file");
    git(dir, &["add", "-A"]);
    git(
        dir,
        &["commit", "-q", "-m", &format!("DOC: harmless change {n}")],
    );
}

/// What `show version` does in 3.0.11, and the same with a `BUG_ON()` that `show version crash`
/// reaches: a crash asked for through the runtime API.
const SHOW_VERSION: &str = "\tchar *msg = NULL;\n\n\treturn cli_dynmsg(appctx, LOG_INFO, memprintf(&msg, \"%s\\n\", haproxy_version));";
const SHOW_VERSION_CRASH: &str = "\tchar *msg = NULL;\n\n\tBUG_ON(strcmp(args[2], \"crash\") == 0, \"haprepro test: a crash asked for\");\n\treturn cli_dynmsg(appctx, LOG_INFO, memprintf(&msg, \"%s\\n\", haproxy_version));";

/// The second test repository: the first one's pristine 3.0.11 commit (the same hash, so the
/// same tree and image), then a doc commit, the commit that adds a `BUG_ON()` to `show
/// version`, and another doc commit.
///
/// ```text
/// #1 pristine 3.0.11 -- #2 doc -- #3 BUG_ON in show version -- #4 doc
/// ```
pub fn crash_repo() -> &'static Repo {
    static REPO: OnceLock<Repo> = OnceLock::new();
    REPO.get_or_init(make_crash)
}

fn make_crash() -> Repo {
    let base = repo();
    let dir = haprepro::images::cache_dir()
        .join("test-repos")
        .join("haproxy-3.0.11-bugon-v1");
    if let Some(r) = existing(&dir, 4).filter(|r| r.commit(1) == base.commit(1)) {
        return r;
    }
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let status = Command::new("git")
        .args(["clone", "-q", "--no-checkout"])
        .arg(&base.dir)
        .arg(&tmp)
        .status()
        .expect("git clone runs");
    assert!(status.success(), "clone {}", base.dir.display());
    git(&tmp, &["checkout", "-q", "-B", "master", base.commit(1)]);
    doc_commit(&tmp, 1);
    let cli_c = tmp.join("src/cli.c");
    let pristine = std::fs::read_to_string(&cli_c).expect("src/cli.c");
    assert_eq!(
        pristine.matches(SHOW_VERSION).count(),
        1,
        "3.0.11's cli_parse_show_version, as this test knows it"
    );
    std::fs::write(&cli_c, pristine.replace(SHOW_VERSION, SHOW_VERSION_CRASH))
        .expect("write src/cli.c");
    git(
        &tmp,
        &[
            "commit",
            "-q",
            "-a",
            "-m",
            "MINOR: cli: crash on `show version crash` (a BUG_ON reached by the runtime API)",
        ],
    );
    doc_commit(&tmp, 2);
    put_in_place(&tmp, dir)
}

fn make() -> Repo {
    let dir = haprepro::images::cache_dir()
        .join("test-repos")
        .join("haproxy-3.0.11-issue2578-v1");
    if let Some(r) = existing(&dir, 8) {
        return r;
    }
    let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("create the test repository's folder");
    // Debian trixie's orig tarball of 3.0.11 is upstream's release tarball. Fetched on a
    // thread of its own: the first caller may be an async test, inside whose runtime another
    // cannot block.
    let source = std::thread::spawn(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let mirror = haprepro::images::Catalog::builtin().mirror;
        rt.block_on(haprepro::images::source::fetch_debian_source(
            &mirror,
            &["trixie".to_string()],
            "3.0.11",
            false,
            &|m| eprintln!("{m}"),
        ))
    })
    .join()
    .expect("the fetch thread")
    .unwrap_or_else(|e| panic!("Debian's haproxy 3.0.11 orig tarball: {e}"));
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&source.orig)
        .arg("-C")
        .arg(&tmp)
        .arg("--strip-components=1")
        .status()
        .expect("tar runs");
    assert!(status.success(), "unpack {}", source.orig.display());
    git(&tmp, &["init", "-q", "-b", "master"]);
    git(&tmp, &["add", "-A"]);
    git(
        &tmp,
        &[
            "commit",
            "-q",
            "-m",
            "pristine HAProxy 3.0.11 (Debian trixie's orig tarball)",
        ],
    );
    let doc = |n: usize| doc_commit(&tmp, n);
    let server_c = tmp.join("src/server.c");
    let pristine = std::fs::read_to_string(&server_c).expect("src/server.c");
    assert_eq!(
        pristine.matches(FIXED).count(),
        3,
        "3.0.11's src/server.c clears only the addr in three places (snr_resolution_cb twice, snr_resolution_error_cb)"
    );
    doc(1);
    doc(2);
    git(&tmp, &["tag", "t-mid"]);
    std::fs::write(&server_c, pristine.replace(FIXED, MUTANT)).expect("write src/server.c");
    git(&tmp, &["commit", "-q", "-a", "-m", "BUG/MEDIUM: server: a failed resolution resets the whole inetaddr, port included (reintroduces haproxy#2578)"]);
    doc(3);
    doc(4);
    std::fs::write(&server_c, &pristine).expect("write src/server.c");
    git(
        &tmp,
        &[
            "commit",
            "-q",
            "-a",
            "-m",
            "BUG/MEDIUM: server: keep the port when resolution fails (as upstream's c16eba818)",
        ],
    );
    doc(5);
    put_in_place(&tmp, dir)
}
