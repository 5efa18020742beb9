//! The case's DNS server: on the case network's gateway, with the topology's records and the
//! faults in place before HAProxy starts (its first queries are affected too).

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::dns::DnsServer;
use crate::scenario::case::{set_srv, CaseState};
use crate::scenario::model::DnsSetup;
use crate::scenario::problem::{problem, Problem};
use crate::scenario::words::parse_fault;

/// Starts the server and adds its address to the template's values.
pub(super) async fn start(
    state: &mut CaseState<'_>,
    setup: &DnsSetup,
    values: &mut BTreeMap<String, String>,
) -> Result<(), Problem> {
    let gateway = state.live.sandbox.network().gateway;
    let server = DnsServer::start(IpAddr::V4(gateway), 0, &setup.zone)
        .await
        .map_err(|e| problem(&e))?;
    let zone = server.zone();
    zone.set_ttl(setup.ttl.unwrap_or(1));
    for record in &setup.records {
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
    for fault in &setup.faults {
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
    Ok(())
}
