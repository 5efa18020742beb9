//! Faults the server injects instead of (or before) a normal answer.
//!
//! A fault belongs to a name and may be scoped to one client address, so a scenario can break
//! resolution for one HAProxy while another keeps resolving, or delay one name while the rest of
//! the zone answers at once.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// What the server does to a query for a faulted name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer normally, after this delay. The answer is the zone as it was when the query
    /// arrived (the query log records it then too). Other queries, even on the same TCP
    /// connection, are not held up meanwhile.
    Delay(Duration),
    /// Send no answer at all: the client times out.
    Drop,
    /// Answer SERVFAIL.
    ServFail,
    /// Answer NXDOMAIN even if the name has records.
    NxDomain,
    /// Answer REFUSED.
    Refused,
    /// Over UDP, answer with the TC bit set and no records, so the client should retry over TCP;
    /// over TCP the answer is normal.
    Truncate,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Delay(d) => write!(f, "delay {}", humantime::format_duration(*d)),
            Fault::Drop => f.write_str("drop"),
            Fault::ServFail => f.write_str("SERVFAIL"),
            Fault::NxDomain => f.write_str("NXDOMAIN"),
            Fault::Refused => f.write_str("REFUSED"),
            Fault::Truncate => f.write_str("truncate"),
        }
    }
}

/// A fault on one name, for every client or for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FaultRule {
    pub(crate) fault: Fault,
    /// `None`: every client.
    pub(crate) client: Option<IpAddr>,
}

impl FaultRule {
    /// Picks the rule that applies to `client`: one scoped to that address wins over one for
    /// every client.
    pub(crate) fn pick(rules: &[FaultRule], client: IpAddr) -> Option<Fault> {
        let client = client.to_canonical();
        rules
            .iter()
            .find(|r| r.client == Some(client))
            .or_else(|| rules.iter().find(|r| r.client.is_none()))
            .map(|r| r.fault)
    }
}

impl fmt::Display for FaultRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.client {
            Some(ip) => write!(f, "{} for client {ip}", self.fault),
            None => write!(f, "{} for every client", self.fault),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_scoped_rule_wins_over_global() {
        let mine: IpAddr = "10.0.0.2".parse().unwrap();
        let other: IpAddr = "10.0.0.3".parse().unwrap();
        let rules = [
            FaultRule {
                fault: Fault::Drop,
                client: None,
            },
            FaultRule {
                fault: Fault::ServFail,
                client: Some(mine),
            },
        ];
        assert_eq!(FaultRule::pick(&rules, mine), Some(Fault::ServFail));
        assert_eq!(FaultRule::pick(&rules, other), Some(Fault::Drop));
        let v6_mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(FaultRule::pick(&rules, v6_mapped), Some(Fault::ServFail));
        assert_eq!(FaultRule::pick(&rules[1..], other), None);
    }
}
