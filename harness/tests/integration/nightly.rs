//! The nightly's pieces, run here as the workflow runs them: the plan (`images catalog
//! --json`), an official image column (an image tagged locally as `haproxy:<tag>`, which must be
//! used without a pull), the merge of two shard folders into one matrix; and the nightly's bad
//! input: an unknown branch in the list, an official tag no registry gives.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use haprepro::runtime::Engine;

use crate::support::{ensure_images, scenarios_dir};

fn haprepro(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(args)
        .env("CI", "true")
        .output()
        .expect("the haprepro binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("haprepro-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `matrix` on the smoke scenario with these arguments, into `results`.
fn smoke_matrix(extra: &[&str], results: &Path) -> Output {
    let mut args = vec!["matrix", "--scenarios", "smoke", "--jobs", "1"];
    args.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(&args)
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .arg("--results-dir")
        .arg(results)
        .env("CI", "true")
        .output()
        .expect("the haprepro binary runs")
}

fn count_cases(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.path() {
            p if p.is_dir() => count_cases(&p),
            _ => usize::from(e.file_name() == "case.json"),
        })
        .sum()
}

#[test]
fn the_plan_is_json_one_entry_per_job_with_its_matrix_arguments() {
    let out = haprepro(&["images", "catalog", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let entries = plan.as_array().expect("an array");
    let of = |kind: &str| entries.iter().filter(|e| e["kind"] == kind).count();
    assert_eq!(of("debian"), 5, "{plan:#}");
    assert_eq!(of("official"), 8, "{plan:#}");
    assert_eq!(of("source"), 1, "{plan:#}");
    let official = entries.iter().find(|e| e["id"] == "official-3.2").unwrap();
    assert_eq!(
        official["matrix_args"],
        serde_json::json!(["--official", "3.2"])
    );
    // Without a clone the source's ref is not resolved: no arguments to run.
    let source = entries.iter().find(|e| e["kind"] == "source").unwrap();
    assert!(source["matrix_args"].is_null(), "{source:#}");

    // With a clone: the newest v* tag in HAProxy's order (dev10 after dev2 and after 3.3.0).
    let repo = scratch("plan-clone");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@t")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@t")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {}", text(&out));
    };
    git(&["init", "-q"]);
    git(&["commit", "-q", "--allow-empty", "-m", "x"]);
    for tag in ["v3.3.0", "v3.4-dev2", "v3.4-dev10", "not-a-version"] {
        git(&["tag", tag]);
    }
    let out = haprepro(&[
        "images",
        "catalog",
        "--json",
        "--src",
        repo.to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&repo);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let source = plan
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "source")
        .unwrap();
    assert_eq!(source["id"], "source-newest-tag");
    assert_eq!(source["version"], "v3.4-dev10");
    assert_eq!(
        source["matrix_args"],
        serde_json::json!(["--src", repo.to_str().unwrap(), "--versions", "v3.4-dev10"])
    );
}

#[test]
fn an_unknown_branch_in_the_nightly_list_is_an_error_at_its_line() {
    let dir = scratch("nightly-list");
    for (bad, says) in [
        ("2.5", "no longer maintained"),
        ("9.9", "no branch 9.9"),
        ("foo", "not a branch"),
    ] {
        let file = dir.join("nightly.toml");
        std::fs::write(
            &file,
            format!("official = [\n  \"3.2\",\n  \"{bad}\",\n]\n"),
        )
        .unwrap();
        let out = haprepro(&[
            "images",
            "catalog",
            "--json",
            "--nightly",
            file.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(
            stderr.contains(&format!("{}:3:3: official: ", file.display()))
                && stderr.contains(says)
                && stderr.contains("maintained: 2.6"),
            "{bad}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "no plan printed: {}", text(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// No registry here: an official tag that is not on this machine is one message naming the
/// image and what to do, exit 3, and no case started (nothing built either).
#[test]
fn an_official_tag_no_registry_gives_stops_the_matrix_before_it_starts() {
    let results = scratch("no-registry");
    let out = smoke_matrix(&["--official", "haprepro-no-such-tag"], &results);
    let cases = count_cases(&results);
    let _ = std::fs::remove_dir_all(&results);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        stderr.contains(
            "haproxy:haprepro-no-such-tag is not on this machine and could not be pulled"
        ) && stderr.contains("Nothing was started")
            && !stderr.contains(" case(s), "),
        "{stderr}"
    );
    assert_eq!(stderr.matches("error:").count(), 1, "one message: {stderr}");
    assert_eq!(cases, 0);
}

/// Two shards as the nightly makes them, a Debian column and an official-image column (the
/// catalog's 3.0.11 image tagged locally as `haproxy:<tag>`: present, so not pulled; there is
/// no registry here), merged into one matrix with both columns.
#[tokio::test(flavor = "multi_thread")]
async fn two_shards_a_debian_and_an_official_column_merge_into_one_matrix() {
    let engine = Engine::connect().await.unwrap_or_else(|e| panic!("{e}"));
    ensure_images(&engine).await;
    let tag = "haprepro-test-3.0.11";
    engine
        .tag("haprepro/haproxy:suite-trixie", "haproxy", tag)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let root = scratch("shards");
    let (a, b, merged) = (root.join("a"), root.join("b"), root.join("merged"));
    let ran_a = smoke_matrix(&["--versions", "2.2.9"], &a);
    let ran_b = smoke_matrix(&["--official", tag], &b);
    let merge = haprepro(&[
        "report",
        "merge",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    let matrix = std::fs::read_to_string(merged.join("matrix.json")).unwrap_or_default();
    let html = std::fs::read_to_string(merged.join("matrix.html")).unwrap_or_default();
    let timelines = ["a", "b"].map(|shard| {
        std::fs::read_dir(root.join(shard))
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|run| {
                std::fs::read_dir(run.path())
                    .into_iter()
                    .flatten()
                    .flatten()
            })
            .filter(|case| case.path().join("timeline.svg").is_file())
            .count()
    });
    // Untag only: `docker rmi` by a tag of an image that has other tags (its haprepro ones)
    // removes that tag and leaves the image.
    let _ = Command::new("docker")
        .args(["rmi", &format!("haproxy:{tag}")])
        .output();
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(ran_a.status.code(), Some(0), "{}", text(&ran_a));
    assert_eq!(ran_b.status.code(), Some(0), "{}", text(&ran_b));
    assert!(
        !String::from_utf8_lossy(&ran_b.stderr).contains("pull"),
        "{}",
        text(&ran_b)
    );
    assert_eq!(merge.status.code(), Some(0), "{}", text(&merge));
    let records: Vec<serde_json::Value> = serde_json::from_str(&matrix).expect("matrix.json");
    let sources: Vec<&str> = records
        .iter()
        .map(|r| r["image_source"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(records.len(), 2, "{matrix}");
    assert!(
        sources.iter().any(|s| s.contains("bullseye"))
            && sources.contains(&format!("official image haproxy:{tag}").as_str()),
        "{sources:?}"
    );
    assert!(
        html.contains(&format!("haproxy:{tag}")),
        "the column header names the image"
    );
    assert_eq!(timelines, [1, 1], "each case folder has its timeline.svg");
    assert_eq!(
        html.matches("<svg").count(),
        2,
        "each case's timeline is inline"
    );
    let stdout = String::from_utf8_lossy(&merge.stdout);
    assert!(
        stdout.contains("2 case.json file(s) from 2 folder(s)"),
        "{stdout}"
    );
}

/// Two columns of one version in one matrix (the catalog's 3.0.11 and an official image of
/// 3.0.11, as a nightly shard would not have but a user's run may): each case keeps its own
/// name, folder and containers, and both columns are in the matrix.
#[tokio::test(flavor = "multi_thread")]
async fn two_columns_of_one_version_do_not_collide() {
    let engine = Engine::connect().await.unwrap_or_else(|e| panic!("{e}"));
    ensure_images(&engine).await;
    let tag = "haprepro-test-same-3.0.11";
    engine
        .tag("haprepro/haproxy:suite-trixie", "haproxy", tag)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let results = scratch("same-version");
    let out = smoke_matrix(&["--versions", "3.0.11", "--official", tag], &results);
    let _ = Command::new("docker")
        .args(["rmi", &format!("haproxy:{tag}")])
        .output();
    let cases = count_cases(&results);
    let md = std::fs::read_dir(&results)
        .into_iter()
        .flatten()
        .flatten()
        .find_map(|run| std::fs::read_to_string(run.path().join("matrix.md")).ok())
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(cases, 2, "one case folder per column\n{}", text(&out));
    assert!(
        md.lines()
            .find(|l| l.starts_with("| scenario"))
            .is_some_and(|header| header.matches("3.0.11").count() == 2),
        "two 3.0.11 columns:\n{md}"
    );
}

/// An official image is slim: no `ss`, no `ps` or `pgrep`. Built here offline the nearest way
/// (each catalog image with iproute2 and procps purged, committed and tagged locally as
/// `haproxy:<tag>`), every slim column must measure every scenario and variant as the catalog
/// column of its version does: sockets are read from the host, workers are signalled from the
/// host.
#[tokio::test(flavor = "multi_thread")]
async fn every_slim_official_column_measures_every_case_like_its_catalog_column() {
    let engine = Engine::connect().await.unwrap_or_else(|e| panic!("{e}"));
    ensure_images(&engine).await;
    let docker = |args: &[&str]| {
        let out = Command::new("docker")
            .args(args)
            .output()
            .expect("docker runs");
        assert!(out.status.success(), "docker {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let suites = haprepro::images::Catalog::builtin().suites;
    let mut tags = Vec::new();
    for suite in &suites {
        let tag = format!("haprepro-test-slim-{}", suite.name);
        // Labelled as haprepro's scratch work, so `haprepro clean` finds it if this test dies.
        let slimmer = docker(&[
            "create",
            "--label",
            "haprepro.run=images",
            "--entrypoint",
            "sh",
            &format!("haprepro/haproxy:suite-{}", suite.name),
            "-c",
            "dpkg --purge --force-depends iproute2 procps >/dev/null && ! command -v ss && ! command -v ps && ! command -v pgrep",
        ]);
        let started = Command::new("docker")
            .args(["start", "-a", &slimmer])
            .output()
            .expect("docker runs");
        if started.status.success() {
            docker(&["commit", &slimmer, &format!("haproxy:{tag}")]);
        }
        docker(&["rm", "-f", &slimmer]);
        assert!(
            started.status.success(),
            "iproute2 and procps purged from {}: {}",
            suite.name,
            text(&started)
        );
        tags.push(tag);
    }
    let results = scratch("slim");
    let versions: Vec<String> = suites.iter().map(|s| s.version_hint.clone()).collect();
    let versions = versions.join(",");
    let mut args = vec!["matrix", "--jobs", "3", "--versions", &versions];
    for tag in &tags {
        args.extend(["--official", tag.as_str()]);
    }
    let out = crate::support::haprepro_into(&results, &args);
    for tag in &tags {
        let _ = Command::new("docker")
            .args(["rmi", &format!("haproxy:{tag}")])
            .output();
    }
    let records = crate::support::matrix_records(&results);
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let records = records.expect("matrix.json");
    let column = |official: bool| {
        let mut cells: Vec<(String, String, String)> = records
            .iter()
            .filter(|r| {
                r["image_source"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("official image")
                    == official
            })
            .map(|r| {
                let name = format!("{}/{}", r["scenario"], r["variant"]);
                let version = r["version"].as_str().unwrap_or("").to_string();
                (
                    version,
                    name,
                    r["outcome"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        cells.sort();
        cells
    };
    let (slim, catalog) = (column(true), column(false));
    assert!(
        slim.len() >= 18 * suites.len(),
        "every scenario and variant on every version: {slim:?}"
    );
    assert!(
        slim.iter().all(|(_, _, outcome)| outcome != "error"),
        "{slim:?}"
    );
    assert_eq!(slim, catalog);
}
