//! Measures over hand-made evidence and real runtime API answers (the fixtures): no Docker.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::SystemTime;

use super::*;
use crate::capture::SynEvent;
use crate::dns::QueryRecord;
use crate::haproxy::fixtures;
use crate::load::HttpExchange;
use crate::scenario::evidence::DnsLog;
use crate::scenario::expr::Condition;
use crate::scenario::outcome::Expectations;
use crate::scenario::outcome::Outcome;
use crate::scenario::record::{CaptureRun, Recorded};
use crate::scenario::run::verdict::{outcome, outcome_after_death};
use crate::scenario::VariantPlan;

fn measure(text: &str) -> Measure {
    toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

const HAPROXY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 10);
const WEB1: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 11);

fn syn(from: Ipv4Addr, to: Ipv4Addr, port: u16) -> SynEvent {
    SynEvent {
        at: SystemTime::UNIX_EPOCH,
        src: SocketAddr::new(from.into(), 40000),
        dst: SocketAddr::new(to.into(), port),
    }
}

fn capture(role: &str, syns: Vec<SynEvent>, problem: Option<&str>) -> CaptureRun {
    CaptureRun {
        role: role.into(),
        syns,
        problem: problem.map(str::to_string),
        summary: None,
    }
}

fn evidence() -> Evidence {
    Evidence {
        ips: BTreeMap::from([("haproxy".into(), HAPROXY), ("web1".into(), WEB1)]),
        image_version: "3.0.11-1+deb13u3".into(),
        ..Default::default()
    }
}

fn api(command: &str, answer: String) -> Recorded {
    Recorded::Api {
        command: command.into(),
        answer,
    }
}

#[test]
fn syns_without_a_capture_of_the_role_are_an_error_not_zero() {
    let m = measure(r#"syns = { from = "haproxy", dst_port = 0 }"#);
    let mut ev = evidence();
    let err = compute(&ev, &m).unwrap_err();
    assert!(err.contains("no capture of haproxy's SYNs ran"), "{err}");
    ev.captures.push(capture("web1", vec![], None));
    let err = compute(&ev, &m).unwrap_err();
    assert!(err.contains("captures: web1"), "{err}");
    let any = measure("syns = {}");
    assert_eq!(compute(&ev, &any).unwrap(), 0.0);
    assert!(compute(&evidence(), &any)
        .unwrap_err()
        .contains("no capture ran"));
}

#[test]
fn an_incomplete_capture_makes_syns_an_error() {
    let m = measure(r#"syns = { from = "haproxy" }"#);
    let mut ev = evidence();
    ev.captures.push(capture(
        "haproxy",
        vec![syn(HAPROXY, WEB1, 0)],
        Some("the kernel dropped 3 packet(s)"),
    ));
    let err = compute(&ev, &m).unwrap_err();
    assert!(
        err.contains("incomplete") && err.contains("dropped 3"),
        "{err}"
    );
}

#[test]
fn syns_count_over_every_capture_of_the_role() {
    let mut ev = evidence();
    ev.captures.push(capture(
        "haproxy",
        vec![syn(HAPROXY, WEB1, 8000), syn(HAPROXY, WEB1, 0)],
        None,
    ));
    ev.captures
        .push(capture("haproxy", vec![syn(HAPROXY, WEB1, 0)], None));
    let port0 = measure(r#"syns = { from = "haproxy", dst_port = 0 }"#);
    assert_eq!(compute(&ev, &port0).unwrap(), 2.0);
    let to_web1 = measure(r#"syns = { from = "haproxy", to = "web1", dst_port = 8000 }"#);
    assert_eq!(compute(&ev, &to_web1).unwrap(), 1.0);
    // A role without an address in the case matches nothing, never everything.
    let to_nobody = measure(r#"syns = { from = "haproxy", to = "web9" }"#);
    assert_eq!(compute(&ev, &to_nobody).unwrap(), 0.0);
}

#[test]
fn a_record_of_the_wrong_kind_is_named() {
    let mut ev = evidence();
    ev.records
        .insert("info".into(), api("show info", "Name: HAProxy\n".into()));
    ev.records.insert("answers".into(), Recorded::Http(vec![]));
    let err = compute(&ev, &measure(r#"responses = { record = "info" }"#)).unwrap_err();
    assert!(err.contains("not an http step's exchanges"), "{err}");
    let err = compute(
        &ev,
        &measure(r#"answer_lines = { record = "answers", contains = "x" }"#),
    )
    .unwrap_err();
    assert!(err.contains("is an http step's exchanges"), "{err}");
    let err = compute(
        &ev,
        &measure(r#"answer_lines = { record = "nope", contains = "x" }"#),
    )
    .unwrap_err();
    assert!(err.contains("no record \"nope\""), "{err}");
}

#[test]
fn responses_filter_by_server_status_and_failure() {
    let mut ev = evidence();
    let ex = |status: Option<u16>, server: Option<&str>| HttpExchange {
        at_ms: 0,
        status,
        server: server.map(str::to_string),
        elapsed_ms: 1,
        error: status.is_none().then(|| "refused".to_string()),
    };
    ev.records.insert(
        "answers".into(),
        Recorded::Http(vec![
            ex(Some(200), Some("web1")),
            ex(Some(200), Some("web2")),
            ex(Some(503), None),
            ex(None, None),
        ]),
    );
    let n = |text: &str| compute(&ev, &measure(text)).unwrap();
    assert_eq!(n(r#"responses = { record = "answers" }"#), 4.0);
    assert_eq!(
        n(r#"responses = { record = "answers", from = ["web1"] }"#),
        1.0
    );
    assert_eq!(
        n(r#"responses = { record = "answers", status = 200 }"#),
        2.0
    );
    assert_eq!(
        n(r#"responses = { record = "answers", failed = true }"#),
        1.0
    );
}

#[test]
fn servers_with_rejects_a_server_or_column_the_answer_does_not_have() {
    for dir in fixtures::dirs() {
        let mut ev = evidence();
        ev.records.insert(
            "servers".into(),
            api(
                "show servers state",
                fixtures::read(dir, "show-servers-state"),
            ),
        );
        let up = measure(
            r#"servers_with = { record = "servers", server = "be/s1", field = "srv_op_state", equals = "2" }"#,
        );
        assert_eq!(compute(&ev, &up).unwrap(), 1.0, "{dir}");
        let typo = measure(
            r#"servers_with = { record = "servers", server = "be/s99", field = "srv_op_state", equals = "2" }"#,
        );
        let err = compute(&ev, &typo).unwrap_err();
        assert!(
            err.contains("no server be/s99") && err.contains("be/s1"),
            "{dir}: {err}"
        );
        let column =
            measure(r#"servers_with = { record = "servers", field = "srv_prot", equals = "0" }"#);
        let err = compute(&ev, &column).unwrap_err();
        assert!(err.contains("no column \"srv_prot\""), "{dir}: {err}");
    }
}

#[test]
fn table_entries_reject_a_field_no_entry_has() {
    for dir in fixtures::dirs() {
        let mut ev = evidence();
        ev.records.insert(
            "table".into(),
            api("show table st", fixtures::read(dir, "show-table-st")),
        );
        let foo = measure(r#"table_entries = { record = "table", field = "gpc0", equals = "1" }"#);
        assert_eq!(compute(&ev, &foo).unwrap(), 1.0, "{dir}");
        let typo = measure(r#"table_entries = { record = "table", field = "gpc9", equals = "1" }"#);
        let err = compute(&ev, &typo).unwrap_err();
        assert!(
            err.contains("no entry") && err.contains("gpc0"),
            "{dir}: {err}"
        );
        let all = measure(r#"table_entries = { record = "table" }"#);
        assert!(compute(&ev, &all).unwrap() >= 1.0, "{dir}");
    }
}

#[test]
fn dns_queries_need_a_dns_server_and_filter_by_name_type_and_answer() {
    let m = measure(r#"dns_queries = { name = "app", qtype = "A", answer = "NXDOMAIN" }"#);
    let mut ev = evidence();
    assert!(compute(&ev, &m).unwrap_err().contains("no DNS server"));
    let q = |name: &str, qtype: &str, answer: &str| QueryRecord {
        at: SystemTime::UNIX_EPOCH,
        client: SocketAddr::new(HAPROXY.into(), 5353),
        protocol: crate::dns::Protocol::Udp,
        name: name.into(),
        qtype: qtype.into(),
        answer: answer.into(),
    };
    ev.dns = Some(DnsLog {
        origin: "svc.test.".into(),
        queries: vec![
            q("app.svc.test.", "A", "NXDOMAIN"),
            q("app.svc.test.", "AAAA", "NXDOMAIN"),
            q("app.svc.test.", "A", "NOERROR 1 answer"),
            q("other.svc.test.", "A", "NXDOMAIN"),
        ],
    });
    assert_eq!(compute(&ev, &m).unwrap(), 1.0);
    assert_eq!(
        compute(&ev, &measure(r#"dns_queries = { name = "app" }"#)).unwrap(),
        3.0
    );
}

#[test]
fn log_lines_of_a_role_without_output_are_an_error() {
    let m = measure(r#"log_lines = { role = "haproxy", contains = "refused" }"#);
    let mut ev = evidence();
    assert!(compute(&ev, &m).unwrap_err().contains("no output kept"));
    ev.logs
        .insert("haproxy".into(), "a refused\nb\nc refused\n".into());
    assert_eq!(compute(&ev, &m).unwrap(), 2.0);
}

#[test]
fn version_matches_image_compares_show_info_with_the_image() {
    for (version, dir) in fixtures::VERSIONS {
        let mut ev = evidence();
        ev.image_version = version.into();
        ev.records.insert(
            "info".into(),
            api("show info", fixtures::read(dir, "show-info")),
        );
        let m = measure(r#"version_matches_image = "info""#);
        assert_eq!(compute(&ev, &m).unwrap(), 1.0, "{dir}");
        ev.image_version = "1.8.30".into();
        assert_eq!(compute(&ev, &m).unwrap(), 0.0, "{dir}");
    }
}

#[test]
fn compute_all_names_the_measure_that_failed() {
    let ev = evidence();
    let measures = BTreeMap::from([(
        "syn_to_port_zero".to_string(),
        toml::Spanned::new(
            0..0,
            measure(r#"syns = { from = "haproxy", dst_port = 0 }"#),
        ),
    )]);
    let err = compute_all(&ev, &measures).unwrap_err();
    assert!(err.starts_with("syn_to_port_zero: no capture"), "{err}");
}

fn plan(reproduced_if: &str, valid_if: &[&str]) -> VariantPlan {
    VariantPlan {
        name: None,
        index: None,
        reproduced_if: Condition::parse(reproduced_if).unwrap(),
        valid_if: valid_if
            .iter()
            .map(|v| Condition::parse(v).unwrap())
            .collect(),
        summary: None,
        vars: BTreeMap::new(),
        expectations: Expectations(vec![]),
        repeat: 1,
        deadline: std::time::Duration::from_secs(60),
        sysctls: BTreeMap::new(),
    }
}

#[test]
fn outcome_checks_validity_first_then_the_symptom() {
    let m = |a: f64, b: f64| BTreeMap::from([("a".to_string(), a), ("b".to_string(), b)]);
    let p = plan("a >= 1", &["b >= 3"]);
    let (o, why) = outcome(&p, &m(1.0, 0.0));
    assert_eq!(o, Outcome::Error);
    assert!(why.contains("valid_if b (=0) >= 3 does not hold"), "{why}");
    let (o, why) = outcome(&p, &m(1.0, 3.0));
    assert_eq!(
        (o, why.as_str()),
        (Outcome::Reproduced, "a (=1) >= 1 holds")
    );
    let (o, why) = outcome(&p, &m(0.0, 3.0));
    assert_eq!(
        (o, why.as_str()),
        (Outcome::NotReproduced, "a (=0) >= 1 does not hold")
    );
}

fn death(
    signal: Option<i32>,
    last_lines: &[&str],
    while_starting: bool,
) -> crate::report::HaproxyExit {
    let text = last_lines.join("\n");
    crate::report::HaproxyExit {
        instance: "haproxy".into(),
        at_ms: 1200,
        finished_at: None,
        during: "step 2 (api show version crash)".into(),
        exit_code: signal.map(|s| 128 + i64::from(s)).or(Some(1)),
        signal,
        oom_killed: false,
        while_starting,
        last_lines: last_lines.iter().map(|l| l.to_string()).collect(),
        last_words: crate::haproxy::LastWords::parse(&text),
        core: None,
        backtrace: None,
        stopped_from_outside: None,
    }
}

#[test]
fn crash_measures_read_the_death_and_only_a_death() {
    let bug = death(
        Some(4),
        &["FATAL: bug condition \"x == 0\" matched at src/cli.c:12"],
        false,
    );
    let mut ev = evidence();
    ev.exits = vec![bug];
    let crashed = measure(r#"crashed = "haproxy""#);
    let signal = measure(r#"crash_signal = "haproxy""#);
    let text = measure(r#"crash_text = { instance = "haproxy", contains = "src/cli.c:12" }"#);
    let other = measure(r#"crash_text = { instance = "haproxy", contains = "src/mux_h2.c" }"#);
    assert_eq!(compute(&ev, &crashed), Ok(1.0));
    assert_eq!(compute(&ev, &signal), Ok(4.0));
    assert_eq!(compute(&ev, &text), Ok(1.0));
    assert_eq!(compute(&ev, &other), Ok(0.0));
    // A failure to start (exit 1, no crash text) is no death: the measures read 0.
    ev.exits = vec![death(None, &["[ALERT] cannot bind"], true)];
    assert_eq!(compute(&ev, &crashed), Ok(0.0));
    assert_eq!(compute(&ev, &signal), Ok(0.0));
    // ...but a fatal signal while starting is.
    ev.exits = vec![death(Some(11), &[], true)];
    assert_eq!(compute(&ev, &crashed), Ok(1.0));
}

#[test]
fn a_death_is_crashed_unless_the_scenario_names_it_as_its_symptom() {
    let bug = death(
        Some(4),
        &["FATAL: bug condition \"x == 0\" matched at src/cli.c:12"],
        false,
    );
    let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect();
    let m = BTreeMap::from([("died".to_string(), 1.0), ("answers".to_string(), 0.0)]);
    // Not named: crashed, whatever the other measures say, valid_if not asked.
    let p = plan("answers == 0", &["answers >= 5"]);
    let (o, why) = outcome_after_death(&p, &m, &names(&["died"]), &bug);
    assert_eq!(o, Outcome::Crashed);
    assert!(
        why.contains("HAProxy died during step 2 (api show version crash): haproxy SIGILL: BUG_ON(x == 0) at src/cli.c:12"),
        "{why}"
    );
    // Named and holding: the crash is the symptom.
    let p = plan("died == 1", &[]);
    let (o, why) = outcome_after_death(&p, &m, &names(&["died"]), &bug);
    assert_eq!(o, Outcome::Reproduced, "{why}");
    // Named but not holding: a death of another kind is still a crash.
    let p = plan("died == 1 and answers >= 1", &[]);
    let (o, _) = outcome_after_death(&p, &m, &names(&["died"]), &bug);
    assert_eq!(o, Outcome::Crashed);
}

/// A container stopped from outside (a Docker restart, a `docker stop`) dies of a signal like a
/// crash would; it is never taken for one.
#[test]
fn an_exit_stopped_from_outside_is_no_crash() {
    let mut stopped = death(
        Some(15),
        &["[WARNING] (1) : Exiting Master process..."],
        false,
    );
    assert!(
        stopped.is_crash(),
        "a SIGTERM after ready is a death of HAProxy's by default"
    );
    stopped.stopped_from_outside = Some("Docker sent signal 15".into());
    assert!(!stopped.is_crash());
}
