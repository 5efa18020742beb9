//! The HAProxy instances of a case: each one's config rendered and kept as evidence, its
//! container spec (the shared folder, generated files, a source build's binary), the
//! containers created and started together, then each waited for until ready.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::haproxy::RuntimeApi;
use crate::runtime::{ContainerSpec, FileIn};
use crate::scenario::case::{wait_haproxy_ready, CaseState, Instance, FILES_DIR, SOCK_DIR};
use crate::scenario::model::{HaproxySetup, StartMode};
use crate::scenario::problem::{problem, Problem};

use super::super::case::Case;

/// Where HAProxy reads its config: in the folder shared with the host (`SOCK_DIR`), written
/// there before the container starts. Copying it into the created container instead costs a
/// `PUT /archive`, which on fuse-overlayfs mounts the container's file system: ~100 ms.
const CONFIG_PATH: &str = "/run/haprepro/haproxy.cfg";

/// How long HAProxy gets to become ready.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// When the containers were created and started, since the case began.
pub(super) struct Times {
    pub created_ms: u64,
    pub started_ms: u64,
}

/// Prepares every instance and starts those the setup starts (the others wait for a `start`
/// step).
pub(super) async fn start(
    case: &Case<'_>,
    state: &mut CaseState<'_>,
    values: &BTreeMap<String, String>,
) -> Result<Times, Problem> {
    // A source build is a binary over the runtime image's own (see images::source).
    let built_binary = match &state.image.binary {
        Some(path) => Some(crate::images::source::binary_cache::read_binary(path)?),
        None => None,
    };
    let mut specs = Vec::new();
    let setups = &case.scenario.raw.topology.haproxy.get_ref().0;
    for setup in setups {
        let config = render(case, setup, values)?;
        state.write_evidence(&config_file(setups.len(), &setup.name), &config);
        // Short: a unix socket path must fit in 108 bytes.
        let sock_dir = std::env::temp_dir().join(format!("hr-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&sock_dir)
            .map_err(|e| format!("cannot create {}: {e}", sock_dir.display()))?;
        let config_path = sock_dir.join("haproxy.cfg");
        std::fs::write(&config_path, &config)
            .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
        let ip = state.ips[&setup.name];
        let spec = spec(case, state, setup, &sock_dir, built_binary.as_deref());
        if setup.start == StartMode::Setup {
            specs.push(spec.clone());
        }
        state.live.instances.push(Instance {
            name: setup.name.clone(),
            api: RuntimeApi::tcp(SocketAddr::new(IpAddr::V4(ip), setup.api_port)),
            spec,
            container: None,
            sock_dir,
            master_cli: setup.master_cli,
        });
    }
    run_containers(state, specs).await
}

/// An instance's config: its template with the case's values.
fn render(
    case: &Case<'_>,
    setup: &HaproxySetup,
    values: &BTreeMap<String, String>,
) -> Result<String, Problem> {
    let template = case
        .scenario
        .templates
        .iter()
        .find(|t| t.instance == setup.name)
        .ok_or_else(|| format!("no template for {}", setup.name))?;
    let config = crate::scenario::template::render(&template.text, values).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        format!(
            "template {}: {}",
            template.path.display(),
            errors.join("; ")
        )
    })?;
    Ok(config)
}

/// The container of an instance: HAProxy in the foreground on its config, as root, on its
/// address, with the shared folder (sockets, config, cores) and its files.
fn spec(
    case: &Case<'_>,
    state: &CaseState<'_>,
    setup: &HaproxySetup,
    sock_dir: &std::path::Path,
    built_binary: Option<&[u8]>,
) -> ContainerSpec {
    let mut cmd = Vec::new();
    if setup.master_cli {
        cmd.extend([
            "-W".to_string(),
            "-S".to_string(),
            format!("{SOCK_DIR}/master.sock,level,admin"),
        ]);
    }
    cmd.extend(["-db".to_string(), "-f".to_string(), CONFIG_PATH.to_string()]);
    cmd.extend(setup.args.iter().cloned());
    let mut sysctls: HashMap<String, String> = setup.sysctls.clone().into_iter().collect();
    if let Some(extra) = case.variant.sysctls.get(&setup.name) {
        sysctls.extend(extra.clone());
    }
    let generated = setup.files.iter().map(|f| FileIn {
        path: format!("{FILES_DIR}/{}", f.name.get_ref()),
        contents: f.contents().into_bytes(),
        mode: 0o644,
    });
    let binary = built_binary.map(|b| FileIn {
        path: "/usr/sbin/haproxy".into(),
        contents: b.to_vec(),
        mode: 0o755,
    });
    ContainerSpec {
        role: setup.name.clone(),
        image: state.image.to_run().to_string(),
        entrypoint: Some(entrypoint(
            setup.cpus.as_ref().map(|c| c.get_ref().as_str()),
        )),
        cmd,
        files: generated.chain(binary).collect(),
        binds: vec![format!("{}:{SOCK_DIR}", PathBuf::from(sock_dir).display())],
        sysctls,
        user: Some("0".into()),
        ip: Some(state.ips[&setup.name]),
        // A crash's core lands in the shared folder, where the host finds it.
        working_dir: Some(SOCK_DIR.into()),
        core_dumps: true,
    }
}

/// The container's entrypoint: HAProxy, or HAProxy started on the given CPUs (`taskset -c`,
/// which execs it, so it stays the container's pid 1).
fn entrypoint(cpus: Option<&str>) -> Vec<String> {
    match cpus {
        None => vec!["haproxy".into()],
        Some(list) => vec!["taskset".into(), "-c".into(), list.into(), "haproxy".into()],
    }
}

/// Creates the containers together, then starts them together, each watched from its start.
async fn run_containers(
    state: &mut CaseState<'_>,
    specs: Vec<ContainerSpec>,
) -> Result<Times, Problem> {
    let sandbox = &state.live.sandbox;
    let created =
        futures_util::future::join_all(specs.into_iter().map(|s| sandbox.create_container(s)))
            .await;
    let mut containers = Vec::new();
    for c in created {
        containers.push(c.map_err(|e| problem(&e))?);
    }
    let created_ms = state.ms();
    let sandbox = &state.live.sandbox;
    let started =
        futures_util::future::join_all(containers.iter().map(|c| sandbox.start_created(c))).await;
    for (c, result) in containers.into_iter().zip(started) {
        result.map_err(|e| problem(&e))?;
        state
            .live
            .watch
            .watch(state.live.sandbox.engine(), &c.role, &c.id);
        if let Some(instance) = state.live.instances.iter_mut().find(|i| i.name == c.role) {
            instance.container = Some(c.clone());
        }
        state.live.containers.push(c);
    }
    let started_ms = state.ms();
    Ok(Times {
        created_ms,
        started_ms,
    })
}

/// Waits until every started instance is ready; says each one's version and pid.
pub(super) async fn ready(state: &CaseState<'_>) -> Result<Vec<String>, Problem> {
    let mut ready = Vec::new();
    for instance in state
        .live
        .instances
        .iter()
        .filter(|i| i.container.is_some())
    {
        let info = wait_haproxy_ready(state, instance, READY_WITHIN).await?;
        state.live.watch.mark_ready(&instance.name);
        ready.push(format!(
            "{} {} ready (pid {})",
            instance.name,
            info.version,
            info.pid.map(|p| p.to_string()).unwrap_or_default()
        ));
    }
    Ok(ready)
}

/// The evidence file of an instance's rendered config: `haproxy.cfg`, or `<instance>.cfg` when
/// the case has several instances.
pub(crate) fn config_file(instances: usize, instance: &str) -> String {
    if instances == 1 {
        "haproxy.cfg".to_string()
    } else {
        format!("{instance}.cfg")
    }
}
