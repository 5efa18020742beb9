//! The `haprepro` binary on bad input: a clear message and exit 2 (128 for `check`, so that
//! `git bisect run` stops), before anything is started; and a bisect whose ends agree.

use std::process::{Command, Output};

use crate::support::{scenarios_dir, workspace};

/// Runs the CLI with the workspace's scenarios and a results folder of the tests.
fn haprepro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(args)
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .arg("--results-dir")
        .arg(workspace().join("results"))
        .env("CI", "true")
        .output()
        .expect("the haprepro binary runs")
}

/// The exit code and stderr, with a failure message that shows both.
fn expect_exit(args: &[&str], code: i32, says: &str) -> String {
    let out = haprepro(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(
        out.status.code(),
        Some(code),
        "haprepro {args:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains(says),
        "haprepro {args:?}: stderr does not say {says:?}\nstderr: {stderr}"
    );
    stderr
}

#[test]
fn matrix_rejects_a_shard_that_does_not_exist() {
    expect_exit(
        &["matrix", "--shard", "3/2"],
        2,
        "shard 3 of 2 does not exist",
    );
}

/// A CI matrix job gives its shard through the environment: checked the same way.
#[test]
fn matrix_takes_its_shard_from_the_environment() {
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["matrix", "--scenarios-dir"])
        .arg(scenarios_dir())
        .env("HAPREPRO_SHARD", "3/2")
        .output()
        .expect("the haprepro binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("shard 3 of 2 does not exist"), "{stderr}");
}

#[test]
fn matrix_rejects_an_empty_version_list() {
    expect_exit(
        &["matrix", "--versions", ","],
        2,
        "--versions was given but names nothing",
    );
}

#[test]
fn matrix_rejects_an_unknown_scenario_naming_the_known_ones() {
    let stderr = expect_exit(
        &["matrix", "--scenarios", "no-such-bug"],
        2,
        "unknown scenario \"no-such-bug\"",
    );
    assert!(stderr.contains("backup-sticks-after-dns-startup, dns-flap-check-port-zero"));
}

#[test]
fn a_backwards_version_range_is_bad_input() {
    expect_exit(
        &["bisect", "smoke", "--versions", "3.4.7..2.2.9"],
        2,
        "runs backwards",
    );
}

#[test]
fn bisect_needs_two_candidates() {
    expect_exit(
        &["bisect", "smoke", "--versions", "3.0.11"],
        2,
        "at least two candidates",
    );
}

#[test]
fn an_unknown_version_lists_each_catalog_suite_once() {
    let stderr = expect_exit(
        &["run", "smoke", "--version", "9.9"],
        2,
        "unknown HAProxy version \"9.9\"",
    );
    for suite in ["bullseye", "bookworm", "trixie", "(sid", "experimental"] {
        assert_eq!(stderr.matches(suite).count(), 1, "{suite} in {stderr}");
    }
}

#[test]
fn check_stops_git_bisect_on_an_unknown_scenario() {
    expect_exit(
        &["check", "no-such-bug", "--version", "3.0.11"],
        128,
        "unknown scenario",
    );
}

/// No Docker says nothing about the build under test: `check` must stop `git bisect run`
/// (128 or more), never skip (125), which would skip every commit.
#[test]
fn check_stops_git_bisect_when_docker_is_unreachable() {
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["check", "smoke", "--version", "3.0.11", "--scenarios-dir"])
        .arg(scenarios_dir())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("the haprepro binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(129), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Docker daemon"),
        "{stderr}"
    );
}

/// A bad `HAPREPRO_SUBNETS` is bad input, named with its value and the form expected, before
/// anything starts (no Docker call: it fails the same with no daemon); 128 for `check`.
#[test]
fn a_bad_subnet_range_is_bad_input_naming_the_variable() {
    for (args, code) in [
        (&["run", "smoke", "--version", "3.0.11"][..], 2),
        (
            &["matrix", "--scenarios", "smoke", "--versions", "3.0.11"][..],
            2,
        ),
        (&["check", "smoke", "--version", "3.0.11"][..], 128),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
            .args(args)
            .arg("--scenarios-dir")
            .arg(scenarios_dir())
            .env("HAPREPRO_SUBNETS", "10.213.0.0/25")
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .output()
            .expect("the haprepro binary runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(
            stderr.contains("HAPREPRO_SUBNETS=\"10.213.0.0/25\": `10.213.0.0/25` is a /25")
                && stderr.contains("e.g. HAPREPRO_SUBNETS=10.213.0.0/16")
                && !stderr.contains("Docker daemon"),
            "{args:?}: {stderr}"
        );
    }
}

/// Ranges that this host's own routes cover leave no subnet: one message naming the range and
/// the route, exit 3, before anything starts.
#[test]
fn a_subnet_range_the_host_routes_cover_is_a_harness_problem() {
    let route = std::fs::read_to_string("/proc/net/route").expect("the host's routes");
    // Any route of the host that is not the default one, as a range of /24 or wider.
    let covered = route.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
        let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
        let prefix = mask.count_ones();
        let addr = std::net::Ipv4Addr::from(dest.to_ne_bytes());
        (8..=24)
            .contains(&prefix)
            .then(|| format!("{addr}/{prefix}"))
    });
    let covered = covered.expect("this host has a route of /8 to /24 besides the default one");
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["matrix", "--scenarios", "smoke", "--versions", "3.0.11"])
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .env("HAPREPRO_SUBNETS", &covered)
        .output()
        .expect("the haprepro binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("no /24 of {covered} is free for a case network"))
            && stderr.contains(&format!("route {covered}"))
            && stderr.contains("Set HAPREPRO_SUBNETS to ranges"),
        "{stderr}"
    );
}

/// Both ends run (that is how agreement is measured), then the bisect stops: nothing to find.
#[test]
fn bisect_whose_ends_agree_says_so_and_exits_2() {
    expect_exit(
        &["bisect", "smoke", "--versions", "2.2.9..3.4.7"],
        2,
        "there is no change of outcome to find",
    );
}

#[test]
fn scenarios_lists_every_case_with_its_expectations() {
    let out = haprepro(&["scenarios"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("connecting                              expect 3.0.11 = reproduced"),
        "{stdout}"
    );
    assert!(
        stdout.contains("expect 3.0-dev1..3.0-dev12 = reproduced; * = not-reproduced"),
        "{stdout}"
    );
    let folders = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().join("scenario.toml").is_file())
        })
        .count();
    assert!(
        stdout.contains(&format!("{folders} scenario(s)")),
        "{folders} folders: {stdout}"
    );
}

/// A scenario author's mistake is reported with its place in the file, without Docker.
#[test]
fn scenarios_names_the_line_of_a_broken_file() {
    let dir = std::env::temp_dir().join(format!("haprepro-cli-{}", std::process::id()));
    let folder = dir.join("broken");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("scenario.toml"),
        "name = \"broken\"\nsummary = \"x\"\n\n[expect]\n\"*\" = \"reproduced\"\n\n\
         [topology]\nhaproxy = { config = \"haproxy.cfg\" }\n\n[[step]]\nteleport = { to = \"mars\" }\n",
    )
    .unwrap();
    std::fs::write(folder.join("haproxy.cfg"), "global\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["scenarios", "--scenarios-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("broken/scenario.toml:11:"), "{stderr}");
}

/// Counts the `case.json` files under a folder: the cases that ran.
fn cases_under(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                cases_under(&path)
            } else {
                usize::from(e.file_name() == "case.json")
            }
        })
        .sum()
}

/// A problem every case would hit (here: no CAP_NET_ADMIN, so the backends' addresses cannot
/// be added to the case bridge) stops the matrix at its first case with one message and exit
/// 3, instead of a matrix of `error` cells.
#[test]
fn a_harness_problem_stops_the_matrix_at_the_first_case() {
    let results = std::env::temp_dir().join(format!("haprepro-stop-{}", std::process::id()));
    // util-linux's setpriv: the same root process without CAP_NET_ADMIN (Docker still answers,
    // capture still works).
    let out = Command::new("setpriv")
        .args(["--inh-caps", "-net_admin", "--bounding-set", "-net_admin"])
        .arg(env!("CARGO_BIN_EXE_haprepro"))
        .args([
            "matrix",
            "--scenarios",
            "smoke,dns-flap-check-port-zero",
            "--versions",
            "3.0.11,2.6.12",
            "--jobs",
            "1",
            "--scenarios-dir",
        ])
        .arg(scenarios_dir())
        .arg("--results-dir")
        .arg(&results)
        .env("CI", "true")
        .output()
        .expect("the haprepro binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let ran = cases_under(&results);
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(ran, 1, "one case, then the stop\n{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "one message\n{stderr}");
    assert!(
        stderr.contains("needs CAP_NET_ADMIN") && stderr.contains("The run stopped at"),
        "{stderr}"
    );
}

/// A results folder that cannot be written: one message, exit 3, nothing started.
#[test]
fn an_unwritable_results_folder_stops_the_matrix_before_it_starts() {
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["matrix", "--scenarios", "smoke", "--versions", "3.0.11"])
        .args(["--results-dir", "/proc/haprepro-results"])
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .output()
        .expect("the haprepro binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot write results into /proc/haprepro-results")
            && stderr.contains("Nothing was started")
            && !stderr.contains("run "),
        "{stderr}"
    );
}

/// A results folder that fills up during the run (a 20 KiB tmpfs): the evidence that could not
/// be written is named, the case is no pass, and the matrix exits 3 with what to do; no
/// half-written `case.json` is left (each file is written whole or not at all).
#[test]
fn a_full_results_folder_is_one_message_and_exit_3() {
    let dir = std::env::temp_dir().join(format!("haprepro-full-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=20k", "tmpfs"])
        .arg(&dir)
        .status()
        .expect("mount runs");
    assert!(mounted.success(), "this test mounts a tmpfs: it needs root");
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["matrix", "--scenarios", "smoke", "--versions", "3.0.11"])
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .arg("--results-dir")
        .arg(&dir)
        .output()
        .expect("the haprepro binary runs");
    let halves: Vec<_> = walk(&dir)
        .into_iter()
        .filter(|p| p.ends_with("case.json"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            serde_json::from_str::<serde_json::Value>(&text).is_err()
        })
        .collect();
    let _ = Command::new("umount").arg(&dir).status();
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("No space left on device") && stderr.contains("Free space there"),
        "{stderr}"
    );
    assert!(halves.is_empty(), "half-written: {halves:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// No Docker daemon: one message naming it and what to do, exit 3.
#[test]
fn no_docker_is_one_message_and_exit_3() {
    let out = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["matrix", "--scenarios", "smoke", "--versions", "3.0.11"])
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .arg("--results-dir")
        .arg(workspace().join("results"))
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("the haprepro binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("cannot reach the Docker daemon") && stderr.contains("DOCKER_HOST"),
        "{stderr}"
    );
}

/// `haprepro new` writes a scenario that `haprepro scenarios` accepts as it is, and refuses to
/// overwrite one.
#[test]
fn a_new_scenario_is_accepted_at_once() {
    let dir = std::env::temp_dir().join(format!("haprepro-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_haprepro"))
            .args(args)
            .arg("--scenarios-dir")
            .arg(&dir)
            .output()
            .expect("the haprepro binary runs")
    };
    let made = run(&["new", "my-bug"]);
    assert_eq!(made.status.code(), Some(0), "{made:?}");
    for file in ["scenario.toml", "haproxy.cfg", "README.md"] {
        assert!(dir.join("my-bug").join(file).is_file(), "{file}");
    }
    let listed = run(&["scenarios", "my-bug"]);
    let stdout = String::from_utf8_lossy(&listed.stdout).to_string();
    let again = run(&["new", "my-bug"]);
    let bad = run(&["new", "My Bug"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(listed.status.code(), Some(0), "{listed:?}");
    assert!(stdout.contains("my-bug: What goes wrong"), "{stdout}");
    assert_eq!(again.status.code(), Some(2), "an existing folder is kept");
    assert_eq!(bad.status.code(), Some(2));
}
