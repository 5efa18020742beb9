//! HAProxy built from source, on real HAProxy code: Debian trixie's 3.0.11 orig tarball made
//! into a git repository ([`crate::source_repo`]) where one commit reintroduces haproxy#2578 and
//! a later one undoes it. The scenario must tell the commits apart by measurement, bisect must
//! name the two commits, and a tree built twice must be one binary in the binary cache.
//!
//! Cost: the first build of a machine is a cold compile (plus the builder image, once); every
//! later tree recompiles only what changed (ccache in the `haprepro-ccache` volume) and a tree
//! built before costs nothing. One build runs at a time (the build lock), whatever the tests'
//! parallelism.

use std::path::PathBuf;
use std::process::{Command, Output};

use haprepro::images::{self, ResolvedImage, SourceSpec};
use haprepro::runtime::Engine;
use haprepro::scenario::{self, Outcome, RunOptions};

use crate::source_repo::{repo, Repo};
use crate::support::{haprepro_with, scenarios_dir, show, workspace};

async fn engine() -> Engine {
    Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(the source-build tests need a Docker daemon)"))
}

fn spec_at(reference: &str) -> SourceSpec {
    SourceSpec::parse(repo().dir.to_str().expect("utf-8 path"), Some(reference))
        .expect("the test repository")
}

async fn build(engine: &Engine, reference: &str) -> images::SourceBuild {
    images::source::build(engine, &spec_at(reference), &|_| {})
        .await
        .unwrap_or_else(|e| panic!("building {reference}: {e}"))
}

/// Runs dns-flap-check-port-zero on an image and returns its measured outcome, its reason
/// and the port-0 lane's title in its timeline picture (`→ port 0 (N)`, N the SYNs drawn).
async fn dns_flap_on(engine: &Engine, image: &ResolvedImage) -> (Outcome, String, String) {
    let dir = scenario::find("dns-flap-check-port-zero", &scenarios_dir()).expect("scenario");
    let scenario = scenario::load(&dir).unwrap_or_else(|e| panic!("{e:?}"));
    let opts = RunOptions {
        run_id: format!("test-{}", haprepro::runtime::new_run_id()),
        results_dir: workspace().join("results"),
        keep: false,
        column: None,
        planned: None,
    };
    let plan = scenario.variant(None).expect("the scenario's case");
    let r = scenario::run_variant(engine, &scenario, plan, image, &opts, &|_| {}).await;
    let svg = r.evidence_dir.join("timeline.svg");
    let svg = std::fs::read_to_string(&svg).unwrap_or_else(|e| panic!("{}: {e}", svg.display()));
    let lane = svg
        .find("→ port 0 (")
        .map(|at| svg[at..].split(')').next().unwrap_or_default().to_string() + ")")
        .unwrap_or_else(|| "no port-0 lane".into());
    (
        r.outcome,
        format!("{} (evidence {})", r.reason, r.evidence_dir.display()),
        lane,
    )
}

fn haprepro(args: &[&str]) -> Output {
    haprepro_with(&scenarios_dir(), args)
}

/// The `bisect.json` a bisect run printed the path of.
fn bisect_json(out: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .unwrap_or_else(|| panic!("no results line\n{}", show(out)));
    // The results folder is given as an absolute path, so the printed one is too.
    let path =
        PathBuf::from(line.split(", ").next().unwrap_or_default()).with_file_name("bisect.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), show(out)));
    serde_json::from_str(&text).expect("bisect.json is JSON")
}

#[tokio::test]
async fn the_pristine_tree_does_not_reproduce_and_the_mutant_does() {
    let engine = engine().await;
    let r = repo();
    let pristine = build(&engine, r.commit(1)).await;
    let (outcome, why, lane) = dns_flap_on(&engine, &pristine.image).await;
    assert_eq!(outcome, Outcome::NotReproduced, "pristine 3.0.11: {why}");
    assert_eq!(lane, "→ port 0 (0)", "pristine 3.0.11's timeline: {why}");
    let mutant = build(&engine, r.commit(4)).await;
    assert_ne!(pristine.image.reference, mutant.image.reference);
    let (outcome, why, lane) = dns_flap_on(&engine, &mutant.image).await;
    assert_eq!(
        outcome,
        Outcome::Reproduced,
        "3.0.11 with haproxy#2578: {why}"
    );
    // The picture shows the bug: the port-0 lane has the SYNs the measure counted.
    assert!(
        lane != "→ port 0 (0)" && lane.starts_with("→ port 0 ("),
        "3.0.11 with haproxy#2578's timeline: {lane} ({why})"
    );
}

#[tokio::test]
async fn the_same_tree_built_twice_is_one_binary() {
    let engine = engine().await;
    let r = repo();
    let first = build(&engine, r.commit(1)).await;
    let binary = first
        .image
        .binary
        .clone()
        .expect("a source build is a cached binary");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let before = modified(&binary).expect("the binary is in the cache");
    // Again, by another name of the same commit: no build, the same binary.
    let again = images::source::build(&engine, &spec_at("HEAD~7"), &|_| {})
        .await
        .expect("build HEAD~7");
    assert_eq!(again.image.binary.as_ref(), Some(&binary));
    assert_eq!(
        modified(&binary),
        Some(before),
        "the entry was not written again"
    );
    assert!(
        again.cached && again.log.is_none(),
        "no build ran the second time"
    );
    // Cases run the runtime image (its ID) with the binary put in: no image per build.
    let runtime = engine
        .image_id("haprepro/haproxy:suite-trixie")
        .await
        .expect("inspect")
        .expect("the trixie image");
    assert_eq!(first.image.id, runtime);
    let entry: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(binary.with_file_name("entry.json")).expect("entry.json"),
    )
    .expect("entry.json is JSON");
    let labels = &entry["labels"];
    // The commit label names the first commit built with this tree (another commit of the
    // same tree, in another checkout, may have been first): the tree is what identifies it.
    assert_eq!(labels["haprepro.src.tree"], first.tree.as_str(), "{entry}");
    assert!(
        labels["haprepro.src.commit"]
            .as_str()
            .is_some_and(|c| c.len() == 40),
        "{entry}"
    );
    assert_eq!(labels["haprepro.src.profile"], "minimal", "{entry}");
    assert!(
        entry["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0.11")),
        "{entry}"
    );
    let vv = std::fs::read_to_string(binary.with_file_name("haproxy-vv.txt")).expect("-vv");
    assert!(vv.contains("3.0.11"), "{vv}");
}

/// Between commits HAProxy's version changes, and the Makefile passes it to every file: the
/// build keeps it out of the compiler cache's key except for the files that use it. A tree
/// that differs from a built one only in its VERSION file must be that cache's hits for every
/// other file, and its binary must still say its own version.
#[tokio::test]
async fn a_new_version_string_recompiles_only_the_files_that_use_it() {
    let engine = engine().await;
    let pristine = build(&engine, repo().commit(1)).await;
    let dir = std::env::temp_dir().join(format!("haprepro-version-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let patch = dir.join("version.patch");
    let version = "3.0.11-haprepro-version-test";
    std::fs::write(
        &patch,
        format!("--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-3.0.11\n+{version}\n"),
    )
    .expect("write the patch");
    let mut spec = spec_at(repo().commit(1));
    spec.patches = vec![patch];
    let renamed = images::source::build(&engine, &spec, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("building commit #1 with a new VERSION: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    // `haproxy -vv` names the compiler as a maintainer's build would, not the cache's wrapper.
    let cache = haprepro::images::source::binary_cache::dir().join(&renamed.tag);
    let vv = haprepro::images::source::binary_cache::read(&cache)
        .and_then(|entry| entry.vv())
        .unwrap_or_default();
    let cc = vv
        .lines()
        .find(|l| l.trim_start().starts_with("CC "))
        .unwrap_or_else(|| panic!("a CC line in haproxy -vv: {vv}"));
    assert!(cc.trim_end().ends_with("= gcc"), "{cc}");
    assert!(
        renamed.image.version.starts_with(version),
        "the binary says the tree's version: {} (pristine: {})",
        renamed.image.version,
        pristine.image.version
    );
    let Some(log) = &renamed.log else {
        return; // built by an earlier run: nothing was compiled now to count
    };
    let text = std::fs::read_to_string(log).expect("the build log");
    let users = text
        .lines()
        .find_map(|l| {
            l.split_once("haprepro-version-users: ")
                .map(|(_, users)| users)
        })
        .unwrap_or_else(|| {
            panic!(
                "the build names the files that use the version: {}",
                log.display()
            )
        });
    assert!(users.contains("src/version.c"), "{users}");
    // Misses: the version users, compiled afresh (the rest come from the pristine build).
    let misses: usize = renamed
        .ccache
        .as_deref()
        .and_then(|c| c.split("misses ").nth(1))
        .and_then(|m| m.split('/').next())
        .and_then(|m| m.trim().parse().ok())
        .unwrap_or_else(|| panic!("ccache's count: {:?}", renamed.ccache));
    let n_users: usize = users
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count of files");
    // The pristine tree was built with this build script on this machine (the script is part
    // of the image's key), so its objects are in the cache.
    assert!(
        misses <= n_users,
        "{misses} misses for {n_users} version users ({users}); ccache {:?}, log {}",
        renamed.ccache,
        log.display()
    );
}

#[test]
fn bisect_names_the_commit_that_reintroduced_the_bug() {
    let r = repo();
    let out = bisect_src(r, 1, 6, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_stdout_names(&out, "first bad commit", r.commit(4));
    let json = bisect_json(&out);
    assert_eq!(json["answer"]["commit"]["hash"], r.commit(4));
    assert_eq!(json["plan"]["stages"], 2, "the tag t-mid is bisected first");
    let builds = json["builds"].as_u64().unwrap_or(99);
    assert!(
        builds <= 5,
        "6 candidates: at most ceil(log2 6) + 2 builds, got {builds}"
    );
}

#[test]
fn bisect_fixed_names_the_commit_that_undid_it() {
    let r = repo();
    let out = bisect_src(r, 4, 8, &["--fixed"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_stdout_names(&out, "first fixed commit", r.commit(7));
    assert_eq!(bisect_json(&out)["answer"]["commit"]["hash"], r.commit(7));
    // The same range without --fixed stops at the old end, which reproduces: exit 2.
    let out = bisect_src(r, 4, 8, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("add --fixed"),
        "{}",
        show(&out)
    );
}

/// `haprepro bisect` of the port-0 scenario over the test repository's commits `good..bad`.
fn bisect_src(r: &Repo, good: usize, bad: usize, extra: &[&str]) -> Output {
    let dir = r.dir.to_str().expect("utf-8");
    let mut args = vec![
        "bisect",
        "dns-flap-check-port-zero",
        "--src",
        dir,
        "--good",
        r.commit(good),
        "--bad",
        r.commit(bad),
    ];
    args.extend_from_slice(extra);
    haprepro(&args)
}

fn assert_stdout_names(out: &Output, what: &str, commit: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{what}: {commit}")),
        "{}",
        show(out)
    );
}

#[test]
fn check_src_answers_in_git_bisect_run_codes() {
    let r = repo();
    let dir = r.dir.to_str().expect("utf-8");
    let check = |reference: &str| {
        haprepro(&[
            "check",
            "dns-flap-check-port-zero",
            "--src",
            dir,
            "--ref",
            reference,
        ])
    };
    let out = check(r.commit(4));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the mutant is bad: {}",
        show(&out)
    );
    let out = check(r.commit(1));
    assert_eq!(
        out.status.code(),
        Some(0),
        "pristine is good: {}",
        show(&out)
    );
    let out = check("no-such-ref");
    assert_eq!(
        out.status.code(),
        Some(128),
        "a ref that is not there stops git bisect: {}",
        show(&out)
    );
}

#[test]
fn bad_source_input_is_a_clear_error_with_its_exit_code() {
    let r = repo();
    let dir = r.dir.to_str().expect("utf-8");
    let expect = |args: &[&str], code: i32, says: &str| {
        let out = haprepro(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", show(&out));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            all.contains(says),
            "{args:?} does not say {says:?}: {}",
            show(&out)
        );
    };
    let scratch = std::env::temp_dir().join(format!("haprepro-src-test-{}", std::process::id()));
    std::fs::create_dir_all(scratch.join("empty")).expect("scratch folder");
    let empty = scratch.join("empty");
    expect(
        &["run", "smoke", "--src", empty.to_str().unwrap()],
        2,
        "is not a git repository",
    );
    expect(
        &["run", "smoke", "--src", dir, "--ref", "no-such-ref"],
        2,
        "unknown ref \"no-such-ref\"",
    );
    expect(
        &[
            "bisect",
            "smoke",
            "--src",
            dir,
            "--good",
            r.commit(6),
            "--bad",
            r.commit(1),
        ],
        2,
        "is not an ancestor",
    );
    // A tarball that is not HAProxy.
    std::fs::write(empty.join("README"), "not haproxy").expect("write");
    let tarball = scratch.join("other.tar.gz");
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(&empty)
        .arg("README")
        .status()
        .expect("tar");
    assert!(status.success());
    expect(
        &["run", "smoke", "--src", tarball.to_str().unwrap()],
        2,
        "is not a HAProxy source tree",
    );
    // A patch that does not apply, and one that applies but breaks the build.
    let bad = scratch.join("does-not-apply.patch");
    std::fs::write(&bad, "--- a/src/haproxy.c\n+++ b/src/haproxy.c\n@@ -1,1 +1,1 @@\n-no such line in haproxy.c\n+x\n").expect("write");
    expect(
        &[
            "run",
            "smoke",
            "--src",
            dir,
            "--ref",
            r.commit(1),
            "--patch",
            bad.to_str().unwrap(),
        ],
        2,
        "patch does-not-apply.patch does not apply",
    );
    let breaks = scratch.join("breaks-the-build.patch");
    let version_c = std::fs::read_to_string(r.dir.join("src/version.c")).expect("src/version.c");
    let broken = scratch.join("version.c");
    std::fs::write(
        &broken,
        format!("{version_c}\n#error haprepro test: this build must fail\n"),
    )
    .expect("write");
    let diff = Command::new("diff")
        .args([
            "-u",
            "--label",
            "a/src/version.c",
            "--label",
            "b/src/version.c",
        ])
        .arg(r.dir.join("src/version.c"))
        .arg(&broken)
        .output()
        .expect("diff runs");
    std::fs::write(&breaks, &diff.stdout).expect("write");
    expect(
        &[
            "run",
            "smoke",
            "--src",
            dir,
            "--ref",
            r.commit(1),
            "--patch",
            breaks.to_str().unwrap(),
        ],
        3,
        &format!("building commit {}", &r.commit(1)[..12]),
    );
    // A scenario that needs a feature the profile lacks is refused before any build.
    let needs_ssl = scratch.join("needs-ssl");
    std::fs::create_dir_all(&needs_ssl).expect("scenario folder");
    let smoke = scenarios_dir().join("smoke");
    for f in ["haproxy.cfg", "README.md"] {
        std::fs::copy(smoke.join(f), needs_ssl.join(f)).expect("copy smoke");
    }
    let toml = std::fs::read_to_string(smoke.join("scenario.toml")).expect("smoke");
    let toml = toml.replacen(
        "name = \"smoke\"",
        "name = \"needs-ssl\"\nrequires = [\"ssl\"]",
        1,
    );
    std::fs::write(needs_ssl.join("scenario.toml"), toml).expect("write");
    expect(
        &[
            "run",
            needs_ssl.to_str().unwrap(),
            "--src",
            dir,
            "--ref",
            r.commit(1),
        ],
        2,
        "requires ssl, which the minimal build profile lacks: build with --profile full",
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn an_unknown_debian_suite_names_the_known_ones() {
    let out = haprepro(&["run", "smoke", "--src", "debian:no-such-suite"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("debian:trixie"),
        "{}",
        show(&out)
    );
}

/// Two clones of the test repository, as a mainline clone and a branch clone: tags in
/// HAProxy's scheme on its commits (mainline: v3.0-dev1 on the pristine tree, v3.0-dev2 on the
/// mutant; branch: v3.0.11 on the fix).
fn tagged_clones(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let r = repo();
    let root = std::env::temp_dir().join(format!("haprepro-sets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let clone = |dir: &PathBuf, tags: &[(&str, &str)]| {
        let ok = Command::new("git")
            .args(["clone", "-q", "--no-checkout", "--no-tags"])
            .arg(&r.dir)
            .arg(dir)
            .status()
            .unwrap();
        assert!(ok.success());
        for (tag, commit) in tags {
            let ok = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["tag", tag, commit])
                .status()
                .unwrap();
            assert!(ok.success());
        }
    };
    let (mainline, branch) = (root.join("haproxy"), root.join("haproxy-3.0"));
    clone(
        &mainline,
        &[("v3.0-dev1", r.commit(1)), ("v3.0-dev2", r.commit(4))],
    );
    clone(&branch, &[("v3.0.11", r.commit(7))]);
    (root, mainline, branch)
}

/// The outcomes of a map.json strip's cells, in order.
fn cell_outcomes(strip: &serde_json::Value) -> Vec<&str> {
    strip["cells"]
        .as_array()
        .expect("a strip has cells")
        .iter()
        .map(|c| c["outcome"].as_str().unwrap_or("?"))
        .collect()
}

/// Tags a commit of a test clone.
fn tag(clone: &std::path::Path, name: &str, commit: &str) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(clone)
        .args(["tag", name, commit])
        .status()
        .unwrap();
    assert!(ok.success(), "git tag {name} {commit}");
}

/// A set over a mainline and a branch clone: each tag built from the clone that has it, and
/// each column measured (the mutant's tag reproduces, the pristine ones do not).
#[test]
fn a_version_set_over_two_clones_builds_each_tag_from_its_clone() {
    let (root, mainline, branch) = tagged_clones("two");
    let results = root.join("results");
    let out = crate::support::haprepro_into(
        &results,
        &[
            "matrix",
            "--scenarios",
            "dns-flap-check-port-zero",
            "--src",
            mainline.to_str().unwrap(),
            "--src",
            branch.to_str().unwrap(),
            "--versions",
            "v3.0-dev*,v3.0.0..v3.0.99",
        ],
    );
    let records = crate::support::matrix_records(&results)
        .unwrap_or_else(|| panic!("no matrix.json\n{}", show(&out)));
    // Each record names the --versions item it was planned for.
    let outcome = |tag: &str| -> (String, String) {
        let r = records
            .iter()
            .find(|r| {
                r["provenance"]["planned"]["item"]
                    .as_str()
                    .is_some_and(|i| i.ends_with(&format!("@{tag}")))
            })
            .unwrap_or_else(|| panic!("no case for {tag}\n{}", show(&out)));
        (
            r["outcome"].as_str().unwrap_or("").to_string(),
            r["image_source"].as_str().unwrap_or("").to_string(),
        )
    };
    let r = repo();
    let (dev1, dev2, release) = (
        outcome("v3.0-dev1"),
        outcome("v3.0-dev2"),
        outcome("v3.0.11"),
    );
    assert_eq!(records.len(), 3, "{}", show(&out));
    assert_eq!(dev1.0, "not-reproduced", "{dev1:?}");
    assert_eq!(dev2.0, "reproduced", "{dev2:?}");
    // v3.0.11 exists only in the branch clone: built from there, the fix measures N.
    assert_eq!(release.0, "not-reproduced", "{release:?}");
    assert!(release.1.contains(&r.commit(7)[..12]), "{release:?}");
    assert!(dev2.1.contains(&r.commit(4)[..12]), "{dev2:?}");
    let _ = std::fs::remove_dir_all(&root);
}

/// Sets that cannot be made stop the matrix before anything is built, with exit 2.
#[test]
fn a_set_matching_nothing_or_a_tag_at_two_commits_is_bad_input() {
    let (root, mainline, branch) = tagged_clones("bad");
    let run = |extra: &[&str], versions: &str| {
        let mut args = vec![
            "matrix",
            "--scenarios",
            "smoke",
            "--src",
            mainline.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend(["--versions", versions]);
        haprepro(&args)
    };
    let branch_arg = ["--src", branch.to_str().unwrap()];
    for (extra, versions, says) in [
        (
            &[][..],
            "v3.1-dev*",
            "the pattern v3.1-dev* matches no tag; nearest tags: v3.0-dev1",
        ),
        (&[][..], "v2.0.0..v2.9.99", "matches no tag"),
        (&[][..], "main..v3.0.11", "not in HAProxy's version scheme"),
    ] {
        let out = run(extra, versions);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{versions}: {}", show(&out));
        assert!(stderr.contains(says), "{versions}: {stderr}");
        assert!(!stderr.contains("build:"), "nothing built: {stderr}");
    }
    // The mainline gets a v3.0.11 of its own, at another commit than the branch clone's.
    let r = repo();
    let ok = Command::new("git")
        .arg("-C")
        .arg(&mainline)
        .args(["tag", "v3.0.11", r.commit(4)])
        .status()
        .unwrap();
    assert!(ok.success());
    let out = run(&branch_arg, "v3.0.11");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        stderr.contains("the tag v3.0.11 is at") && stderr.contains("haproxy-3.0"),
        "{stderr}"
    );
    // A clone without tags, when tags are needed.
    let bare = root.join("untagged");
    let ok = Command::new("git")
        .args(["clone", "-q", "--no-checkout", "--no-tags"])
        .arg(&r.dir)
        .arg(&bare)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = haprepro(&[
        "matrix",
        "--scenarios",
        "smoke",
        "--src",
        bare.to_str().unwrap(),
        "--versions",
        "newest-tag",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(stderr.contains("has no tags"), "{stderr}");
    let _ = std::fs::remove_dir_all(&root);
}

/// `haprepro map --explain` over three tags of one clone (the pristine tree, the mutant, the
/// fix): the strip measured per tag, its two boundaries, each bisected to the commit that made
/// it and confirmed (re-runs of the commit and its parent, the later end with it reverted), in
/// map.json and the one-line answer.
#[test]
fn a_map_marks_each_boundary_and_explains_it_with_its_commit() {
    let r = repo();
    let (root, mainline, _) = tagged_clones("map");
    tag(&mainline, "v3.0-dev3", r.commit(7));
    let results = root.join("results");
    let map = |extra: &[&str]| {
        let mut args = vec!["map", "dns-flap-check-port-zero", "--src"];
        args.push(mainline.to_str().unwrap());
        args.extend(["--versions", "v3.0-dev*"]);
        args.extend_from_slice(extra);
        crate::support::haprepro_into(&results, &args)
    };
    // Past the bound on builds: refused before anything is built.
    let out = map(&["--max-builds", "2"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--max-builds 3"),
        "{}",
        show(&out)
    );
    let out = map(&["--explain"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let json = std::fs::read_dir(&results)
        .unwrap()
        .flatten()
        .map(|d| d.path().join("map.json"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no map.json\n{}", show(&out)));
    let mapped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let strip = &mapped["strips"][0];
    let outcomes = cell_outcomes(strip);
    assert_eq!(outcomes, ["not-reproduced", "reproduced", "not-reproduced"]);
    let b = strip["boundaries"].as_array().unwrap();
    assert_eq!(b.len(), 2, "{strip}");
    assert_eq!(b[0]["commit"]["hash"], r.commit(4), "{strip}");
    assert_eq!(b[1]["commit"]["hash"], r.commit(7), "{strip}");
    // Each confirmed: the commit and its parent 3 of 3 each, and the later end with the
    // commit reverted measures like the earlier end.
    for boundary in b {
        let said = boundary["commit"]["confirmation"].as_str().unwrap_or("");
        assert_eq!(boundary["commit"]["confirmed"], true, "{said}");
        assert!(
            said.contains("3/3") && said.contains("with it reverted measured"),
            "{said}"
        );
    }
    let answer = strip["answer"].as_str().unwrap();
    assert!(
        answer.contains(&format!(
            "reproduced from v3.0-dev2 ({}",
            &r.commit(4)[..12]
        )) && answer.contains(&format!("fixed in v3.0-dev3 ({}", &r.commit(7)[..12])),
        "{answer}"
    );
    // Paste-ready: each boundary with its commit, the command for each side, and both ends'
    // `haproxy -vv` (from the binary cache).
    let md = std::fs::read_to_string(json.with_file_name("map.md")).unwrap();
    assert!(
        md.contains(&format!("`{}`", r.commit(4)))
            && md.contains("--ref v3.0-dev2")
            && md.matches("<code>haproxy -vv</code> of").count() == 4
            && md.contains("HAProxy version 3.0.11"),
        "{md}"
    );
    // The same map again resumes: nothing measured or bisected again, the same answer.
    let out = map(&["--explain"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("3 of 3 version(s) measured before; running none")
            && err.matches("map: reusing").count() == 4
            && !err.contains("bisecting"),
        "{}",
        show(&out)
    );
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(again["strips"][0]["answer"], strip["answer"]);
    let _ = std::fs::remove_dir_all(&root);
}

/// The nightly's map: shards measured apart (one by `--shard`, one by HAPREPRO_SHARD as a CI
/// job's index gives it), one of them retried, drawn into one map by `haprepro report map`:
/// the same strip as one map of the whole set, and the retried shard's cases kept once.
#[test]
fn a_sharded_map_drawn_from_its_shards_folders_is_the_whole_map() {
    let r = repo();
    let (root, mainline, _) = tagged_clones("shards");
    tag(&mainline, "v3.0-dev3", r.commit(7));
    let shard = |results: &std::path::Path, flag: Option<&str>, env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_haprepro"));
        cmd.args(["map", "dns-flap-check-port-zero", "--src"])
            .arg(&mainline)
            .args(["--versions", "v3.0-dev*"])
            .arg("--scenarios-dir")
            .arg(scenarios_dir())
            .arg("--results-dir")
            .arg(results)
            .env("CI", "true")
            .env_remove("HAPREPRO_SHARD");
        if let Some(k) = flag {
            cmd.args(["--shard", k]);
        }
        if let Some(k) = env {
            cmd.env("HAPREPRO_SHARD", k);
        }
        let out = cmd.output().expect("haprepro runs");
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        out
    };
    let (one, two, retried) = (
        root.join("shard-1"),
        root.join("shard-2"),
        root.join("shard-2-retried"),
    );
    shard(&one, Some("1/2"), None);
    shard(&two, None, Some("2/2"));
    shard(&retried, None, Some("2/2"));
    let out_dir = root.join("map");
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["report", "map"])
        .args([&one, &two, &retried])
        .arg("--out")
        .arg(&out_dir)
        .output()
        .expect("haprepro runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("duplicate"),
        "the retried shard's cases are named as duplicates: {}",
        show(&out)
    );
    let mapped: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("map.json")).expect("map.json"))
            .unwrap();
    let strip = &mapped["strips"][0];
    let outcomes = cell_outcomes(strip);
    assert_eq!(
        outcomes,
        ["not-reproduced", "reproduced", "not-reproduced"],
        "{strip}"
    );
    assert!(
        strip["answer"]
            .as_str()
            .unwrap()
            .ends_with("reproduced from v3.0-dev2 to v3.0-dev2; fixed in v3.0-dev3"),
        "{strip}"
    );
    // Drawn twice from the same folders: the same map.
    let again = root.join("map-again");
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["report", "map"])
        .args([&retried, &two, &one])
        .arg("--out")
        .arg(&again)
        .output()
        .expect("haprepro runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let drawn_again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(again.join("map.json")).unwrap()).unwrap();
    assert_eq!(drawn_again, mapped);
    let _ = std::fs::remove_dir_all(&root);
}

/// `bisect --src CLONE --versions SET`: the set's tags are the candidates, in HAProxy's order,
/// each built when probed; the answer is the first tag that measures otherwise.
#[test]
fn bisect_over_a_set_of_tags_names_the_first_tag_that_differs() {
    let r = repo();
    let (root, mainline, _) = tagged_clones("bisect-set");
    for (name, n) in [("v3.0-dev3", 7), ("v3.0-dev4", 8)] {
        tag(&mainline, name, r.commit(n));
    }
    let bisect = |versions: &str| {
        crate::support::haprepro_into(
            &root.join("results"),
            &[
                "bisect",
                "dns-flap-check-port-zero",
                "--src",
                mainline.to_str().unwrap(),
                "--versions",
                versions,
            ],
        )
    };
    // v3.0-dev2 (the mutant) onwards up to dev3 (the undo): from dev2, the first to differ is dev3.
    let out = bisect("v3.0-dev2..v3.0-dev4");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("first to differ: #2 v3.0-dev3"),
        "{}",
        show(&out)
    );
    let out = bisect("v9.9-dev*");
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    let _ = std::fs::remove_dir_all(&root);
}
