//! Measures: the numbers `reproduced_if` and `valid_if` are judged on, each computed from the
//! case's read-only [`Evidence`] (packets, query log, recorded runtime API answers, exchanges,
//! logs), one file per measure: its struct (serde), its load-time [`MeasureWord::check`] and
//! its [`MeasureWord::compute`].
//!
//! A measure either has the evidence it reads or fails with the reason, which makes the case
//! `error`: a capture that never ran for the role, one that lost packets, a record of the wrong
//! kind, a server or field the record does not have. None of them may quietly read 0.
//!
//! [`Measure`] is the registry (the serde enum of `[observe.measure]`, each entry spanned),
//! generated with its dispatch from the list below: a new measure is one file and one line.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::evidence::Evidence;
use super::loader::{Checker, Flow, Names, RecordKind};
use super::outcome::Outcome;
use super::record::Recorded;
use super::VariantPlan;

/// What a measure's load-time check sees: the checker, the topology's names, the records and
/// captures the variant's steps leave, the measure's span and its field (`observe.measure.x`).
pub(crate) struct MeasureCx<'x, 't, 'n> {
    pub c: &'x mut Checker<'t>,
    pub names: &'x Names<'n>,
    pub flow: &'x mut Flow,
    pub span: Range<usize>,
    pub field: String,
}

impl MeasureCx<'_, '_, '_> {
    /// An error about the measure as a whole.
    pub fn error(&mut self, message: impl Into<String>) {
        let (span, field) = (self.span.clone(), self.field.clone());
        self.c.error(span, &field, message);
    }

    /// An error about a sub-field (`observe.measure.x.server`).
    pub fn error_in(&mut self, sub: &str, message: impl Into<String>) {
        let (span, field) = (self.span.clone(), format!("{}.{sub}", self.field));
        self.c.error(span, &field, message);
    }

    /// An error at a span of its own.
    pub fn error_at(&mut self, span: Range<usize>, message: impl Into<String>) {
        let field = self.field.clone();
        self.c.error(span, &field, message);
    }

    /// A record's `value` must be one of those its kind has.
    pub fn one_of(&mut self, value: &Spanned<String>, values: &[&str]) {
        if !values.contains(&value.get_ref().as_str()) {
            self.error_at(
                value.span(),
                format!(
                    "unknown value {:?}: expected one of {}",
                    value.get_ref(),
                    values.join(", ")
                ),
            );
        }
    }

    /// A role of the topology, the error under `field`.
    pub fn role(&mut self, name: &Spanned<String>, field: &str) {
        self.c.role(self.names.roles, name, field);
    }

    /// The record a measure reads must exist and be of a kind it can read (`wanted` says
    /// which, in words); its kind when it is.
    pub fn record(
        &mut self,
        name: &str,
        ok: &dyn Fn(&RecordKind) -> bool,
        wanted: &str,
    ) -> Option<RecordKind> {
        match self.flow.records.get(name).map(|(kind, _)| kind.clone()) {
            Some(kind) if ok(&kind) => Some(kind),
            Some(kind) => {
                self.error(format!(
                    "{name:?} is recorded by {}, but this measure reads {wanted}",
                    kind.words()
                ));
                None
            }
            None => {
                self.error(format!("no step records {name:?} (add `record = {name:?}` to the step whose result this measure reads)"));
                None
            }
        }
    }

    /// A `backend/server` the measure names, checked against the config of the instance asked.
    pub fn server(&mut self, instance: Option<String>, id: &str, sub: &str) {
        let field = format!("{}.{sub}", self.field);
        self.flow.server(instance, id, self.span.clone(), &field);
    }
}

/// A record kind that is a runtime API answer of this command.
pub(crate) fn api(command: &'static str) -> impl Fn(&RecordKind) -> bool {
    move |k: &RecordKind| k.is_api(command)
}

/// One measure word.
pub(crate) trait MeasureWord {
    /// What can be checked when the file loads: the record it reads and its kind, names,
    /// fields.
    fn check(&self, cx: &mut MeasureCx<'_, '_, '_>);

    /// The number, from the evidence; an error when the evidence it needs is missing.
    fn compute(&self, ev: &Evidence) -> Result<f64, String>;

    /// The record it reads, if any (the timeline draws the measure over that step).
    fn record(&self) -> Option<&str> {
        None
    }

    /// It reads an instance's death: in `reproduced_if`, it names the crash as the symptom.
    fn names_a_crash(&self) -> bool {
        false
    }
}

/// Generates [`Measure`] and its dispatch from one list: `module: Variant(Type)`, the variant
/// in snake_case being the measure's key in the file.
macro_rules! measures {
    ($( $(#[$doc:meta])* $module:ident : $variant:ident($ty:ident) ),* $(,)?) => {
        $( pub(crate) mod $module; pub use $module::$ty; )*

        /// How one measure is computed. Exactly one key.
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        pub enum Measure {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Measure {
            /// The measure word behind it.
            pub(crate) fn word(&self) -> &dyn MeasureWord {
                match self {
                    $( Measure::$variant(m) => m, )*
                }
            }
        }
    };
}

// The registry. A new measure: `measure/<name>.rs` with its struct and `impl MeasureWord`, and
// one line here.
measures! {
    /// SYNs in the capture matching this.
    syns: Syns(SynMatch),
    /// HTTP exchanges of an `http` step's record.
    responses: Responses(ResponseMatch),
    /// Queries in the DNS query log.
    dns_queries: DnsQueries(DnsQueryMatch),
    /// Lines of a container's output containing a text.
    log_lines: LogLines(LogMatch),
    /// 1 when the version in a recorded `show info` equals the version read from the image.
    version_matches_image: VersionMatchesImage(VersionRecord),
    /// Servers of a recorded `show servers state` whose field has this value.
    servers_with: ServersWith(FieldMatch),
    /// 1 when an instance started by a `start` step became ready, 0 when it did not.
    instance_ready: InstanceReady(InstanceName),
    /// Lines of a recorded answer that contain a text.
    answer_lines: AnswerLines(AnswerMatch),
    /// Entries of a recorded `show table` whose data field has this value.
    table_entries: TableEntries(TableMatch),
    /// A count of a `unix` step: attempts, connected, answered, eagain, first_eagain_at, held.
    unix: Unix(UnixMatch),
    /// Sessions of a snapshot: of a server (`none`: never got a banner), open or closed.
    sessions: Sessions(SessionsMatch),
    /// Streams of a recorded `show sess` on a server, optionally only those older than a time.
    streams: Streams(StreamsMatch),
    /// A count wait's tally: servers in the state (`matched`), `wanted`, `total`, `timed_out`.
    counted: Counted(CountedMatch),
    /// A named number of a `flap` or `reload` step's record.
    value: Value(ValueMatch),
    /// 1 when the instance died during the case.
    crashed: Crashed(CrashedInstance),
    /// The signal that killed the instance, 0 if none.
    crash_signal: CrashSignal(SignalOf),
    /// 1 when the instance died and its last output contains a text.
    crash_text: CrashText(CrashTextMatch),
}

pub(crate) fn compute_all(
    evidence: &Evidence,
    measures: &BTreeMap<String, Spanned<Measure>>,
) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for (name, measure) in measures {
        let value = compute(evidence, measure.get_ref()).map_err(|e| format!("{name}: {e}"))?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// Every measure that can be computed, and why the others cannot: after HAProxy died, the
/// steps that would have recorded some evidence never ran, and the crash measures still read.
pub(crate) fn compute_each(
    evidence: &Evidence,
    measures: &BTreeMap<String, Spanned<Measure>>,
) -> (BTreeMap<String, f64>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, measure) in measures {
        match compute(evidence, measure.get_ref()) {
            Ok(v) => {
                out.insert(name.clone(), v);
            }
            Err(e) => missing.push(format!("{name}: {e}")),
        }
    }
    (out, missing)
}

/// The names of the measures that read a death.
pub(crate) fn crash_measures(
    measures: &BTreeMap<String, Spanned<Measure>>,
) -> std::collections::BTreeSet<String> {
    measures
        .iter()
        .filter(|(_, m)| m.get_ref().word().names_a_crash())
        .map(|(name, _)| name.clone())
        .collect()
}

/// The outcome of a case in which HAProxy died: `reproduced` when `reproduced_if` names the
/// death (a crash measure) and holds, else `crashed`. `valid_if` is not asked: the steps it
/// would judge were cut short by the death, which is itself what was measured.
pub(crate) fn outcome_after_death(
    variant: &VariantPlan,
    measures: &BTreeMap<String, f64>,
    crash_measures: &std::collections::BTreeSet<String>,
    death: &crate::report::HaproxyExit,
) -> (Outcome, String) {
    let died = format!("HAProxy died during {}: {}", death.during, death.headline());
    let named = variant
        .reproduced_if
        .measures()
        .any(|m| crash_measures.contains(m));
    let explained = variant.reproduced_if.explain(measures);
    if named && variant.reproduced_if.eval(measures) {
        (Outcome::Reproduced, format!("{explained} holds ({died})"))
    } else if named {
        (
            Outcome::Crashed,
            format!("{died}; reproduced_if {explained} does not hold"),
        )
    } else {
        (Outcome::Crashed, died)
    }
}

pub(crate) fn compute(ev: &Evidence, measure: &Measure) -> Result<f64, String> {
    measure.word().compute(ev)
}

/// A count as a measure's number.
pub(crate) fn count(n: usize) -> Result<f64, String> {
    Ok(n as f64)
}

pub(crate) fn record<'a>(ev: &'a Evidence, name: &str) -> Result<&'a Recorded, String> {
    ev.records
        .get(name)
        .ok_or_else(|| format!("no record {name:?} (did its step run?)"))
}

pub(crate) fn answer<'a>(ev: &'a Evidence, name: &str) -> Result<&'a str, String> {
    match record(ev, name)? {
        Recorded::Api { answer, .. } => Ok(answer),
        other => Err(wrong_kind(name, other, "a recorded answer")),
    }
}

pub(crate) fn wrong_kind(name: &str, found: &Recorded, wanted: &str) -> String {
    format!("record {name:?} is {}, not {wanted}", found.kind())
}

pub(crate) fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// The outcome from the measures: `error` when a validity condition fails (the experiment did
/// not exercise what it must), else reproduced or not, with the condition and its values.
pub(crate) fn outcome(
    variant: &VariantPlan,
    measures: &BTreeMap<String, f64>,
) -> (Outcome, String) {
    for valid in &variant.valid_if {
        if !valid.eval(measures) {
            return (
                Outcome::Error,
                format!(
                    "experiment invalid: valid_if {} does not hold",
                    valid.explain(measures)
                ),
            );
        }
    }
    let explained = variant.reproduced_if.explain(measures);
    if variant.reproduced_if.eval(measures) {
        (Outcome::Reproduced, format!("{explained} holds"))
    } else {
        (Outcome::NotReproduced, format!("{explained} does not hold"))
    }
}

#[cfg(test)]
mod tests;
