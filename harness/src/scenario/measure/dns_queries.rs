//! `dns_queries = { name = "app", qtype = "A", answer = "NXDOMAIN" }`: queries in the DNS
//! server's log.

use serde::Deserialize;

use super::word::{count, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::words::qualify;

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

/// Query types a `dns_queries` measure may name.
const QTYPES: [&str; 10] = [
    "A", "AAAA", "SRV", "CNAME", "NS", "SOA", "TXT", "PTR", "MX", "ANY",
];

impl MeasureWord for DnsQueryMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        if !cx.names.has_dns {
            cx.error_here("the topology has no [topology.dns]");
        } else if let Some(n) = &self.name {
            let field = format!("{}.name", cx.field);
            crate::scenario::check::check_dns_name(cx.c, cx.names, n, cx.span.clone(), &field);
        }
        if let Some(t) = &self.qtype {
            if !QTYPES.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                cx.error_in(
                    "qtype",
                    format!(
                        "unknown query type {t:?}: expected one of {}",
                        QTYPES.join(", ")
                    ),
                );
            }
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let dns = ev.dns.as_ref().ok_or("no DNS server ran in this case")?;
        let name = self.name.as_ref().map(|n| qualify(n, &dns.origin));
        count(
            dns.queries
                .iter()
                .filter(|r| name.as_ref().is_none_or(|n| &r.name == n))
                .filter(|r| {
                    self.qtype
                        .as_ref()
                        .is_none_or(|t| r.qtype.eq_ignore_ascii_case(t))
                })
                .filter(|r| {
                    self.answer
                        .as_ref()
                        .is_none_or(|a| r.answer.contains(a.as_str()))
                })
                .count(),
        )
    }
}
