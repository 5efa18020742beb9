//! The scenario file as written: `scenario.toml`, deserialised with spans so that every later
//! check can point at the line it is about. Unknown keys are rejected everywhere: a typo must
//! never silently drop a step or an assertion.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::backend_step::Change;
pub use super::backend_step::{BackendStep, HttpSpec, TcpSpec};
use super::duration::Dur;
use super::outcome::Outcome;
use crate::backend::Mode;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Spanned<String>,
    pub summary: String,
    #[serde(default)]
    pub refs: Vec<String>,
    /// HAProxy features the experiment needs (`["ssl"]`): a source build whose profile lacks
    /// one is refused before anything starts, instead of failing obscurely on the config.
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    /// Expected outcome per version range, in file order; the first matching range wins.
    pub expect: Spanned<ExpectTable>,
    /// Racy bugs: the case runs this many times (fresh containers each time); the symptom
    /// counts if seen once, and the record says how often ("3 of 20").
    #[serde(default)]
    pub repeat: Option<Spanned<u32>>,
    /// The most a case (one run) may take; derived from its steps' own timeouts when absent.
    #[serde(default)]
    pub deadline: Option<Spanned<Dur>>,
    /// Values for `{{ vars.NAME }}` in the templates; variants override them.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Variants of the experiment (`non-stick`): each is a case of its own, with its own vars,
    /// sysctls and expectations. Without any, the scenario is one case per version.
    #[serde(default, rename = "variant")]
    pub variants: Vec<Variant>,
    pub topology: Topology,
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<Step>>,
    /// May be absent when every variant has its own.
    #[serde(default)]
    pub observe: Option<Observe>,
}

/// `[expect]`: `"range" = "outcome"` lines, kept in the order written.
#[derive(Debug, Default)]
pub struct ExpectTable(pub Vec<(Spanned<String>, Spanned<Outcome>)>);

impl<'de> Deserialize<'de> for ExpectTable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ExpectTable;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of \"version range\" = \"reproduced\" | \"not-reproduced\"")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ExpectTable, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(ExpectTable(entries))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub name: Spanned<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Replaces the scenario's `[expect]` for this variant.
    #[serde(default)]
    pub expect: Option<Spanned<ExpectTable>>,
    /// Replaces the scenario's `repeat` for this variant.
    #[serde(default)]
    pub repeat: Option<Spanned<u32>>,
    /// Replaces the scenario's `deadline` for this variant.
    #[serde(default)]
    pub deadline: Option<Spanned<Dur>>,
    /// Extra sysctls per HAProxy instance: `sysctls.hapA = { "net.ipv4.ip_nonlocal_bind" = "1" }`.
    #[serde(default)]
    pub sysctls: BTreeMap<String, BTreeMap<String, String>>,
    /// Steps of this variant (`[[variant.step]]`), replacing the scenario's when present: for
    /// sub-cases whose experiment differs, not only their settings.
    #[serde(default, rename = "step")]
    pub steps: Vec<Spanned<Step>>,
    /// Replaces the scenario's `[observe]` for this variant.
    #[serde(default)]
    pub observe: Option<Observe>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    #[serde(default)]
    pub backends: Vec<Backend>,
    /// Clients of the harness process with addresses of their own on the case bridge, for
    /// requests from distinct fixed source addresses.
    #[serde(default)]
    pub clients: Vec<Client>,
    #[serde(default)]
    pub dns: Option<DnsSetup>,
    /// One HAProxy (a table) or several (an array of tables with names).
    pub haproxy: Spanned<Instances>,
    /// Capture from the very start, before HAProxy starts, so no packet of any phase is missed.
    #[serde(default)]
    pub capture: Option<CaptureSetup>,
}

/// A backend of the harness process, on an address of its own on the case bridge.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub name: Spanned<String>,
    #[serde(default = "default_mode")]
    pub mode: Mode,
    #[serde(default = "default_backend_port")]
    pub port: u16,
    /// A fixed last byte of the address in the case's /24 (100 to 249), for a config that
    /// needs it known; otherwise the next free one.
    #[serde(default)]
    pub host: Option<Spanned<u8>>,
    /// How it takes connections from the start: accept (default), refuse, reset, hang,
    /// unreachable, slow_accept (with `accept_delay`).
    #[serde(default)]
    pub connections: Option<Spanned<String>>,
    #[serde(default)]
    pub accept_delay: Option<Dur>,
    /// HTTP mode: what it answers.
    #[serde(default)]
    pub http: Option<Spanned<HttpSpec>>,
    /// TCP mode: banner, echo, delay, close.
    #[serde(default)]
    pub tcp: Option<Spanned<TcpSpec>>,
}

impl Backend {
    pub(crate) fn change(&self) -> Change<'_> {
        Change {
            connections: self.connections.as_ref(),
            accept_delay: self.accept_delay,
            http: self.http.as_ref(),
            tcp: self.tcp.as_ref(),
        }
    }

    /// What the backend does from the start (the file was checked at load).
    pub fn behaviour(&self) -> Result<crate::backend::Behaviour, String> {
        self.change().apply(crate::backend::Behaviour::default())
    }
}

fn default_mode() -> Mode {
    Mode::Http
}

fn default_backend_port() -> u16 {
    8000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSetup {
    /// The zone the server is authoritative for (`svc.test`).
    pub zone: String,
    /// TTL of every answer, in seconds.
    #[serde(default)]
    pub ttl: Option<u32>,
    #[serde(default)]
    pub records: Vec<RecordSpec>,
    /// Faults in place before HAProxy starts (its first queries are affected too).
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub name: String,
    pub kind: Spanned<String>,
    #[serde(default)]
    pub delay: Option<Dur>,
    #[serde(default)]
    pub client: Option<Spanned<String>>,
}

/// A name and what it resolves to. Addresses are roles of the topology (`web1`) or literal IPs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordSpec {
    pub name: String,
    #[serde(default)]
    pub a: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub aaaa: Option<Vec<String>>,
    #[serde(default)]
    pub srv: Option<Vec<SrvSpec>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SrvSpec {
    /// A role; the SRV target becomes `<role>.<zone>` and gets an A record.
    pub target: Spanned<String>,
    pub port: u16,
    #[serde(default)]
    pub priority: u16,
    #[serde(default = "default_weight")]
    pub weight: u16,
}

fn default_weight() -> u16 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Client {
    pub name: Spanned<String>,
    /// A fixed last byte of the address in the case's /24 (100 to 249).
    #[serde(default)]
    pub host: Option<Spanned<u8>>,
}

/// `haproxy = { ... }` or `haproxy = [{ name = "hapA", ... }, ...]`.
#[derive(Debug, Default)]
pub struct Instances(pub Vec<HaproxySetup>);

impl<'de> Deserialize<'de> for Instances {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Instances;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a HAProxy instance table, or an array of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Instances, A::Error> {
                let one =
                    HaproxySetup::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Instances(vec![one]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                seq: A,
            ) -> Result<Instances, A::Error> {
                let many = Vec::<HaproxySetup>::deserialize(
                    serde::de::value::SeqAccessDeserializer::new(seq),
                )?;
                Ok(Instances(many))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// When an instance starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StartMode {
    /// With the topology; the case waits until its runtime API answers.
    #[default]
    Setup,
    /// By a `start` step, which records whether it came up (a failure to start is evidence).
    Step,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HaproxySetup {
    /// The role name; `haproxy` when there is only one.
    #[serde(default = "default_instance_name")]
    pub name: String,
    /// The config template, relative to the scenario folder.
    pub config: Spanned<String>,
    /// Extra command-line arguments (`-L`, `-W`, ...).
    #[serde(default)]
    pub args: Vec<String>,
    /// The port of the `stats socket` the template declares, for the runtime API.
    #[serde(default = "default_api_port")]
    pub api_port: u16,
    #[serde(default)]
    pub sysctls: BTreeMap<String, String>,
    /// Master-worker mode with a master CLI socket the harness reaches as `master.sock`.
    #[serde(default)]
    pub master_cli: bool,
    #[serde(default)]
    pub start: StartMode,
    /// CPUs the HAProxy process starts on (`taskset -c`, e.g. "0"): with `cpu-map` in the
    /// config moving the worker elsewhere, master and worker never share a CPU.
    #[serde(default)]
    pub cpus: Option<Spanned<String>>,
    /// Files generated into the container, in `{{ files.dir }}`: data HAProxy loads whose size
    /// the scenario sets (a map of N entries) without a large file in the repository.
    #[serde(default)]
    pub files: Vec<GeneratedFile>,
}

/// A file of `lines` lines, each `line` with `{{ n }}` replaced by the line's number (from 0,
/// zero-padded to one width, so every line of a file has the same length).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratedFile {
    pub name: Spanned<String>,
    pub lines: u32,
    pub line: Spanned<String>,
}

impl GeneratedFile {
    /// The file's contents.
    pub fn contents(&self) -> String {
        let width = self.lines.saturating_sub(1).to_string().len();
        let line = self.line.get_ref();
        let mut out = String::with_capacity((line.len() + width + 1) * self.lines as usize);
        for n in 0..self.lines {
            out.push_str(&line.replace("{{ n }}", &format!("{n:0width$}")));
            out.push('\n');
        }
        out
    }
}

fn default_instance_name() -> String {
    "haproxy".into()
}

fn default_api_port() -> u16 {
    9999
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSetup {
    /// Capture the TCP SYNs this role sends.
    pub syn_from: Spanned<String>,
}

/// One step: exactly one action, written as `[[step]]` followed by `action = { ... }`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Step {
    Start(StartStep),
    Wait(Wait),
    Dns(DnsStep),
    Capture(CaptureStep),
    Api(ApiStep),
    Http(HttpStep),
    Unix(UnixStep),
    Tcp(TcpStep),
    Exec(ExecStep),
    Signal(SignalStep),
    Sessions(SessionsStep),
    Snapshot(SnapshotStep),
    Sleep(SleepStep),
    Removable(RemovableStep),
    Backend(BackendStep),
}

/// Works a unix socket of an instance (`master.sock` with `master_cli`, or one the config puts
/// in `{{ sock.dir }}`). Exactly one of `hold`, `command`, `nonblocking_connects`, `release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixStep {
    #[serde(default)]
    pub socket: Option<String>,
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// Open this many connections and keep them open, sending nothing.
    #[serde(default)]
    pub hold: Option<u32>,
    /// Send this command (then half-close) and wait `within` for an answer.
    #[serde(default)]
    pub command: Option<String>,
    /// Close the connection after this many bytes of answer (an aborted read).
    #[serde(default)]
    pub read_bytes: Option<usize>,
    /// Shut down the write side after the command (default true): the master CLI closes a
    /// connection only then; a client that does not, holds a slot.
    #[serde(default = "default_true")]
    pub half_close: bool,
    /// Open this many connections without waiting, keeping them: counts EAGAIN.
    #[serde(default)]
    pub nonblocking_connects: Option<u32>,
    /// Close the connections a step recorded under this name.
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default = "default_unix_within")]
    pub within: Dur,
    /// Do the command this many times, one after another.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Retry the command (each try waiting `within`) until one is answered or this passes:
    /// for recovery, which takes HAProxy a moment.
    #[serde(default)]
    pub until_answered: Option<Dur>,
    /// Prompt mode (the master CLI's `prompt`): each of the `repeat` connections sends `prompt`,
    /// then the command `per_connection` times, each once the previous answer ended with the
    /// prompt; `within` is the longest silence allowed in an answer. A connection whose answer
    /// falls silent without its prompt is sent the next command; if that gets no byte within
    /// `within` either, it is frozen and kept open.
    #[serde(default)]
    pub prompt: bool,
    /// With `prompt`: commands per connection.
    #[serde(default)]
    pub per_connection: Option<u32>,
    /// Read answers at most this many bytes at a time (a slow reader)...
    #[serde(default)]
    pub read_chunk: Option<usize>,
    /// ...with this pause between reads.
    #[serde(default)]
    pub read_every: Option<Dur>,
    #[serde(default)]
    pub record: Option<String>,
}

fn default_true() -> bool {
    true
}

fn default_unix_within() -> Dur {
    Dur(std::time::Duration::from_secs(2))
}

/// Starts long-lived TCP sessions that exchange a line every `every`, plus a churn of short
/// connections; the step ends once all sessions are connected (within `within`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsStep {
    /// `role:port`.
    pub to: Spanned<String>,
    /// A client of the topology to connect from; the gateway address otherwise.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    pub count: u32,
    #[serde(default = "default_every")]
    pub every: Dur,
    /// New short connections per second.
    #[serde(default)]
    pub churn: u32,
    /// Also wait until this many sessions got their server's banner.
    #[serde(default)]
    pub banners: Option<u32>,
    /// `false`: return at once, while the sessions are still connecting (for steps that must
    /// race the connects).
    #[serde(default = "default_true")]
    pub wait: bool,
    pub record: String,
    #[serde(default = "default_within")]
    pub within: Dur,
}

fn default_every() -> Dur {
    Dur(std::time::Duration::from_millis(50))
}

/// Keeps the state of every session of a `sessions` load at this moment.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotStep {
    /// The `sessions` step's record.
    pub of: String,
    pub record: String,
}

/// TCP connections opened and closed at once, sending nothing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpStep {
    /// `role:port`.
    pub to: Spanned<String>,
    /// A client of the topology to connect from; the gateway address otherwise.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    pub connect_close: u32,
}

/// A command run inside a container (`ss`, `ps`); fails on a non-zero exit. Arguments may use
/// the template's placeholders (`{{ s1.ip }}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecStep {
    #[serde(rename = "in")]
    pub container: Spanned<String>,
    pub command: Vec<String>,
    #[serde(default)]
    pub record: Option<String>,
}

/// Sends a signal to an instance's main process, or to its worker (master-worker mode).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalStep {
    pub to: Spanned<String>,
    /// `STOP`, `CONT`, `USR1`, `HUP`, ...
    pub signal: String,
    /// `worker`: the children of the master; the main process otherwise.
    #[serde(default)]
    pub process: Option<String>,
}

/// Starts an instance declared with `start = "step"` and records whether it became ready.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartStep {
    pub instance: Spanned<String>,
    #[serde(default = "default_within")]
    pub within: Dur,
}

/// Waits for an event, with a deadline. Exactly one of `server`, `servers`, `syn`,
/// `dns_query`, `api`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// The HAProxy instance asked (`server`, `api`); the first one by default.
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// A runtime API command, repeated until its answer contains `contains`.
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    /// `backend/server`, with `state`.
    #[serde(default)]
    pub server: Option<Spanned<String>>,
    /// `UP`, `DOWN`, `MAINT`, `RMAINT` (maintenance for resolution), or one prefixed with `!`.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// Servers to count, with `state`, until `count` of them (all by default) are in it: a
    /// glob over `backend/server` (`be*/srv1`) or a list.
    #[serde(default)]
    pub servers: Option<Spanned<super::count_wait::ServerSet>>,
    /// What a count wait that runs out of time is: `"error"` (the default) or
    /// `"observation"` (the count reached is recorded and the case goes on).
    #[serde(default)]
    pub on_timeout: Option<Spanned<String>>,
    /// Keeps a count wait's tally under this name, for a `counted` measure.
    #[serde(default)]
    pub record: Option<String>,
    /// `count` SYNs matching this, seen since the step started (needs a capture).
    #[serde(default)]
    pub syn: Option<SynMatch>,
    #[serde(default)]
    pub count: Option<u32>,
    /// A new query for this name (relative to the zone) reaching the DNS server.
    #[serde(default)]
    pub dns_query: Option<String>,
    #[serde(default)]
    pub qtype: Option<String>,
    #[serde(default = "default_within")]
    pub within: Dur,
}

fn default_within() -> Dur {
    Dur(std::time::Duration::from_secs(5))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynMatch {
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub dst_port: Option<u16>,
}

/// Changes the zone or its faults. Exactly one of `set`, `remove`, `fault`, `clear`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsStep {
    #[serde(default)]
    pub set: Option<String>,
    #[serde(default)]
    pub a: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    pub srv: Option<Vec<SrvSpec>>,
    #[serde(default)]
    pub remove: Option<String>,
    #[serde(default)]
    pub fault: Option<String>,
    /// `nxdomain`, `servfail`, `refused`, `drop`, `truncate`, `delay` (with `delay`).
    #[serde(default)]
    pub kind: Option<Spanned<String>>,
    #[serde(default)]
    pub delay: Option<Dur>,
    /// Only queries from this role get the fault.
    #[serde(default)]
    pub client: Option<Spanned<String>>,
    #[serde(default)]
    pub clear: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureStep {
    /// `syn`: start capturing the SYNs of `from`.
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub stop: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiStep {
    pub command: String,
    /// The HAProxy instance; the first one by default.
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// Keeps the answer under this name, for `[observe.measure]` and the evidence folder.
    #[serde(default)]
    pub record: Option<String>,
    /// The step fails unless the answer contains this text.
    #[serde(default)]
    pub expect_contains: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// `role:port`.
    pub to: Spanned<String>,
    /// A client of the topology to send from (its own source address); the case network's
    /// gateway address otherwise.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_count")]
    pub count: u32,
    pub record: String,
    #[serde(default = "default_http_timeout")]
    pub timeout: Dur,
}

fn default_path() -> String {
    "/".into()
}

fn default_count() -> u32 {
    1
}

fn default_http_timeout() -> Dur {
    Dur(std::time::Duration::from_secs(2))
}

/// Whether a server could be removed now: in maintenance, with no connection, queue or stream
/// left. HAProxy answers it itself with `wait <within> srv-removable` where the version has that
/// command (3.0 and later here); elsewhere `show stat` is polled (MAINT, scur 0, qcur 0). An
/// observation, not a wait: the answer is recorded either way and the case goes on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovableStep {
    /// `backend/server`.
    pub server: Spanned<String>,
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// How long HAProxy may take to get there.
    #[serde(default = "default_removable_within")]
    pub within: Dur,
    /// The record's first line reads `removable=1` or `removable=0`, then how it was asked.
    pub record: String,
}

fn default_removable_within() -> Dur {
    Dur(std::time::Duration::from_millis(200))
}

/// A pause, only where the bug itself is time-bound; `because` says why, in the timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepStep {
    #[serde(rename = "for")]
    pub duration: Dur,
    pub because: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observe {
    /// Named numbers measured from the evidence after the steps.
    pub measure: BTreeMap<String, Spanned<Measure>>,
    /// The bug's symptom, over the measures: `syn_port0 >= 1`, joined with `and` / `or`.
    pub reproduced_if: Spanned<String>,
    /// Conditions that must hold for the experiment to mean anything (else the outcome is
    /// `error`): a not-reproduced verdict is only worth something if the code path ran.
    #[serde(default)]
    pub valid_if: Vec<Spanned<String>>,
}

/// How one measure is computed. Exactly one key.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Measure {
    /// SYNs in the capture matching this.
    Syns(SynMatch),
    /// HTTP exchanges of an `http` step's record.
    Responses(ResponseMatch),
    /// Queries in the DNS query log.
    DnsQueries(DnsQueryMatch),
    /// Lines of a container's output containing a text.
    LogLines(LogMatch),
    /// 1 when the version in a recorded `show info` equals the version read from the image.
    VersionMatchesImage(String),
    /// Servers of a recorded `show servers state` whose field has this value.
    ServersWith(FieldMatch),
    /// 1 when an instance started by a `start` step became ready, 0 when it did not.
    InstanceReady(Spanned<String>),
    /// Lines of a recorded answer that contain a text.
    AnswerLines(AnswerMatch),
    /// Entries of a recorded `show table` whose data field has this value.
    TableEntries(TableMatch),
    /// A count of a `unix` step: attempts, connected, answered, eagain, first_eagain_at, held.
    Unix(UnixMatch),
    /// Sessions of a snapshot: of a server (`none`: never got a banner), open or closed.
    Sessions(SessionsMatch),
    /// Streams of a recorded `show sess` on a server, optionally only those older than a time.
    Streams(StreamsMatch),
    /// A count wait's tally: servers in the state (`matched`), `wanted`, `total`, `timed_out`.
    Counted(CountedMatch),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountedMatch {
    pub record: String,
    /// `matched` by default.
    #[serde(default)]
    pub value: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamsMatch {
    pub record: String,
    /// `backend/server`.
    pub server: String,
    #[serde(default)]
    pub older_than: Option<Dur>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionsMatch {
    pub record: String,
    #[serde(default)]
    pub server: Option<String>,
    pub state: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixMatch {
    pub record: String,
    pub value: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerMatch {
    pub record: String,
    pub contains: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableMatch {
    pub record: String,
    /// `server_id`, `gpc0`, ...; with `equals`. Without, every entry counts.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseMatch {
    pub record: String,
    /// Only answers from these backends.
    #[serde(default)]
    pub from: Option<Vec<Spanned<String>>>,
    /// Only exchanges that failed (no HTTP answer), or only those that did not.
    #[serde(default)]
    pub failed: Option<bool>,
    #[serde(default)]
    pub status: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsQueryMatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub qtype: Option<String>,
    /// Only queries whose answer, as the query log words it, contains this (`NXDOMAIN`).
    #[serde(default)]
    pub answer: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogMatch {
    pub role: Spanned<String>,
    pub contains: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub record: String,
    /// `backend/server`; all servers when absent.
    #[serde(default)]
    pub server: Option<String>,
    pub field: String,
    pub equals: String,
}
