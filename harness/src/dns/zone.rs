//! The zone: the records and faults the server answers from, mutable while it runs.
//!
//! Scenarios flap records (a backend's A record disappears, an SRV set shrinks) and break
//! resolution (delay, drop, error codes) while HAProxy keeps querying; every change takes effect
//! for the next query. Names are kept lowercase, fully qualified, without the trailing dot.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};

use hickory_proto::rr::rdata::{A, AAAA, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::fault::{Fault, FaultRule};

/// The record types the zone holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// Service locations.
    Srv,
}

/// One target of an SRV record set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SrvTarget {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among targets of the same priority.
    pub weight: u16,
    /// The port the service listens on.
    pub port: u16,
    /// The target host, relative to the origin ("web1") or absolute ("web1.svc.test.").
    /// Its A/AAAA records in this zone go into the answer's additional section.
    pub target: String,
}

#[derive(Clone, Debug, Default)]
struct RecordSet {
    a: Vec<Ipv4Addr>,
    aaaa: Vec<Ipv6Addr>,
    srv: Vec<SrvTarget>,
}

impl RecordSet {
    fn is_empty(&self) -> bool {
        self.a.is_empty() && self.aaaa.is_empty() && self.srv.is_empty()
    }
}

#[derive(Debug)]
struct State {
    ttl: u32,
    /// Bumped on every change, so the SOA serial tells changes apart in a capture.
    serial: u32,
    names: BTreeMap<String, RecordSet>,
    faults: BTreeMap<String, Vec<FaultRule>>,
}

/// A handle on the server's zone. Cloning is cheap; every clone changes the same zone, and each
/// change applies to the next query.
#[derive(Clone, Debug)]
pub struct Zone {
    /// Lowercase, no trailing dot ("svc.test").
    origin: Arc<str>,
    state: Arc<Mutex<State>>,
}

/// What the zone says about one query, before the transport sends it.
#[derive(Debug)]
pub(crate) struct Lookup {
    pub(crate) outcome: Outcome,
    pub(crate) fault: Option<Fault>,
}

#[derive(Debug)]
pub(crate) enum Outcome {
    /// The name is not under the origin.
    Refused,
    /// The name is under the origin and has no records (the SOA goes in authority).
    NxDomain { soa: Record },
    /// The name exists. No answers is NODATA (with the SOA in authority).
    Answer {
        answers: Vec<Record>,
        additionals: Vec<Record>,
        soa: Option<Record>,
    },
}

impl Zone {
    /// An empty zone for `origin` ("svc.test" or "svc.test."), answering with a TTL of 1 s.
    pub(crate) fn new(origin: &str) -> Zone {
        Zone {
            origin: normalize(origin).into(),
            state: Arc::new(Mutex::new(State {
                ttl: 1,
                serial: 1,
                names: BTreeMap::new(),
                faults: BTreeMap::new(),
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No update leaves State inconsistent halfway, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The origin, fully qualified with the trailing dot ("svc.test.").
    pub fn origin(&self) -> String {
        format!("{}.", self.origin)
    }

    /// The absolute, normalized form of `name`: a trailing dot or a name ending in the origin is
    /// absolute, "@" or "" is the origin, anything else is relative to the origin.
    fn qualify(&self, name: &str) -> String {
        let absolute = name.ends_with('.');
        let name = normalize(name);
        if name.is_empty() || name == "@" {
            self.origin.to_string()
        } else if absolute || self.in_zone(&name) {
            name
        } else {
            format!("{name}.{}", self.origin)
        }
    }

    fn in_zone(&self, normalized: &str) -> bool {
        normalized == &*self.origin
            || normalized
                .strip_suffix(&*self.origin)
                .is_some_and(|rest| rest.ends_with('.'))
    }

    fn update(&self, name: &str, f: impl FnOnce(&mut RecordSet)) {
        let name = self.qualify(name);
        let mut state = self.lock();
        let set = state.names.entry(name.clone()).or_default();
        f(set);
        if set.is_empty() {
            state.names.remove(&name);
        }
        state.serial = state.serial.wrapping_add(1);
    }

    /// Replaces the A records of `name`. An empty list removes them.
    pub fn set_a(&self, name: &str, addrs: Vec<Ipv4Addr>) {
        self.update(name, |set| set.a = addrs);
    }

    /// Replaces the AAAA records of `name`. An empty list removes them.
    pub fn set_aaaa(&self, name: &str, addrs: Vec<Ipv6Addr>) {
        self.update(name, |set| set.aaaa = addrs);
    }

    /// Replaces the SRV records of `name` ("_http._tcp.app"). An empty list removes them.
    pub fn set_srv(&self, name: &str, targets: Vec<SrvTarget>) {
        self.update(name, |set| set.srv = targets);
    }

    /// Removes every record of `name`: it answers NXDOMAIN from now on.
    pub fn remove(&self, name: &str) {
        self.update(name, |set| *set = RecordSet::default());
    }

    /// Removes the records of one type of `name`; with none left the name answers NXDOMAIN.
    pub fn remove_type(&self, name: &str, rtype: RecordKind) {
        self.update(name, |set| match rtype {
            RecordKind::A => set.a.clear(),
            RecordKind::Aaaa => set.aaaa.clear(),
            RecordKind::Srv => set.srv.clear(),
        });
    }

    /// The TTL of every record in later answers (default 1 s).
    pub fn set_ttl(&self, ttl: u32) {
        let mut state = self.lock();
        state.ttl = ttl;
        state.serial = state.serial.wrapping_add(1);
    }

    /// Applies `fault` to queries for `name` from `client` (`None`: every client). Replaces an
    /// earlier fault on the same name with the same client scope; a fault scoped to a client
    /// wins over one for every client.
    pub fn set_fault(&self, name: &str, fault: Fault, client: Option<IpAddr>) {
        let name = self.qualify(name);
        let client = client.map(|ip| ip.to_canonical());
        let mut state = self.lock();
        let rules = state.faults.entry(name).or_default();
        rules.retain(|r| r.client != client);
        rules.push(FaultRule { fault, client });
    }

    /// Removes every fault on `name`.
    pub fn clear_fault(&self, name: &str) {
        let name = self.qualify(name);
        self.lock().faults.remove(&name);
    }

    /// The records, TTL and faults, human-readable, for the evidence folder.
    pub fn snapshot(&self) -> String {
        let state = self.lock();
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "$ORIGIN {}.\n$TTL {}\n; SOA serial {}",
            self.origin, state.ttl, state.serial
        );
        for (name, set) in &state.names {
            for ip in &set.a {
                let _ = writeln!(out, "{name}. A {ip}");
            }
            for ip in &set.aaaa {
                let _ = writeln!(out, "{name}. AAAA {ip}");
            }
            for t in &set.srv {
                let _ = writeln!(
                    out,
                    "{name}. SRV {} {} {} {}.",
                    t.priority,
                    t.weight,
                    t.port,
                    self.qualify(&t.target)
                );
            }
        }
        for (name, rules) in &state.faults {
            for rule in rules {
                let _ = writeln!(out, "; fault on {name}.: {rule}");
            }
        }
        out
    }

    /// Answers a query for `qname` (as on the wire, any case, trailing dot optional) of type
    /// `qtype` from `client`.
    pub(crate) fn lookup(&self, qname: &str, qtype: RecordType, client: IpAddr) -> Lookup {
        let name = normalize(qname);
        let state = self.lock();
        let fault = state
            .faults
            .get(&name)
            .and_then(|rules| FaultRule::pick(rules, client));
        if !self.in_zone(&name) {
            return Lookup {
                outcome: Outcome::Refused,
                fault,
            };
        }
        let ttl = state.ttl;
        let soa = self.soa(&state);
        let set = state.names.get(&name);
        let is_apex = name == *self.origin;
        // An empty non-terminal (a name with records only below it) exists too.
        let suffix = format!(".{name}");
        let exists = set.is_some() || is_apex || state.names.keys().any(|n| n.ends_with(&suffix));
        if !exists {
            return Lookup {
                outcome: Outcome::NxDomain { soa },
                fault,
            };
        }
        let owner = fqdn(&name);
        let mut answers = Vec::new();
        let mut additionals = Vec::new();
        if let Some(set) = set {
            match qtype {
                RecordType::A => answers.extend(a_records(&owner, &set.a, ttl)),
                RecordType::AAAA => answers.extend(aaaa_records(&owner, &set.aaaa, ttl)),
                RecordType::SRV => {
                    for t in &set.srv {
                        let target = self.qualify(&t.target);
                        let rdata = SRV::new(t.priority, t.weight, t.port, fqdn(&target));
                        answers.push(Record::from_rdata(owner.clone(), ttl, RData::SRV(rdata)));
                        if let Some(tset) = state.names.get(&target) {
                            let tname = fqdn(&target);
                            additionals.extend(a_records(&tname, &tset.a, ttl));
                            additionals.extend(aaaa_records(&tname, &tset.aaaa, ttl));
                        }
                    }
                }
                _ => {}
            }
        }
        if is_apex && qtype == RecordType::SOA {
            answers.push(soa.clone());
        }
        let soa = answers.is_empty().then_some(soa);
        Lookup {
            outcome: Outcome::Answer {
                answers,
                additionals,
                soa,
            },
            fault,
        }
    }

    fn soa(&self, state: &State) -> Record {
        let origin = fqdn(&self.origin);
        let rdata = SOA::new(
            fqdn(&format!("ns.{}", self.origin)),
            fqdn(&format!("hostmaster.{}", self.origin)),
            state.serial,
            60,
            10,
            600,
            state.ttl,
        );
        Record::from_rdata(origin, state.ttl, RData::SOA(rdata))
    }
}

fn a_records<'a>(
    owner: &'a Name,
    addrs: &'a [Ipv4Addr],
    ttl: u32,
) -> impl Iterator<Item = Record> + 'a {
    addrs
        .iter()
        .map(move |ip| Record::from_rdata(owner.clone(), ttl, RData::A(A(*ip))))
}

fn aaaa_records<'a>(
    owner: &'a Name,
    addrs: &'a [Ipv6Addr],
    ttl: u32,
) -> impl Iterator<Item = Record> + 'a {
    addrs
        .iter()
        .map(move |ip| Record::from_rdata(owner.clone(), ttl, RData::AAAA(AAAA(*ip))))
}

/// Lowercase, without the trailing dot.
pub(crate) fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The wire name of a normalized name. Names come from the zone's own keys (checked when the
/// server started for the origin) or from a query that already parsed, so this does not fail in
/// practice; a name that does not parse becomes the root rather than a panic.
fn fqdn(normalized: &str) -> Name {
    Name::from_ascii(format!("{normalized}.")).unwrap_or_else(|_| Name::root())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Zone {
        Zone::new("Svc.Test.")
    }

    #[test]
    fn names_are_qualified_case_insensitively() {
        let z = zone();
        assert_eq!(z.origin(), "svc.test.");
        assert_eq!(z.qualify("app"), "app.svc.test");
        assert_eq!(z.qualify("APP.svc.test"), "app.svc.test");
        assert_eq!(z.qualify("app.svc.test."), "app.svc.test");
        assert_eq!(z.qualify("@"), "svc.test");
        assert_eq!(z.qualify("other.example."), "other.example");
        assert!(!z.in_zone("xsvc.test"));
    }

    #[test]
    fn empty_set_removes_the_name() {
        let z = zone();
        let client = IpAddr::from([127, 0, 0, 1]);
        z.set_a("app", vec![Ipv4Addr::new(10, 0, 0, 1)]);
        z.set_a("app", vec![]);
        assert!(matches!(
            z.lookup("app.svc.test.", RecordType::A, client).outcome,
            Outcome::NxDomain { .. }
        ));
    }

    #[test]
    fn snapshot_lists_records_and_faults() {
        let z = zone();
        z.set_a("app", vec![Ipv4Addr::new(10, 0, 0, 1)]);
        z.set_srv(
            "_http._tcp.app",
            vec![SrvTarget {
                priority: 0,
                weight: 1,
                port: 80,
                target: "web1".into(),
            }],
        );
        z.set_fault("app", Fault::Drop, None);
        let s = z.snapshot();
        assert!(s.contains("app.svc.test. A 10.0.0.1"), "{s}");
        assert!(
            s.contains("_http._tcp.app.svc.test. SRV 0 1 80 web1.svc.test."),
            "{s}"
        );
        assert!(
            s.contains("fault on app.svc.test.: drop for every client"),
            "{s}"
        );
    }
}
