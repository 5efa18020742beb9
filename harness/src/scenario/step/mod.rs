//! The step words, one file each: the word's struct (what the scenario file says, with serde),
//! its load-time [`Word::check`], its [`Word::describe`] (the timeline's action column and the
//! record's step list), its [`Word::budget`] (for the case deadline) and its [`Word::run`].
//!
//! [`Step`] is the registry: the serde enum a `[[step]]` table deserialises into (each entry
//! a `Spanned<Step>` in the file model, so every check points at its line). It and its dispatch
//! are generated from the one list at the bottom of this file, so adding a word is one new file
//! here and one line in that list: the loader, the runner, the deadline and the timeline ask the
//! word itself and need no edit.

use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::loader::{Checker, Flow, Names, RecordKind};
use super::runner::CaseState;

/// What a word's load-time check sees: the checker (errors with their line), the names the
/// topology defines, what earlier steps of the variant recorded and captured, and the span of
/// the whole step (for errors about a field that has no span of its own).
pub(crate) struct CheckCx<'x, 't, 'n> {
    pub c: &'x mut Checker<'t>,
    pub names: &'x Names<'n>,
    pub flow: &'x mut Flow,
    pub span: Range<usize>,
}

impl CheckCx<'_, '_, '_> {
    /// An error about the step as a whole.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        let span = self.span.clone();
        self.c.error(span, field, message);
    }

    /// An error at a span of its own.
    pub fn error_at(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        self.c.error(span, field, message);
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

    /// A `backend/server` the step names, checked against the rendered config later.
    pub fn server(&mut self, instance: Option<String>, id: &str, span: Range<usize>, field: &str) {
        self.flow.server(instance, id, span, field);
    }

    /// A DNS name the zone must know (records, faults, names steps change).
    pub fn dns_name(&mut self, name: &str, field: &str) {
        let span = self.span.clone();
        super::loader::check_dns_name(self.c, self.names, name, span, field);
    }

    /// A step that needs `[topology.dns]`; false (with the error) when there is none.
    pub fn needs_dns(&mut self, field: &str) -> bool {
        if !self.names.has_dns {
            self.error(field, "the topology has no [topology.dns]");
        }
        self.names.has_dns
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

/// One step word. The sync part; [`Run`] is the async one.
pub(crate) trait Word {
    /// Everything that can be checked when the file loads: names, fields that go together,
    /// bounds (`bounds.rs`), the records the step keeps.
    fn check(&self, cx: &mut CheckCx<'_, '_, '_>);

    /// The step in words, for the timeline and the record.
    fn describe(&self) -> String;

    /// The longest the step can take when everything it waits for times out (the margin
    /// around it is added by `deadline.rs`).
    fn budget(&self) -> Duration;

    /// The record the step writes, if any (the timeline draws its window).
    fn record(&self) -> Option<&str> {
        None
    }

    /// DNS names the step sets or changes, as written (the zone knows them from then on).
    fn dns_names(&self) -> Vec<&str> {
        Vec::new()
    }

    /// A rough duration in seconds, for scheduling cases over workers.
    fn cost(&self) -> f64 {
        0.1
    }
}

/// Running a step word: returns what it saw (for the timeline) or why it failed, which ends
/// the case as `error`.
pub(crate) trait Run {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, String>;
}

/// Generates [`Step`] and its dispatch from one list: `module: Variant(Type)`, where the
/// variant name lowercased is the word in the file.
macro_rules! words {
    ($( $(#[$doc:meta])* $module:ident : $variant:ident($ty:ident) ),* $(,)?) => {
        $( pub(crate) mod $module; pub use $module::$ty; )*

        /// One step: exactly one action, written as `[[step]]` followed by `action = { ... }`.
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "lowercase", deny_unknown_fields)]
        pub enum Step {
            $( $(#[$doc])* $variant($ty), )*
        }

        impl Step {
            /// The word behind the step.
            pub(crate) fn word(&self) -> &dyn Word {
                match self {
                    $( Step::$variant(s) => s, )*
                }
            }

            /// Runs the step.
            pub(crate) async fn run(&self, state: &mut CaseState<'_>) -> Result<String, String> {
                match self {
                    $( Step::$variant(s) => s.run(state).await, )*
                }
            }
        }
    };
}

// The registry. A new word: a file `step/<word>.rs` with its struct, `impl Word` and `impl Run`,
// and one line here.
words! {
    /// Starts an instance declared with `start = "step"`.
    start: Start(StartStep),
    /// Waits for an event, with a deadline.
    wait: Wait(WaitStep),
    /// Changes the zone or its faults.
    dns: Dns(DnsStep),
    /// Starts or stops a SYN capture.
    capture: Capture(CaptureStep),
    /// A runtime API command.
    api: Api(ApiStep),
    /// HTTP requests.
    http: Http(HttpStep),
    /// Works a unix socket of an instance.
    unix: Unix(UnixStep),
    /// TCP connections opened and closed at once.
    tcp: Tcp(TcpStep),
    /// A command inside a container.
    exec: Exec(ExecStep),
    /// A container's TCP sockets, read from the host.
    sockets: Sockets(SocketsStep),
    /// A signal to an instance or its worker.
    signal: Signal(SignalStep),
    /// Long-lived TCP sessions and a churn of short ones.
    sessions: Sessions(SessionsStep),
    /// The sessions of a load at this moment.
    snapshot: Snapshot(SnapshotStep),
    /// A pause where the bug itself is time-bound.
    sleep: Sleep(SleepStep),
    /// Whether a server could be removed now.
    removable: Removable(RemovableStep),
    /// Changes a backend's behaviour.
    backend: Backend(BackendStep),
    /// Flaps a DNS name between address sets.
    flap: Flap(FlapStep),
    /// Reloads a master-worker instance and waits for its new worker.
    reload: Reload(ReloadStep),
}

/// The text of an answer on one line: its first `n` non-empty lines, each cut at 100
/// characters, for step details.
pub(crate) fn first_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut shown = lines
        .iter()
        .take(n)
        .map(|l| match l.char_indices().nth(100) {
            Some((i, _)) => format!("{}…", &l[..i]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" | ");
    if lines.len() > n {
        shown.push_str(&format!(" | ... ({} lines)", lines.len()));
    }
    shown
}

/// Fully qualified, lowercase, with the trailing dot, as the DNS query log writes names.
pub(crate) fn qualify(name: &str, origin: &str) -> String {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let origin = origin.trim_end_matches('.').to_ascii_lowercase();
    if name == origin || name.ends_with(&format!(".{origin}")) {
        format!("{name}.")
    } else {
        format!("{name}.{origin}.")
    }
}

fn default_true() -> bool {
    true
}

fn default_within() -> super::duration::Dur {
    super::duration::Dur(Duration::from_secs(5))
}

#[cfg(test)]
mod tests;
