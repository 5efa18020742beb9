//! Setting a case up, in the order HAProxy needs: addresses (on the case bridge for the
//! harness's own roles), the DNS server, the capture, the backends, the HAProxy containers, and
//! the readiness of every HAProxy. The steps that start things later (`start`, `capture`)
//! share the case context's helpers with it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::backend::Backend;
use crate::scenario::case::{start_capture, CaseState};
use crate::scenario::problem::{problem, Problem};

use super::case::Case;

mod dns;
mod instances;

pub(crate) use instances::config_file;

/// Sets the case up; its detail says what runs where and where the time went.
pub(crate) async fn setup(case: &Case<'_>, state: &mut CaseState<'_>) -> Result<String, Problem> {
    // Where the setup's time goes, for the timeline: the network was created before this.
    let network_ms = state.ms();
    let topology = &case.scenario.raw.topology;
    addresses(case, state)?;
    let mut values = base_values(case, state);
    if let Some(dns_setup) = &topology.dns {
        dns::start(state, dns_setup, &mut values).await?;
    }
    if let Some(capture) = &topology.capture {
        start_capture(state, capture.syn_from.get_ref()).await?;
    }
    let values = crate::scenario::loader::with_vars(values, &case.variant.vars);
    state.values = values.clone();
    backends(case, state)?;
    let servers_ms = state.ms();
    let times = instances::start(case, state, &values).await?;
    let ready = instances::ready(state).await?;
    Ok(format!(
        "network {} ({}); {}; {}; ms: network {network_ms}, addresses+DNS+capture+backends {}, \
         create {}, start {}, ready {}",
        state.live.sandbox.network().name,
        state.live.sandbox.network().subnet,
        ready.join(", "),
        roles(case, state),
        servers_ms - network_ms,
        times.created_ms - servers_ms,
        times.started_ms - times.created_ms,
        state.ms() - times.started_ms,
    ))
}

/// Every role's address: HAProxy instances get the next addresses of the case network;
/// backends and clients, the harness's own sockets, each get an address of its own added to
/// the case bridge (the addresses containers would have had, in the same order), or the fixed
/// one they ask for.
fn addresses(case: &Case<'_>, state: &mut CaseState<'_>) -> Result<(), Problem> {
    let topology = &case.scenario.raw.topology;
    for instance in &topology.haproxy.get_ref().0 {
        let ip = state.live.sandbox.allocate_ip();
        state.ips.insert(instance.name.clone(), ip);
    }
    let [a, b, c, _] = state.live.sandbox.network().gateway.octets();
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
    Ok(())
}

/// The template's values known once the addresses are: every role's, and a spare one.
fn base_values(case: &Case<'_>, state: &CaseState<'_>) -> BTreeMap<String, String> {
    let mut values =
        crate::scenario::loader::placeholder_values(&case.scenario.raw, &case.scenario.roles);
    for (role, ip) in &state.ips {
        values.insert(format!("{role}.ip"), ip.to_string());
    }
    // An address of the case network that no container holds.
    let [a, b, c, _] = state.live.sandbox.network().gateway.octets();
    values.insert("spare.ip".into(), Ipv4Addr::new(a, b, c, 250).to_string());
    values
}

/// The backends listen before HAProxy starts, so its first health checks find them up.
fn backends(case: &Case<'_>, state: &mut CaseState<'_>) -> Result<(), Problem> {
    for b in &case.scenario.raw.topology.backends {
        let name = b.name.get_ref();
        let addr = SocketAddr::new(IpAddr::V4(state.ips[name]), b.port);
        let behaviour = b.behaviour().map_err(|e| format!("backend {name}: {e}"))?;
        let backend = Backend::start(name, b.mode, addr, behaviour, state.started)
            .map_err(|e| problem(&e))?;
        state.live.backends.push(backend);
    }
    Ok(())
}

/// `web1=10.1.2.3:8000 c1=10.1.2.4`: the harness's own roles and where they are.
fn roles(case: &Case<'_>, state: &CaseState<'_>) -> String {
    let topology = &case.scenario.raw.topology;
    topology
        .backends
        .iter()
        .map(|b| {
            let name = b.name.get_ref();
            format!("{name}={}:{}", state.ips[name], b.port)
        })
        .chain(topology.clients.iter().map(|c| {
            let name = c.name.get_ref();
            format!("{name}={}", state.ips[name])
        }))
        .collect::<Vec<_>>()
        .join(" ")
}
