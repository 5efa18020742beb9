//! A haprepro killed with SIGKILL at each phase of a case (`HAPREPRO_FAILPOINT`, see
//! `harness/src/failpoint.rs`): whatever it leaves, `haprepro clean --run` removes (no
//! container, no network, so no address on a case bridge), no JSON file is half-written, its
//! lease is free and forgotten, and the next run works.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{scenarios_dir, show};

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The run's containers and networks, by its label.
fn leftovers(run_id: &str) -> (Vec<String>, Vec<String>) {
    let label = format!("label=haprepro.run={run_id}");
    (
        docker_lines(&["ps", "-aq", "--filter", &label]),
        docker_lines(&["network", "ls", "-q", "--filter", &label]),
    )
}

/// Every `*.json` under `dir` (temporary files of unfinished writes are dot-files): each must
/// parse, since readers (`report merge`, the nightly) take them whole.
fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = e.path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "json")
            && !e.file_name().to_string_lossy().starts_with('.')
        {
            out.push(path);
        }
    }
}

fn haprepro(lease_dir: &Path, failpoint: &str, args: &[impl AsRef<std::ffi::OsStr>]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haprepro"));
    cmd.args(args)
        .env("CI", "true")
        .env("HAPREPRO_LEASE_DIR", lease_dir)
        .env("HAPREPRO_FAILPOINT", failpoint);
    cmd
}

fn run_smoke(results: &Path) -> Vec<String> {
    let scenarios = scenarios_dir();
    ["run", "smoke", "--version", "3.0.11", "--scenarios-dir"]
        .iter()
        .map(|s| s.to_string())
        .chain([scenarios.display().to_string(), "--results-dir".into()])
        .chain([results.display().to_string()])
        .collect()
}

#[test]
fn a_run_killed_at_any_phase_leaves_nothing_clean_does_not_remove() {
    let root = std::env::temp_dir().join(format!("haprepro-faults-{}", std::process::id()));
    let leases = root.join("leases");
    std::fs::create_dir_all(&leases).unwrap();
    for point in ["setup", "steps", "evidence", "write:case.json"] {
        let results = root.join(point.replace(':', "-"));
        let out = haprepro(&leases, point, &run_smoke(&results))
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(9), "{point}: {}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let run_id = stdout
            .lines()
            .next()
            .and_then(|l| l.split(", run ").nth(1))
            .unwrap_or_else(|| panic!("{point}: no run id: {}", show(&out)))
            .to_string();
        // What the killed run left: its network (and the case bridge's addresses with it) and
        // containers, until a clean.
        let subnet = leftovers(&run_id).1.first().and_then(|n| {
            docker_lines(&[
                "network",
                "inspect",
                "-f",
                "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
                n,
            ])
            .pop()
        });
        // Killed before its teardown, the run left its network; at `write:case.json` (after
        // the teardown) nothing.
        assert_eq!(subnet.is_none(), point == "write:case.json", "{point}");
        let clean = haprepro(&leases, "", &["clean", "--run", &run_id])
            .output()
            .unwrap();
        assert!(clean.status.success(), "{point}: {}", show(&clean));
        assert_eq!(
            leftovers(&run_id),
            (vec![], vec![]),
            "{point}: after clean: {}",
            show(&clean)
        );
        if let Some(subnet) = subnet {
            let prefix = subnet.trim_end_matches(".0/24");
            let addrs = Command::new("ip")
                .args(["-o", "-4", "addr"])
                .output()
                .unwrap();
            let addrs = String::from_utf8_lossy(&addrs.stdout);
            assert!(
                !addrs.contains(&format!(" {prefix}.")),
                "{point}: an address of {subnet} is left on the host:\n{addrs}"
            );
        }
        let mut files = Vec::new();
        json_files(&results, &mut files);
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            assert!(
                serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                "{point}: {} is not whole JSON",
                f.display()
            );
        }
        if point == "write:case.json" {
            assert!(
                !files.iter().any(|f| f.ends_with("case.json")),
                "killed before the rename: no case.json at all, never half of one: {files:?}"
            );
        }
        // The dead session's lease was forgotten by the clean (no lock file left behind).
        let locks: Vec<_> = std::fs::read_dir(&leases).unwrap().flatten().collect();
        assert!(locks.is_empty(), "{point}: lease files left: {locks:?}");
    }
    // The next run works: nothing held blocks it.
    let results = root.join("after");
    let out = haprepro(&leases, "", &run_smoke(&results))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let _ = std::fs::remove_dir_all(&root);
}

/// A tag that moves while a run goes on (an `images build --force`, a `docker tag`) does not
/// change the HAProxy of the run's cases: they run the image ID read when it was resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_moved_after_resolving_does_not_change_the_haproxy_a_case_runs() {
    use haprepro::images::{self, ImageSource};
    use haprepro::runtime::Engine;
    use haprepro::scenario::{self, RunOptions};
    let engine = Engine::connect().await.expect("a Docker daemon");
    crate::support::ensure_images(&engine).await;
    let tag = format!("haprepro-test/moving:{}", std::process::id());
    let retag = |to: &str| {
        let out = Command::new("docker")
            .args(["tag", to, &tag])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", show(&out));
    };
    retag("haprepro/haproxy:3.0.11");
    let image = images::resolve(&engine, &ImageSource::Reference(tag.clone()))
        .await
        .unwrap();
    assert!(image.id.starts_with("sha256:"), "{image:?}");
    // The tag now names another HAProxy.
    retag("haprepro/haproxy:2.6.12");
    let dir = scenario::find("smoke", &scenarios_dir()).unwrap();
    let smoke = scenario::load(&dir).unwrap();
    let opts = RunOptions {
        run_id: format!("test-{}", haprepro::runtime::new_run_id()),
        results_dir: crate::support::workspace().join("results"),
        keep: false,
        column: None,
        planned: None,
    };
    let record =
        scenario::run_variant(&engine, &smoke, &smoke.variants[0], &image, &opts, &|_| {}).await;
    let _ = Command::new("docker").args(["rmi", &tag]).output();
    // What the running HAProxy said of itself when it became ready (its runtime API).
    let setup = &record.steps[0].detail;
    assert!(
        setup.contains(" 3.0.11-") && !setup.contains("2.6.12"),
        "{setup}"
    );
    assert_eq!(record.provenance.image_id, image.id);
}

/// Two `images build --force bullseye` and a matrix on 2.2.9, all at once: the builds take turns
/// under the build lock (each with its own scratch tarball, none left behind), the matrix runs
/// the image it resolved, whichever build tagged last, and all three succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_image_builds_and_a_matrix_at_once_all_succeed() {
    let engine = haprepro::runtime::Engine::connect()
        .await
        .expect("a Docker daemon");
    crate::support::ensure_images(&engine).await;
    let build = || {
        Command::new(env!("CARGO_BIN_EXE_haprepro"))
            .args(["images", "build", "--force", "bullseye"])
            .env("CI", "true")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the haprepro binary runs")
    };
    let (first, second) = (build(), build());
    let matrix = crate::support::haprepro_with(
        &scenarios_dir(),
        &["matrix", "--scenarios", "smoke", "--versions", "2.2.9"],
    );
    let first = first.wait_with_output().unwrap();
    let second = second.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", show(&first));
    assert_eq!(second.status.code(), Some(0), "{}", show(&second));
    assert_eq!(matrix.status.code(), Some(0), "{}", show(&matrix));
    let scratch: Vec<_> = std::fs::read_dir(haprepro::images::work_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("bullseye.") && n.ends_with(".tar"))
        .collect();
    assert!(scratch.is_empty(), "scratch tarballs left: {scratch:?}");
    // The tag points at a whole, current image.
    let listed = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["images", "list"])
        .output()
        .unwrap();
    let listed_text = String::from_utf8_lossy(&listed.stdout).to_string();
    assert!(
        listed_text
            .lines()
            .any(|l| l.contains("bullseye") && l.contains("2.2.9")),
        "{}",
        show(&listed)
    );
}

/// A haprepro killed while its source build runs: the build container is left (labelled with
/// the dead session), `haprepro clean` removes it and forgets the lease, and the same build
/// then works.
#[test]
fn a_run_killed_during_a_source_build_leaves_nothing_clean_does_not_remove() {
    let repo = crate::source_repo::repo();
    let root = std::env::temp_dir().join(format!("haprepro-faults-src-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let leases = root.join("leases");
    std::fs::create_dir_all(&leases).unwrap();
    // A patch of its own (a new file), so this build is never found already built.
    let patch = root.join("mark.patch");
    std::fs::write(
        &patch,
        format!(
            "--- /dev/null\n+++ b/doc/haprepro-mark.txt\n@@ -0,0 +1 @@\n+{:016x}\n",
            rand::random::<u64>()
        ),
    )
    .unwrap();
    let args = |results: &Path| -> Vec<String> {
        let mut args: Vec<String> = ["run", "smoke", "--src"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.push(repo.dir.display().to_string());
        args.extend(["--ref".into(), repo.commit(1).to_string()]);
        args.extend(["--patch".into(), patch.display().to_string()]);
        args.extend([
            "--scenarios-dir".into(),
            scenarios_dir().display().to_string(),
        ]);
        args.extend(["--results-dir".into(), results.display().to_string()]);
        args
    };
    let out = haprepro(&leases, "source-build", &args(&root.join("killed")))
        .output()
        .unwrap();
    assert_eq!(out.status.signal(), Some(9), "{}", show(&out));
    let sessions: Vec<String> = std::fs::read_dir(&leases)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".lock")
                .map(str::to_string)
        })
        .collect();
    assert_eq!(sessions.len(), 1, "the killed run's lease: {sessions:?}");
    let of_session = format!("label=haprepro.session={}", sessions[0]);
    let left = docker_lines(&["ps", "-aq", "--filter", &of_session]);
    assert_eq!(left.len(), 1, "the build container is left until a clean");
    let clean = haprepro(&leases, "", &["clean"]).output().unwrap();
    assert!(clean.status.success(), "{}", show(&clean));
    assert!(
        docker_lines(&["ps", "-aq", "--filter", &of_session]).is_empty(),
        "{}",
        show(&clean)
    );
    let locks: Vec<_> = std::fs::read_dir(&leases).unwrap().flatten().collect();
    assert!(locks.is_empty(), "lease files left: {locks:?}");
    let out = haprepro(&leases, "", &args(&root.join("after")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let _ = std::fs::remove_dir_all(&root);
}

/// A haprepro killed in the middle of `images build` (its rootfs tarball written, the image not
/// imported): the build lock dies with it, and the next build of that suite works and removes
/// the scratch tarball the killed one left.
#[test]
fn an_image_build_killed_before_its_import_leaves_nothing_the_next_build_keeps() {
    let root = std::env::temp_dir().join(format!("haprepro-faults-img-{}", std::process::id()));
    let leases = root.join("leases");
    std::fs::create_dir_all(&leases).unwrap();
    let scratch = || -> Vec<String> {
        std::fs::read_dir(haprepro::images::work_dir())
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("bookworm.") && n.ends_with(".tar"))
            .collect()
    };
    let build = ["images", "build", "--force", "bookworm"];
    let out = haprepro(&leases, "image-build", &build).output().unwrap();
    assert_eq!(out.status.signal(), Some(9), "{}", show(&out));
    assert!(!scratch().is_empty(), "the killed build's tarball is left");
    // The lock went with the process: the next build neither waits nor fails.
    let out = haprepro(&leases, "", &build).output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(scratch(), Vec::<String>::new(), "stale scratch removed");
    let _ = std::fs::remove_dir_all(&root);
}
