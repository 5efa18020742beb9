//! Loading a scenario folder: parse `scenario.toml` with spans, then check everything that can
//! be checked without Docker (names, ranges, conditions, the template), so that a mistake is
//! reported with its line before any container starts.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::error::{locate, ScenarioError};
use super::expr::Condition;
use super::model::*;
use super::outcome::Expectations;
use super::template;
use crate::haproxy::config::ConfigBackend;

/// A rendered config's backends, by name.
type ConfigServers = BTreeMap<String, ConfigBackend>;
use super::{Scenario, Template, VariantPlan};
use crate::haproxy::VersionRange;

/// The file of a scenario folder.
pub const SCENARIO_FILE: &str = "scenario.toml";

struct Checker<'a> {
    file: PathBuf,
    text: &'a str,
    errors: Vec<ScenarioError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let (line, column) = locate(self.text, span.start);
        self.errors.push(ScenarioError {
            file: self.file.clone(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn role(&mut self, roles: &BTreeSet<String>, name: &Spanned<String>, field: &str) {
        if !roles.contains(name.get_ref()) {
            let known = roles.iter().cloned().collect::<Vec<_>>().join(", ");
            self.error(
                name.span(),
                field,
                format!(
                    "undefined name {:?}: the topology defines {known}",
                    name.get_ref()
                ),
            );
        }
    }

    /// A destination `role:port`: a defined role and a port number.
    fn role_port(&mut self, roles: &BTreeSet<String>, to: &Spanned<String>, field: &str) {
        match to.get_ref().split_once(':') {
            Some((role, port)) if port.parse::<u16>().is_ok() => {
                self.role(roles, &Spanned::new(to.span(), role.to_string()), field)
            }
            _ => self.error(to.span(), field, "expected role:port, like haproxy:8080"),
        }
    }

    fn role_or_ip(&mut self, roles: &BTreeSet<String>, name: &Spanned<String>, field: &str) {
        if name.get_ref().parse::<std::net::Ipv4Addr>().is_err() {
            self.role(roles, name, field);
        }
    }
}

/// Loads and checks `dir/scenario.toml` and its template. Returns every problem found, first
/// one first.
pub fn load(dir: &Path) -> Result<Scenario, Vec<ScenarioError>> {
    let file = dir.join(SCENARIO_FILE);
    let text = std::fs::read_to_string(&file).map_err(|e| {
        vec![ScenarioError {
            file: file.clone(),
            line: 1,
            column: 1,
            field: "file".into(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    load_with(dir, &text, &|path: &Path| std::fs::read_to_string(path))
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
    let topology = &raw.topology;
    let mut roles = BTreeSet::new();
    let mut named: Vec<(String, Range<usize>)> = Vec::new();
    named.extend(
        topology
            .backends
            .iter()
            .map(|b| (b.name.get_ref().clone(), b.name.span())),
    );
    named.extend(
        topology
            .clients
            .iter()
            .map(|b| (b.name.get_ref().clone(), b.name.span())),
    );
    named.extend(
        topology
            .haproxy
            .get_ref()
            .0
            .iter()
            .map(|h| (h.name.clone(), topology.haproxy.span())),
    );
    for (name, span) in named {
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
        let path = dir.join(instance.config.get_ref());
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
            None => super::deadline::derive(steps.iter().map(|s| s.get_ref())),
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
        let mut flow = Flow::new(raw.topology.capture.as_ref());
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
        variants,
        templates,
        roles,
        raw,
    })
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

/// The names a step or measure may refer to, by kind.
struct Names<'a> {
    roles: &'a BTreeSet<String>,
    instances: &'a BTreeSet<String>,
    clients: &'a BTreeSet<String>,
    /// Backends and their modes, for the `backend` step.
    backends: BTreeMap<String, crate::backend::Mode>,
    /// The instance a step without `on` talks to.
    first_instance: Option<String>,
    /// Names the DNS server knows of (records, faults, names steps change), relative to the zone.
    dns_names: BTreeSet<String>,
    has_dns: bool,
    step_started: BTreeSet<String>,
}

impl Names<'_> {
    fn instance(&self, c: &mut Checker, on: &Option<Spanned<String>>, field: &str) {
        if let Some(on) = on {
            c.role(self.instances, on, field);
        }
    }

    /// The instance a step talks to: its `on`, or the first.
    fn target(&self, on: &Option<Spanned<String>>) -> Option<String> {
        on.as_ref()
            .map(|o| o.get_ref().clone())
            .or_else(|| self.first_instance.clone())
    }
}

/// What a step records, so a measure can be checked against the kind it reads.
#[derive(Debug, Clone, PartialEq)]
enum RecordKind {
    /// A runtime API answer, with its command and the instance asked.
    Api {
        command: String,
        instance: Option<String>,
    },
    /// A command's output in a container.
    Exec,
    /// A `removable` step's answer (`removable=1`...).
    Removable,
    Http,
    Start,
    /// A `unix` step's tally; `holds` when it keeps connections open (for `release`).
    Unix {
        holds: bool,
    },
    /// A running `sessions` load (for `snapshot`, not for measures).
    Load,
    /// A `snapshot` of a load.
    Snapshot,
    /// A count wait's tally.
    Count,
}

impl RecordKind {
    fn words(&self) -> String {
        match self {
            RecordKind::Api { command, .. } => format!("an api step (`{command}`)"),
            RecordKind::Exec => "an exec step".into(),
            RecordKind::Removable => "a removable step".into(),
            RecordKind::Http => "an http step".into(),
            RecordKind::Start => "a start step".into(),
            RecordKind::Unix { .. } => "a unix step".into(),
            RecordKind::Load => "a sessions step (snapshot it to measure it)".into(),
            RecordKind::Snapshot => "a snapshot step".into(),
            RecordKind::Count => "a count wait".into(),
        }
    }

    fn is_text(&self) -> bool {
        matches!(
            self,
            RecordKind::Api { .. } | RecordKind::Exec | RecordKind::Removable
        )
    }

    /// An api record of this runtime API command (`show servers state` matches
    /// `show servers state be`).
    fn is_api(&self, wanted: &str) -> bool {
        match self {
            RecordKind::Api { command, .. } => {
                let words: Vec<&str> = command.split_whitespace().collect();
                let wanted: Vec<&str> = wanted.split_whitespace().collect();
                // A master CLI prefix (`@1 show info`) talks to a worker: same answer.
                let words = match words.first() {
                    Some(w) if w.starts_with('@') => &words[1..],
                    _ => &words[..],
                };
                words.len() >= wanted.len() && words[..wanted.len()] == wanted[..]
            }
            _ => false,
        }
    }
}

/// What the steps of one variant leave, in file order: records and captures, and the
/// `backend/server` names to check against the rendered config.
struct Flow {
    records: BTreeMap<String, (RecordKind, Range<usize>)>,
    /// The role whose SYNs the running capture takes.
    capture: Option<String>,
    /// Every role whose SYNs some capture took.
    captured: BTreeSet<String>,
    /// `(instance, backend/server, span, field)`.
    servers: Vec<(Option<String>, String, Range<usize>, String)>,
    /// Servers an api step adds (`add server be/s9 ...`).
    added: BTreeSet<String>,
}

impl Flow {
    fn new(capture: Option<&CaptureSetup>) -> Flow {
        let running = capture.map(|c| c.syn_from.get_ref().clone());
        Flow {
            records: BTreeMap::new(),
            captured: running.iter().cloned().collect(),
            capture: running,
            servers: Vec::new(),
            added: BTreeSet::new(),
        }
    }

    /// Keeps a record name; a name written twice is an error (a later step would overwrite
    /// what an earlier one kept).
    fn record(&mut self, c: &mut Checker, name: &str, kind: RecordKind, span: Range<usize>) {
        if let Some((_, first)) = self.records.get(name) {
            let (line, _) = locate(c.text, first.start);
            c.error(
                span,
                "step.record",
                format!("record {name:?} is already written by the step at line {line}: each step needs a name of its own"),
            );
            return;
        }
        self.records.insert(name.to_string(), (kind, span));
    }

    fn server(&mut self, instance: Option<String>, id: &str, span: Range<usize>, field: &str) {
        self.servers
            .push((instance, id.to_string(), span, field.to_string()));
    }

    /// Every `backend/server` named, against the config of the instance it is asked of.
    fn check_servers(
        &self,
        c: &mut Checker,
        names: &Names,
        config: &BTreeMap<String, ConfigServers>,
    ) {
        for (instance, id, span, field) in &self.servers {
            if !id.contains('/') {
                c.error(
                    span.clone(),
                    field,
                    format!("expected backend/server, like be/s1, found {id:?}"),
                );
                continue;
            }
            if self.added.contains(id) {
                continue;
            }
            let instance = instance.clone().or_else(|| names.first_instance.clone());
            let Some(backends) = instance.as_ref().and_then(|i| config.get(i)) else {
                continue;
            };
            if let Err(e) = crate::haproxy::config::check_pattern(backends, id) {
                let of = instance
                    .filter(|_| names.instances.len() > 1)
                    .map(|i| format!(" ({i})"))
                    .unwrap_or_default();
                c.error(span.clone(), field, format!("{e}{of}"));
            }
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
        if let Step::Dns(d) = step.get_ref() {
            for name in [&d.set, &d.remove, &d.fault, &d.clear]
                .into_iter()
                .flatten()
            {
                out.insert(relative(name));
            }
            for srv in d.srv.iter().flatten() {
                out.insert(relative(srv.target.get_ref()));
            }
        }
    }
    out
}

/// The columns of `show servers state` on the versions haprepro runs (2.2 to 3.4).
const SERVER_STATE_COLUMNS: [&str; 25] = [
    "be_id",
    "be_name",
    "srv_id",
    "srv_name",
    "srv_addr",
    "srv_op_state",
    "srv_admin_state",
    "srv_uweight",
    "srv_iweight",
    "srv_time_since_last_change",
    "srv_check_status",
    "srv_check_result",
    "srv_check_health",
    "srv_check_state",
    "srv_agent_state",
    "bk_f_forced_id",
    "srv_f_forced_id",
    "srv_fqdn",
    "srv_port",
    "srvrecord",
    "srv_use_ssl",
    "srv_check_port",
    "srv_check_addr",
    "srv_agent_addr",
    "srv_agent_port",
];

/// Stick-table data types (before any `(period)` or `[index]`), and the words every entry has.
const TABLE_FIELDS: [&str; 31] = [
    "use",
    "exp",
    "shard",
    "server_id",
    "server_key",
    "server_name",
    "gpt0",
    "gpt",
    "gpc0",
    "gpc0_rate",
    "gpc1",
    "gpc1_rate",
    "gpc",
    "gpc_rate",
    "conn_cnt",
    "conn_cur",
    "conn_rate",
    "sess_cnt",
    "sess_rate",
    "http_req_cnt",
    "http_req_rate",
    "http_err_cnt",
    "http_err_rate",
    "http_fail_cnt",
    "http_fail_rate",
    "bytes_in_cnt",
    "bytes_in_rate",
    "bytes_out_cnt",
    "bytes_out_rate",
    "glitch_cnt",
    "glitch_rate",
];

/// Query types a `dns_queries` measure may name.
const QTYPES: [&str; 10] = [
    "A", "AAAA", "SRV", "CNAME", "NS", "SOA", "TXT", "PTR", "MX", "ANY",
];

fn check_step(c: &mut Checker, names: &Names, step: &Spanned<Step>, flow: &mut Flow) {
    for (field, message) in super::bounds::check(step.get_ref()) {
        c.error(step.span(), field, message);
    }
    let roles = names.roles;
    let has_dns = names.has_dns;
    let span = step.span();
    match step.get_ref() {
        Step::Start(s) => {
            if !names.step_started.contains(s.instance.get_ref()) {
                c.error(
                    s.instance.span(),
                    "step.start.instance",
                    format!(
                        "{:?} is not an instance with start = \"step\"",
                        s.instance.get_ref()
                    ),
                );
            }
            flow.record(c, s.instance.get_ref(), RecordKind::Start, span);
        }
        Step::Wait(w) => {
            names.instance(c, &w.on, "step.wait.on");
            if w.api.is_some() != w.contains.is_some() {
                c.error(
                    span.clone(),
                    "step.wait.contains",
                    "an api wait needs contains = \"...\" (and only an api wait has it)",
                );
            }
            let kinds = [
                w.server.is_some(),
                w.servers.is_some(),
                w.syn.is_some(),
                w.dns_query.is_some(),
                w.api.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                c.error(
                    span.clone(),
                    "step.wait",
                    "needs exactly one of server, servers, syn, dns_query, api",
                );
            }
            if let Some(set) = &w.servers {
                for pattern in set.get_ref().patterns() {
                    flow.server(
                        names.target(&w.on),
                        pattern,
                        set.span(),
                        "step.wait.servers",
                    );
                }
                match &w.state {
                    Some(state) if super::words::parse_state_word(state.get_ref()).is_none() => {
                        c.error(state.span(), "step.wait.state", format!("unknown state {:?}: expected UP, DOWN, MAINT, RMAINT, or one of them after `!`", state.get_ref()))
                    }
                    Some(_) => {}
                    None => c.error(set.span(), "step.wait.state", "a count wait needs a state"),
                }
                if let Some(r) = &w.record {
                    flow.record(c, r, RecordKind::Count, span.clone());
                }
            } else {
                if w.record.is_some() {
                    c.error(
                        span.clone(),
                        "step.wait.record",
                        "only a count wait (servers = ...) records",
                    );
                }
                if w.on_timeout.is_some() {
                    c.error(
                        span.clone(),
                        "step.wait.on_timeout",
                        "only a count wait (servers = ...) may be an observation",
                    );
                }
            }
            if let Some(o) = &w.on_timeout {
                if !["error", "observation"].contains(&o.get_ref().as_str()) {
                    c.error(
                        o.span(),
                        "step.wait.on_timeout",
                        format!("{:?}: expected \"error\" or \"observation\"", o.get_ref()),
                    );
                }
            }
            if let Some(server) = &w.server {
                flow.server(
                    names.target(&w.on),
                    server.get_ref(),
                    server.span(),
                    "step.wait.server",
                );
                match &w.state {
                    Some(state) => {
                        if super::words::parse_state_word(state.get_ref()).is_none() {
                            c.error(state.span(), "step.wait.state", format!("unknown state {:?}: expected UP, DOWN, MAINT, RMAINT, or one of them after `!`", state.get_ref()));
                        }
                    }
                    None => c.error(
                        server.span(),
                        "step.wait.state",
                        "a server wait needs a state",
                    ),
                }
            }
            if let Some(syn) = &w.syn {
                check_syn(c, roles, syn, "step.wait.syn");
                let from = syn.from.as_ref().map(|f| f.get_ref());
                match &flow.capture {
                    None => c.error(
                        span.clone(),
                        "step.wait.syn",
                        "no capture is running here: add `capture = { syn_from = \"haproxy\" }` to [topology] or a capture step before",
                    ),
                    Some(running) if from.is_some_and(|f| f != running) => c.error(
                        span.clone(),
                        "step.wait.syn.from",
                        format!(
                            "the running capture takes {running}'s SYNs only, not {:?}'s",
                            from.map(String::as_str).unwrap_or_default()
                        ),
                    ),
                    Some(_) => {}
                }
            }
            if let Some(name) = &w.dns_query {
                if !has_dns {
                    c.error(
                        span,
                        "step.wait.dns_query",
                        "the topology has no [topology.dns]",
                    );
                } else {
                    check_dns_name(c, names, name, step.span(), "step.wait.dns_query");
                }
            }
        }
        Step::Dns(d) => {
            if !has_dns {
                c.error(
                    span.clone(),
                    "step.dns",
                    "the topology has no [topology.dns]",
                );
            }
            let kinds = [
                d.set.is_some(),
                d.remove.is_some(),
                d.fault.is_some(),
                d.clear.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                c.error(
                    span.clone(),
                    "step.dns",
                    "needs exactly one of set, remove, fault, clear",
                );
            }
            if d.set.is_some() && d.a.is_none() && d.srv.is_none() {
                c.error(
                    span.clone(),
                    "step.dns.set",
                    "set needs a = [...] or srv = [...]",
                );
            }
            for a in d.a.iter().flatten() {
                c.role_or_ip(roles, a, "step.dns.a");
            }
            for srv in d.srv.iter().flatten() {
                c.role(roles, &srv.target, "step.dns.srv.target");
            }
            if let Some(client) = &d.client {
                c.role(roles, client, "step.dns.client");
            }
            if d.fault.is_some() {
                match &d.kind {
                    Some(kind) => match super::words::parse_fault(kind.get_ref(), d.delay.map(|d| d.0)) {
                        Ok(_) => {}
                        Err(e) => c.error(kind.span(), "step.dns.kind", e),
                    },
                    None => c.error(span, "step.dns.kind", "a fault needs kind = nxdomain | servfail | refused | drop | truncate | delay"),
                }
            }
        }
        Step::Capture(cap) => match (&cap.start, cap.stop) {
            (Some(start), None) => {
                if start.get_ref() != "syn" {
                    c.error(
                        start.span(),
                        "step.capture.start",
                        "only \"syn\" captures exist",
                    );
                }
                match &cap.from {
                    Some(from) => {
                        c.role(roles, from, "step.capture.from");
                        flow.capture = Some(from.get_ref().clone());
                        flow.captured.insert(from.get_ref().clone());
                    }
                    None => c.error(
                        span,
                        "step.capture.from",
                        "say whose SYNs: from = \"haproxy\"",
                    ),
                }
            }
            (None, Some(true)) => {
                if flow.capture.take().is_none() {
                    c.error(span, "step.capture.stop", "no capture is running here");
                }
            }
            _ => c.error(
                span,
                "step.capture",
                "either start = \"syn\" (with from) or stop = true",
            ),
        },
        Step::Api(api) => {
            names.instance(c, &api.on, "step.api.on");
            let words: Vec<&str> = api.command.split_whitespace().collect();
            if let ["add", "server", id, ..] = words.as_slice() {
                flow.added.insert(id.to_string());
            }
            if let Some(r) = &api.record {
                let kind = RecordKind::Api {
                    command: api.command.clone(),
                    instance: names.target(&api.on),
                };
                flow.record(c, r, kind, span);
            }
        }
        Step::Http(h) => {
            flow.record(c, &h.record, RecordKind::Http, span.clone());
            if let Some(from) = &h.from {
                c.role(names.clients, from, "step.http.from");
            }
            c.role_port(roles, &h.to, "step.http.to");
        }
        Step::Unix(u) => {
            names.instance(c, &u.on, "step.unix.on");
            let kinds = [
                u.hold.is_some(),
                u.command.is_some(),
                u.nonblocking_connects.is_some(),
                u.release.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                c.error(
                    span.clone(),
                    "step.unix",
                    "needs exactly one of hold, command, nonblocking_connects, release",
                );
            }
            if u.release.is_none() && u.socket.is_none() {
                c.error(
                    span.clone(),
                    "step.unix.socket",
                    "say which socket: socket = \"master.sock\"",
                );
            }
            if let Some(r) = &u.release {
                match flow.records.get(r) {
                    Some((RecordKind::Unix { holds: true }, _)) => {}
                    Some((kind, _)) => c.error(
                        span.clone(),
                        "step.unix.release",
                        format!(
                            "{r:?} is recorded by {}, which holds no connection",
                            kind.words()
                        ),
                    ),
                    None => c.error(
                        span.clone(),
                        "step.unix.release",
                        format!("no earlier unix step records {r:?}"),
                    ),
                }
            }
            if u.prompt
                && (u.command.is_none() || u.until_answered.is_some() || u.read_bytes.is_some())
            {
                c.error(
                    span.clone(),
                    "step.unix.prompt",
                    "prompt mode goes with command (without until_answered or read_bytes)",
                );
            }
            if u.per_connection.is_some() && !u.prompt {
                c.error(
                    span.clone(),
                    "step.unix.per_connection",
                    "several commands on one connection need prompt = true",
                );
            }
            if (u.read_chunk.is_some() || u.read_every.is_some()) && !u.prompt {
                c.error(
                    span.clone(),
                    "step.unix.read_chunk",
                    "paced reads (read_chunk, read_every) go with prompt = true",
                );
            }
            if u.read_chunk == Some(0) {
                c.error(span.clone(), "step.unix.read_chunk", "at least 1 byte");
            }
            if let Some(r) = &u.record {
                let holds = u.hold.is_some() || u.nonblocking_connects.is_some();
                flow.record(c, r, RecordKind::Unix { holds }, span);
            }
        }
        Step::Tcp(t) => {
            c.role_port(roles, &t.to, "step.tcp.to");
            if let Some(from) = &t.from {
                c.role(names.clients, from, "step.tcp.from");
            }
        }
        Step::Backend(b) => {
            let name = b.name.get_ref();
            match names.backends.get(name) {
                None => {
                    let known: Vec<&str> = names.backends.keys().map(String::as_str).collect();
                    c.error(
                        b.name.span(),
                        "step.backend.name",
                        format!(
                            "{name:?} is not a backend: the topology's are {}",
                            known.join(", ")
                        ),
                    );
                }
                Some(mode) => {
                    let change = b.change();
                    if change.is_empty() {
                        c.error(
                            span.clone(),
                            "step.backend",
                            "changes nothing: give connections, http or tcp",
                        );
                    }
                    for (at, field, message) in change.problems(name, *mode, span.clone()) {
                        c.error(at, &format!("step.backend.{field}"), message);
                    }
                }
            }
        }
        Step::Sessions(sess) => {
            c.role_port(roles, &sess.to, "step.sessions.to");
            if let Some(from) = &sess.from {
                c.role(names.clients, from, "step.sessions.from");
            }
            if sess.count > crate::load::sessions::MAX_SESSIONS {
                c.error(
                    span.clone(),
                    "step.sessions.count",
                    format!("at most {}", crate::load::sessions::MAX_SESSIONS),
                );
            }
            flow.record(c, &sess.record, RecordKind::Load, span);
        }
        Step::Snapshot(snap) => {
            match flow.records.get(&snap.of) {
                Some((RecordKind::Load, _)) => {}
                Some((kind, _)) => c.error(
                    span.clone(),
                    "step.snapshot.of",
                    format!(
                        "{:?} is recorded by {}, not by a sessions step",
                        snap.of,
                        kind.words()
                    ),
                ),
                None => c.error(
                    span.clone(),
                    "step.snapshot.of",
                    format!("no earlier sessions step records {:?}", snap.of),
                ),
            }
            flow.record(c, &snap.record, RecordKind::Snapshot, span);
        }
        Step::Exec(e) => {
            c.role(roles, &e.container, "step.exec.in");
            if e.command.is_empty() {
                c.error(span.clone(), "step.exec.command", "an empty command");
            }
            if let Some(r) = &e.record {
                flow.record(c, r, RecordKind::Exec, span);
            }
        }
        Step::Signal(sig) => {
            c.role(names.instances, &sig.to, "step.signal.to");
            if sig.process.as_deref().is_some_and(|p| p != "worker") {
                c.error(
                    span.clone(),
                    "step.signal.process",
                    "only \"worker\" (or nothing: the main process)",
                );
            }
        }
        Step::Removable(r) => {
            names.instance(c, &r.on, "step.removable.on");
            flow.server(
                names.target(&r.on),
                r.server.get_ref(),
                r.server.span(),
                "step.removable.server",
            );
            flow.record(c, &r.record, RecordKind::Removable, span);
        }
        Step::Sleep(s) => {
            if s.because.trim().is_empty() {
                c.error(
                    span,
                    "step.sleep.because",
                    "say why the bug needs time to pass here",
                );
            }
        }
    }
}

fn check_dns_name(c: &mut Checker, names: &Names, name: &str, span: Range<usize>, field: &str) {
    let relative = name.trim_end_matches('.').to_ascii_lowercase();
    let known = names.dns_names.contains(&relative)
        || names
            .dns_names
            .iter()
            .any(|n| relative.starts_with(&format!("{n}.")));
    if !known {
        c.error(
            span,
            field,
            format!(
                "{name:?} is no name of the zone: it has {}",
                names
                    .dns_names
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
}

fn check_syn(c: &mut Checker, roles: &BTreeSet<String>, syn: &SynMatch, field: &str) {
    if let Some(from) = &syn.from {
        c.role(roles, from, &format!("{field}.from"));
    }
    if let Some(to) = &syn.to {
        c.role(roles, to, &format!("{field}.to"));
    }
}

fn check_measure(
    c: &mut Checker,
    names: &Names,
    flow: &mut Flow,
    name: &str,
    measure: &Spanned<Measure>,
) {
    let field = format!("observe.measure.{name}");
    let span = measure.span();
    // The record a measure reads must exist and be of a kind it can read.
    let record = |c: &mut Checker, r: &str, ok: &dyn Fn(&RecordKind) -> bool, wanted: &str| {
        match flow.records.get(r) {
            Some((kind, _)) if ok(kind) => Some(kind.clone()),
            Some((kind, _)) => {
                c.error(
                    span.clone(),
                    &field,
                    format!(
                        "{r:?} is recorded by {}, but this measure reads {wanted}",
                        kind.words()
                    ),
                );
                None
            }
            None => {
                c.error(
                    span.clone(),
                    &field,
                    format!("no step records {r:?} (add `record = {r:?}` to the step whose result this measure reads)"),
                );
                None
            }
        }
    };
    let api = |command: &'static str| move |k: &RecordKind| k.is_api(command);
    let roles = names.roles;
    match measure.get_ref() {
        Measure::Syns(syn) => {
            check_syn(c, roles, syn, &field);
            match &syn.from {
                Some(from) if !flow.captured.contains(from.get_ref()) => c.error(
                    from.span(),
                    &field,
                    format!(
                        "no capture takes {0}'s SYNs: add `capture = {{ syn_from = {0:?} }}` to [topology] (or a capture step)",
                        from.get_ref()
                    ),
                ),
                None if flow.captured.is_empty() => c.error(
                    span.clone(),
                    &field,
                    "no capture runs in this case: add `capture = { syn_from = \"haproxy\" }` to [topology]",
                ),
                _ => {}
            }
        }
        Measure::InstanceReady(i) => {
            if !names.step_started.contains(i.get_ref()) {
                c.error(
                    i.span(),
                    &field,
                    format!("{:?} is not an instance with start = \"step\"", i.get_ref()),
                );
            } else if !matches!(flow.records.get(i.get_ref()), Some((RecordKind::Start, _))) {
                c.error(
                    i.span(),
                    &field,
                    format!("no start step starts {:?}", i.get_ref()),
                );
            }
        }
        Measure::AnswerLines(a) => {
            record(
                c,
                &a.record,
                &RecordKind::is_text,
                "a text answer (api, exec or removable)",
            );
        }
        Measure::Streams(m) => {
            if let Some(RecordKind::Api { instance, .. }) =
                record(c, &m.record, &api("show sess"), "a `show sess` answer")
            {
                flow.server(
                    instance,
                    &m.server,
                    span.clone(),
                    &format!("{field}.server"),
                );
            } else if !m.server.contains('/') {
                c.error(
                    span.clone(),
                    &field,
                    "server: expected backend/server, like be/s1",
                );
            }
        }
        Measure::Sessions(m) => {
            record(
                c,
                &m.record,
                &|k| *k == RecordKind::Snapshot,
                "a snapshot (snapshot = { of = ..., record = ... })",
            );
            if !crate::load::sessions::STATES.contains(&m.state.get_ref().as_str()) {
                c.error(
                    m.state.span(),
                    &field,
                    format!(
                        "unknown state {:?}: expected open, closed or any",
                        m.state.get_ref()
                    ),
                );
            }
            if let Some(server) = &m.server {
                if server != "none" && !names.backends.contains_key(server) {
                    c.error(
                        span.clone(),
                        &format!("{field}.server"),
                        format!(
                            "{server:?} is no backend of the topology (or \"none\": no banner); backends: {}",
                            names.backends.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
            }
        }
        Measure::Counted(m) => {
            record(
                c,
                &m.record,
                &|k| *k == RecordKind::Count,
                "a count wait's tally",
            );
            if let Some(v) = &m.value {
                let values = super::count_wait::CountTally::VALUES;
                if !values.contains(&v.get_ref().as_str()) {
                    c.error(
                        v.span(),
                        &field,
                        format!(
                            "unknown value {:?}: expected one of {}",
                            v.get_ref(),
                            values.join(", ")
                        ),
                    );
                }
            }
        }
        Measure::Unix(u) => {
            record(
                c,
                &u.record,
                &|k| matches!(k, RecordKind::Unix { .. }),
                "a unix step's tally",
            );
            if !crate::load::unix::VALUES.contains(&u.value.get_ref().as_str()) {
                c.error(
                    u.value.span(),
                    &field,
                    format!(
                        "unknown value {:?}: expected one of {}",
                        u.value.get_ref(),
                        crate::load::unix::VALUES.join(", ")
                    ),
                );
            }
        }
        Measure::TableEntries(t) => {
            record(c, &t.record, &api("show table"), "a `show table` answer");
            if let Some(f) = &t.field {
                let base = f.split(['(', '[']).next().unwrap_or(f);
                if !TABLE_FIELDS.contains(&base) {
                    c.error(
                        span.clone(),
                        &format!("{field}.field"),
                        format!(
                            "{f:?} is no stick-table field: expected one of {}",
                            TABLE_FIELDS.join(", ")
                        ),
                    );
                }
            }
            if t.equals.is_some() && t.field.is_none() {
                c.error(span.clone(), &field, "equals needs a field");
            }
        }
        Measure::Responses(r) => {
            record(
                c,
                &r.record,
                &|k| *k == RecordKind::Http,
                "an http step's exchanges",
            );
            for from in r.from.iter().flatten() {
                let backends: BTreeSet<String> = names.backends.keys().cloned().collect();
                c.role(&backends, from, &format!("{field}.from"));
            }
        }
        Measure::DnsQueries(q) => {
            if !names.has_dns {
                c.error(span.clone(), &field, "the topology has no [topology.dns]");
            } else if let Some(n) = &q.name {
                check_dns_name(c, names, n, span.clone(), &format!("{field}.name"));
            }
            if let Some(t) = &q.qtype {
                if !QTYPES.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                    c.error(
                        span.clone(),
                        &format!("{field}.qtype"),
                        format!(
                            "unknown query type {t:?}: expected one of {}",
                            QTYPES.join(", ")
                        ),
                    );
                }
            }
        }
        Measure::LogLines(l) => c.role(roles, &l.role, &field),
        Measure::VersionMatchesImage(r) => {
            record(c, r, &api("show info"), "a `show info` answer");
        }
        Measure::ServersWith(f) => {
            let kind = record(
                c,
                &f.record,
                &api("show servers state"),
                "a `show servers state` answer",
            );
            if !SERVER_STATE_COLUMNS.contains(&f.field.as_str()) {
                c.error(
                    span.clone(),
                    &format!("{field}.field"),
                    format!(
                        "{:?} is no column of `show servers state`: expected one of {}",
                        f.field,
                        SERVER_STATE_COLUMNS.join(", ")
                    ),
                );
            }
            if let (Some(server), Some(RecordKind::Api { instance, .. })) = (&f.server, kind) {
                flow.server(instance, server, span.clone(), &format!("{field}.server"));
            }
        }
    }
}

/// Every placeholder a template may use, with stand-in values; the runner fills real ones.
pub(crate) fn placeholder_values(
    raw: &ScenarioFile,
    roles: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    values.insert("sock.dir".into(), super::setup::SOCK_DIR.into());
    values.insert("files.dir".into(), super::setup::FILES_DIR.into());
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
        if name.is_empty() || name.contains('/') || name == "haproxy.cfg" || name.starts_with('.') {
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
