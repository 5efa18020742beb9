//! The step words added as one file each, on real HAProxy: `flap` (HAProxy's server address
//! must follow every flip of its name) and `reload` (the master must replace its worker, through
//! the master CLI and through SIGUSR2), on the oldest and a recent catalog version, whose
//! `show proc` differ.

use haprepro::report::CaseRecord;
use haprepro::scenario::Outcome;

use crate::support::run_written as run;

fn explain(record: &CaseRecord) -> String {
    let steps: Vec<String> = record
        .steps
        .iter()
        .map(|s| {
            format!(
                "  #{} {} [{}ms] ok={} {}",
                s.index, s.action, s.elapsed_ms, s.ok, s.detail
            )
        })
        .collect();
    format!(
        "{}: {} ({})\n{}\nmeasures: {:?}",
        record.case,
        record.outcome,
        record.reason,
        steps.join("\n"),
        record.measures
    )
}

const FLAP: &str = r#"name = "flap-followed"
summary = "a name flapping between two backends: the server's address follows each flip"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1", mode = "tcp", port = 8000 }, { name = "web2", mode = "tcp", port = 8000 }]
dns = { zone = "svc.test", records = [{ name = "app", a = ["web1"] }] }
haproxy = { config = "haproxy.cfg" }

[[step]]
wait = { server = "be/s1", state = "UP", within = "10s" }
# Each set is held long enough for a loaded machine: 2.2.9 took up to ~1 s to follow a flip.
[[step]]
flap = { name = "app", between = [["web2"], ["web1"]], every = "2s", times = 4, follow = "be/s1", record = "flaps" }

[observe]
reproduced_if = "followed < 4"
valid_if = ["flips == 4", "queries >= 4"]

[observe.measure]
followed = { value = { record = "flaps", value = "followed" } }
flips = { value = { record = "flaps", value = "flips" } }
queries = { dns_queries = { name = "app", qtype = "A" } }
"#;

const FLAP_CFG: &str = "global
    log stdout format raw local0
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

resolvers dns
    nameserver ns1 {{ dns.addr }}
    timeout resolve 100ms
    timeout retry 100ms
    hold valid 100ms

defaults
    mode tcp
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s

backend be
    server s1 app.{{ zone }}:8000 resolvers dns init-addr none check inter 200ms rise 1
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flap_is_followed_by_haproxy_on_2_2_and_3_0() {
    for version in ["2.2.9", "3.0.11"] {
        let record = run("flap", FLAP, FLAP_CFG, version).await;
        assert_eq!(
            record.outcome,
            Outcome::NotReproduced,
            "{}",
            explain(&record)
        );
        assert_eq!(
            record.measures.get("followed"),
            Some(&4.0),
            "{}",
            explain(&record)
        );
        let flap = &record.steps[2];
        assert!(
            flap.detail.contains("app set 4 time(s)") && flap.detail.contains("(followed at"),
            "{}",
            explain(&record)
        );
    }
}

const RELOAD: &str = r#"name = "reload-worker"
summary = "a master-worker instance reloaded twice: each time a new worker serves"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1", mode = "tcp", port = 8000 }]
haproxy = { config = "haproxy.cfg", master_cli = true }

[[step]]
reload = { record = "cli", within = "10s" }
[[step]]
reload = { via = "signal", record = "sig", within = "10s" }

[observe]
reproduced_if = "cli_new < 1 or sig_new < 1"
valid_if = ["cli_old >= 1", "sig_old >= 1"]

[observe.measure]
cli_old = { value = { record = "cli", value = "old_pid" } }
cli_new = { value = { record = "cli", value = "new_pid" } }
sig_old = { value = { record = "sig", value = "old_pid" } }
sig_new = { value = { record = "sig", value = "new_pid" } }
"#;

const RELOAD_CFG: &str = "global
    log stdout format raw local0
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s

listen front
    bind :8080
    server s1 {{ web1.ip }}:8000
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_gets_a_new_worker_on_2_2_and_3_0() {
    for version in ["2.2.9", "3.0.11"] {
        let record = run("reload", RELOAD, RELOAD_CFG, version).await;
        assert_eq!(
            record.outcome,
            Outcome::NotReproduced,
            "{}",
            explain(&record)
        );
        let m = |name: &str| record.measures[name];
        // The second reload starts from the first one's new worker, and each gives a new PID.
        assert_ne!(m("cli_old"), m("cli_new"), "{}", explain(&record));
        assert_eq!(m("sig_old"), m("cli_new"), "{}", explain(&record));
        assert_ne!(m("sig_new"), m("sig_old"), "{}", explain(&record));
    }
}

/// The container writes its socket folder (`{{ sock.dir }}`, `/run/haprepro` inside): a link
/// it plants there, named like a socket and pointing at Docker's socket (a path of the host as
/// much as of the container), or a regular file, is refused before any connect, and the case
/// is `error` saying so.
const PLANTED: &str = r#"name = "planted-link"
summary = "the container plants a link to Docker's socket in its socket folder: never connected"

[expect]
"*" = "not-reproduced"

[topology]
haproxy = { config = "haproxy.cfg" }

[[step]]
exec = { in = "haproxy", command = ["ln", "-s", "/var/run/docker.sock", "/run/haprepro/evil.sock"] }
[[step]]
unix = { socket = "evil.sock", command = "GET /info HTTP/1.0\r\n", record = "evil" }

[observe]
reproduced_if = "answered >= 1"

[observe.measure]
answered = { unix = { record = "evil", value = "answered" } }
"#;

const PLANTED_CFG: &str = "global
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_or_a_file_planted_in_the_socket_folder_is_never_connected() {
    let file = PLANTED.replace(
        r#"command = ["ln", "-s", "/var/run/docker.sock", "/run/haprepro/evil.sock"]"#,
        r#"command = ["sh", "-c", "echo x > /run/haprepro/evil.sock"]"#,
    );
    for (name, text, what) in [
        ("planted-link", PLANTED.to_string(), "a symbolic link"),
        ("planted-file", file, "a regular file"),
    ] {
        let record = run(name, &text, PLANTED_CFG, "3.0.11").await;
        assert_eq!(record.outcome, Outcome::Error, "{}", explain(&record));
        let unix = &record.steps[2];
        assert!(
            !unix.ok
                && unix.detail.contains(what)
                && unix.detail.contains("not a unix socket: refused"),
            "{}",
            explain(&record)
        );
        assert!(
            record.reason.contains("evil.sock") && !record.measures.contains_key("answered"),
            "{}",
            explain(&record)
        );
    }
}

const SOCKETS: &str = r#"name = "sockets-from-the-host"
summary = "the sockets step (read from the host's /proc) lists what ss inside the container lists"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "s1", mode = "tcp", port = 8000 }]
haproxy = { config = "haproxy.cfg" }

[[step]]
sessions = { to = "haproxy:8080", count = 12, every = "100ms", banners = 12, record = "load" }
[[step]]
sockets = { in = "haproxy", state = "established", dst = "{{ s1.ip }}", record = "proc_to_s1" }
[[step]]
exec = { in = "haproxy", command = ["ss", "-Htn", "state", "established", "dst", "{{ s1.ip }}"], record = "ss_to_s1" }
[[step]]
sockets = { in = "haproxy", state = "listen", local_port = 8080, record = "proc_listen" }
[[step]]
sockets = { in = "haproxy", state = "close-wait", record = "proc_close_wait" }

[observe]
reproduced_if = "proc_to_s1 != 12"
valid_if = ["ss_to_s1 == 12", "proc_listen >= 1"]

[observe.measure]
proc_to_s1 = { answer_lines = { record = "proc_to_s1", contains = ":8000" } }
ss_to_s1 = { answer_lines = { record = "ss_to_s1", contains = ":8000" } }
proc_listen = { answer_lines = { record = "proc_listen", contains = ":8080" } }
proc_close_wait = { answer_lines = { record = "proc_close_wait", contains = ":" } }
"#;

const SOCKETS_CFG: &str = "global
    log stdout format raw local0
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin

defaults
    mode tcp
    log global
    timeout connect 1s
    timeout client 30s
    timeout server 30s

frontend fe
    bind :8080
    default_backend be

backend be
    server s1 {{ s1.ip }}:{{ s1.port }}
";

/// The sockets step lists, from the host, the same connections as `ss` inside the container
/// (which the catalog images have, the official ones not): 12 sessions to s1, and the listener.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sockets_step_lists_what_ss_inside_lists() {
    for version in ["2.2.9", "3.4.7"] {
        let record = run("sockets-step", SOCKETS, SOCKETS_CFG, version).await;
        assert_eq!(
            record.outcome,
            Outcome::NotReproduced,
            "{}",
            explain(&record)
        );
        assert_eq!(
            record.measures["proc_to_s1"],
            record.measures["ss_to_s1"],
            "{}",
            explain(&record)
        );
        assert_eq!(record.measures["proc_close_wait"], 0.0);
    }
}
