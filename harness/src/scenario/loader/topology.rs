//! The topology's checks: every role named once and plainly, the backends' behaviours and fixed
//! addresses, the HAProxy instances' extras, then what the DNS server and the capture refer to.
//! Its parts, by name, go on to the other checks ([`Parts`], [`Parts::names`]).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use crate::scenario::check::{Checker, Names};
use crate::scenario::model::{HaproxySetup, ScenarioFile, StartMode, Topology};

/// The topology's parts by name, for the checks after it.
pub(super) struct Parts {
    /// Every backend, client and HAProxy instance.
    pub roles: BTreeSet<String>,
    pub instances: BTreeSet<String>,
    pub clients: BTreeSet<String>,
    /// The role whose SYNs the topology's capture takes from the start.
    pub capture: Option<String>,
}

/// Roles, backends and instances, in that order.
pub(super) fn check(c: &mut Checker, topology: &Topology) -> Parts {
    let roles = roles(c, topology);
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
    Parts {
        roles,
        instances,
        clients,
        capture: topology
            .capture
            .as_ref()
            .map(|c| c.syn_from.get_ref().clone()),
    }
}

/// Every backend, client and instance name: a plain word, used once.
fn roles(c: &mut Checker, topology: &Topology) -> BTreeSet<String> {
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
    roles
}

/// The DNS server's records and faults, and the capture, name roles of the topology.
pub(super) fn check_services(c: &mut Checker, topology: &Topology, roles: &BTreeSet<String>) {
    if let Some(dns) = &topology.dns {
        for record in &dns.records {
            for a in record.a.iter().flatten() {
                c.role_or_ip(roles, a, "topology.dns.records.a");
            }
            for srv in record.srv.iter().flatten() {
                c.role(roles, &srv.target, "topology.dns.records.srv.target");
            }
        }
        for fault in &dns.faults {
            if let Err(e) =
                crate::scenario::words::parse_fault(fault.kind.get_ref(), fault.delay.map(|d| d.0))
            {
                c.error(fault.kind.span(), "topology.dns.faults.kind", e);
            }
            if let Some(client) = &fault.client {
                c.role(roles, client, "topology.dns.faults.client");
            }
        }
    }
    if let Some(capture) = &topology.capture {
        c.role(roles, &capture.syn_from, "topology.capture.syn_from");
    }
}

impl Parts {
    /// The names a step or measure may refer to.
    pub(super) fn names(&self, raw: &ScenarioFile) -> Names<'_> {
        let haproxy = &raw.topology.haproxy.get_ref().0;
        let instances_where = |keep: fn(&HaproxySetup) -> bool| {
            haproxy
                .iter()
                .filter(|h| keep(h))
                .map(|h| h.name.clone())
                .collect()
        };
        Names {
            roles: &self.roles,
            instances: &self.instances,
            clients: &self.clients,
            backends: raw
                .topology
                .backends
                .iter()
                .map(|b| (b.name.get_ref().clone(), b.mode))
                .collect(),
            first_instance: haproxy.first().map(|h| h.name.clone()),
            dns_names: dns_names(raw),
            has_dns: raw.topology.dns.is_some(),
            step_started: instances_where(|h| h.start == StartMode::Step),
            master_cli: instances_where(|h| h.master_cli),
        }
    }
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

/// `cpus` must be a CPU list `taskset -c` takes; generated files need a plain name, one line
/// without newline, and a bounded size.
fn check_instance_extras(c: &mut Checker, instance: &HaproxySetup) {
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
        if let Err(e) = crate::scenario::contain::plain_word(name) {
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
