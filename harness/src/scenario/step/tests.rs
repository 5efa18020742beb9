//! Load-time checks of the step words, without Docker: each bad field is an error at its line.

use std::path::Path;

use crate::scenario::{load_with, Scenario, ScenarioError};

const TEMPLATE: &str = "global
    stats socket ipv4@0.0.0.0:{{ api.port }} level admin
resolvers dns
    nameserver ns1 {{ dns.addr }}
backend be
    server s1 app.{{ zone }}:8000 resolvers dns init-addr none
";

/// A scenario with these steps and measures over a DNS topology with two backends and one
/// master-worker instance (`master_cli` as given).
fn scenario(master_cli: bool, steps: &str, measures: &str) -> String {
    format!(
        r#"name = "t"
summary = "s"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{{ name = "web1", mode = "tcp" }}, {{ name = "web2", mode = "tcp" }}]
dns = {{ zone = "svc.test", records = [{{ name = "app", a = ["web1"] }}] }}
haproxy = {{ config = "haproxy.cfg", master_cli = {master_cli} }}

{steps}

[observe]
reproduced_if = "m < 0"

[observe.measure]
{measures}
"#
    )
}

fn load(text: &str) -> Result<Scenario, Vec<ScenarioError>> {
    load_with(Path::new("/s"), text, &|_| Ok(TEMPLATE.to_string()))
}

/// The errors, one per line, as the CLI prints them.
fn errors(text: &str) -> String {
    match load(text) {
        Ok(_) => panic!("loads:\n{text}"),
        Err(errors) => errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

const FLAP: &str = r#"[[step]]
flap = { name = "app", between = [["web1"], ["web2", "10.0.0.9"]], every = "300ms", times = 6, follow = "be/s1", record = "f" }"#;

#[test]
fn a_flap_loads_and_its_record_is_read_by_value() {
    let s = load(&scenario(
        false,
        FLAP,
        r#"m = { value = { record = "f", value = "followed" } }"#,
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    let steps = s.steps_of(&s.variants[0]);
    let word = steps[0].get_ref().word();
    assert_eq!(
        word.describe(),
        "flap app between [web1] [web2, 10.0.0.9] every 300ms x6, be/s1 following"
    );
    assert_eq!(word.record(), Some("f"));
    assert!(word.budget() >= std::time::Duration::from_millis(1800));
}

#[test]
fn flap_errors_are_located() {
    let bad = |step: &str| {
        errors(&scenario(
            false,
            step,
            r#"m = { log_lines = { role = "web1", contains = "x" } }"#,
        ))
    };
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"]], every = "300ms", times = 6 }"#);
    assert!(
        e.contains("/s/scenario.toml:13:34: step.flap.between: between 2 and 16 address sets"),
        "{e}"
    );
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], ["nobody"]], every = "300ms", times = 6 }"#);
    assert!(
        e.contains("step.flap.between: undefined name \"nobody\""),
        "{e}"
    );
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], []], every = "300ms", times = 6 }"#);
    assert!(e.contains("step.flap.between: an empty set"), "{e}");
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], ["web2"]], every = "1ms", times = 20000 }"#);
    assert!(
        e.contains("step.flap.times: 20000 is more than 10000"),
        "{e}"
    );
    assert!(e.contains("step.flap.every: at least 10ms"), "{e}");
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], ["web2"]], every = "1m", times = 100 }"#);
    assert!(
        e.contains("step.flap: times x every is more than 10m"),
        "{e}"
    );
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], ["web2"]], every = "300ms", times = 2, follow = "be/nope" }"#);
    assert!(e.contains("step.flap.follow") && e.contains("nope"), "{e}");
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], ["web2"]], every = "300ms", times = 2, until = { server = "be/s1", state = "SIDEWAYS" } }"#);
    assert!(
        e.contains("step.wait.state: unknown state \"SIDEWAYS\""),
        "{e}"
    );
    let e = bad(r#"[[step]]
flap = { name = "app", between = [["web1"], ["web2"]], every = "300ms", times = 2, colour = "red" }"#);
    assert!(e.contains("unknown field `colour`"), "{e}");
}

#[test]
fn a_flap_needs_a_dns_server() {
    let text = scenario(
        false,
        FLAP,
        r#"m = { value = { record = "f", value = "flips" } }"#,
    )
    .replace(
        r#"dns = { zone = "svc.test", records = [{ name = "app", a = ["web1"] }] }"#,
        "",
    );
    let e = errors(&text);
    assert!(
        e.contains("step.flap: the topology has no [topology.dns]"),
        "{e}"
    );
}

#[test]
fn a_value_measure_names_the_record_kinds_and_values() {
    let e = errors(&scenario(
        false,
        FLAP,
        r#"m = { value = { record = "f", value = "new_pid" } }"#,
    ));
    assert!(
        e.contains("observe.measure.m: unknown value \"new_pid\": expected one of flips, followed, until_met"),
        "{e}"
    );
    let e = errors(&scenario(
        false,
        r#"[[step]]
api = { command = "show info", record = "info" }"#,
        r#"m = { value = { record = "info", value = "flips" } }"#,
    ));
    assert!(
        e.contains("\"info\" is recorded by an api step (`show info`), but this measure reads a flap or reload step's record"),
        "{e}"
    );
}

const RELOAD: &str = r#"[[step]]
reload = { record = "r", within = "5s" }"#;

#[test]
fn a_reload_loads_on_a_master_worker_instance() {
    let s = load(&scenario(
        true,
        RELOAD,
        r#"m = { value = { record = "r", value = "new_pid" } }"#,
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    let word = s.steps_of(&s.variants[0])[0].get_ref().word();
    assert_eq!(
        word.describe(),
        "reload haproxy via the master CLI (within 5s)"
    );
    let signal = load(&scenario(
        true,
        r#"[[step]]
reload = { via = "signal" }"#,
        r#"m = { log_lines = { role = "web1", contains = "x" } }"#,
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    let word = signal.steps_of(&signal.variants[0])[0].get_ref().word();
    assert_eq!(word.describe(), "reload haproxy via SIGUSR2 (within 10s)");
}

#[test]
fn reload_errors_are_located() {
    let m = r#"m = { log_lines = { role = "web1", contains = "x" } }"#;
    let e = errors(&scenario(false, RELOAD, m));
    assert!(
        e.contains(
            "/s/scenario.toml:12:1: step.reload.on: \"haproxy\" is not in master-worker mode"
        ),
        "{e}"
    );
    let e = errors(&scenario(
        true,
        r#"[[step]]
reload = { via = "carrier-pigeon" }"#,
        m,
    ));
    assert!(
        e.contains("step.reload.via: \"carrier-pigeon\": expected \"cli\" or \"signal\""),
        "{e}"
    );
    let e = errors(&scenario(
        true,
        r#"[[step]]
reload = { on = "hapZ" }"#,
        m,
    ));
    assert!(e.contains("step.reload.on: undefined name \"hapZ\""), "{e}");
    let e = errors(&scenario(
        true,
        r#"[[step]]
reload = { within = "2h" }"#,
        m,
    ));
    assert!(
        e.contains("step.reload.within: 7200 is more than 600"),
        "{e}"
    );
}

#[test]
fn every_word_describes_itself_and_has_a_budget() {
    // The registry dispatches every word: a word that loads also describes itself.
    let s = load(&scenario(
        true,
        &format!("{FLAP}\n{RELOAD}\n[[step]]\nsleep = {{ for = \"1s\", because = \"b\" }}"),
        r#"m = { value = { record = "r", value = "old_pid" } }"#,
    ))
    .unwrap_or_else(|e| panic!("{e:?}"));
    for step in s.steps_of(&s.variants[0]) {
        let word = step.get_ref().word();
        assert!(!word.describe().is_empty());
        assert!(word.budget() > std::time::Duration::ZERO);
    }
}
