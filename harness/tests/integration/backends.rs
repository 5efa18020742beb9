//! Backend behaviours as scenario files write them: a behaviour the backend's mode cannot
//! have, an unknown connection mode, a `backend` step naming no backend, two roles on one
//! address; each reported with its line, column and the role it is about. Without Docker.

use haprepro::scenario;

fn errors_of(name: &str, topology: &str, steps: &str) -> Vec<String> {
    let toml = format!(
        r#"name = "t"
summary = "s"

[expect]
"*" = "not-reproduced"

[topology]
{topology}
haproxy = {{ config = "haproxy.cfg" }}

{steps}

[observe]
reproduced_if = "n < 0"

[observe.measure]
n = {{ log_lines = {{ role = "haproxy", contains = "x" }} }}
"#
    );
    let dir = std::env::temp_dir().join(format!("haprepro-backends-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("scenario.toml"), toml).unwrap();
    std::fs::write(dir.join("haproxy.cfg"), "x\n").unwrap();
    let result = scenario::load(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        Ok(_) => Vec::new(),
        Err(errors) => errors
            .iter()
            .map(|e| format!("{}:{}:{}:{}", e.line, e.column, e.field, e.message))
            .collect(),
    }
}

#[test]
fn behaviours_in_the_topology_and_in_steps_load() {
    let errors = errors_of(
        "good",
        r#"backends = [
    { name = "s1", mode = "tcp", connections = "slow_accept", accept_delay = "200ms", tcp = { banner = "hi", close_after = 10 } },
    { name = "web1", mode = "http", host = 120, http = { status = 503, headers = { "Retry-After" = "1" }, delay = "1s", close = true } },
]
clients = [{ name = "c1", host = 121 }]"#,
        r#"[[step]]
backend = { name = "s1", connections = "unreachable" }
[[step]]
backend = { name = "web1", http = { status = 200 } }
[[step]]
sessions = { from = "c1", to = "haproxy:8080", count = 1, record = "l" }"#,
    );
    assert_eq!(errors, Vec::<String>::new());
}

#[test]
fn an_http_answer_on_a_tcp_backend_names_the_backend() {
    let errors = errors_of(
        "http-on-tcp",
        r#"backends = [{ name = "s1", mode = "tcp", http = { status = 503 } }]"#,
        "",
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("8:49:"), "{errors:?}");
    assert!(
        errors[0].contains("topology.backends.http:backend s1 is mode tcp"),
        "{errors:?}"
    );
}

#[test]
fn a_backend_step_is_checked_against_the_backend() {
    let errors = errors_of(
        "step",
        r#"backends = [{ name = "web1" }]"#,
        r#"[[step]]
backend = { name = "web1", tcp = { banner = "x" } }
[[step]]
backend = { name = "web1", connections = "sometimes" }
[[step]]
backend = { name = "web1", connections = "slow_accept" }
[[step]]
backend = { name = "haproxy", connections = "refuse" }
[[step]]
backend = { name = "web1" }"#,
    );
    let want = [
        "step.backend.tcp:backend web1 is mode http",
        "step.backend.connections:backend web1: unknown connections mode \"sometimes\"",
        "step.backend.connections:backend web1: `slow_accept` needs `accept_delay`",
        "step.backend.name:\"haproxy\" is not a backend",
        "step.backend:changes nothing",
    ];
    assert_eq!(errors.len(), want.len(), "{errors:?}");
    for (got, want) in errors.iter().zip(want) {
        assert!(got.contains(want), "{got:?} should say {want:?}");
    }
}

#[test]
fn two_roles_on_one_address_are_named() {
    let errors = errors_of(
        "same-host",
        r#"backends = [{ name = "s1", host = 120 }, { name = "s2", host = 120 }]
clients = [{ name = "c1", host = 7 }]"#,
        "",
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("s2 and s1 have the same address (host 120)"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("c1: host 7 is outside 100-249"),
        "{errors:?}"
    );
}

/// Without CAP_NET_ADMIN the backends' addresses cannot be added: a harness problem (exit 3)
/// naming the role and what to do. (`setpriv` drops the capability from the bounding set, so
/// even root runs without it.)
#[test]
fn missing_cap_net_admin_is_a_clear_error() {
    let workspace = crate::support::workspace();
    let results = std::env::temp_dir().join(format!("haprepro-no-cap-{}", std::process::id()));
    let out = std::process::Command::new("setpriv")
        .args(["--inh-caps=-net_admin", "--bounding-set=-net_admin", "--"])
        .arg(env!("CARGO_BIN_EXE_haprepro"))
        .args(["run", "smoke", "--version", "3.0.11", "--results-dir"])
        .arg(&results)
        .current_dir(&workspace)
        .output()
        .unwrap_or_else(|e| panic!("setpriv (util-linux) is needed for this test: {e}"));
    let _ = std::fs::remove_dir_all(&results);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("for web1 needs CAP_NET_ADMIN") && stdout.contains("Run haprepro as root"),
        "{stdout}"
    );
}
