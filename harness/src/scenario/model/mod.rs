//! The scenario file as written: `scenario.toml`, deserialised with spans so that every later
//! check can point at the line it is about. Unknown keys are rejected everywhere: a typo must
//! never silently drop a step or an assertion.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::duration::Dur;
use super::outcome::Outcome;
pub(crate) mod backend;
pub(crate) mod srv;
pub(crate) mod syn;

use crate::backend::Mode;
pub(crate) use backend::Change;
pub use backend::{HttpSpec, TcpSpec};
pub use srv::SrvSpec;

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

pub use super::step::Step;

pub use super::measure::Measure;

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
