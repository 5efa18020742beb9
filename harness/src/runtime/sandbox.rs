//! One case's private world: a Docker network of its own, the containers on it, and their removal.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

use super::engine::{ContainerConfig, Engine, ExecOutput, NetworkInfo, RUN_LABEL};
use super::{names, remove_labelled, subnets, watchdog, RuntimeError};

const CASE_LABEL: &str = "haprepro.case";
/// The first container address of a case network; below it are the gateway and spares.
const FIRST_HOST: u8 = 10;

/// A file copied into a container before it starts.
#[derive(Debug, Clone)]
pub struct FileIn {
    pub path: String,
    pub contents: Vec<u8>,
    pub mode: u32,
}

/// What to run in a container of the case. `role` is the short name the scenario uses
/// (`haproxy`, `web1`); the Docker name adds the run and case.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub role: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Vec<String>,
    pub files: Vec<FileIn>,
    pub binds: Vec<String>,
    pub sysctls: HashMap<String, String>,
    pub user: Option<String>,
    /// A fixed address; `None` takes the next free one.
    pub ip: Option<Ipv4Addr>,
    /// The main process's working directory.
    pub working_dir: Option<String>,
    /// Lift the core-size limit (a crash then leaves a core in the working directory, where
    /// the host's `kernel.core_pattern` is a plain file name).
    pub core_dumps: bool,
}

/// A started container of the case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Container {
    pub role: String,
    pub id: String,
    pub docker_name: String,
    pub ip: Ipv4Addr,
}

/// A case's network and containers. Call [`Sandbox::teardown`]; if a panic or an early return
/// skips it, `Drop` removes everything of the case all the same.
pub struct Sandbox {
    engine: Engine,
    run_id: String,
    case: String,
    network: NetworkInfo,
    containers: Mutex<Vec<Container>>,
    /// Addresses of in-process roles on the bridge: (role, address).
    addresses: Mutex<Vec<(String, Ipv4Addr)>>,
    next_host: AtomicU8,
    torn_down: AtomicBool,
    keep: bool,
}

impl Sandbox {
    /// Creates the case's network on a /24 of the configured ranges (`HAPREPRO_SUBNETS`, by
    /// default 10.213.0.0/16) that no route or address of this host overlaps and no other
    /// Docker network holds (see [`super::subnets`]).
    pub async fn create(
        engine: &Engine,
        run_id: &str,
        case: &str,
    ) -> Result<Sandbox, RuntimeError> {
        watchdog::install();
        // Before the first case of this process: what killed runs left behind.
        super::orphans::once(engine).await;
        let name = format!("haprepro-{run_id}-{}", names::sanitize(case));
        let labels = HashMap::from([
            (RUN_LABEL.to_string(), run_id.to_string()),
            (CASE_LABEL.to_string(), case.to_string()),
        ]);
        let ranges = subnets::configured()?;
        let mut used = subnets::host_used().map_err(subnets::unreadable)?;
        let mut tried = Vec::new();
        while tried.len() < subnets::DOCKER_TRIES {
            let Some(subnet) = subnets::Free::of(&ranges, &used).random() else {
                break;
            };
            match engine
                .create_network(
                    &name,
                    &names::bridge_name(),
                    &subnet.to_string(),
                    subnet.gateway(),
                    labels.clone(),
                )
                .await
            {
                Ok(network) => {
                    return Ok(Sandbox {
                        engine: engine.clone(),
                        run_id: run_id.to_string(),
                        case: case.to_string(),
                        network,
                        containers: Mutex::new(Vec::new()),
                        addresses: Mutex::new(Vec::new()),
                        next_host: AtomicU8::new(FIRST_HOST),
                        torn_down: AtomicBool::new(false),
                        keep: std::env::var_os("HAPREPRO_KEEP").is_some(),
                    })
                }
                Err(RuntimeError::SubnetTaken { .. }) => {
                    used.push(subnets::Used {
                        net: subnet,
                        by: "a Docker network".into(),
                    });
                    tried.push(subnet);
                }
                Err(e) => return Err(e),
            }
        }
        Err(if tried.is_empty() {
            subnets::host_covers_all(&ranges, &used).into()
        } else {
            subnets::docker_took_all(&ranges, &used, &tried).into()
        })
    }

    pub fn network(&self) -> &NetworkInfo {
        &self.network
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn case(&self) -> &str {
        &self.case
    }

    /// Keeps the containers and network after the case (for debugging); `HAPREPRO_KEEP=1` too.
    pub fn keep(&mut self, keep: bool) {
        self.keep = keep;
    }

    /// Reserves the next free address of the case network, so a config can name it before the
    /// container that will own it starts.
    pub fn allocate_ip(&self) -> Ipv4Addr {
        let host = self.next_host.fetch_add(1, Ordering::Relaxed);
        let [a, b, c, _] = self.network.gateway.octets();
        Ipv4Addr::new(a, b, c, host)
    }

    /// Gives a role of the harness process (a backend, a client) an address of its own on the
    /// case bridge: the next free address of the network, added to the bridge until teardown.
    pub fn add_address(&self, role: &str) -> Result<Ipv4Addr, RuntimeError> {
        let ip = self.allocate_ip();
        self.add_fixed_address(role, ip)?;
        Ok(ip)
    }

    /// Adds an address chosen by the caller (one from [`Sandbox::allocate_ip`]) to the bridge.
    pub fn add_fixed_address(&self, role: &str, ip: Ipv4Addr) -> Result<(), RuntimeError> {
        super::bridge_addr::add(&self.network.bridge, ip, role)?;
        self.addresses
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((role.to_string(), ip));
        Ok(())
    }

    /// Deletes the addresses of in-process roles from the bridge (sockets on them must be
    /// closed first). Idempotent; teardown and `Drop` call it too.
    pub fn delete_addresses(&self) -> Result<(), RuntimeError> {
        let all = std::mem::take(&mut *self.addresses.lock().unwrap_or_else(|e| e.into_inner()));
        let mut first_error = None;
        for (role, ip) in all {
            if let Err(e) = super::bridge_addr::delete(&self.network.bridge, ip, &role) {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    /// Creates the container, copies its files in, starts it.
    pub async fn start(&self, spec: ContainerSpec) -> Result<Container, RuntimeError> {
        let container = self.create_container(spec).await?;
        self.start_created(&container).await?;
        Ok(container)
    }

    /// Starts a container made by [`Sandbox::create_container`].
    pub async fn start_created(&self, container: &Container) -> Result<(), RuntimeError> {
        self.engine.start(&container.id).await
    }

    /// Creates the container and copies its files in, without starting it: creating ahead
    /// lets a case start containers in the order it needs without paying for creation then.
    pub async fn create_container(&self, spec: ContainerSpec) -> Result<Container, RuntimeError> {
        let ip = spec.ip.unwrap_or_else(|| self.allocate_ip());
        let docker_name = format!("{}-{}", self.network.name, names::sanitize(&spec.role));
        let labels = HashMap::from([
            (RUN_LABEL.to_string(), self.run_id.clone()),
            (CASE_LABEL.to_string(), self.case.clone()),
            ("haprepro.role".to_string(), spec.role.clone()),
        ]);
        let id = self
            .engine
            .create_container(ContainerConfig {
                name: docker_name.clone(),
                image: spec.image.clone(),
                entrypoint: spec.entrypoint.clone(),
                cmd: spec.cmd.clone(),
                env: Vec::new(),
                labels,
                network: self.network.name.clone(),
                ip: Some(ip),
                binds: spec.binds.clone(),
                sysctls: spec.sysctls.clone(),
                user: spec.user.clone(),
                working_dir: spec.working_dir.clone(),
                core_dumps: spec.core_dumps,
                tmpfs: HashMap::new(),
            })
            .await?;
        let container = Container {
            role: spec.role.clone(),
            id: id.clone(),
            docker_name,
            ip,
        };
        self.containers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(container.clone());
        if !spec.files.is_empty() {
            let tar = tar_of(&spec.files)
                .map_err(|e| RuntimeError::Io(format!("pack files for {}", spec.role), e))?;
            self.engine.upload(&id, tar).await?;
        }
        Ok(container)
    }

    /// Fails with the container's output when its main process has exited.
    pub async fn ensure_running(&self, container: &Container) -> Result<(), RuntimeError> {
        let (running, code) = self.engine.state(&container.id).await?;
        if running {
            return Ok(());
        }
        let logs = self.engine.logs(&container.id).await.unwrap_or_default();
        Err(RuntimeError::Exited {
            name: container.role.clone(),
            code,
            logs,
        })
    }

    pub async fn exec(
        &self,
        container: &Container,
        cmd: &[&str],
    ) -> Result<ExecOutput, RuntimeError> {
        self.engine.exec(&container.id, cmd).await
    }

    pub async fn logs(&self, container: &Container) -> Result<String, RuntimeError> {
        self.engine.logs(&container.id).await
    }

    /// The host PID of the container's main process, which must be running: the way in to its
    /// sockets and processes from the host ([`super::host_proc`]).
    pub async fn main_pid(&self, container: &Container) -> Result<u32, RuntimeError> {
        match self.engine.main_pid(&container.id).await? {
            0 => Err(RuntimeError::NotRunning {
                name: container.docker_name.clone(),
            }),
            pid => Ok(pid),
        }
    }

    pub async fn signal(&self, container: &Container, signal: &str) -> Result<(), RuntimeError> {
        self.engine.kill(&container.id, signal).await
    }

    /// Deletes the bridge addresses of in-process roles (even with `keep`: their servers end
    /// with this process), removes the case's containers, then its network. Idempotent.
    pub async fn teardown(&self) -> Result<(), RuntimeError> {
        let addresses = self.delete_addresses();
        if self.keep || self.torn_down.swap(true, Ordering::SeqCst) {
            return addresses;
        }
        remove_labelled(&self.engine, &self.filter()).await?;
        addresses
    }

    fn filter(&self) -> [(&str, &str); 2] {
        [(RUN_LABEL, &self.run_id), (CASE_LABEL, &self.case)]
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // Netlink calls are synchronous: the addresses go first, on this thread.
        if let Err(e) = self.delete_addresses() {
            eprintln!("haprepro: cleanup of case {}: {e}", self.case);
        }
        if self.keep || self.torn_down.load(Ordering::SeqCst) {
            return;
        }
        // Async cleanup cannot run in Drop; a thread with a runtime of its own can, even while
        // the caller's runtime is unwinding a panic.
        let run = self.run_id.clone();
        let case = self.case.clone();
        let cleanup = super::on_own_runtime(move || async move {
            if let Ok(engine) = Engine::connect().await {
                let filter = [(RUN_LABEL, run.as_str()), (CASE_LABEL, case.as_str())];
                if let Err(e) = remove_labelled(&engine, &filter).await {
                    eprintln!("haprepro: cleanup of case {case} failed: {e}");
                }
            }
        });
        // Waiting blocks: on a multi-threaded runtime, hand this worker's other tasks to the
        // rest first, so the cleanup does not stall them.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| {
                    let _ = cleanup.join();
                })
            }
            _ => {
                let _ = cleanup.join();
            }
        }
    }
}

fn tar_of(files: &[FileIn]) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for file in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(file.mode);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(
            &mut header,
            file.path.trim_start_matches('/'),
            &file.contents[..],
        )?;
    }
    builder.into_inner()
}
