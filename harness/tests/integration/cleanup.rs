//! Nothing leaks: a case's containers and network are gone after a panic, after Ctrl-C, and
//! `haprepro clean` removes what a kept case left. Each check looks the run's labels up in Docker
//! itself.

use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use haprepro::runtime::{ContainerSpec, Engine, Sandbox, RUN_LABEL};

async fn engine() -> Engine {
    Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(this test needs a Docker daemon)"))
}

async fn leftovers(engine: &Engine, run: &str) -> (usize, usize) {
    let filter = [(RUN_LABEL, run)];
    let containers = engine.containers_labelled(&filter).await.unwrap();
    let networks = engine.networks_labelled(&filter).await.unwrap();
    (containers.len(), networks.len())
}

static ADDRESS: std::sync::Mutex<Option<Ipv4Addr>> = std::sync::Mutex::new(None);

/// Whether an address is assigned on this host (only a local address can be bound).
fn on_host(ip: Ipv4Addr) -> bool {
    std::net::UdpSocket::bind((ip, 0)).is_ok()
}

fn sleeper(base: &str) -> ContainerSpec {
    ContainerSpec {
        role: "sleeper".into(),
        image: base.to_string(),
        entrypoint: Some(vec!["sleep".into(), "60".into()]),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_case_leaves_nothing() {
    let engine = engine().await;
    let base = crate::support::base_image(&engine).await;
    let run = format!("test-{}", haprepro::runtime::new_run_id());
    let task = {
        let (engine, run) = (engine.clone(), run.clone());
        tokio::spawn(async move {
            let sandbox = Sandbox::create(&engine, &run, "panics").await.unwrap();
            let ip = sandbox.add_address("s1").unwrap();
            assert!(on_host(ip));
            ADDRESS.lock().unwrap().replace(ip);
            sandbox.start(sleeper(&base)).await.unwrap();
            panic!("a step went wrong");
        })
    };
    assert!(task.await.unwrap_err().is_panic());
    assert_eq!(leftovers(&engine, &run).await, (0, 0));
    let ip = ADDRESS
        .lock()
        .unwrap()
        .take()
        .expect("an address was added");
    assert!(!on_host(ip), "{ip} is still assigned on the host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_removes_what_a_kept_case_left() {
    let engine = engine().await;
    let base = crate::support::base_image(&engine).await;
    let run = format!("test-{}", haprepro::runtime::new_run_id());
    {
        let mut sandbox = Sandbox::create(&engine, &run, "kept").await.unwrap();
        sandbox.keep(true);
        sandbox.start(sleeper(&base)).await.unwrap();
        sandbox.teardown().await.unwrap();
    }
    assert_eq!(leftovers(&engine, &run).await, (1, 1), "--keep must keep");
    let report = haprepro::runtime::clean(&engine, Some(&run), false)
        .await
        .unwrap();
    assert_eq!((report.containers, report.networks), (1, 1));
    assert_eq!(leftovers(&engine, &run).await, (0, 0));
}

/// Ctrl-C on `haprepro run`: the watchdog deletes the backends' bridge addresses, removes the
/// run's containers and network, then the process exits with 130.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_on_a_run_leaves_nothing() {
    let engine = engine().await;
    let (mut started, run, setup, results) = run_until_setup("ctrl-c");
    let child = &mut started.child;
    assert!(leftovers(&engine, &run).await.0 >= 1, "{setup}");
    // `s1=10.213.x.y:8000`: the backends' addresses on the bridge.
    let addresses: Vec<Ipv4Addr> = setup
        .split_whitespace()
        .filter_map(|w| w.split_once('=')?.1.split(':').next()?.parse().ok())
        .collect();
    assert!(addresses.iter().all(|ip| on_host(*ip)), "{setup}");
    assert!(!addresses.is_empty(), "{setup}");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(leftovers(&engine, &run).await, (0, 0));
    let left: Vec<_> = addresses.iter().filter(|ip| on_host(**ip)).collect();
    assert!(left.is_empty(), "still assigned on the host: {left:?}");
}

/// SIGKILL leaves no chance to clean up: the case's container, network and bridge addresses
/// stay. The next run of haprepro removes them before its first case, because their
/// `haprepro.pid` is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_run_removes_what_a_killed_run_left() {
    let engine = engine().await;
    let (mut started, run, setup, results) = run_until_setup("sigkill");
    let child = &mut started.child;
    let killed = child.id();
    unsafe { libc::kill(killed as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert_eq!(
        leftovers(&engine, &run).await,
        (1, 1),
        "SIGKILL leaves the case as it was"
    );
    let addresses: Vec<Ipv4Addr> = setup
        .split_whitespace()
        .filter_map(|w| w.split_once('=')?.1.split(':').next()?.parse().ok())
        .collect();
    assert!(!addresses.is_empty(), "{setup}");

    let next = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["run", "smoke", "--version", "3.0.11", "--results-dir"])
        .arg(&results)
        .current_dir(crate::support::workspace())
        .output()
        .expect("haprepro runs");
    let _ = std::fs::remove_dir_all(&results);
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert_eq!(
        leftovers(&engine, &run).await,
        (0, 0),
        "the next run did not remove what pid {killed} left; its stderr: {stderr}"
    );
    // The backends' addresses went with the case bridge.
    let left: Vec<_> = addresses.iter().filter(|ip| on_host(**ip)).collect();
    assert!(left.is_empty(), "still assigned on the host: {left:?}");
}

/// `haprepro clean` beside a running case: the case's containers and network are a living
/// session's, so clean keeps them, says whose they are, and the case runs to its verdict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_never_touches_a_live_run() {
    let engine = engine().await;
    let (mut started, run, setup, results) = run_until_setup("live-clean");
    let clean = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(["clean", "--run", &run])
        .output()
        .expect("haprepro clean runs");
    let said = String::from_utf8_lossy(&clean.stdout).to_string();
    assert_eq!(clean.status.code(), Some(0), "{said}");
    assert!(
        said.contains("kept 1 container(s) and 1 network(s) of session"),
        "{said}"
    );
    assert_eq!(leftovers(&engine, &run).await, (1, 1), "{setup}");
    let status = started.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(status.code(), Some(0), "the case must run to its verdict");
    assert_eq!(leftovers(&engine, &run).await, (0, 0));
}

/// Two haprepro processes in PID namespaces of their own have the same pid (1): ownership by
/// pid would let the second's sweep take the first's case for a dead process's. By session
/// lease, the first runs on unharmed; killed, its leftovers go with the next run's sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equal_pids_in_two_pid_namespaces_do_not_remove_each_other() {
    let engine = engine().await;
    let workspace = crate::support::workspace();
    let results = std::env::temp_dir().join(format!("haprepro-pidns-{}", std::process::id()));
    let in_namespace = |args: &[&str]| {
        let mut c = Command::new("unshare");
        c.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(env!("CARGO_BIN_EXE_haprepro"))
            .args(args)
            .arg("--results-dir")
            .arg(&results)
            .current_dir(&workspace);
        c
    };
    let mut first = in_namespace(&[
        "run",
        "shutdown-sessions-leaves-connections",
        "--variant",
        "established",
        "--version",
        "2.6.12",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("unshare runs (util-linux)");
    let mut out = std::io::BufReader::new(first.stdout.take().unwrap());
    let (run, _) = read_until_setup(&mut out);
    // The second process, also pid 1 in its namespace, sweeps before its case.
    let second = in_namespace(&["run", "smoke", "--version", "3.0.11"])
        .output()
        .unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(
        leftovers(&engine, &run).await,
        (1, 1),
        "the second process removed the first's live case"
    );
    // Killed (the namespace's init: everything in it dies), the first leaves its case behind,
    // and the next sweep, in yet another namespace, removes it.
    unsafe { libc::kill(first.id() as i32, libc::SIGKILL) };
    first.wait().unwrap();
    assert_eq!(leftovers(&engine, &run).await, (1, 1));
    let third = in_namespace(&["run", "smoke", "--version", "3.0.11"])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&results);
    assert_eq!(
        leftovers(&engine, &run).await,
        (0, 0),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
}

/// Starts `haprepro run` on a case with backends and returns once its setup is done (so a
/// signal comes while the backends serve on their bridge addresses and HAProxy runs): the
/// child, its run id (on its first line), the setup line and its results folder. The child's
/// stdout stays open in the returned reader: closing it would make the run's next line fail.
fn run_until_setup(tag: &str) -> (Started, String, String, std::path::PathBuf) {
    let workspace = crate::support::workspace();
    let results = std::env::temp_dir().join(format!("haprepro-{tag}-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args([
            "run",
            "shutdown-sessions-leaves-connections",
            "--variant",
            "established",
        ])
        .args(["--version", "2.6.12", "--results-dir"])
        .arg(&results)
        .current_dir(&workspace)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("haprepro runs");
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (run, setup) = read_until_setup(&mut out);
    (Started { child, _out: out }, run, setup, results)
}

/// Reads a `haprepro run`'s output up to its setup line: its run id (on its first line) and
/// that line.
fn read_until_setup(out: &mut impl std::io::BufRead) -> (String, String) {
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let run = first.rsplit(' ').next().unwrap().trim().to_string();
    let mut setup = String::new();
    while !setup.contains("setup") {
        setup.clear();
        let n = out.read_line(&mut setup).unwrap();
        assert!(n > 0, "the run ended before its setup line ({first})");
    }
    (run, setup)
}

struct Started {
    child: std::process::Child,
    _out: std::io::BufReader<std::process::ChildStdout>,
}
