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
    assert!(stdout.contains("6 scenario(s)"), "{stdout}");
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
