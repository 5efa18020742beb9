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
    let mut c = Checker {
        file: file.clone(),
        text: &text,
        errors: Vec::new(),
    };
    let raw: ScenarioFile = match toml::from_str(&text) {
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
    let scenario = check(&mut c, dir, raw);
    match scenario {
        Some(s) if c.errors.is_empty() => Ok(s),
        _ => Err(c.errors),
    }
}

fn check(c: &mut Checker, dir: &Path, raw: ScenarioFile) -> Option<Scenario> {
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

    let names = Names {
        roles: &roles,
        instances: &instances,
        clients: &clients,
        backends: topology
            .backends
            .iter()
            .map(|b| (b.name.get_ref().clone(), b.mode))
            .collect(),
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
    for plan in variants.iter_mut() {
        let variant = plan.index.map(|i| &raw.variants[i]);
        if let Some(repeat) = variant
            .and_then(|v| v.repeat.as_ref())
            .or(raw.repeat.as_ref())
        {
            if *repeat.get_ref() == 0 || *repeat.get_ref() > 100 {
                c.error(repeat.span(), "repeat", "between 1 and 100");
            }
            plan.repeat = (*repeat.get_ref()).clamp(1, 100);
        }
        let steps = match variant {
            Some(v) if !v.steps.is_empty() => &v.steps,
            _ => &raw.steps,
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
        let mut records = BTreeSet::new();
        for step in steps {
            check_step(c, &names, step, &mut records, raw.topology.dns.is_some());
        }
        let mut measure_names = BTreeSet::new();
        for (name, measure) in &observe.measure {
            measure_names.insert(name.clone());
            check_measure(c, &names, &records, name, measure);
        }
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

    let mut templates = Vec::new();
    for instance in &topology.haproxy.get_ref().0 {
        let path = dir.join(instance.config.get_ref());
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for variant in &variants {
                    let placeholders = with_vars(placeholder_values(&raw, &roles), &variant.vars);
                    if let Err(undefined) = template::render(&text, &placeholders) {
                        for u in undefined {
                            c.errors.push(ScenarioError {
                                file: path.clone(),
                                line: u.line,
                                column: u.column,
                                field: "template".into(),
                                message: format!(
                                    "undefined name {:?}{}; defined: {}",
                                    u.name,
                                    variant
                                        .name
                                        .as_ref()
                                        .map(|v| format!(" (variant {v})"))
                                        .unwrap_or_default(),
                                    u.known.join(", ")
                                ),
                            });
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
    step_started: BTreeSet<String>,
}

impl Names<'_> {
    fn instance(&self, c: &mut Checker, on: &Option<Spanned<String>>, field: &str) {
        if let Some(on) = on {
            c.role(self.instances, on, field);
        }
    }
}

fn check_step(
    c: &mut Checker,
    names: &Names,
    step: &Spanned<Step>,
    records: &mut BTreeSet<String>,
    has_dns: bool,
) {
    let roles = names.roles;
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
            records.insert(s.instance.get_ref().clone());
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
                w.syn.is_some(),
                w.dns_query.is_some(),
                w.api.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() != 1 {
                c.error(
                    span.clone(),
                    "step.wait",
                    "needs exactly one of server, syn, dns_query, api",
                );
            }
            if let Some(server) = &w.server {
                if !server.get_ref().contains('/') {
                    c.error(
                        server.span(),
                        "step.wait.server",
                        "expected backend/server, like be/app1",
                    );
                }
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
            }
            if w.dns_query.is_some() && !has_dns {
                c.error(
                    span,
                    "step.wait.dns_query",
                    "the topology has no [topology.dns]",
                );
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
                    Some(from) => c.role(roles, from, "step.capture.from"),
                    None => c.error(
                        span,
                        "step.capture.from",
                        "say whose SYNs: from = \"haproxy\"",
                    ),
                }
            }
            (None, Some(true)) => {}
            _ => c.error(
                span,
                "step.capture",
                "either start = \"syn\" (with from) or stop = true",
            ),
        },
        Step::Api(api) => {
            names.instance(c, &api.on, "step.api.on");
            if let Some(r) = &api.record {
                records.insert(r.clone());
            }
        }
        Step::Http(h) => {
            records.insert(h.record.clone());
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
                if !records.contains(r) {
                    c.error(
                        span.clone(),
                        "step.unix.release",
                        format!("no earlier unix step records {r:?}"),
                    );
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
                records.insert(r.clone());
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
            records.insert(sess.record.clone());
        }
        Step::Snapshot(snap) => {
            if !records.contains(&snap.of) {
                c.error(
                    span.clone(),
                    "step.snapshot.of",
                    format!("no earlier sessions step records {:?}", snap.of),
                );
            }
            records.insert(snap.record.clone());
        }
        Step::Exec(e) => {
            c.role(roles, &e.container, "step.exec.in");
            if e.command.is_empty() {
                c.error(span.clone(), "step.exec.command", "an empty command");
            }
            if let Some(r) = &e.record {
                records.insert(r.clone());
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
            if !r.server.get_ref().contains('/') {
                c.error(
                    r.server.span(),
                    "step.removable.server",
                    "expected backend/server, like be/s1",
                );
            }
            records.insert(r.record.clone());
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
    records: &BTreeSet<String>,
    name: &str,
    measure: &Spanned<Measure>,
) {
    let field = format!("observe.measure.{name}");
    let record = |c: &mut Checker, r: &str| {
        if !records.contains(r) {
            c.error(
                measure.span(),
                &field,
                format!("no step records {r:?} (add `record = {r:?}` to an api or http step)"),
            );
        }
    };
    let roles = names.roles;
    match measure.get_ref() {
        Measure::Syns(syn) => check_syn(c, roles, syn, &field),
        Measure::InstanceReady(i) => {
            if !names.step_started.contains(i.get_ref()) {
                c.error(
                    i.span(),
                    &field,
                    format!("{:?} is not an instance with start = \"step\"", i.get_ref()),
                );
            }
        }
        Measure::AnswerLines(a) => record(c, &a.record),
        Measure::Streams(m) => {
            record(c, &m.record);
            if !m.server.contains('/') {
                c.error(
                    measure.span(),
                    &field,
                    "server: expected backend/server, like be/s1",
                );
            }
        }
        Measure::Sessions(m) => {
            record(c, &m.record);
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
        }
        Measure::Unix(u) => {
            record(c, &u.record);
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
        Measure::TableEntries(t) => record(c, &t.record),
        Measure::Responses(r) => {
            record(c, &r.record);
            for from in r.from.iter().flatten() {
                c.role(roles, from, &field);
            }
        }
        Measure::DnsQueries(_) => {}
        Measure::LogLines(l) => c.role(roles, &l.role, &field),
        Measure::VersionMatchesImage(r) => record(c, r),
        Measure::ServersWith(f) => record(c, &f.record),
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
