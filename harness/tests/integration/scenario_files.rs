//! Every scenario folder parses, checks and renders its template, without Docker; and bad
//! scenario files are reported with file, line, column and field.

use std::path::Path;

use haprepro::scenario;

use crate::support::scenarios_dir;

#[test]
fn every_shipped_scenario_loads() {
    let names = scenario::list(&scenarios_dir());
    assert!(names.contains(&"smoke".to_string()), "{names:?}");
    for name in names {
        let dir = scenarios_dir().join(&name);
        let loaded = scenario::load(&dir).unwrap_or_else(|errors| {
            panic!(
                "{name}: {}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert_eq!(
            loaded.name, name,
            "the name in scenario.toml must be its folder's"
        );
        assert!(loaded.variants.iter().all(|v| !v.expectations.0.is_empty()));
    }
}

fn write_scenario(dir: &Path, toml: &str, template: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("scenario.toml"), toml).unwrap();
    if let Some(t) = template {
        std::fs::write(dir.join("haproxy.cfg"), t).unwrap();
    }
}

const GOOD: &str = r#"name = "t"
summary = "s"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1" }]
haproxy = { config = "haproxy.cfg" }

[[step]]
http = { to = "haproxy:8080", record = "answers" }

[observe]
reproduced_if = "ok < 1"

[observe.measure]
ok = { responses = { record = "answers", from = ["web1"] } }
"#;

fn errors_of(name: &str, toml: &str, template: Option<&str>) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("haprepro-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_scenario(&dir, toml, template);
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
fn a_good_file_loads() {
    assert_eq!(
        errors_of("good", GOOD, Some("x {{ web1.ip }}\n")),
        Vec::<String>::new()
    );
}

#[test]
fn unknown_step_is_located() {
    let bad = GOOD.replace("http = { to", "htp = { to");
    let errors = errors_of("step", &bad, Some(""));
    assert!(
        errors[0].starts_with("12:1:") && errors[0].contains("htp"),
        "{errors:?}"
    );
}

#[test]
fn bad_duration_is_located() {
    let bad = GOOD.replace(
        "record = \"answers\" }",
        "record = \"answers\", timeout = \"5x\" }",
    );
    let errors = errors_of("duration", &bad, Some(""));
    assert!(
        errors[0].starts_with("12:") && errors[0].contains("bad duration \"5x\""),
        "{errors:?}"
    );
}

#[test]
fn missing_template_is_located() {
    let errors = errors_of("template", GOOD, None);
    assert!(
        errors[0].starts_with("9:") && errors[0].contains("missing template"),
        "{errors:?}"
    );
}

#[test]
fn undefined_names_are_located() {
    let bad = GOOD.replace("from = [\"web1\"]", "from = [\"web2\"]");
    let errors = errors_of("name", &bad, Some("a\n  {{ web9.ip }}\n"));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("18:") && e.contains("undefined name \"web2\"")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("2:3:template") && e.contains("web9.ip")),
        "{errors:?}"
    );
}

#[test]
fn unknown_keys_and_bad_ranges_are_rejected() {
    let bad = GOOD.replace("summary = \"s\"", "summary = \"s\"\nsumary = \"typo\"");
    assert!(errors_of("key", &bad, Some(""))[0].contains("sumary"));
    let bad = GOOD.replace(
        "\"*\" = \"not-reproduced\"",
        "\"3.0-devX\" = \"not-reproduced\"",
    );
    let errors = errors_of("range", &bad, Some(""));
    assert!(errors[0].starts_with("5:1:expect"), "{errors:?}");
    let bad = GOOD.replace("reproduced_if = \"ok < 1\"", "reproduced_if = \"nope < 1\"");
    assert!(errors_of("measure", &bad, Some(""))[0].contains("undefined measure \"nope\""));
}

#[test]
fn expect_ranges_keep_their_written_order() {
    // "*" sorts before "3": a table read in key order would let it win over the dev range.
    let dir = scenarios_dir().join("dns-flap-check-port-zero");
    let loaded = scenario::load(&dir).unwrap();
    let dev = haprepro::haproxy::HaproxyVersion::parse("3.0-dev5").unwrap();
    let (range, outcome) = loaded.variants[0].expectations.for_version(&dev).unwrap();
    assert_eq!(
        (range.to_string(), outcome),
        (
            "3.0-dev1..3.0-dev12".to_string(),
            scenario::Outcome::Reproduced
        )
    );
    let dir = scenarios_dir().join("master-cli-exhaustion");
    let loaded = scenario::load(&dir).unwrap();
    let five_d = loaded.variant(Some("5d-close-wait")).unwrap();
    let v = haprepro::haproxy::HaproxyVersion::parse("3.0.3").unwrap();
    assert_eq!(
        five_d.expectations.for_version(&v).unwrap().1,
        scenario::Outcome::Reproduced
    );
}

#[test]
fn generated_files_cpus_and_prompt_mode_are_checked() {
    let files = GOOD.replace(
        "haproxy = { config = \"haproxy.cfg\" }",
        "haproxy = { config = \"haproxy.cfg\", cpus = \"0,x\", files = [{ name = \"a/b.map\", lines = 2, line = \"k{{ n }} v\" }] }",
    );
    let errors = errors_of("files", &files, Some("{{ files.dir }}\n"));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("9:") && e.contains("topology.haproxy.cpus")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("topology.haproxy.files.name")),
        "{errors:?}"
    );
    let prompt = GOOD.replace(
        "http = { to = \"haproxy:8080\", record = \"answers\" }",
        "http = { to = \"haproxy:8080\", record = \"answers\" }\n[[step]]\nunix = { socket = \"master.sock\", hold = 1, per_connection = 3 }",
    );
    let errors = errors_of("prompt", &prompt, Some(""));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("13:") && e.contains("need prompt = true")),
        "{errors:?}"
    );
}

#[test]
fn a_generated_file_has_equal_numbered_lines() {
    let toml = GOOD.replace(
        "haproxy = { config = \"haproxy.cfg\" }",
        "haproxy = { config = \"haproxy.cfg\", files = [{ name = \"m.map\", lines = 11, line = \"k{{ n }} v\" }] }",
    );
    let dir = std::env::temp_dir().join(format!("haprepro-test-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    write_scenario(&dir, &toml, Some(""));
    let loaded = scenario::load(&dir).map_err(|e| format!("{e:?}")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let contents = loaded.raw.topology.haproxy.get_ref().0[0].files[0].contents();
    let lines: Vec<&str> = contents.lines().collect();
    assert_eq!((lines.len(), lines[0], lines[10]), (11, "k00 v", "k10 v"));
}

/// A scenario that reads every kind of evidence, for the checks below.
const EVIDENCE: &str = r#"name = "t"
summary = "s"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1" }]
dns = { zone = "svc.test", records = [{ name = "app", a = ["web1"] }] }
haproxy = { config = "haproxy.cfg" }
capture = { syn_from = "haproxy" }

[[step]]
wait = { server = "be/app1", state = "UP" }
[[step]]
wait = { syn = { from = "haproxy", to = "web1" } }
[[step]]
http = { to = "haproxy:8080", record = "answers" }
[[step]]
api = { command = "show servers state be", record = "servers" }
[[step]]
api = { command = "show table be", record = "table" }
[[step]]
sessions = { to = "haproxy:8080", count = 2, record = "load" }
[[step]]
snapshot = { of = "load", record = "snap" }

[observe]
reproduced_if = "port0 >= 1"

[observe.measure]
port0 = { syns = { from = "haproxy", dst_port = 0 } }
up = { servers_with = { record = "servers", server = "be/app1", field = "srv_op_state", equals = "2" } }
sticks = { table_entries = { record = "table", field = "server_id", equals = "1" } }
nx = { dns_queries = { name = "app", qtype = "A", answer = "NXDOMAIN" } }
open = { sessions = { record = "snap", server = "web1", state = "open" } }
ok = { responses = { record = "answers", from = ["web1"] } }
"#;

const EVIDENCE_CFG: &str = "global\n    stats socket ipv4@0.0.0.0:{{ api.port }} level admin\n\
    backend be\n    server-template app 1 app.{{ zone }}:8000 resolvers dns\n";

/// The errors of EVIDENCE with one text replaced (which must be in it).
fn evidence_errors(name: &str, from: &str, to: &str) -> Vec<String> {
    assert!(EVIDENCE.contains(from), "{from:?} is not in the base file");
    errors_of(name, &EVIDENCE.replace(from, to), Some(EVIDENCE_CFG))
}

fn assert_error(errors: &[String], field: &str, words: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.contains(field) && e.contains(words)),
        "no error on {field} saying {words:?}: {errors:?}"
    );
}

#[test]
fn the_evidence_scenario_loads() {
    assert_eq!(
        errors_of("evidence", EVIDENCE, Some(EVIDENCE_CFG)),
        Vec::<String>::new()
    );
}

#[test]
fn syns_need_a_capture_of_their_role() {
    let errors = evidence_errors("nocap", "capture = { syn_from = \"haproxy\" }\n", "");
    assert_error(
        &errors,
        "observe.measure.port0",
        "no capture takes haproxy's SYNs",
    );
    assert_error(&errors, "step.wait.syn", "no capture is running here");
    let errors = evidence_errors(
        "othercap",
        "capture = { syn_from = \"haproxy\" }",
        "capture = { syn_from = \"web1\" }",
    );
    assert_error(
        &errors,
        "observe.measure.port0",
        "no capture takes haproxy's SYNs",
    );
    assert_error(&errors, "step.wait.syn.from", "takes web1's SYNs only");
}

#[test]
fn a_record_name_written_twice_is_rejected() {
    let errors = evidence_errors("dup", "record = \"table\" }", "record = \"servers\" }");
    assert!(
        errors.iter().any(|e| e.starts_with("21:1:step.record")
            && e.contains("\"servers\" is already written by the step at line 19")),
        "{errors:?}"
    );
}

#[test]
fn a_record_of_the_wrong_kind_is_rejected() {
    let errors = evidence_errors(
        "kind",
        "servers_with = { record = \"servers\"",
        "servers_with = { record = \"answers\"",
    );
    assert_error(
        &errors,
        "observe.measure.up",
        "\"answers\" is recorded by an http step, but this measure reads a `show servers state` answer",
    );
    let errors = evidence_errors(
        "kind2",
        "record = \"snap\", server",
        "record = \"load\", server",
    );
    assert_error(
        &errors,
        "observe.measure.open",
        "recorded by a sessions step",
    );
    let errors = evidence_errors(
        "kind3",
        "table_entries = { record = \"table\"",
        "table_entries = { record = \"servers\"",
    );
    assert_error(&errors, "observe.measure.sticks", "a `show table` answer");
}

#[test]
fn selectors_that_name_nothing_of_the_case_are_rejected() {
    let cases = [
        (
            "server = \"be/app1\", field",
            "server = \"be/app2\", field",
            "observe.measure.up.server",
            "backend be has no server \"app2\"; it declares app1",
        ),
        (
            "field = \"srv_op_state\"",
            "field = \"srv_op_stat\"",
            "observe.measure.up.field",
            "\"srv_op_stat\" is no column of `show servers state`",
        ),
        (
            "field = \"server_id\"",
            "field = \"serverid\"",
            "observe.measure.sticks.field",
            "\"serverid\" is no stick-table field",
        ),
        (
            "name = \"app\", qtype",
            "name = \"ap\", qtype",
            "observe.measure.nx.name",
            "\"ap\" is no name of the zone: it has app",
        ),
        (
            "qtype = \"A\"",
            "qtype = \"AA\"",
            "observe.measure.nx.qtype",
            "unknown query type \"AA\"",
        ),
        (
            "server = \"web1\", state",
            "server = \"web2\", state",
            "observe.measure.open.server",
            "\"web2\" is no backend of the topology",
        ),
        (
            "wait = { server = \"be/app1\"",
            "wait = { server = \"bee/app1\"",
            "step.wait.server",
            "no backend \"bee\" in the config; it declares be",
        ),
    ];
    for (i, (from, to, field, words)) in cases.iter().enumerate() {
        let errors = evidence_errors(&format!("selector{i}"), from, to);
        assert_error(&errors, field, words);
    }
}

#[test]
fn count_waits_are_checked_at_load() {
    let count = "wait = { server = \"be/app1\", state = \"UP\" }";
    let errors = evidence_errors(
        "count1",
        count,
        "wait = { servers = \"be*/web*\", state = \"UP\", on_timeout = \"maybe\" }",
    );
    assert_error(
        &errors,
        "step.wait.servers",
        "matches no server of the config",
    );
    assert_error(
        &errors,
        "step.wait.on_timeout",
        "expected \"error\" or \"observation\"",
    );
    let errors = evidence_errors(
        "count2",
        count,
        "wait = { server = \"be/app1\", state = \"UP\", on_timeout = \"observation\" }",
    );
    assert_error(&errors, "step.wait.on_timeout", "only a count wait");
    let ok = evidence_errors(
        "count3",
        count,
        "wait = { servers = [\"be/app1\"], state = \"UP\", record = \"n\" }",
    );
    assert_eq!(ok, Vec::<String>::new());
    let errors = evidence_errors(
        "count4",
        "ok = { responses",
        "n = { counted = { record = \"answers\" } }\nok = { responses",
    );
    assert_error(
        &errors,
        "observe.measure.n",
        "but this measure reads a count wait's tally",
    );
}

#[test]
fn template_loops_are_located_and_feed_the_server_checks() {
    let looped = "global\n    stats socket ipv4@0.0.0.0:{{ api.port }} level admin\n\
                  {{ for i in 1..=3 }}\nbackend be{{ i }}\n    server app1 x{{ j }}\n{{ end }}\n";
    let errors = errors_of(
        "loop",
        &EVIDENCE.replace("be/app1", "be3/app1"),
        Some(looped),
    );
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("5:18:template") && e.contains("undefined name \"j\"")),
        "{errors:?}"
    );
    let fixed = looped.replace("x{{ j }}", "x{{ i }}");
    let errors = errors_of(
        "loop2",
        &EVIDENCE.replace("be/app1", "be3/app1"),
        Some(&fixed),
    );
    assert_eq!(errors, Vec::<String>::new());
    let errors = errors_of(
        "loop3",
        &EVIDENCE.replace("be/app1", "be4/app1"),
        Some(&fixed),
    );
    assert_error(&errors, "step.wait.server", "no backend \"be4\"");
    let errors = errors_of("loop4", EVIDENCE, Some("{{ for i in 1..=3 }}\nx\n"));
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("1:1:template") && e.contains("no `{{ end }}`")),
        "{errors:?}"
    );
}

#[test]
fn counts_and_durations_are_bounded_and_the_deadline_can_be_set() {
    let errors = evidence_errors(
        "bound1",
        "record = \"answers\" }",
        "record = \"answers\", count = 20000000 }",
    );
    assert_error(&errors, "step.http.count", "20000000 is more than 10000");
    let errors = evidence_errors(
        "bound2",
        "state = \"UP\" }",
        "state = \"UP\", within = \"5h\" }",
    );
    assert_error(&errors, "step.wait.within", "more than 600");
    let errors = evidence_errors(
        "deadline",
        "summary = \"s\"",
        "summary = \"s\"\ndeadline = \"2h\"",
    );
    assert_error(&errors, "deadline", "between 1s and 1h");
    let dir = std::env::temp_dir().join(format!("haprepro-deadline-{}", std::process::id()));
    write_scenario(
        &dir,
        &EVIDENCE.replace("summary = \"s\"", "summary = \"s\"\ndeadline = \"90s\""),
        Some(EVIDENCE_CFG),
    );
    let loaded = scenario::load(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        loaded.variants[0].deadline,
        std::time::Duration::from_secs(90)
    );
}

#[test]
fn crash_measures_name_an_instance_of_the_topology() {
    let bad = GOOD.replace(
        "ok = { responses",
        "died = { crashed = \"hapB\" }\nsig = { crash_signal = \"haproxy\" }\nok = { responses",
    );
    let errors = errors_of("crashed", &bad, Some("x {{ web1.ip }}\n"));
    assert!(
        errors.iter().any(|e| e.starts_with("18:20:")
            && e.contains("observe.measure.died")
            && e.contains("undefined name \"hapB\"")),
        "{errors:?}"
    );
    assert!(
        !errors.iter().any(|e| e.contains("observe.measure.sig")),
        "{errors:?}"
    );
}

#[test]
fn the_master_socket_needs_master_cli() {
    let bad = GOOD.replace(
        "http = { to = \"haproxy:8080\", record = \"answers\" }",
        "http = { to = \"haproxy:8080\", record = \"answers\" }\n[[step]]\n\
         unix = { socket = \"master.sock\", command = \"show proc\" }",
    );
    let errors = errors_of("mastersock", &bad, Some("x {{ web1.ip }}\n"));
    assert!(
        errors.iter().any(|e| e.starts_with("13:1:")
            && e.contains("step.unix.socket")
            && e.contains("haproxy has no master CLI")),
        "{errors:?}"
    );
    let good = bad.replace(
        "haproxy = { config = \"haproxy.cfg\" }",
        "haproxy = { config = \"haproxy.cfg\", master_cli = true }",
    );
    assert_eq!(
        errors_of("mastersock-ok", &good, Some("x {{ web1.ip }}\n")),
        Vec::<String>::new()
    );
}

/// Every field of a scenario that names a file or becomes one: roles, instances, variants,
/// records, generated files, the unix socket and the config template.
const CONTAINED: &str = r#"name = "t"
summary = "s"

[expect]
"*" = "not-reproduced"

[topology]
backends = [{ name = "web1" }]
clients = [{ name = "c1" }]
haproxy = [{ name = "hapA", config = "haproxy.cfg", master_cli = true, files = [{ name = "answer.map", lines = 1, line = "k v" }] }]

[[variant]]
name = "v1"

[[step]]
http = { to = "hapA:8080", from = "c1", record = "answers" }
[[step]]
unix = { socket = "master.sock", command = "show proc", record = "master" }

[observe]
reproduced_if = "ok < 1"

[observe.measure]
ok = { responses = { record = "answers", from = ["web1"] } }
"#;

/// `line:column` of the first `needle` in `text`, as the errors count.
fn position(text: &str, needle: &str) -> String {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the file"));
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap().chars().count() + 1;
    format!("{line}:{column}")
}

/// Names and paths are contained (docs/writing-scenarios.md, "Names and paths"; DESIGN, "The
/// trust boundary"): each field, given an absolute path, a `..` path or (for files) a link out of
/// the folder, is refused at its line and column, and loading writes nothing anywhere.
#[test]
fn names_and_paths_are_contained_in_their_folders() {
    let root = std::env::temp_dir().join(format!("haprepro-contain-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // Outside the scenario folder: a file worth stealing, a folder that must stay as it is.
    let outside = root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    // Read as a template, it would be an error naming `stolen`.
    std::fs::write(outside.join("secret.cfg"), "{{ stolen }}\n").unwrap();
    let abs = outside.join("x").display().to_string();
    let up = "../../../../../../../../tmp/x";
    let template = "x {{ web1.ip }}\n";
    assert_eq!(
        errors_of("contain-good", CONTAINED, Some(template)),
        Vec::<String>::new()
    );

    // (field, the value as written in CONTAINED, the bad value, what the error says)
    let names = [
        ("name", "\"t\"", "plain name"),
        ("topology.backends.name", "\"web1\"", "plain name"),
        ("topology.clients.name", "\"c1\"", "plain name"),
        ("topology.haproxy.name", "\"hapA\"", "plain name"),
        (
            "topology.haproxy.files.name",
            "\"answer.map\"",
            "plain name",
        ),
        ("variant.name", "\"v1\"", "plain name"),
        ("step.record", "\"master\"", "plain name"),
        ("step.unix.socket", "\"master.sock\"", "socket folder"),
        ("topology.haproxy.config", "\"haproxy.cfg\"", ""),
    ];
    let mut rows: Vec<(&str, &str, String, &str)> = Vec::new();
    for (field, written, words) in names {
        let config = field == "topology.haproxy.config";
        rows.push((
            field,
            written,
            format!("\"{abs}\""),
            if config { "absolute path" } else { words },
        ));
        rows.push((
            field,
            written,
            format!("\"{up}\""),
            if config { "`..`" } else { words },
        ));
    }
    // The socket named by its path in the folder (Docker's socket, as the issue has it).
    rows.push((
        "step.unix.socket",
        "\"master.sock\"",
        "\"/var/run/docker.sock\"".into(),
        "socket folder",
    ));
    // Links out of the folder: the file itself, and a folder on the way.
    rows.push((
        "topology.haproxy.config",
        "\"haproxy.cfg\"",
        "\"out.cfg\"".into(),
        "out of the scenario folder",
    ));
    rows.push((
        "topology.haproxy.config",
        "\"haproxy.cfg\"",
        "\"up/secret.cfg\"".into(),
        "out of the scenario folder",
    ));
    // A link inside the folder is not followed either.
    rows.push((
        "topology.haproxy.config",
        "\"haproxy.cfg\"",
        "\"in.cfg\"".into(),
        "symbolic link",
    ));

    for (i, (field, written, bad, words)) in rows.iter().enumerate() {
        // The line that holds the field, with its value replaced: only that occurrence.
        let line = CONTAINED
            .lines()
            .find(|l| {
                l.contains(&format!(
                    "{} = {written}",
                    field.rsplit('.').next().unwrap()
                )) && (*field != "name" || l.starts_with("name"))
                    && (*field != "variant.name" || *written == "\"v1\"")
            })
            .unwrap_or_else(|| panic!("{field}: {written} is not in the file"));
        let toml = CONTAINED.replacen(line, &line.replacen(written, bad, 1), 1);
        let expected = position(&toml, &line.replacen(written, bad, 1))
            .split(':')
            .next()
            .unwrap()
            .to_string();
        let column = line.replacen(written, bad, 1).find(bad.as_str()).unwrap() + 1;
        let dir = root.join(format!("case-{i}"));
        write_scenario(&dir, &toml, Some(template));
        std::os::unix::fs::symlink(outside.join("secret.cfg"), dir.join("out.cfg")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("up")).unwrap();
        std::os::unix::fs::symlink(dir.join("haproxy.cfg"), dir.join("in.cfg")).unwrap();
        let errors: Vec<String> = match scenario::load(&dir) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| format!("{}:{}:{}:{}", e.line, e.column, e.field, e.message))
                .collect(),
        };
        let at = format!("{expected}:{column}:{field}:");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&at) && e.contains(words)),
            "{field} = {bad}: no error at {at} saying {words:?}: {errors:?}"
        );
        assert!(
            errors.iter().all(|e| !e.contains("stolen")),
            "{field} = {bad}: the outside file was read: {errors:?}"
        );
    }
    // Nothing was written outside the scenario folders.
    let left: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("secret.cfg")]);
    assert!(!Path::new("/tmp/x").exists() || Path::new("/tmp/x").is_dir());
    let _ = std::fs::remove_dir_all(&root);
}
