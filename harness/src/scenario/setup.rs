//! Setting a case up: addresses (on the bridge for the harness's own roles), the DNS server,
//! the capture, the backends, the HAProxy containers, and the readiness of every HAProxy. Also the steps that start things later
//! (`start`, `capture`), which share this code.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::capture::{self, Capture};
use crate::dns::{DnsServer, SrvTarget};
use crate::haproxy::RuntimeApi;
use crate::runtime::{ContainerSpec, FileIn};

use super::model::{SrvSpec, StartMode};
use super::runner::{error_chain, CaseState, Instance, Recorded};
use super::words::{parse_fault, POLL};

/// Where HAProxy reads its config: in the folder shared with the host (`SOCK_DIR`), written
/// there before the container starts. Copying it into the created container instead costs a
/// `PUT /archive`, which on fuse-overlayfs mounts the container's file system: ~100 ms.
const CONFIG_PATH: &str = "/run/haprepro/haproxy.cfg";
/// Where an instance's generated files go (`{{ files.dir }}`), copied in before the start
/// (only when the instance declares some).
pub const FILES_DIR: &str = "/etc/haprepro";

/// The container's entrypoint: HAProxy, or HAProxy started on the given CPUs (`taskset -c`,
/// which execs it, so it stays the container's pid 1).
fn entrypoint(cpus: Option<&str>) -> Vec<String> {
    match cpus {
        None => vec!["haproxy".into()],
        Some(list) => vec!["taskset".into(), "-c".into(), list.into(), "haproxy".into()],
    }
}

/// A folder shared between the host and each HAProxy container (`{{ sock.dir }}`), so the
/// harness reaches unix sockets (the master CLI) directly.
pub const SOCK_DIR: &str = "/run/haprepro";
/// How long HAProxy gets to become ready.
const READY_WITHIN: Duration = Duration::from_secs(10);

pub(crate) async fn setup(state: &mut CaseState<'_>) -> Result<String, String> {
    // Where the setup's time goes, for the timeline: the network was created before this.
    let network_ms = state.ms();
    let topology = &state.scenario.raw.topology;
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
        .map_err(|e| error_chain(&e))?;
        state.ips.insert(role.clone(), ip);
    }
    let mut values = super::loader::placeholder_values(&state.scenario.raw, &state.scenario.roles);
    for (role, ip) in &state.ips {
        values.insert(format!("{role}.ip"), ip.to_string());
    }
    // An address of the case network that no container holds.
    values.insert("spare.ip".into(), Ipv4Addr::new(a, b, c, 250).to_string());

    if let Some(dns_setup) = &topology.dns {
        let server = DnsServer::start(IpAddr::V4(network.gateway), 0, &dns_setup.zone)
            .await
            .map_err(|e| error_chain(&e))?;
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
    let values = super::loader::with_vars(values, &state.variant.vars);
    state.values = values.clone();

    // The backends listen before HAProxy starts, so its first health checks find them up.
    for b in &topology.backends {
        let name = b.name.get_ref();
        let addr = SocketAddr::new(IpAddr::V4(state.ips[name]), b.port);
        let behaviour = b.behaviour().map_err(|e| format!("backend {name}: {e}"))?;
        let backend = Backend::start(name, b.mode, addr, behaviour, state.started)
            .map_err(|e| error_chain(&e))?;
        state.live.backends.push(backend);
    }
    let mut specs = Vec::new();
    // A source build is a binary over the runtime image's own (see images::source).
    let built_binary = match &state.image.binary {
        Some(path) => Some(crate::images::source::binary_cache::read_binary(path)?),
        None => None,
    };
    for setup in &topology.haproxy.get_ref().0 {
        let template = state
            .scenario
            .templates
            .iter()
            .find(|t| t.instance == setup.name)
            .ok_or_else(|| format!("no template for {}", setup.name))?;
        let config = super::template::render(&template.text, &values).map_err(|errors| {
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
        if let Some(extra) = state.variant.sysctls.get(&setup.name) {
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
        containers.push(c.map_err(|e| error_chain(&e))?);
    }
    let created_ms = state.ms();
    let started = futures_util::future::join_all(
        containers
            .iter()
            .map(|c| state.live.sandbox.start_created(c)),
    )
    .await;
    for (c, result) in containers.into_iter().zip(started) {
        result.map_err(|e| error_chain(&e))?;
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

/// Starts an instance declared with `start = "step"`; its failure to become ready is recorded,
/// not raised: for some scenarios it is the symptom.
pub(crate) async fn start_instance(
    state: &mut CaseState<'_>,
    name: &str,
    within: Duration,
) -> Result<String, String> {
    let index = state
        .live
        .instances
        .iter()
        .position(|i| i.name == name)
        .ok_or_else(|| format!("no instance {name:?}"))?;
    let spec = state.live.instances[index].spec.clone();
    let container = state
        .live
        .sandbox
        .start(spec)
        .await
        .map_err(|e| error_chain(&e))?;
    state
        .live
        .watch
        .watch(state.live.sandbox.engine(), name, &container.id);
    state.live.instances[index].container = Some(container.clone());
    state.live.containers.push(container);
    let result = wait_haproxy_ready(state, &state.live.instances[index], within).await;
    let (ready, detail) = match result {
        Ok(info) => {
            state.live.watch.mark_ready(name);
            (true, format!("{name} {} ready", info.version))
        }
        Err(e) => (false, format!("{name} did not become ready: {e}")),
    };
    state.kept.records.insert(
        name.to_string(),
        Recorded::Start {
            ready,
            detail: detail.clone(),
        },
    );
    Ok(detail)
}

/// Sets an SRV record whose targets are roles, with an A record for each target name.
pub(crate) fn set_srv(
    state: &CaseState<'_>,
    zone: &crate::dns::Zone,
    name: &str,
    srv: &[SrvSpec],
) -> Result<(), String> {
    let origin = zone.origin();
    let mut targets = Vec::new();
    for s in srv {
        let role = s.target.get_ref();
        let target = format!("{role}.{origin}");
        zone.set_a(&target, vec![state.role_ip(role)?]);
        targets.push(SrvTarget {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target,
        });
    }
    zone.set_srv(name, targets);
    Ok(())
}

pub(crate) async fn start_capture(state: &mut CaseState<'_>, from: &str) -> Result<(), String> {
    if let Some(Err(e)) = state.stop_capture().await {
        return Err(e);
    }
    let n = state
        .kept
        .evidence
        .iter()
        .filter(|e| e.ends_with(".pcap"))
        .count();
    let name = if n == 0 {
        "capture.pcap".to_string()
    } else {
        format!("capture-{}.pcap", n + 1)
    };
    let ip = state.role_ip(from)?;
    let filter = capture::syn_filter(Some(IpAddr::V4(ip)));
    let interface = state.live.sandbox.network().bridge.clone();
    let path = state.evidence_dir.join(&name);
    // Opening libpcap blocks (it activates the handle): not on an async worker.
    let cap = tokio::task::spawn_blocking(move || Capture::start(&interface, &filter, &path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| error_chain(&e))?;
    state.kept.evidence.push(name);
    state.live.capture = Some(super::runner::LiveCapture {
        role: from.to_string(),
        capture: cap,
    });
    Ok(())
}

async fn wait_haproxy_ready(
    state: &CaseState<'_>,
    instance: &Instance,
    within: Duration,
) -> Result<crate::haproxy::Info, String> {
    let deadline = Instant::now() + within;
    let container = instance
        .container
        .as_ref()
        .ok_or_else(|| format!("{} is not started", instance.name))?;
    // A short timeout per attempt: a container that died takes its address with it, and a
    // connect to it would otherwise hang for the API's whole timeout.
    let api = instance
        .api
        .clone()
        .with_timeout(Duration::from_millis(500));
    loop {
        let last = match api.show_info().await {
            Ok(info) if !instance.master_cli => return Ok(info),
            // The master binds its CLI after the worker is up: wait for both.
            Ok(info) => match master_answers(&instance.sock_dir).await {
                Ok(()) => return Ok(info),
                Err(e) => format!("worker ready; master CLI: {e}"),
            },
            Err(e) => e.to_string(),
        };
        // The runtime API refusing may mean HAProxy died on its config: say so at once.
        state
            .live
            .sandbox
            .ensure_running(container)
            .await
            .map_err(|e| e.to_string())?;
        if Instant::now() >= deadline {
            return Err(format!(
                "{}'s runtime API did not answer within {within:?}; last: {last}",
                instance.name
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn master_answers(sock_dir: &std::path::Path) -> Result<(), String> {
    let path = sock_dir.join("master.sock");
    let mut tally = crate::load::unix::UnixTally::new(&path);
    let style = crate::load::unix::CommandStyle {
        within: Duration::from_millis(500),
        read_limit: None,
        half_close: true,
    };
    crate::load::unix::command(&path, "show proc", style, &mut tally).await;
    if tally.answered == 1 {
        Ok(())
    } else {
        Err(tally.errors.pop().unwrap_or_else(|| "no answer".into()))
    }
}
