//! The checking vocabulary of a scenario file: errors with their file, line and field
//! ([`Checker`]), the names the topology defines ([`Names`]), what the steps of a variant leave
//! for later steps and the measures ([`Flow`]), and the one context a step word's and a measure
//! word's load-time check both see ([`Cx`]). The loader drives it; the words use it.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::error::ScenarioError;
use super::record::RecordKind;
use crate::haproxy::config::ConfigBackend;
use crate::position::locate;

type ConfigServers = BTreeMap<String, ConfigBackend>;

pub(crate) struct Checker<'a> {
    pub(crate) file: PathBuf,
    pub(crate) text: &'a str,
    pub(crate) errors: Vec<ScenarioError>,
}

impl Checker<'_> {
    pub(crate) fn error(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let (line, column) = locate(self.text, span.start);
        self.errors.push(ScenarioError {
            file: self.file.clone(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// A name that becomes a file name (role, instance, variant, record, generated file): a
    /// plain word (`contain.rs`).
    pub(crate) fn plain(&mut self, name: &str, span: Range<usize>, field: &str) {
        if let Err(e) = super::contain::plain_word(name) {
            self.error(
                span,
                field,
                format!("{e}; it names evidence files and folders, never a path"),
            );
        }
    }

    /// Where the string `value` is written in the table at `span` (for a field without a span
    /// of its own): its first quoted occurrence from the span's start up to the next table
    /// header (a `[[step]]`'s span is its header), or the span itself.
    pub(crate) fn quoted(&self, span: Range<usize>, value: &str) -> Range<usize> {
        let end = span.end.min(self.text.len());
        let end = self.text[end..]
            .find("\n[")
            .map_or(self.text.len(), |i| end + i);
        let inside = self.text.get(span.start..end).unwrap_or_default();
        [format!("\"{value}\""), format!("'{value}'")]
            .iter()
            .filter_map(|q| inside.find(q.as_str()))
            .min()
            .map(|at| span.start + at..span.start + at + value.len() + 2)
            .unwrap_or(span)
    }

    pub(crate) fn role(&mut self, roles: &BTreeSet<String>, name: &Spanned<String>, field: &str) {
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
    pub(crate) fn role_port(
        &mut self,
        roles: &BTreeSet<String>,
        to: &Spanned<String>,
        field: &str,
    ) {
        match to.get_ref().split_once(':') {
            Some((role, port)) if port.parse::<u16>().is_ok() => {
                self.role(roles, &Spanned::new(to.span(), role.to_string()), field)
            }
            _ => self.error(to.span(), field, "expected role:port, like haproxy:8080"),
        }
    }

    pub(crate) fn role_or_ip(
        &mut self,
        roles: &BTreeSet<String>,
        name: &Spanned<String>,
        field: &str,
    ) {
        if name.get_ref().parse::<std::net::Ipv4Addr>().is_err() {
            self.role(roles, name, field);
        }
    }
}

/// The names a step or measure may refer to, by kind.
pub(crate) struct Names<'a> {
    pub roles: &'a BTreeSet<String>,
    pub instances: &'a BTreeSet<String>,
    pub clients: &'a BTreeSet<String>,
    /// Backends and their modes, for the `backend` step.
    pub backends: BTreeMap<String, crate::backend::Mode>,
    /// The instance a step without `on` talks to.
    pub first_instance: Option<String>,
    /// Names the DNS server knows of (records, faults, names steps change), relative to the zone.
    pub dns_names: BTreeSet<String>,
    pub has_dns: bool,
    pub step_started: BTreeSet<String>,
    /// Instances in master-worker mode (`master_cli = true`).
    pub master_cli: BTreeSet<String>,
}

impl Names<'_> {
    pub(crate) fn instance(&self, c: &mut Checker, on: &Option<Spanned<String>>, field: &str) {
        if let Some(on) = on {
            c.role(self.instances, on, field);
        }
    }

    /// The instance a step talks to: its `on`, or the first.
    pub(crate) fn target(&self, on: &Option<Spanned<String>>) -> Option<String> {
        on.as_ref()
            .map(|o| o.get_ref().clone())
            .or_else(|| self.first_instance.clone())
    }
}

/// What the steps of one variant leave, in file order: records and captures, and the
/// `backend/server` names to check against the rendered config.
pub(crate) struct Flow {
    pub records: BTreeMap<String, (RecordKind, Range<usize>)>,
    /// The role whose SYNs the running capture takes.
    pub capture: Option<String>,
    /// Every role whose SYNs some capture took.
    pub captured: BTreeSet<String>,
    /// `(instance, backend/server, span, field)`.
    servers: Vec<(Option<String>, String, Range<usize>, String)>,
    /// Servers an api step adds (`add server be/s9 ...`).
    pub added: BTreeSet<String>,
}

impl Flow {
    /// `running`: the role whose SYNs the topology's capture takes from the start.
    pub(crate) fn new(running: Option<String>) -> Flow {
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
    pub(crate) fn record(
        &mut self,
        c: &mut Checker,
        name: &str,
        kind: RecordKind,
        span: Range<usize>,
    ) {
        if let Err(e) = super::contain::plain_word(name) {
            let at = c.quoted(span.clone(), name);
            c.error(
                at,
                "step.record",
                format!("{e}; a record names its evidence file, never a path"),
            );
        }
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

    pub(crate) fn server(
        &mut self,
        instance: Option<String>,
        id: &str,
        span: Range<usize>,
        field: &str,
    ) {
        self.servers
            .push((instance, id.to_string(), span, field.to_string()));
    }

    /// Every `backend/server` named, against the config of the instance it is asked of.
    pub(crate) fn check_servers(
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

pub(crate) fn check_dns_name(
    c: &mut Checker,
    names: &Names,
    name: &str,
    span: Range<usize>,
    field: &str,
) {
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

/// What a step word's or a measure word's load-time check sees: the checker (errors with their
/// line), the names the topology defines, what earlier steps of the variant recorded and
/// captured, the span of the whole step or measure (for errors about a field that has no span
/// of its own) and its field (`step.<word>` or `observe.measure.<name>`, for errors about it as
/// a whole).
pub(crate) struct Cx<'x, 't, 'n> {
    pub c: &'x mut Checker<'t>,
    pub names: &'x Names<'n>,
    pub flow: &'x mut Flow,
    pub span: Range<usize>,
    pub field: String,
}

impl Cx<'_, '_, '_> {
    /// An error under `field`, at the whole step or measure.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let span = self.span.clone();
        self.c.error(span, field, message);
    }

    /// An error under `field`, at a span of its own.
    pub fn error_at(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        self.c.error(span, field, message);
    }

    /// An error about the step or measure as a whole, under its own field.
    pub fn error_here(&mut self, message: impl Into<String>) {
        let (span, field) = (self.span.clone(), self.field.clone());
        self.c.error(span, &field, message);
    }

    /// An error about a sub-field (`observe.measure.x.server`).
    pub fn error_in(&mut self, sub: &str, message: impl Into<String>) {
        let (span, field) = (self.span.clone(), format!("{}.{sub}", self.field));
        self.c.error(span, &field, message);
    }

    /// An error under its own field, at a span of its own.
    pub fn error_here_at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let field = self.field.clone();
        self.c.error(span, &field, message);
    }

    /// A role of the topology (backend, client or HAProxy instance).
    pub fn role(&mut self, name: &Spanned<String>, field: &str) {
        self.c.role(self.names.roles, name, field);
    }

    /// A role or a literal IPv4 address.
    pub fn role_or_ip(&mut self, name: &Spanned<String>, field: &str) {
        self.c.role_or_ip(self.names.roles, name, field);
    }

    /// `role:port`.
    pub fn role_port(&mut self, to: &Spanned<String>, field: &str) {
        self.c.role_port(self.names.roles, to, field);
    }

    /// A client of the topology (a step's `from`).
    pub fn client(&mut self, from: &Spanned<String>, field: &str) {
        self.c.role(self.names.clients, from, field);
    }

    /// A HAProxy instance, when the step names one (`on`).
    pub fn instance(&mut self, on: &Option<Spanned<String>>, field: &str) {
        self.names.instance(self.c, on, field);
    }

    /// The instance a step talks to: its `on`, or the first.
    pub fn target(&self, on: &Option<Spanned<String>>) -> Option<String> {
        self.names.target(on)
    }

    /// Keeps a record name the step writes (a name written twice is an error).
    pub fn record(&mut self, name: &str, kind: RecordKind) {
        let span = self.span.clone();
        self.flow.record(self.c, name, kind, span);
    }

    /// The record a measure reads must exist and be of a kind it can read (`wanted` says
    /// which, in words); its kind when it is.
    pub fn reads(
        &mut self,
        name: &str,
        ok: &dyn Fn(&RecordKind) -> bool,
        wanted: &str,
    ) -> Option<RecordKind> {
        match self.flow.records.get(name).map(|(kind, _)| kind.clone()) {
            Some(kind) if ok(&kind) => Some(kind),
            Some(kind) => {
                self.error_here(format!(
                    "{name:?} is recorded by {}, but this measure reads {wanted}",
                    kind.words()
                ));
                None
            }
            None => {
                self.error_here(format!("no step records {name:?} (add `record = {name:?}` to the step whose result this measure reads)"));
                None
            }
        }
    }

    /// A `backend/server` named under `field`, checked against the rendered config later.
    pub fn server(&mut self, instance: Option<String>, id: &str, span: Range<usize>, field: &str) {
        self.flow.server(instance, id, span, field);
    }

    /// A `backend/server` a measure names under its sub-field `sub`.
    pub fn server_in(&mut self, instance: Option<String>, id: &str, sub: &str) {
        let field = format!("{}.{sub}", self.field);
        self.flow.server(instance, id, self.span.clone(), &field);
    }

    /// A DNS name the zone must know (records, faults, names steps change).
    pub fn dns_name(&mut self, name: &str, field: &str) {
        let span = self.span.clone();
        check_dns_name(self.c, self.names, name, span, field);
    }

    /// A step that needs `[topology.dns]`; false (with the error) when there is none.
    pub fn needs_dns(&mut self, field: &str) -> bool {
        if !self.names.has_dns {
            self.error(field, "the topology has no [topology.dns]");
        }
        self.names.has_dns
    }

    /// A record's `value` must be one of those its kind has.
    pub fn one_of(&mut self, value: &Spanned<String>, values: &[&str]) {
        if !values.contains(&value.get_ref().as_str()) {
            self.error_here_at(
                value.span(),
                format!(
                    "unknown value {:?}: expected one of {}",
                    value.get_ref(),
                    values.join(", ")
                ),
            );
        }
    }

    /// A bound of `bounds.rs`: `value` at most `max`.
    pub fn at_most(&mut self, field: &str, value: u64, max: u64) {
        if value > max {
            self.error(
                field,
                format!("{value} is more than {max}, the most allowed"),
            );
        }
    }

    /// A duration bound, in whole seconds as the bounds are written.
    pub fn at_most_time(&mut self, field: &str, value: Duration, max: Duration) {
        self.at_most(field, value.as_secs(), max.as_secs());
    }
}
