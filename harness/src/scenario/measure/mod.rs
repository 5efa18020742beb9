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

use serde::Deserialize;
use toml::Spanned;

use super::evidence::Evidence;
use super::reference::doc::{shape, Entry, WordDoc};

mod word;
pub(crate) use word::MeasureWord;

/// Generates [`Measure`], its dispatch and its reference from one list: `module:
/// Variant(Type)`, the variant in snake_case being the measure's key in the file, each line
/// under the measure's doc comment (its first paragraph a summary, the rest the detail
/// `haprepro reference` prints).
macro_rules! measures {
    ($( $(#[doc = $doc:literal])* $module:ident : $variant:ident($ty:ident) ),* $(,)?) => {
        $( pub(crate) mod $module; pub use $module::$ty; )*

        /// How one measure is computed. Exactly one key.
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "snake_case", deny_unknown_fields)]
        pub enum Measure {
            $( $(#[doc = $doc])* $variant($ty), )*
        }

        /// Each measure's doc comment and keys, in the list's order, for the reference.
        const DOCS: &[WordDoc] = &[
            $( WordDoc { doc: concat!($($doc, "\n",)*), shape: shape::<$ty> }, )*
        ];

        /// The measures of the registry with their docs and keys (`haprepro reference`).
        pub(crate) fn entries() -> Vec<Entry> {
            super::reference::doc::entries::<Measure>(DOCS)
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
    ///
    /// `syns = { from = "haproxy", to = "web1", dst_port = 8000 }` (each key optional;
    /// `dst_port = 0` counts the SYNs to port 0). Needs a capture of its `from` role
    /// (`[topology] capture` or a `capture` step), checked at load. Captures are stopped before
    /// their SYNs are counted; a capture that lost packets (kernel drops) or failed makes the
    /// case `error`.
    syns: Syns(SynMatch),
    /// HTTP exchanges of an `http` step's record.
    ///
    /// `responses = { record = "answers", from = ["web1"], status = 200, failed = false }`:
    /// the exchanges of the record (which an `http` step must write), only those answered by
    /// the backends of `from`, of that `status`, or (`failed`) only those that got no HTTP
    /// answer, or only those that did.
    responses: Responses(ResponseMatch),
    /// Queries in the DNS query log.
    ///
    /// `dns_queries = { name = "app", qtype = "SRV", answer = "NXDOMAIN" }`: each key optional;
    /// `name` must be a name of the zone; `answer` keeps the queries whose answer, as the query
    /// log words it, contains the text.
    dns_queries: DnsQueries(DnsQueryMatch),
    /// Lines of a container's output containing a text.
    ///
    /// `log_lines = { role = "haproxy", contains = "..." }`.
    log_lines: LogLines(LogMatch),
    /// 1 when the version in a recorded `show info` equals the version read from the image.
    ///
    /// `version_matches_image = "info"`: the record must be a `show info` answer (an `api`
    /// step's).
    version_matches_image: VersionMatchesImage(VersionRecord),
    /// Servers of a recorded `show servers state` whose field has this value.
    ///
    /// `servers_with = { record = "state", server = "be/s1", field = "srv_op_state", equals =
    /// "2" }`: the record must be a `show servers state` answer; `field` must be one of its
    /// columns; `server` (all servers when absent) must be declared in the rendered
    /// haproxy.cfg. A record that lacks the server or field named makes the case `error`.
    servers_with: ServersWith(FieldMatch),
    /// 1 when an instance started by a `start` step became ready, 0 when it did not.
    ///
    /// `instance_ready = "hapA"`, an instance with `start = "step"`. An exit while an instance
    /// starts is a failure to start (read here), not a death, unless it was a fatal signal or
    /// HAProxy's own crash text.
    instance_ready: InstanceReady(InstanceName),
    /// Lines of a recorded answer that contain a text.
    ///
    /// `answer_lines = { record = "ss", contains = "ESTAB" }`: over the text an `api`, `exec`,
    /// `sockets` or `removable` step recorded.
    answer_lines: AnswerLines(AnswerMatch),
    /// Entries of a recorded `show table` whose data field has this value.
    ///
    /// `table_entries = { record = "st", field = "server_id", equals = "1" }`: the record must
    /// be a `show table` answer and `field` a stick-table field (`server_id`, `gpc0`, ...);
    /// without `field` and `equals`, every entry counts.
    table_entries: TableEntries(TableMatch),
    /// A count of a `unix` step: attempts, connected, answered, eagain, first_eagain_at, held.
    ///
    /// `unix = { record = "idle", value = "held" }`, `value` one of: attempts, connected,
    /// answered, closed, eagain, first_eagain_at, held, cut_short and cut_after_end (reads
    /// aborted by `read_bytes` while the server was still sending, or after it had sent
    /// everything and closed: `POLLRDHUP` at the abort); and for prompt mode commands, prompts,
    /// frozen, unserved (no answer to `prompt`: no free slot), answer_bytes_min/max (answers
    /// that ended with the prompt or froze), queue_peak_min/max (per answer, the most bytes
    /// seen waiting unread in the client's socket), queue_full (answers during which at least
    /// 128 KiB waited unread: the server's send met a full socket). A `unix` measure that reads
    /// a step none of whose connects connected (nor met a full backlog: EAGAIN is a reading)
    /// makes the case `error`.
    unix: Unix(UnixMatch),
    /// Sessions of a snapshot: of a server (`none`: never got a banner), open or closed.
    ///
    /// `sessions = { record = "at_2s", server = "s1", state = "open" }`: the record must be a
    /// `snapshot`; `server` a backend (or `none`), `state` open, closed or any.
    sessions: Sessions(SessionsMatch),
    /// Streams of a recorded `show sess` on a server, optionally only those older than a time.
    ///
    /// `streams = { record = "sess", server = "be/s1", older_than = "2s" }`: the record must be
    /// a `show sess` answer; `server` (`backend/server`) must be declared in the rendered
    /// haproxy.cfg.
    streams: Streams(StreamsMatch),
    /// A count wait's tally: servers in the state (`matched`), `wanted`, `total`, `timed_out`.
    ///
    /// `came_back = { counted = { record = "back" } }` over a count wait's record (`wait = {
    /// servers = "be*/srv1", state = "UP", within = "30s", record = "back", on_timeout =
    /// "observation" }`); `value` is `matched` by default, or `wanted`, `total`, `timed_out`.
    counted: Counted(CountedMatch),
    /// A named number of a `flap` or `reload` step's record.
    ///
    /// `value = { record = "flaps", value = "followed" }`: of a `flap` step: flips, followed,
    /// until_met; of a `reload` step: old_pid, new_pid, new_workers, old_workers_left,
    /// reload_ms.
    value: Value(ValueMatch),
    /// 1 when the instance died during the case.
    ///
    /// `crashed = "haproxy"`, an HAProxy instance of the topology. This and the two crash
    /// measures below read HAProxy's death ([Crashes](verdicts.md#crashes)): when
    /// `reproduced_if` names one and holds, the crash is the symptom and the case measures
    /// `reproduced` rather than `crashed`.
    crashed: Crashed(CrashedInstance),
    /// The signal that killed the instance, 0 if none.
    ///
    /// `crash_signal = "haproxy"`: the signal number, 0 if it did not die of one.
    crash_signal: CrashSignal(SignalOf),
    /// 1 when the instance died and its last output contains a text.
    ///
    /// `crash_text = { instance = "haproxy", contains = "src/cli.c" }`.
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

pub(crate) fn compute(ev: &Evidence, measure: &Measure) -> Result<f64, String> {
    measure.word().compute(ev)
}

#[cfg(test)]
mod tests;
