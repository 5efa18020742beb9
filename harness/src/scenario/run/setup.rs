//! Setting a case up: addresses (on the bridge for the harness's own roles), the DNS server,
//! the capture, the backends, the HAProxy containers, and the readiness of every HAProxy. Also the steps that start things later
//! (`start`, `capture`), which share this code.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::backend::Backend;
use crate::dns::DnsServer;
use crate::haproxy::RuntimeApi;
use crate::runtime::{ContainerSpec, FileIn};

use super::case::Case;
use crate::scenario::case::{
    set_srv, start_capture, wait_haproxy_ready, CaseState, Instance, FILES_DIR, SOCK_DIR,
};
use crate::scenario::model::StartMode;
use crate::scenario::problem::{problem, Problem};
use crate::scenario::words::parse_fault;

/// Where HAProxy reads its config: in the folder shared with the host (`SOCK_DIR`), written
/// there before the container starts. Copying it into the created container instead costs a
/// `PUT /archive`, which on fuse-overlayfs mounts the container's file system: ~100 ms.
const CONFIG_PATH: &str = "/run/haprepro/haproxy.cfg";

/// The container's entrypoint: HAProxy, or HAProxy started on the given CPUs (`taskset -c`,
/// which execs it, so it stays the container's pid 1).
fn entrypoint(cpus: Option<&str>) -> Vec<String> {
    match cpus {
        None => vec!["haproxy".into()],
        Some(list) => vec!["taskset".into(), "-c".into(), list.into(), "haproxy".into()],
    }
}

/// How long HAProxy gets to become ready.
const READY_WITHIN: Duration = Duration::from_secs(10);

pub(crate) async fn setup(case: &Case<'_>, state: &mut CaseState<'_>) -> Result<String, Problem> {
    // Where the setup's time goes, for the timeline: the network was created before this.
    let network_ms = state.ms();
    let topology = &case.scenario.raw.topology;
    let network = state.live.sandbox.network().clone();
    for instance in &topology.haproxy.get_ref().0 {
        let ip = state.live.sandbox.allocate_ip();
        state.ips.insert(instance.name.clone(), ip);
    }
    // Backends and clients are the harness's own sockets, each on an address of its own added
    // to the case bridge: the addresses containers would have had, in the same order.
    let [a, b, c, _] = network.gateway.octets();
    for (role, host) in topology
        .backends
        .iter()
        .map(|b| (&b.name, &b.host))
        .chain(topology.clients.iter().map(|c| (&c.name, &c.host)))
    {
        let role = role.get_ref();
        let ip = match host {
            Some(host) => {
                let ip = Ipv4Addr::new(a, b, c, *host.get_ref());
                state.live.sandbox.add_fixed_address(role, ip).map(|()| ip)
            }
            None => state.live.sandbox.add_address(role),
        }
        .map_err(|e| problem(&e))?;
        state.ips.insert(role.clone(), ip);
    }
    let mut values =
        crate::scenario::loader::placeholder_values(&case.scenario.raw, &case.scenario.roles);
    for (role, ip) in &state.ips {
        values.insert(format!("{role}.ip"), ip.to_string());
    }
    // An address of the case network that no container holds.
    values.insert("spare.ip".into(), Ipv4Addr::new(a, b, c, 250).to_string());

    if let Some(dns_setup) = &topology.dns {
        let server = DnsServer::start(IpAddr::V4(network.gateway), 0, &dns_setup.zone)
            .await
            .map_err(|e| problem(&e))?;
        let zone = server.zone();
        zone.set_ttl(dns_setup.ttl.unwrap_or(1));
        for record in &dns_setup.records {
            if let Some(a) = &record.a {
                let addrs = a
                    .iter()
                    .map(|r| state.role_ip(r.get_ref()))
                    .collect::<Result<Vec<_>, _>>()?;
                zone.set_a(&record.name, addrs);
            }
            if let Some(aaaa) = &record.aaaa {
                let addrs = aaaa
                    .iter()
                    .map(|a| a.parse().map_err(|_| format!("bad IPv6 address {a:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                zone.set_aaaa(&record.name, addrs);
            }
            if let Some(srv) = &record.srv {
                set_srv(state, &zone, &record.name, srv)?;
            }
        }
        for fault in &dns_setup.faults {
            let client = match &fault.client {
                Some(c) => Some(IpAddr::V4(state.role_ip(c.get_ref())?)),
                None => None,
            };
            zone.set_fault(
                &fault.name,
                parse_fault(fault.kind.get_ref(), fault.delay.map(|d| d.0))?,
                client,
            );
        }
        let addr = server.addr();
        values.insert("dns.ip".into(), addr.ip().to_string());
        values.insert("dns.port".into(), addr.port().to_string());
        values.insert("dns.addr".into(), addr.to_string());
        state.live.dns = Some(server);
    }

    if let Some(capture) = &topology.capture {
        start_capture(state, capture.syn_from.get_ref()).await?;
    }
    let values = crate::scenario::loader::with_vars(values, &case.variant.vars);
    state.values = values.clone();

    // The backends listen before HAProxy starts, so its first health checks find them up.
    for b in &topology.backends {
        let name = b.name.get_ref();
        let addr = SocketAddr::new(IpAddr::V4(state.ips[name]), b.port);
        let behaviour = b.behaviour().map_err(|e| format!("backend {name}: {e}"))?;
        let backend = Backend::start(name, b.mode, addr, behaviour, state.started)
            .map_err(|e| problem(&e))?;
        state.live.backends.push(backend);
    }
    let mut specs = Vec::new();
    // A source build is a binary over the runtime image's own (see images::source).
    let built_binary = match &state.image.binary {
        Some(path) => Some(crate::images::source::binary_cache::read_binary(path)?),
        None => None,
    };
    for setup in &topology.haproxy.get_ref().0 {
        let template = case
            .scenario
            .templates
            .iter()
            .find(|t| t.instance == setup.name)
            .ok_or_else(|| format!("no template for {}", setup.name))?;
        let config =
            crate::scenario::template::render(&template.text, &values).map_err(|errors| {
                format!(
                    "template {}: {}",
                    template.path.display(),
                    errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            })?;
        let evidence_name = config_file(topology.haproxy.get_ref().0.len(), &setup.name);
        state.write_evidence(&evidence_name, &config);
        // Short: a unix socket path must fit in 108 bytes.
        let sock_dir = std::env::temp_dir().join(format!("hr-{:08x}", rand::random::<u32>()));
        std::fs::create_dir_all(&sock_dir)
            .map_err(|e| format!("cannot create {}: {e}", sock_dir.display()))?;
        let config_file = sock_dir.join("haproxy.cfg");
        std::fs::write(&config_file, &config)
            .map_err(|e| format!("cannot write {}: {e}", config_file.display()))?;
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
        let ip = state.ips[&setup.name];
        let spec = ContainerSpec {
            role: setup.name.clone(),
            image: state.image.to_run().to_string(),
            entrypoint: Some(entrypoint(
                setup.cpus.as_ref().map(|c| c.get_ref().as_str()),
            )),
            cmd,
            files: setup
                .files
                .iter()
                .map(|f| FileIn {
                    path: format!("{FILES_DIR}/{}", f.name.get_ref()),
                    contents: f.contents().into_bytes(),
                    mode: 0o644,
                })
                .chain(built_binary.iter().map(|b| FileIn {
                    path: "/usr/sbin/haproxy".into(),
                    contents: b.clone(),
                    mode: 0o755,
                }))
                .collect(),
            binds: vec![format!("{}:{SOCK_DIR}", sock_dir.display())],
            sysctls,
            user: Some("0".into()),
            ip: Some(ip),
            // A crash's core lands in the shared folder, where the host finds it.
            working_dir: Some(SOCK_DIR.into()),
            core_dumps: true,
        };
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
    let servers_ms = state.ms();
    let created = futures_util::future::join_all(
        specs
            .into_iter()
            .map(|s| state.live.sandbox.create_container(s)),
    )
    .await;
    let mut containers = Vec::new();
    for c in created {
        containers.push(c.map_err(|e| problem(&e))?);
    }
    let created_ms = state.ms();
    let started = futures_util::future::join_all(
        containers
            .iter()
            .map(|c| state.live.sandbox.start_created(c)),
    )
    .await;
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
    let ready_ms = state.ms();
    Ok(format!(
        "network {} ({}); {}; {}; ms: network {network_ms}, addresses+DNS+capture+backends {}, \
         create {}, start {}, ready {}",
        network.name,
        network.subnet,
        ready.join(", "),
        topology
            .backends
            .iter()
            .map(|b| format!(
                "{}={}:{}",
                b.name.get_ref(),
                state.ips[b.name.get_ref()],
                b.port
            ))
            .chain(topology.clients.iter().map(|c| format!(
                "{}={}",
                c.name.get_ref(),
                state.ips[c.name.get_ref()]
            )))
            .collect::<Vec<_>>()
            .join(" "),
        servers_ms - network_ms,
        created_ms - servers_ms,
        started_ms - created_ms,
        ready_ms - started_ms,
    ))
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
