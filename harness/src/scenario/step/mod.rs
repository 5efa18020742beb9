//! The step words, one file each: the word's struct (what the scenario file says, with serde),
//! its load-time [`Word::check`], its [`Word::describe`] (the timeline's action column and the
//! record's step list), its [`Word::budget`] (for the case deadline) and its [`Word::run`].
//!
//! [`Step`] is the registry: the serde enum a `[[step]]` table deserialises into (each entry
//! a `Spanned<Step>` in the file model, so every check points at its line). It and its dispatch
//! are generated from the one list at the bottom of this file, so adding a word is one new file
//! here and one line in that list: the loader, the runner, the deadline and the timeline ask the
//! word itself and need no edit.

use serde::Deserialize;

use super::case::CaseState;
use super::problem::Problem;
use super::reference::doc::{shape, Entry, WordDoc};

mod count_wait;
mod word;
pub(crate) use word::{Run, Word};

/// Generates [`Step`], its dispatch and its reference from one list: `module: Variant(Type)`,
/// where the variant name lowercased is the word in the file, each line under the word's doc
/// comment (its first paragraph a summary, the rest the detail `haprepro reference` prints).
macro_rules! words {
    ($( $(#[doc = $doc:literal])* $module:ident : $variant:ident($ty:ident) ),* $(,)?) => {
        $( pub(crate) mod $module; pub use $module::$ty; )*

        /// One step: exactly one action, written as `[[step]]` followed by `action = { ... }`.
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "lowercase", deny_unknown_fields)]
        pub enum Step {
            $( $(#[doc = $doc])* $variant($ty), )*
        }

        /// Each word's doc comment and keys, in the list's order, for the reference.
        const DOCS: &[WordDoc] = &[
            $( WordDoc { doc: concat!($($doc, "\n",)*), shape: shape::<$ty> }, )*
        ];

        /// The words of the registry with their docs and keys (`haprepro reference`).
        pub(crate) fn entries() -> Vec<Entry> {
            super::reference::doc::entries::<Step>(DOCS)
        }

        impl Step {
            /// The word behind the step.
            pub(crate) fn word(&self) -> &dyn Word {
                match self {
                    $( Step::$variant(s) => s, )*
                }
            }

            /// Runs the step.
            pub(crate) async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
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
    ///
    /// `start = { instance = "hapA" }`: a failure to start is recorded (read it with the
    /// `instance_ready` measure), not raised. `within` (5 s by default) is how long it may take
    /// to become ready.
    start: Start(StartStep),
    /// Waits for an event, with a deadline.
    ///
    /// `within` is the deadline (5 s by default); a timeout names what it waited for and what
    /// it last saw. One of:
    ///
    /// - `wait = { server = "be/s", state = "UP", within = "5s" }`: polls `show servers state`
    ///   (every 25 ms) until the server is UP, DOWN, MAINT, RMAINT (maintenance for
    ///   resolution) or `!`one of them. `on` names the HAProxy instance asked (the first by
    ///   default).
    /// - `wait = { syn = { from, to, dst_port }, count = N }`: N new SYNs matching, from the
    ///   running capture (a capture must be running at that point).
    /// - `wait = { dns_query = "app", qtype = "A" }`: a new query reaching the DNS server.
    /// - `wait = { servers = "be*/srv1", state = "UP", count = 300, within = "30s", record =
    ///   "up", on_timeout = "observation" }`: a count wait: until `count` servers (all that
    ///   match by default) of a glob (`*`, `?` over `backend/server`) or a list (`servers =
    ///   ["be/a", "be/b"]`) are in the state; at the deadline it says how many were and which
    ///   were not; with `on_timeout = "observation"` that count is recorded and the case goes
    ///   on (a `counted` measure reads it), else the case ends as `error`.
    /// - `wait = { on = "hapB", api = "show table st", contains = "key=foo" }`: repeats a
    ///   runtime API command until its answer contains a text.
    wait: Wait(WaitStep),
    /// Changes the zone or its faults.
    ///
    /// - `dns = { set = "app", a = ["web1"] }` / `srv = [{ target = "web1", port = 8000 }]`:
    ///   sets records (SRV targets get A records); `a` takes roles or literal IPv4 addresses.
    /// - `dns = { remove = "app" }`: the name answers NXDOMAIN.
    /// - `dns = { fault = "app", kind = "servfail", client = "haproxy" }`: a fault for the
    ///   name, of a kind among nxdomain, servfail, refused, drop, truncate, delay (with
    ///   `delay = "2s"`); `client` limits it to the queries of one role.
    /// - `dns = { clear = "app" }`: removes the name's faults.
    ///
    /// Faults in place before HAProxy starts are in the topology instead: `[topology.dns]
    /// faults = [{ name = "...", kind = "drop" }]`.
    dns: Dns(DnsStep),
    /// Starts or stops a SYN capture.
    ///
    /// `capture = { start = "syn", from = "haproxy" }` / `capture = { stop = true }`: SYN
    /// capture on the case network (libpcap on the case bridge). A capture from before HAProxy
    /// starts is `[topology] capture = { syn_from = "haproxy" }`. Captures are stopped before
    /// their SYNs are counted; a capture that lost packets (kernel drops) or failed makes the
    /// case `error`.
    capture: Capture(CaptureStep),
    /// A runtime API command.
    ///
    /// `api = { command = "show stat", record = "stat", expect_contains = "..." }`: the answer
    /// is kept as evidence under `record`; with `expect_contains`, an answer without that text
    /// ends the case as `error`. `on` names the instance (the first by default).
    api: Api(ApiStep),
    /// HTTP requests.
    ///
    /// `http = { to = "haproxy:8080", count = 4, record = "answers" }`: `count` requests (of
    /// `path`, each within `timeout`); who answered each is kept (a `responses` measure reads
    /// the record). `from = "c1"` sends from a client of the topology (its own address);
    /// without `from`, from the case network's gateway address.
    http: Http(HttpStep),
    /// Works a unix socket of an instance.
    ///
    /// `socket` is a file name in the instance's socket folder (`master.sock` with `master_cli
    /// = true`, or one in `{{ sock.dir }}`), never a path; `on` names the instance.
    ///
    /// - `unix = { socket = "master.sock", hold = 10, record = "idle" }`: holds idle
    ///   connections on a unix socket of the instance, sending nothing.
    /// - `unix = { socket = "master.sock", command = "show proc", within = "2s", repeat = 10,
    ///   read_bytes = 4096, half_close = false, until_answered = "5s" }`: commands with a
    ///   deadline (`within`, 2 s by default), one after another `repeat` times; aborted reads
    ///   (`read_bytes`: close after that many bytes of answer); no half-close (`half_close =
    ///   false`: the master CLI closes a connection only after it, so a client that does not
    ///   holds a slot); retries until answered (`until_answered`: each try waiting `within`).
    /// - `unix = { socket = "master.sock", command = "@1 show map /etc/haprepro/answer.map",
    ///   prompt = true, per_connection = 6, read_chunk = 4096, read_every = "1ms", within =
    ///   "500ms", repeat = 11, record = "slow" }`: prompt mode: each of `repeat` connections
    ///   sends `prompt`, then the command `per_connection` times, each once the previous answer
    ///   ended with its prompt, reading `read_chunk` bytes every `read_every` (a slow reader);
    ///   `within` is the longest silence allowed in an answer. An answer that falls silent
    ///   without its prompt is followed by the next command; if that gets no byte within
    ///   `within`, the connection is frozen and kept open (held under the record, like `hold`).
    /// - `unix = { socket = "master.sock", nonblocking_connects = 40 }` / `unix = { release =
    ///   "idle" }`: counts EAGAIN (connections opened without waiting, kept); closes held
    ///   connections.
    ///
    /// The harness connects only to a socket itself, never to a link or a file the container
    /// put in `{{ sock.dir }}` (the step ends the case as `error`, saying so). A `unix` measure
    /// reads the step's counts.
    unix: Unix(UnixStep),
    /// TCP connections opened and closed at once.
    ///
    /// `tcp = { to = "haproxy:9999", connect_close = 20 }`: connects and closes without
    /// sending; `from = "c1"` sends from a client of the topology.
    tcp: Tcp(TcpStep),
    /// A command inside a container.
    ///
    /// `exec = { in = "haproxy", command = ["cat", "/etc/haproxy/x"], record = "x" }`: the
    /// image must have the command (official images are slim); placeholders are allowed.
    exec: Exec(ExecStep),
    /// A container's TCP sockets, read from the host.
    ///
    /// `sockets = { in = "haproxy", state = "established", dst = "{{ s1.ip }}", local_port =
    /// 9999, record = "ss" }`: the container's TCP sockets (IPv4 and IPv6), read from the host
    /// through its main process (`/proc/<pid>/net/tcp{,6}`), so no `ss` is needed in the image;
    /// `state` as `ss` names it (`close-wait`, `listen`, ...), every filter optional; one line
    /// per socket in `ss -Htn`'s form (`ESTABLISHED 0 0 10.213.7.10:41838 10.213.7.3:8000`),
    /// read by `answer_lines`.
    sockets: Sockets(SocketsStep),
    /// A signal to an instance or its worker.
    ///
    /// `signal = { to = "haproxy", process = "worker", signal = "STOP" }`: a signal to the main
    /// process (through Docker) or to the master's workers (from the host: the children of the
    /// container's main process in `/proc`, so no `pgrep` is needed in the image).
    signal: Signal(SignalStep),
    /// Long-lived TCP sessions and a churn of short ones.
    ///
    /// `sessions = { to = "haproxy:8080", count = 200, every = "50ms", churn = 20, banners =
    /// 200, record = "load" }`: long-lived TCP sessions exchanging a line every 50 ms, each
    /// tracked (server, exchanges, when and how closed), plus `churn` new short connections
    /// per second; waits (up to `within`) until all are connected (and `banners` got their
    /// server's banner), or not at all with `wait = false`. `from = "c1"` sends from a client
    /// of the topology. A `snapshot` step keeps their state at a moment.
    sessions: Sessions(SessionsStep),
    /// The sessions of a load at this moment.
    ///
    /// `snapshot = { of = "load", record = "at_2s" }`: keeps every session's state at that
    /// moment (a `sessions` measure reads it).
    snapshot: Snapshot(SnapshotStep),
    /// A pause where the bug itself is time-bound.
    ///
    /// `sleep = { for = "2s", because = "..." }`: only where the bug itself is time-bound; the
    /// waits are event waits, so a sleep is never needed to let something happen.
    sleep: Sleep(SleepStep),
    /// Whether a server could be removed now.
    ///
    /// `removable = { server = "be/s1", within = "200ms", record = "rm" }`: could the server be
    /// deleted now? `wait 200ms srv-removable be/s1` where HAProxy answers it (3.0+), else
    /// `show stat` polled for MAINT with scur and qcur 0; the record's first line is
    /// `removable=1` or `removable=0` and says which way was used; never fails the case.
    removable: Removable(RemovableStep),
    /// Changes a backend's behaviour.
    ///
    /// `backend = { name = "s1", connections = "unreachable" }`: changes a backend from now
    /// on; only the fields given change: `connections`, `accept_delay` (with `slow_accept`),
    /// `http = { status, headers, body, delay, close }`, `tcp = { banner, echo, delay,
    /// close_after }` (each as in the topology: see
    /// [Backends](writing-scenarios.md#backends)); returns once the listener is in its new mode,
    /// and fails when the listener did not take it within 2 s.
    backend: Backend(BackendStep),
    /// Flaps a DNS name between address sets.
    ///
    /// `flap = { name = "app", between = [["web1"], ["web2", "10.0.0.9"]], every = "300ms",
    /// times = 6, follow = "be/s1", until = { server = "be/s1", state = "DOWN" }, record =
    /// "flaps" }`: flaps a name's A records between address sets (roles or literal IPs, as
    /// `dns` takes them), each set holding for `every`, `times` sets in all; what was set when
    /// is in the step's detail and the record (`flap-flaps.json`); with `follow`, HAProxy is
    /// asked after each flip until that server's address is in the new set (within the
    /// interval), and the record counts the flips it `followed`; `until` (any `wait`'s table,
    /// asked for what is left of each interval) ends the flapping early. A `value` measure
    /// reads `flips`, `followed`, `until_met`.
    flap: Flap(FlapStep),
    /// Reloads a master-worker instance and waits for its new worker.
    ///
    /// `reload = { on = "haproxy", via = "signal", within = "10s", record = "r" }`: reloads a
    /// master-worker instance (`master_cli = true`) with the master CLI's `reload` (default) or
    /// SIGUSR2 to the master (`via = "signal"`), then waits, polling the master's `show proc`,
    /// until a worker with a new PID is listed, no old worker is listed as current, and the
    /// runtime API is answered by the new worker (`show info`'s Pid); the old and new PIDs are
    /// recorded (`reload-r.json`, with `show proc` before and after). A `value` measure reads
    /// `old_pid`, `new_pid`, `new_workers`, `old_workers_left`, `reload_ms`.
    reload: Reload(ReloadStep),
}

#[cfg(test)]
mod tests;
