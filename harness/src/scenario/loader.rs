//! Loading a scenario folder: parse `scenario.toml` with spans, then check everything that can
//! be checked without Docker (names, ranges, conditions, the template), so that a mistake is
//! reported with its line before any container starts.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;

use super::check::{Checker, Cx, Flow, Names};
use super::error::ScenarioError;
use super::expr::Condition;
use super::model::*;
use super::outcome::Expectations;
use super::template;
use crate::haproxy::config::ConfigBackend;

/// A rendered config's backends, by name.
type ConfigServers = BTreeMap<String, ConfigBackend>;
use super::plan::{Scenario, Template, VariantPlan, SCENARIO_FILE};
use crate::haproxy::VersionRange;

/// Loads and checks `dir/scenario.toml` and its template. Returns every problem found, first
/// one first.
pub fn load(dir: &Path) -> Result<Scenario, Vec<ScenarioError>> {
    let file = dir.join(SCENARIO_FILE);
    let text = super::contain::read_no_follow(&file).map_err(|e| {
        vec![ScenarioError {
            file: file.clone(),
            line: 1,
            column: 1,
            field: "file".into(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    load_with(dir, &text, &|path: &Path| {
        super::contain::read_no_follow(path)
    })
}

/// [`load`] of a scenario file's text, reading its templates with `read`: for the fuzz target
/// (no files) and any caller that holds the files itself.
pub fn load_with(
    dir: &Path,
    text: &str,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<Scenario, Vec<ScenarioError>> {
    let file = dir.join(SCENARIO_FILE);
    let mut c = Checker {
        file: file.clone(),
        text,
        errors: Vec::new(),
    };
    let raw: ScenarioFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let field = e
                .message()
                .split('`')
                .nth(1)
                .unwrap_or("syntax")
                .to_string();
            c.error(span, &field, e.message().trim().to_string());
            return Err(c.errors);
        }
    };
    let scenario = check(&mut c, dir, raw, read);
    match scenario {
        Some(s) if c.errors.is_empty() => Ok(s),
        _ => Err(c.errors),
    }
}

fn check(
    c: &mut Checker,
    dir: &Path,
    raw: ScenarioFile,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Option<Scenario> {
    for feature in &raw.requires {
        if !crate::images::source::is_feature(feature.get_ref()) {
            c.error(
                feature.span(),
                "requires",
                format!(
                    "unknown feature {:?}; known: {}",
                    feature.get_ref(),
                    crate::images::source::feature_names()
                ),
            );
        }
    }
    c.plain(raw.name.get_ref(), raw.name.span(), "name");
    let topology = &raw.topology;
    let mut roles = BTreeSet::new();
    let mut named: Vec<(String, Range<usize>, &str)> = Vec::new();
    named.extend(topology.backends.iter().map(|b| {
        (
            b.name.get_ref().clone(),
            b.name.span(),
            "topology.backends.name",
        )
    }));
    named.extend(topology.clients.iter().map(|b| {
        (
            b.name.get_ref().clone(),
            b.name.span(),
            "topology.clients.name",
        )
    }));
    named.extend(topology.haproxy.get_ref().0.iter().map(|h| {
        (
            h.name.clone(),
            c.quoted(topology.haproxy.span(), &h.name),
            "topology.haproxy.name",
        )
    }));
    for (name, span, field) in named {
        // Roles name evidence files (`<role>.log`, `<instance>.cfg`, `core-<instance>`).
        c.plain(&name, span.clone(), field);
        if !roles.insert(name.clone()) {
            c.error(span, "topology", format!("the name {name:?} is used twice"));
        }
    }
    check_backends(c, topology);
    let instances: BTreeSet<String> = topology
        .haproxy
        .get_ref()
        .0
        .iter()
        .map(|h| h.name.clone())
        .collect();
    let clients: BTreeSet<String> = topology
        .clients
        .iter()
        .map(|h| h.name.get_ref().clone())
        .collect();
    if topology.haproxy.get_ref().0.is_empty() {
        c.error(
            0..0,
            "topology.haproxy",
            "at least one HAProxy instance is needed",
        );
    }
    for instance in &topology.haproxy.get_ref().0 {
        check_instance_extras(c, instance);
    }

    let expectations_of = |c: &mut Checker, table: &Spanned<ExpectTable>| {
        let mut expectations = Vec::new();
        for (range, outcome) in &table.get_ref().0 {
            match VersionRange::parse(range.get_ref()) {
                Ok(r) => expectations.push((r, *outcome.get_ref())),
                Err(e) => c.error(range.span(), "expect", e.to_string()),
            }
        }
        if table.get_ref().0.is_empty() {
            c.error(
                table.span(),
                "expect",
                "no expectation: add `\"*\" = \"not-reproduced\"` or ranges",
            );
        }
        Expectations(expectations)
    };
    let mut variants: Vec<VariantPlan> = Vec::new();
    let base_expectations = expectations_of(c, &raw.expect);
    if raw.variants.is_empty() {
        variants.push(VariantPlan {
            name: None,
            index: None,
            summary: None,
            vars: raw.vars.clone(),
            expectations: base_expectations.clone(),
            sysctls: BTreeMap::new(),
            repeat: 1,
            deadline: std::time::Duration::ZERO,
            reproduced_if: Condition::never(),
            valid_if: Vec::new(),
        });
    }
    let mut variant_names = BTreeSet::new();
    for (index, v) in raw.variants.iter().enumerate() {
        c.plain(v.name.get_ref(), v.name.span(), "variant.name");
        if !variant_names.insert(v.name.get_ref().clone()) {
            c.error(v.name.span(), "variant.name", "used twice");
        }
        for instance in v.sysctls.keys() {
            if !instances.contains(instance) {
                c.error(
                    v.name.span(),
                    "variant.sysctls",
                    format!("{instance:?} is not a HAProxy instance"),
                );
            }
        }
        let mut vars = raw.vars.clone();
        vars.extend(v.vars.clone());
        variants.push(VariantPlan {
            name: Some(v.name.get_ref().clone()),
            index: Some(index),
            reproduced_if: Condition::never(),
            valid_if: Vec::new(),
            summary: v.summary.clone(),
            vars,
            expectations: match &v.expect {
                Some(table) => expectations_of(c, table),
                None => base_expectations.clone(),
            },
            sysctls: v.sysctls.clone(),
            repeat: 1,
            deadline: std::time::Duration::ZERO,
        });
    }

    if let Some(dns) = &raw.topology.dns {
        for record in &dns.records {
            for a in record.a.iter().flatten() {
                c.role_or_ip(&roles, a, "topology.dns.records.a");
            }
            for srv in record.srv.iter().flatten() {
                c.role(&roles, &srv.target, "topology.dns.records.srv.target");
            }
        }
        for fault in &dns.faults {
            if let Err(e) =
                super::words::parse_fault(fault.kind.get_ref(), fault.delay.map(|d| d.0))
            {
                c.error(fault.kind.span(), "topology.dns.faults.kind", e);
            }
            if let Some(client) = &fault.client {
                c.role(&roles, client, "topology.dns.faults.client");
            }
        }
    }
    if let Some(capture) = &raw.topology.capture {
        c.role(&roles, &capture.syn_from, "topology.capture.syn_from");
    }

    // The templates first: each variant's rendered configs tell which backends and servers
    // exist, for the steps and measures that name one.
    let mut templates = Vec::new();
    let mut configs: Vec<BTreeMap<String, ConfigServers>> = vec![BTreeMap::new(); variants.len()];
    for instance in &topology.haproxy.get_ref().0 {
        let path = match super::contain::scenario_file(dir, instance.config.get_ref()) {
            Ok(path) => path,
            Err(e) => {
                c.error(instance.config.span(), "topology.haproxy.config", e);
                continue;
            }
        };
        match read(&path) {
            Ok(text) => {
                for (variant, config) in variants.iter().zip(configs.iter_mut()) {
                    let placeholders = with_vars(placeholder_values(&raw, &roles), &variant.vars);
                    match template::render(&text, &placeholders) {
                        Ok(rendered) => {
                            config.insert(
                                instance.name.clone(),
                                crate::haproxy::config::backends(&rendered),
                            );
                        }
                        Err(errors) => {
                            for e in errors {
                                c.errors.push(ScenarioError {
                                    file: path.clone(),
                                    line: e.line,
                                    column: e.column,
                                    field: "template".into(),
                                    message: format!(
                                        "{}{}",
                                        e.message,
                                        variant
                                            .name
                                            .as_ref()
                                            .map(|v| format!(" (variant {v})"))
                                            .unwrap_or_default(),
                                    ),
                                });
                            }
                        }
                    }
                }
                templates.push(Template {
                    instance: instance.name.clone(),
                    path,
                    text,
                });
            }
            Err(e) => c.error(
                instance.config.span(),
                "topology.haproxy.config",
                format!("missing template {}: {e}", path.display()),
            ),
        }
    }

    let names = Names {
        roles: &roles,
        instances: &instances,
        clients: &clients,
        backends: topology
            .backends
            .iter()
            .map(|b| (b.name.get_ref().clone(), b.mode))
            .collect(),
        first_instance: topology.haproxy.get_ref().0.first().map(|h| h.name.clone()),
        dns_names: dns_names(&raw),
        has_dns: raw.topology.dns.is_some(),
        step_started: topology
            .haproxy
            .get_ref()
            .0
            .iter()
            .filter(|h| h.start == StartMode::Step)
            .map(|h| h.name.clone())
            .collect(),
        master_cli: topology
            .haproxy
            .get_ref()
            .0
            .iter()
            .filter(|h| h.master_cli)
            .map(|h| h.name.clone())
            .collect(),
    };
    // Each variant runs its own steps and observations, or the scenario's.
    for (plan, config) in variants.iter_mut().zip(&configs) {
        let variant = plan.index.map(|i| &raw.variants[i]);
        if let Some(repeat) = variant
            .and_then(|v| v.repeat.as_ref())
            .or(raw.repeat.as_ref())
        {
            let max = super::bounds::REPEAT;
            if *repeat.get_ref() == 0 || *repeat.get_ref() > max {
                c.error(repeat.span(), "repeat", format!("between 1 and {max}"));
            }
            plan.repeat = (*repeat.get_ref()).clamp(1, max);
        }
        let steps = match variant {
            Some(v) if !v.steps.is_empty() => &v.steps,
            _ => &raw.steps,
        };
        plan.deadline = match variant
            .and_then(|v| v.deadline.as_ref())
            .or(raw.deadline.as_ref())
        {
            Some(d) => {
                if d.get_ref().0 > super::bounds::DEADLINE || d.get_ref().0.is_zero() {
                    c.error(
                        d.span(),
                        "deadline",
                        format!(
                            "between 1s and {}",
                            super::duration::Dur(super::bounds::DEADLINE)
                        ),
                    );
                }
                d.get_ref().0
            }
            None => super::deadline::derive(steps.iter().map(|s| s.get_ref().word().budget())),
        };
        let Some(observe) = variant
            .and_then(|v| v.observe.as_ref())
            .or(raw.observe.as_ref())
        else {
            c.error(
                0..0,
                "observe",
                "no [observe] for the scenario or this variant",
            );
            continue;
        };
        let mut flow = Flow::new(
            raw.topology
                .capture
                .as_ref()
                .map(|c| c.syn_from.get_ref().clone()),
        );
        for step in steps {
            check_step(c, &names, step, &mut flow);
        }
        let mut measure_names = BTreeSet::new();
        for (name, measure) in &observe.measure {
            measure_names.insert(name.clone());
            check_measure(c, &names, &mut flow, name, measure);
        }
        flow.check_servers(c, &names, config);
        let condition =
            |c: &mut Checker, text: &Spanned<String>, field: &str| -> Option<Condition> {
                match Condition::parse(text.get_ref()) {
                    Ok(cond) => {
                        for m in cond.measures() {
                            if !measure_names.contains(m) {
                                let known =
                                    measure_names.iter().cloned().collect::<Vec<_>>().join(", ");
                                c.error(
                                    text.span(),
                                    field,
                                    format!(
                                    "undefined measure {m:?}: [observe.measure] defines {known}"
                                ),
                                );
                            }
                        }
                        Some(cond)
                    }
                    Err(e) => {
                        c.error(text.span(), field, e);
                        None
                    }
                }
            };
        if let Some(cond) = condition(c, &observe.reproduced_if, "observe.reproduced_if") {
            plan.reproduced_if = cond;
        }
        plan.valid_if = observe
            .valid_if
            .iter()
            .filter_map(|v| condition(c, v, "observe.valid_if"))
            .collect();
    }

    // Steps shared by several variants are checked once per variant: report each problem once.
    let mut seen = BTreeSet::new();
    c.errors.retain(|e| seen.insert(e.to_string()));

    Some(Scenario {
        dir: dir.to_path_buf(),
        name: raw.name.get_ref().clone(),
        digest: digest(c.text, &templates),
        variants,
        templates,
        roles,
        raw,
    })
}

/// What a record says of the scenario it ran: the SHA-256 of its file and templates, so a merge
/// can tell results of two different texts of one scenario apart.
fn digest(text: &str, templates: &[Template]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    for t in templates {
        h.update([0]);
        h.update(t.instance.as_bytes());
        h.update([0]);
        h.update(t.text.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}

/// Each backend's behaviour against its mode, and the fixed addresses (`host`) of backends
/// and clients: in range, and no two roles on one.
fn check_backends(c: &mut Checker, topology: &Topology) {
    for b in &topology.backends {
        let whole = b.name.span();
        for (at, field, message) in b.change().problems(b.name.get_ref(), b.mode, whole) {
            c.error(at, &format!("topology.backends.{field}"), message);
        }
    }
    let mut hosts: BTreeMap<u8, String> = BTreeMap::new();
    let fixed = topology
        .backends
        .iter()
        .map(|b| (&b.name, &b.host))
        .chain(topology.clients.iter().map(|c| (&c.name, &c.host)));
    for (name, host) in fixed {
        let Some(host) = host else { continue };
        let n = *host.get_ref();
        if !(100..=249).contains(&n) {
            c.error(
                host.span(),
                "topology.host",
                format!(
                    "{}: host {n} is outside 100-249 (below are the gateway and the addresses \
                     given in order, 250 is {{{{ spare.ip }}}})",
                    name.get_ref()
                ),
            );
        }
        if let Some(other) = hosts.insert(n, name.get_ref().clone()) {
            c.error(
                host.span(),
                "topology.host",
                format!(
                    "{} and {other} have the same address (host {n}): give each role its own",
                    name.get_ref()
                ),
            );
        }
    }
}

/// Names the DNS server knows of: records, faults, and names steps set, remove or fault, all
/// relative to the zone and lowercase.
fn dns_names(raw: &ScenarioFile) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(dns) = &raw.topology.dns else {
        return out;
    };
    let relative = |name: &str| {
        let zone = dns.zone.trim_end_matches('.').to_ascii_lowercase();
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.strip_suffix(&format!(".{zone}"))
            .map(str::to_string)
            .unwrap_or(name)
    };
    for r in &dns.records {
        out.insert(relative(&r.name));
        for srv in r.srv.iter().flatten() {
            out.insert(relative(srv.target.get_ref()));
        }
    }
    for f in &dns.faults {
        out.insert(relative(&f.name));
    }
    let steps = raw
        .steps
        .iter()
        .chain(raw.variants.iter().flat_map(|v| &v.steps));
    for step in steps {
        for name in step.get_ref().word().dns_names() {
            out.insert(relative(name));
        }
    }
    out
}

/// A step's load-time checks are its word's (`step/<word>.rs`).
fn check_step(c: &mut Checker, names: &Names, step: &Spanned<Step>, flow: &mut Flow) {
    let mut cx = Cx {
        c,
        names,
        flow,
        span: step.span(),
        field: "step".into(),
    };
    step.get_ref().word().check(&mut cx);
}

/// A measure's load-time checks are its own (`measure/<name>.rs`).
fn check_measure(
    c: &mut Checker,
    names: &Names,
    flow: &mut Flow,
    name: &str,
    measure: &Spanned<Measure>,
) {
    let mut cx = Cx {
        c,
        names,
        flow,
        span: measure.span(),
        field: format!("observe.measure.{name}"),
    };
    measure.get_ref().word().check(&mut cx);
}

/// Every placeholder a template may use, with stand-in values; the runner fills real ones.
pub(crate) fn placeholder_values(
    raw: &ScenarioFile,
    roles: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    values.insert("sock.dir".into(), super::case::SOCK_DIR.into());
    values.insert("files.dir".into(), super::case::FILES_DIR.into());
    values.insert("spare.ip".into(), "192.0.2.250".to_string());
    for role in roles {
        values.insert(format!("{role}.ip"), "192.0.2.1".to_string());
    }
    for b in &raw.topology.backends {
        values.insert(format!("{}.port", b.name.get_ref()), b.port.to_string());
    }
    for instance in &raw.topology.haproxy.get_ref().0 {
        let name = &instance.name;
        values.insert(format!("{name}.api_port"), instance.api_port.to_string());
    }
    if let Some(first) = raw.topology.haproxy.get_ref().0.first() {
        values.insert("api.port".into(), first.api_port.to_string());
    }
    if let Some(dns) = &raw.topology.dns {
        values.insert("zone".into(), dns.zone.trim_end_matches('.').to_string());
        values.insert("dns.ip".into(), "192.0.2.53".into());
        values.insert("dns.port".into(), "53".into());
        values.insert("dns.addr".into(), "192.0.2.53:53".into());
    }
    values
}

/// `cpus` must be a CPU list `taskset -c` takes; generated files need a plain name, one line
/// without newline, and a bounded size.
fn check_instance_extras(c: &mut Checker, instance: &super::model::HaproxySetup) {
    if let Some(cpus) = &instance.cpus {
        let list = cpus.get_ref();
        if list.is_empty()
            || !list
                .chars()
                .all(|ch| ch.is_ascii_digit() || ch == ',' || ch == '-')
        {
            c.error(
                cpus.span(),
                "topology.haproxy.cpus",
                format!("{list:?} is not a CPU list (\"0\", \"0,2\", \"0-1\")"),
            );
        }
    }
    for file in &instance.files {
        let name = file.name.get_ref();
        if let Err(e) = super::contain::plain_word(name) {
            c.error(
                file.name.span(),
                "topology.haproxy.files.name",
                format!("{e}; a file of {{{{ files.dir }}}}, never a path"),
            );
        } else if name == "haproxy.cfg" {
            c.error(
                file.name.span(),
                "topology.haproxy.files.name",
                format!("{name:?}: a plain file name, not haproxy.cfg"),
            );
        }
        if file.line.get_ref().contains('\n') {
            c.error(
                file.line.span(),
                "topology.haproxy.files.line",
                "one line, no newline",
            );
        }
        let size = (file.line.get_ref().len() as u64 + 12) * u64::from(file.lines);
        if size > MAX_GENERATED_BYTES {
            c.error(
                file.name.span(),
                "topology.haproxy.files.lines",
                format!("about {size} bytes: at most {MAX_GENERATED_BYTES}"),
            );
        }
    }
}

/// Generated files are copied into the container with the config: keep them small.
const MAX_GENERATED_BYTES: u64 = 16 * 1024 * 1024;

/// Adds `vars.NAME` to the values; a var may itself use placeholders (`{{ hapA.ip }}`), filled
/// from the values given. Undefined names inside a var are left for the template check to report.
pub(crate) fn with_vars(
    mut values: BTreeMap<String, String>,
    vars: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let rendered: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| {
            let value = template::render(v, &values).unwrap_or_else(|_| v.clone());
            (format!("vars.{k}"), value)
        })
        .collect();
    values.extend(rendered);
    values
}
