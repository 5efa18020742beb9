//! The case's state: what the case is once set up, what runs, what is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Instant;

use crate::capture::Capture;
use crate::dns::DnsServer;
use crate::haproxy::RuntimeApi;
use crate::images::ResolvedImage;
use crate::runtime::{Container, ContainerSpec, Sandbox};

use crate::scenario::record::{CaptureRun, Recorded, ServerPoll};

/// A folder shared between the host and each HAProxy container (`{{ sock.dir }}`), so the
/// harness reaches unix sockets (the master CLI) directly.
pub const SOCK_DIR: &str = "/run/haprepro";
/// Where an instance's generated files go (`{{ files.dir }}`), copied in before the start
/// (only when the instance declares some).
pub const FILES_DIR: &str = "/etc/haprepro";

/// The running capture and the role whose SYNs it takes.
pub(crate) struct LiveCapture {
    pub role: String,
    pub capture: Capture,
}

/// One HAProxy of the case.
pub(crate) struct Instance {
    pub name: String,
    pub api: RuntimeApi,
    pub spec: ContainerSpec,
    pub container: Option<Container>,
    /// The host side of `SOCK_DIR`.
    pub sock_dir: PathBuf,
    /// Master-worker mode: ready only once the master CLI answers too.
    pub master_cli: bool,
}

/// The running case's world, handed to every step, in three parts: what the case is (fixed once
/// the setup is done), [`Live`] (what runs: containers, backends, DNS, capture, held sockets,
/// loads; torn down at the end) and [`Kept`] (what the steps keep for the evidence, which
/// becomes the read-only `Evidence` the measures see). A step changes the
/// live world and adds to what is kept; only the setup writes the first part.
pub(crate) struct CaseState<'a> {
    pub image: &'a ResolvedImage,
    /// The topology's clients: the roles a step's `from` may name.
    pub clients: BTreeSet<String>,
    /// Every role's address in this case.
    pub ips: BTreeMap<String, Ipv4Addr>,
    /// The template's values, for placeholders in `exec` commands.
    pub values: BTreeMap<String, String>,
    pub started: Instant,
    pub evidence_dir: PathBuf,
    pub live: Live,
    pub kept: Kept,
}

/// The runtime handles of a case: everything that must be stopped or removed when it ends.
pub(crate) struct Live {
    pub sandbox: Sandbox,
    pub containers: Vec<Container>,
    /// The backends, serving in this process.
    pub backends: Vec<crate::backend::Backend>,
    pub dns: Option<DnsServer>,
    pub capture: Option<LiveCapture>,
    pub instances: Vec<Instance>,
    /// Connections `unix` steps hold open, by record name.
    pub held: HashMap<String, Vec<std::os::fd::OwnedFd>>,
    /// Running `sessions` loads, by record name.
    pub loads: HashMap<String, crate::load::sessions::SessionLoad>,
    /// The watchers of the HAProxy containers, which see a death when it happens.
    pub watch: crate::scenario::watch::Watch,
}

/// What the steps keep for the evidence: only added to while the case runs, then read.
#[derive(Default)]
pub(crate) struct Kept {
    /// Captures already stopped, with their SYNs.
    pub captures: Vec<CaptureRun>,
    pub records: BTreeMap<String, Recorded>,
    /// Evidence files written, by name.
    pub evidence: Vec<String>,
    /// Evidence files not written yet: name and contents.
    pub pending: Vec<(String, Vec<u8>)>,
    /// Evidence files that could not be written, with why: the case cannot stand on them.
    pub lost: Vec<String>,
    /// Evidence names refused as no plain file name (`contain.rs`): the case ends as `error`.
    pub refused: Vec<String>,
    pub logs: HashMap<String, String>,
    /// Server states the waits' polls saw, changes only, for the timeline.
    pub server_polls: std::sync::Mutex<Vec<ServerPoll>>,
}

impl CaseState<'_> {
    /// The instance a step names, or the first one.
    pub fn instance(&self, on: Option<&str>) -> Result<&Instance, String> {
        match on {
            None => self
                .live
                .instances
                .first()
                .ok_or_else(|| "no HAProxy instance".to_string()),
            Some(name) => self
                .live
                .instances
                .iter()
                .find(|i| i.name == name)
                .ok_or_else(|| format!("no HAProxy instance {name:?}")),
        }
    }

    pub(crate) fn ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// `role:port` (as steps write a destination) to the address it names in this case.
    pub(crate) fn role_addr(&self, to: &str) -> Result<std::net::SocketAddr, String> {
        let (role, port) = to
            .split_once(':')
            .ok_or_else(|| format!("{to:?}: expected role:port"))?;
        let port: u16 = port.parse().map_err(|_| format!("{to:?}: bad port"))?;
        Ok(std::net::SocketAddr::new(self.role_ip(role)?.into(), port))
    }

    /// The source address of a step's `from` (a client of the topology), if it names one.
    pub(crate) fn client_ip(
        &self,
        from: Option<&toml::Spanned<String>>,
    ) -> Result<Option<std::net::IpAddr>, String> {
        let Some(from) = from else {
            return Ok(None);
        };
        let name = from.get_ref();
        if !self.clients.contains(name) {
            return Err(format!("{name:?} is not a client of the topology"));
        }
        Ok(Some(self.role_ip(name)?.into()))
    }

    pub(crate) fn role_ip(&self, role: &str) -> Result<Ipv4Addr, String> {
        role.parse()
            .ok()
            .or_else(|| self.ips.get(role).copied())
            .ok_or_else(|| format!("no address for {role:?}"))
    }
}
