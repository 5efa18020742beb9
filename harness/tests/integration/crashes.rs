//! HAProxy's deaths are results: a worker killed with SIGSEGV on Debian's 3.0.11, and a
//! `BUG_ON()` reached through the runtime API in a build of the second test repository
//! ([`crate::source_repo::crash_repo`]), each measured `crashed` with its signal and last words;
//! a scenario that names the crash measures `reproduced`; `check` and `bisect` treat a crash as
//! bad, so a bisect names the commit that added it.

use std::path::PathBuf;
use std::process::Command;

use haprepro::images::{self, SourceSpec};
use haprepro::report::CaseRecord;
use haprepro::runtime::Engine;
use haprepro::scenario::{self, Outcome, RunOptions, Verdict};

use crate::source_repo::{crash_repo, Repo};
use crate::support::{haprepro_with as haprepro, run_written, show, workspace};

/// A master-worker HAProxy with one backend; `{{ api.port }}` is its runtime API.
const TEMPLATE: &str = "global
    log stdout format raw local0
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

defaults
    mode http
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s

frontend fe
    bind :8080
    default_backend be

backend be
    server web1 {{ web1.ip }}:{{ web1.port }} check inter 200ms
";

/// The worker gets SIGSEGV, then a step that would sleep 5 s: the death must end it at once.
fn segv_scenario(name: &str, expect: &str, observe: &str) -> String {
    format!(
        r#"name = "{name}"
summary = "a worker killed with SIGSEGV"
refs = []

[expect]
"*" = "{expect}"

[topology]
backends = [{{ name = "web1", mode = "http", port = 8000 }}]
haproxy = {{ config = "haproxy.cfg", master_cli = true }}

[[step]]
wait = {{ server = "be/web1", state = "UP", within = "3s" }}
[[step]]
signal = {{ to = "haproxy", process = "worker", signal = "SEGV" }}
[[step]]
sleep = {{ for = "5s", because = "a death must end this step at once" }}

{observe}
"#
    )
}

fn explain(r: &CaseRecord) -> String {
    format!(
        "{}: {} ({}); exits {:?}; evidence {}",
        r.case,
        r.outcome,
        r.reason,
        r.haproxy_exit,
        r.evidence_dir.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_with_segv_is_crashed_with_its_signal_and_last_words() {
    let observe = "[observe]\nreproduced_if = \"answered < 0\"\n\n[observe.measure]\n\
                   answered = { log_lines = { role = \"haproxy\", contains = \"never printed\" } }";
    let text = segv_scenario("crash-segv", "crashed", observe);
    let r = run_written("crash-segv", &text, TEMPLATE, "3.0.11").await;
    assert_eq!(r.outcome, Outcome::Crashed, "{}", explain(&r));
    assert_eq!(r.verdict, Verdict::Pass, "{}", explain(&r));
    let exit = &r.haproxy_exit[0];
    assert_eq!(exit.signal, Some(11), "{}", explain(&r));
    assert!(
        !exit.while_starting && (exit.during.contains("step 2") || exit.during.contains("step 3")),
        "{exit:?}"
    );
    assert!(
        exit.last_lines
            .iter()
            .any(|l| l.contains("exited with code 139")),
        "the master's own words: {:?}",
        exit.last_lines
    );
    // The sleep was cut short by the death, well within a second of it.
    let sleep = &r.steps[3];
    assert!(!sleep.ok && sleep.elapsed_ms < 1000, "{sleep:?}");
    for file in ["crash.txt", "crash.md", "timeline.json"] {
        assert!(
            r.evidence.iter().any(|e| e == file),
            "{file}: {:?}",
            r.evidence
        );
    }
    let md = std::fs::read_to_string(r.evidence_dir.join("crash.md")).unwrap();
    assert!(
        md.contains("haprepro run crash-segv --version 3.0.11"),
        "{md}"
    );
    assert!(md.contains("HAProxy version 3.0.11"), "haproxy -vv: {md}");
    let timeline = std::fs::read_to_string(r.evidence_dir.join("timeline.json")).unwrap();
    assert!(timeline.contains("\"crash\":true"), "{timeline}");
    // This machine's core_pattern is a plain name: the core is kept, or the record says why not.
    assert!(exit.core.is_some(), "{}", explain(&r));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_that_names_the_crash_measures_reproduced() {
    let observe = "[observe]\nreproduced_if = \"died == 1 and signal == 11 and said == 1\"\n\n\
                   [observe.measure]\ndied = { crashed = \"haproxy\" }\n\
                   signal = { crash_signal = \"haproxy\" }\n\
                   said = { crash_text = { instance = \"haproxy\", contains = \"Segmentation fault\" } }";
    let text = segv_scenario("crash-named", "reproduced", observe);
    let r = run_written("crash-named", &text, TEMPLATE, "3.0.11").await;
    assert_eq!(r.outcome, Outcome::Reproduced, "{}", explain(&r));
    assert_eq!(r.measures.get("signal"), Some(&11.0), "{}", explain(&r));
}

/// A scenario folder of its own (the CLI reads scenarios from a folder): `show version crash`.
fn bugon_scenarios() -> PathBuf {
    // A folder per call: the tests that use it run at once, and each removes its own.
    let root = std::env::temp_dir().join(format!(
        "haprepro-crash-tests-{}",
        haprepro::runtime::new_run_id()
    ));
    let dir = root.join("show-version-crash");
    std::fs::create_dir_all(&dir).unwrap();
    let scenario = r#"name = "show-version-crash"
summary = "`show version crash` reaches a BUG_ON in the test repository's crashing commit"
refs = []

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1", mode = "http", port = 8000 }]
haproxy = { config = "haproxy.cfg" }

[[step]]
wait = { server = "be/web1", state = "UP", within = "3s" }
[[step]]
api = { command = "show version crash", record = "version" }

[observe]
reproduced_if = "lines < 0"

[observe.measure]
lines = { answer_lines = { record = "version", contains = "3.0" } }
"#;
    std::fs::write(dir.join("scenario.toml"), scenario).unwrap();
    std::fs::write(dir.join("haproxy.cfg"), TEMPLATE).unwrap();
    std::fs::write(dir.join("README.md"), "# show-version-crash\n").unwrap();
    root
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bug_on_reached_through_the_runtime_api_is_crashed_with_its_condition() {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(the crash tests need a Docker daemon)"));
    crate::support::ensure_images(&engine).await;
    let r: &Repo = crash_repo();
    let spec = SourceSpec::parse(r.dir.to_str().unwrap(), Some(r.commit(3))).unwrap();
    let built = images::source::build(&engine, &spec, &|_| {})
        .await
        .unwrap_or_else(|e| panic!("building the crashing commit: {e}"));
    let root = bugon_scenarios();
    let dir = root.join("show-version-crash");
    let loaded = scenario::load(&dir).unwrap_or_else(|e| panic!("{e:?}"));
    let opts = RunOptions {
        run_id: format!("test-{}", haprepro::runtime::new_run_id()),
        results_dir: workspace().join("results"),
        keep: false,
        column: None,
        planned: None,
    };
    let plan = loaded.variant(None).unwrap();
    let rec = scenario::run_variant(&engine, &loaded, plan, &built.image, &opts, &|_| {}).await;
    assert_eq!(rec.outcome, Outcome::Crashed, "{}", explain(&rec));
    let exit = &rec.haproxy_exit[0];
    let words = &exit.last_words;
    assert_eq!(
        words.condition.as_deref(),
        Some("strcmp(args[2], \"crash\") == 0"),
        "{}",
        explain(&rec)
    );
    assert!(
        words
            .location
            .as_deref()
            .is_some_and(|l| l.starts_with("src/cli.c:")),
        "{words:?}"
    );
    assert!(
        exit.signal.is_some(),
        "a BUG_ON kills by a signal: {exit:?}"
    );
    assert!(exit.during.contains("show version crash"), "{exit:?}");
    // The source build keeps its symbols: the backtrace names the function, when gdb is here.
    if Command::new("gdb").arg("--version").output().is_ok() {
        let bt = exit.backtrace.as_deref().unwrap_or_default();
        let text = std::fs::read_to_string(rec.evidence_dir.join("backtrace-haproxy.txt"))
            .unwrap_or_else(|e| panic!("no backtrace ({bt}): {e}"));
        assert!(text.contains("cli_parse_show_version"), "{text}");
    }
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn check_calls_a_crash_bad_and_crash_skip_skips_it() {
    let r = crash_repo();
    let root = bugon_scenarios();
    let dir = r.dir.to_str().unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check",
            "show-version-crash",
            "--src",
            dir,
            "--ref",
            r.commit(3),
        ];
        args.extend_from_slice(extra);
        haprepro(&root, &args)
    };
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bad: HAProxy crashed"),
        "{}",
        show(&out)
    );
    let out = check(&["--crash", "skip"]);
    assert_eq!(out.status.code(), Some(125), "{}", show(&out));
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn bisect_names_the_commit_that_added_the_crash() {
    let r = crash_repo();
    let root = bugon_scenarios();
    let out = haprepro(
        &root,
        &[
            "bisect",
            "show-version-crash",
            "--src",
            r.dir.to_str().unwrap(),
            "--good",
            r.commit(1),
            "--bad",
            r.commit(4),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("first bad commit: {}", r.commit(3))),
        "{}",
        show(&out)
    );
    assert!(stdout.contains("HAProxy died"), "{}", show(&out));
    let md = stdout
        .lines()
        .find_map(|l| l.strip_prefix("results: "))
        .map(|l| {
            PathBuf::from(l.split(", ").next().unwrap_or_default()).with_file_name("bisect.md")
        })
        .unwrap_or_else(|| panic!("no results line\n{}", show(&out)));
    let md = std::fs::read_to_string(&md).unwrap_or_else(|e| panic!("{}: {e}", md.display()));
    assert!(md.contains("crashed (haproxy SIG"), "{md}");
    assert!(
        md.contains("BUG_ON(strcmp(args[2], \"crash\") == 0)"),
        "{md}"
    );
    let _ = std::fs::remove_dir_all(root);
}

/// HAProxy's container stopped from outside the case (here `docker stop`, which is what a
/// Docker daemon that stops or restarts does to every container) dies of a signal like a crash
/// would: the case is a harness problem (one message, exit 3), never `crashed`.
#[test]
fn a_container_stopped_from_outside_is_a_harness_problem_not_a_crash() {
    use std::io::{BufRead, BufReader};
    let dir = std::env::temp_dir().join(format!("haprepro-outside-{}", std::process::id()));
    let scenario_dir = dir.join("stopped-outside");
    std::fs::create_dir_all(&scenario_dir).unwrap();
    let text = segv_scenario("stopped-outside", "not-reproduced", "")
        .replace(
            "signal = { to = \"haproxy\", process = \"worker\", signal = \"SEGV\" }",
            "sleep = { for = \"1ms\", because = \"the test stops the container now\" }",
        )
        .replace("for = \"5s\"", "for = \"30s\"");
    let text = format!(
        "{text}\n[observe]\nreproduced_if = \"answered < 0\"\n\n[observe.measure]\n\
         answered = {{ log_lines = {{ role = \"haproxy\", contains = \"never printed\" }} }}\n"
    );
    std::fs::write(scenario_dir.join("scenario.toml"), text).unwrap();
    std::fs::write(scenario_dir.join("haproxy.cfg"), TEMPLATE).unwrap();
    let results = dir.join("results");
    let mut child = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args([
            "run",
            "stopped-outside",
            "--version",
            "3.0.11",
            "--scenarios-dir",
        ])
        .arg(&dir)
        .arg("--results-dir")
        .arg(&results)
        .env("CI", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut run_id = None;
    // The first line names the run; step #2 starts the 30 s sleep once #1 (HAProxy's server
    // UP) is printed.
    for line in lines.by_ref() {
        let line = line.unwrap();
        if run_id.is_none() {
            run_id = line.split(", run ").nth(1).map(str::to_string);
        }
        let started = line.contains(" #1 ");
        seen.push(line);
        if started {
            break;
        }
    }
    let run_id = run_id.unwrap_or_else(|| panic!("no run id in {seen:?}"));
    let ps = Command::new("docker")
        .args(["ps", "-q", "--filter"])
        .arg(format!("label=haprepro.run={run_id}"))
        .args(["--filter", "label=haprepro.role=haproxy"])
        .output()
        .unwrap();
    let id = String::from_utf8_lossy(&ps.stdout).trim().to_string();
    assert!(
        !id.is_empty(),
        "HAProxy's container of run {run_id}: {seen:?}"
    );
    let stop = Command::new("docker").args(["stop", &id]).output().unwrap();
    assert!(stop.status.success(), "{}", show(&stop));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(3),
        "stdout: {seen:?} {rest:?}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("was stopped from outside the case") && stderr.contains("signal 15"),
        "{stderr}"
    );
    let case = std::fs::read_dir(results.join(&run_id))
        .unwrap()
        .map(|e| e.unwrap().path().join("case.json"))
        .find(|p| p.is_file())
        .expect("the case's record is written");
    let record = haprepro::report::read_case(&case).unwrap();
    assert_eq!(record.outcome, Outcome::Error, "{}", explain(&record));
    assert!(
        record.haproxy_exit[0].stopped_from_outside.is_some(),
        "{}",
        explain(&record)
    );
    // The 30 s sleep ended with the container, not with its own time.
    let sleep = &record.steps[3];
    assert!(!sleep.ok && sleep.elapsed_ms < 15_000, "{sleep:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
