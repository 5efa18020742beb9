//! Docker's daemon restarted in the middle of a matrix: the matrix stops with one message and
//! exit 3 (a harness problem, not a column of `error` cells), and the next run cleans up what
//! the stopped one could not remove.
//!
//! A test binary of its own: cargo runs test binaries one after another, so restarting the
//! daemon here stops no container of another test. It restarts the daemon the way it runs:
//! through systemd when systemd manages it, else by stopping the `dockerd` process and starting
//! the same command line again (as `.ci/setup` starts it).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = r#"name = "daemon-restart"
summary = "a case that waits long enough for the test to restart Docker's daemon under it"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1", mode = "http", port = 8000 }]
haproxy = { config = "haproxy.cfg" }

[[step]]
wait = { server = "be/web1", state = "UP", within = "10s" }
[[step]]
sleep = { for = "30s", because = "the test restarts Docker's daemon meanwhile" }

[observe]
reproduced_if = "never < 0"

[observe.measure]
never = { log_lines = { role = "haproxy", contains = "never printed" } }
"#;

const TEMPLATE: &str = "global
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s

backend be
    server web1 {{ web1.ip }}:{{ web1.port }} check inter 100ms
";

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn docker_ok() -> bool {
    Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "{what} within {within:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Restarts Docker's daemon and waits until it answers again.
fn restart_dockerd() {
    let systemd = Command::new("systemctl")
        .args(["is-active", "--quiet", "docker"])
        .status()
        .is_ok_and(|s| s.success());
    if systemd {
        let out = Command::new("systemctl")
            .args(["restart", "docker"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "systemctl restart docker: {}",
            show(&out)
        );
    } else {
        let pid = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|c| c.trim() == "dockerd")
            })
            .expect("a dockerd process (the daemon runs, but neither systemd nor a dockerd process was found)");
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
        let argv: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        // SAFETY: kill(2) with plain integers.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        wait_for("dockerd to stop", Duration::from_secs(60), || {
            !Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z "))
        });
        let log = std::fs::File::create("/tmp/haprepro-dockerd.log").unwrap();
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // Its own session: the daemon outlives this test.
        // SAFETY: setsid is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        // Never waited for: the daemon runs on after this test (init reaps it).
        #[allow(clippy::zombie_processes)]
        cmd.spawn().expect("dockerd starts again");
    }
    wait_for(
        "Docker's daemon to answer again",
        Duration::from_secs(90),
        docker_ok,
    );
}

fn labelled(kind: &str, run_id: &str) -> Vec<String> {
    let filter = format!("label=haprepro.run={run_id}");
    let args: Vec<&str> = match kind {
        "containers" => vec!["ps", "-aq", "--filter", &filter],
        _ => vec!["network", "ls", "-q", "--filter", &filter],
    };
    let out = Command::new("docker").args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn haprepro(scenarios: &Path, results: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_haprepro"));
    cmd.args([
        "matrix",
        "--scenarios",
        "daemon-restart",
        "--versions",
        "3.0.11",
    ])
    .arg("--scenarios-dir")
    .arg(scenarios)
    .arg("--results-dir")
    .arg(results)
    .env("CI", "true");
    cmd
}

/// Running containers that are not haprepro's: a restart would stop them too.
fn foreign_containers() -> Vec<String> {
    let out = Command::new("docker")
        .args(["ps", "--format", "{{.Names}} {{.Label \"haprepro.run\"}}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.split_whitespace().nth(1).is_none())
        .map(str::to_string)
        .collect()
}

#[test]
fn a_docker_restart_mid_matrix_is_one_message_and_exit_3_and_the_next_run_cleans_up() {
    assert!(
        docker_ok(),
        "this test needs a running Docker daemon (and root, to restart it)"
    );
    // Never at the cost of someone else's containers: a daemon restart stops every container.
    let foreign = foreign_containers();
    assert!(
        foreign.is_empty(),
        "this test restarts Docker's daemon, which would stop these containers that are not \
         haprepro's: {foreign:?}\n  Stop them first, or run the tests on a machine of their own \
         (CI does)."
    );
    let root: PathBuf =
        std::env::temp_dir().join(format!("haprepro-daemon-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let scenario = root.join("scenarios").join("daemon-restart");
    std::fs::create_dir_all(&scenario).unwrap();
    std::fs::write(scenario.join("scenario.toml"), SCENARIO).unwrap();
    std::fs::write(scenario.join("haproxy.cfg"), TEMPLATE).unwrap();
    let results = root.join("results");

    let mut child = haprepro(&root.join("scenarios"), &results)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The progress (on stderr): the first line names the run; a case is under way once a
    // `start` line is printed and HAProxy's container runs.
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut run_id = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if run_id.is_none() {
            run_id = line
                .split_whitespace()
                .nth(1)
                .filter(|_| line.starts_with("run "))
                .map(|r| r.trim_end_matches(':').to_string());
        }
        let started = line.starts_with("start");
        seen.push(line);
        if started {
            break;
        }
    }
    let run_id = run_id.unwrap_or_else(|| panic!("no run id in {seen:?}"));
    wait_for(
        "a container of the run to run",
        Duration::from_secs(60),
        || !labelled("containers", &run_id).is_empty(),
    );
    std::thread::sleep(Duration::from_millis(500));

    restart_dockerd();

    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = rest.join("\n");
    assert_eq!(
        out.status.code(),
        Some(3),
        "stderr: {seen:?}\n{stderr}\nstdout: {stdout}"
    );
    eprintln!("the stopped matrix said:\n{stderr}");
    // One message about Docker, not one per case.
    let problems = stderr.matches("harness problem").count() + stderr.matches("error: ").count();
    assert!(
        (1..=2).contains(&problems)
            && (stderr.contains("stopped from outside") || stderr.contains("Docker")),
        "stderr: {stderr}\nstdout: {stdout}"
    );

    // The next run sweeps what the stopped run left (its process is gone, so is its lease).
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let next = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["run", "smoke", "--version", "3.0.11", "--scenarios-dir"])
        .arg(workspace.join("scenarios"))
        .arg("--results-dir")
        .arg(root.join("next"))
        .env("CI", "true")
        .output()
        .unwrap();
    assert!(next.status.success(), "{}", show(&next));
    assert!(
        labelled("containers", &run_id).is_empty() && labelled("networks", &run_id).is_empty(),
        "left by run {run_id} after the next run: {:?} {:?}",
        labelled("containers", &run_id),
        labelled("networks", &run_id)
    );
    let _ = std::fs::remove_dir_all(&root);
}
