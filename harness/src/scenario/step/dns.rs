//! `dns = { ... }`: changes the zone (set, remove) or its faults (fault, clear).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::duration::Dur;
use crate::scenario::model::srv::SrvSpec;
use crate::scenario::case::CaseState;
use crate::scenario::case::set_srv;
use crate::scenario::words::parse_fault;

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

impl Word for DnsStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let d = self;
        if let Some(delay) = d.delay {
            cx.at_most_time(
                "step.dns.delay",
                delay.0,
                crate::scenario::bounds::DURATION,
            );
        }
        cx.needs_dns("step.dns");
        let kinds = [
            d.set.is_some(),
            d.remove.is_some(),
            d.fault.is_some(),
            d.clear.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            cx.error("step.dns", "needs exactly one of set, remove, fault, clear");
        }
        if d.set.is_some() && d.a.is_none() && d.srv.is_none() {
            cx.error("step.dns.set", "set needs a = [...] or srv = [...]");
        }
        for a in d.a.iter().flatten() {
            cx.role_or_ip(a, "step.dns.a");
        }
        for srv in d.srv.iter().flatten() {
            cx.role(&srv.target, "step.dns.srv.target");
        }
        if let Some(client) = &d.client {
            cx.role(client, "step.dns.client");
        }
        if d.fault.is_some() {
            match &d.kind {
                Some(kind) => {
                    if let Err(e) = parse_fault(kind.get_ref(), d.delay.map(|d| d.0)) {
                        cx.error_at(kind.span(), "step.dns.kind", e);
                    }
                }
                None => cx.error(
                    "step.dns.kind",
                    "a fault needs kind = nxdomain | servfail | refused | drop | truncate | delay",
                ),
            }
        }
    }

    fn describe(&self) -> String {
        let d = self;
        if let Some(n) = &d.set {
            format!("dns set {n}")
        } else if let Some(n) = &d.remove {
            format!("dns remove {n}")
        } else if let Some(n) = &d.fault {
            format!(
                "dns fault {n} {}",
                d.kind.as_ref().map(|k| k.get_ref().as_str()).unwrap_or("?")
            )
        } else {
            format!("dns clear {}", d.clear.as_deref().unwrap_or("?"))
        }
    }

    fn budget(&self) -> Duration {
        Duration::ZERO
    }

    fn dns_names(&self) -> Vec<&str> {
        let d = self;
        [&d.set, &d.remove, &d.fault, &d.clear]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .chain(d.srv.iter().flatten().map(|s| s.target.get_ref().as_str()))
            .collect()
    }
}

impl Run for DnsStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let d = self;
        let dns = state.live.dns.as_ref().ok_or("no DNS server in this case")?;
        let zone = dns.zone();
        if let Some(name) = &d.set {
            if let Some(a) = &d.a {
                let addrs = a
                    .iter()
                    .map(|r| state.role_ip(r.get_ref()))
                    .collect::<Result<Vec<_>, _>>()?;
                zone.set_a(name, addrs.clone());
                return Ok(format!("{name} A {addrs:?}"));
            }
            if let Some(srv) = &d.srv {
                set_srv(state, &zone, name, srv)?;
                return Ok(format!("{name} SRV -> {} target(s)", srv.len()));
            }
        }
        if let Some(name) = &d.remove {
            zone.remove(name);
            return Ok(format!("{name} removed: NXDOMAIN from now on"));
        }
        if let Some(name) = &d.fault {
            let kind = d.kind.as_ref().ok_or("a fault needs a kind")?;
            let fault = parse_fault(kind.get_ref(), d.delay.map(|d| d.0))?;
            let client = match &d.client {
                Some(c) => Some(std::net::IpAddr::V4(state.role_ip(c.get_ref())?)),
                None => None,
            };
            zone.set_fault(name, fault, client);
            return Ok(format!(
                "{name}: {fault}{}",
                client.map(|c| format!(" for {c}")).unwrap_or_default()
            ));
        }
        if let Some(name) = &d.clear {
            zone.clear_fault(name);
            return Ok(format!("{name}: faults cleared"));
        }
        Err("nothing to do".into())
    }
}
