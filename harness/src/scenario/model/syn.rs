//! A SYN match (`{ from, to, dst_port }`), as the `syns` measure and the `wait` step write it,
//! and what it means: which captured SYNs it matches, in words for the timeline.

use serde::Deserialize;
use toml::Spanned;

use crate::capture::SynEvent;

/// Which SYNs: from a role, to a role, to a port (each optional). Also a `wait`'s `syn`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynMatch {
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub dst_port: Option<u16>,
}

/// Whether a SYN matches; a role without an address in this case matches nothing (never
/// everything).
pub(crate) fn syn_matches(
    ips: &std::collections::BTreeMap<String, std::net::Ipv4Addr>,
    m: &SynMatch,
    syn: &SynEvent,
) -> bool {
    let is = |r: &Option<Spanned<String>>, addr: std::net::IpAddr| {
        r.as_ref()
            .is_none_or(|r| ips.get(r.get_ref()).is_some_and(|ip| addr == *ip))
    };
    is(&m.from, syn.src.ip())
        && is(&m.to, syn.dst.ip())
        && m.dst_port.is_none_or(|p| syn.dst.port() == p)
}

pub(crate) fn describe_syn_match(m: &SynMatch) -> String {
    let mut parts = Vec::new();
    if let Some(f) = &m.from {
        parts.push(format!("from {}", f.get_ref()));
    }
    if let Some(t) = &m.to {
        parts.push(format!("to {}", t.get_ref()));
    }
    if let Some(p) = m.dst_port {
        parts.push(format!("port {p}"));
    }
    if parts.is_empty() {
        "any".into()
    } else {
        parts.join(" ")
    }
}
