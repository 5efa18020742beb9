//! Which /24 a case network gets: one of the configured ranges (`HAPREPRO_SUBNETS`, by default
//! 10.213.0.0/16), never one that a route or an interface address of this host overlaps.
//!
//! A bridge on 10.213.7.0/24 takes 10.213.7.x away from whatever route covered it before (a
//! VPN's 10.213.0.0/16, a LAN's 10.0.0.0/8), and a route more specific than the /24 (a
//! 10.213.7.128/25) would take part of the case network away: either way packets go somewhere
//! nobody meant. So the /24s that overlap any route of the main table or any interface address
//! are skipped; only the default route, which every network overlaps, is not an obstacle
//! (nor its two halves `0.0.0.0/1` + `128.0.0.0/1`, the form VPN clients use to replace it). The
//! networks of other live cases are on bridges with routes of their own, so they are skipped
//! too, without a Docker call.
//!
//! The choice is random among the free /24s, so parallel cases (and parallel processes) rarely
//! try the same one; Docker's refusal of a subnet another network holds is the last word, and
//! the caller tries another. Reading the routes and addresses costs well under a millisecond.

use std::fmt;
use std::net::Ipv4Addr;

use super::host_net::{IfAddr, Route};

/// The environment variable with the ranges case networks are carved from.
pub const SUBNETS_VAR: &str = "HAPREPRO_SUBNETS";
/// The ranges when [`SUBNETS_VAR`] is unset or empty.
pub const DEFAULT_SUBNETS: &str = "10.213.0.0/16";
/// The widest range accepted: a /8 holds 65536 case networks.
const WIDEST: u8 = 8;
/// How many subnets a case tries when Docker says each is taken before it gives up.
pub(crate) const DOCKER_TRIES: usize = 64;

/// An IPv4 network: an address with its host bits zero, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ipv4Net {
    addr: Ipv4Addr,
    prefix: u8,
}

impl Ipv4Net {
    /// The network of `addr/prefix` (host bits cleared; a prefix above 32 is 32).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Ipv4Net {
        let prefix = prefix.min(32);
        Ipv4Net {
            addr: Ipv4Addr::from(u32::from(addr) & mask(prefix)),
            prefix,
        }
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn first(&self) -> u32 {
        u32::from(self.addr)
    }

    fn last(&self) -> u32 {
        self.first() | !mask(self.prefix)
    }

    /// Whether the two share an address.
    pub fn overlaps(&self, other: &Ipv4Net) -> bool {
        self.first() <= other.last() && other.first() <= self.last()
    }

    /// The /24s it touches, as an inclusive interval of /24 numbers (the address >> 8): all of
    /// them for a /24 or wider, the one that holds it for a narrower network.
    fn blocks(&self) -> (u32, u32) {
        (self.first() >> 8, self.last() >> 8)
    }

    /// The gateway of a case network: its first host address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first() + 1)
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    match prefix {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// Why no subnet could be chosen for a case network.
#[derive(Debug, thiserror::Error)]
pub enum SubnetError {
    #[error(
        "{SUBNETS_VAR}={value:?}: {reason}\n  Give one or more IPv4 ranges in CIDR form, each a /24 \
         or wider up to /{WIDEST}, with its host bits zero, separated by commas, e.g. \
         {SUBNETS_VAR}=10.213.0.0/16 (the default, when it is unset or empty) or \
         {SUBNETS_VAR}=10.213.0.0/16,172.30.0.0/16; each case network is a /24 of them."
    )]
    Invalid { value: String, reason: String },
    #[error(
        "no /24 of {ranges} is free for a case network: this host's routes and addresses \
         cover it all ({overlaps})\n  Set {SUBNETS_VAR} to ranges that no route or address of \
         this host overlaps (`ip -4 route`, `ip -4 addr` list them){suggestion}; a range may be \
         as wide as a /{WIDEST}, and several are separated by commas."
    )]
    HostCoversAll {
        ranges: String,
        overlaps: String,
        suggestion: String,
    },
    #[error(
        "no free /24 of {ranges} found for a case network: Docker said each of the {tried} tried \
         overlaps a network it has ({examples})\n  Remove networks left behind (`haprepro clean`, \
         `docker network ls`), run fewer cases at once, or give {SUBNETS_VAR} a wider range or \
         a second one{suggestion}."
    )]
    DockerTookAll {
        ranges: String,
        tried: usize,
        examples: String,
        suggestion: String,
    },
}

/// The ranges of [`SUBNETS_VAR`] (the default when it is unset or empty).
pub fn configured() -> Result<Vec<Ipv4Net>, SubnetError> {
    match std::env::var(SUBNETS_VAR) {
        Ok(value) if !value.trim().is_empty() => parse_ranges(&value),
        Ok(_) | Err(std::env::VarError::NotPresent) => parse_ranges(DEFAULT_SUBNETS),
        Err(std::env::VarError::NotUnicode(value)) => Err(SubnetError::Invalid {
            value: value.to_string_lossy().into_owned(),
            reason: "it is not UTF-8 text".into(),
        }),
    }
}

/// Parses a comma-separated list of ranges, each `A.B.C.D/N` with 8 <= N <= 24 and its host
/// bits zero.
pub fn parse_ranges(value: &str) -> Result<Vec<Ipv4Net>, SubnetError> {
    let invalid = |reason: String| SubnetError::Invalid {
        value: value.to_string(),
        reason,
    };
    let mut ranges = Vec::new();
    for item in value.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(invalid("it has an empty item between commas".into()));
        }
        let Some((addr, prefix)) = item.split_once('/') else {
            return Err(invalid(format!(
                "`{item}` has no prefix length (write it as address/prefix, e.g. {item}/16)"
            )));
        };
        let addr: Ipv4Addr = addr.parse().map_err(|_| {
            invalid(format!(
                "`{addr}` in `{item}` is not an IPv4 address (four numbers 0-255 with dots)"
            ))
        })?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32).ok_or_else(|| {
            invalid(format!(
                "`/{prefix}` in `{item}` is not a prefix length (0-32)"
            ))
        })?;
        if !(WIDEST..=24).contains(&prefix) {
            return Err(invalid(format!(
                "`{item}` is a /{prefix}: a range must hold whole /24s and be at most a /{WIDEST}"
            )));
        }
        let net = Ipv4Net::new(addr, prefix);
        if net.addr() != addr {
            return Err(invalid(format!(
                "`{item}` has host bits set: the network is {net}"
            )));
        }
        ranges.push(net);
    }
    Ok(ranges)
}

/// What of the host holds a network: a route or an interface address, said as `ip` would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Used {
    pub net: Ipv4Net,
    pub by: String,
}

/// The networks that the host's routes (bar the default route) and interface addresses hold.
pub(crate) fn used_by(routes: &[Route], addresses: &[IfAddr]) -> Vec<Used> {
    let routes = routes.iter().filter(|r| r.dest.prefix() > 1).map(|r| Used {
        net: r.dest,
        by: match r.gateway {
            Some(via) => format!("route {} via {via} dev {}", r.dest, r.iface),
            None => format!("route {} dev {}", r.dest, r.iface),
        },
    });
    let addresses = addresses.iter().filter(|a| a.prefix > 0).map(|a| Used {
        net: Ipv4Net::new(a.addr, a.prefix),
        by: format!("address {}/{} of {}", a.addr, a.prefix, a.iface),
    });
    routes.chain(addresses).collect()
}

/// What this host's routes and addresses hold now (see [`used_by`]).
pub(crate) fn host_used() -> std::io::Result<Vec<Used>> {
    let routes = super::host_net::routes()?;
    let addresses = super::host_net::interface_addresses()?;
    Ok(used_by(&routes, &addresses))
}

/// The configured ranges, checked against this host before any case starts: a bad
/// [`SUBNETS_VAR`] or a host whose routes and addresses leave none of it free is an error here,
/// not at each case. (Which networks Docker holds is Docker's to say, at each case.)
pub fn check_host() -> Result<Vec<Ipv4Net>, super::RuntimeError> {
    let ranges = configured()?;
    let used = host_used().map_err(unreadable)?;
    if Free::of(&ranges, &used).count() == 0 {
        return Err(host_covers_all(&ranges, &used).into());
    }
    Ok(ranges)
}

/// The error when this host's routes or addresses cannot be read.
pub(crate) fn unreadable(e: std::io::Error) -> super::RuntimeError {
    super::RuntimeError::Io(
        format!(
            "read this host's routes ({}) and interface addresses",
            super::host_net::ROUTES_FILE
        ),
        e,
    )
}

/// The free /24s of some ranges: inclusive intervals of /24 numbers, sorted and disjoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Free {
    blocks: Vec<(u32, u32)>,
}

impl Free {
    /// The /24s of `ranges` that overlap nothing in `used`.
    pub fn of(ranges: &[Ipv4Net], used: &[Used]) -> Free {
        let wanted = merged(ranges.iter().map(Ipv4Net::blocks));
        let taken = merged(used.iter().map(|u| u.net.blocks()));
        let mut blocks = Vec::new();
        for (mut lo, hi) in wanted {
            for &(t_lo, t_hi) in &taken {
                if t_hi < lo || t_lo > hi {
                    continue;
                }
                if t_lo > lo {
                    blocks.push((lo, t_lo - 1));
                }
                if t_hi >= hi {
                    lo = hi + 1;
                    break;
                }
                lo = t_hi + 1;
            }
            if lo <= hi {
                blocks.push((lo, hi));
            }
        }
        Free { blocks }
    }

    /// How many /24s are free.
    pub fn count(&self) -> u64 {
        self.blocks
            .iter()
            .map(|(lo, hi)| u64::from(hi - lo) + 1)
            .sum()
    }

    /// The `n`th free /24, counting from 0 in address order.
    pub fn nth(&self, mut n: u64) -> Option<Ipv4Net> {
        for (lo, hi) in &self.blocks {
            let len = u64::from(hi - lo) + 1;
            if n < len {
                let block = lo + n as u32;
                return Some(Ipv4Net::new(Ipv4Addr::from(block << 8), 24));
            }
            n -= len;
        }
        None
    }

    /// A free /24 chosen at random, if any is free.
    pub fn random(&self) -> Option<Ipv4Net> {
        match self.count() {
            0 => None,
            count => self.nth(rand::random_range(0..count)),
        }
    }
}

/// Sorted, disjoint intervals covering the same numbers as `intervals`.
fn merged(intervals: impl Iterator<Item = (u32, u32)>) -> Vec<(u32, u32)> {
    let mut all: Vec<(u32, u32)> = intervals.collect();
    all.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(all.len());
    for (lo, hi) in all {
        match out.last_mut() {
            Some((_, last_hi)) if lo <= last_hi.saturating_add(1) => *last_hi = (*last_hi).max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// The error when `used` leaves no /24 of `ranges`: what overlaps them, and a range to use
/// instead.
pub(crate) fn host_covers_all(ranges: &[Ipv4Net], used: &[Used]) -> SubnetError {
    let overlapping: Vec<&str> = used
        .iter()
        .filter(|u| ranges.iter().any(|r| r.overlaps(&u.net)))
        .map(|u| u.by.as_str())
        .collect();
    SubnetError::HostCoversAll {
        ranges: list(ranges),
        overlaps: some_of(&overlapping),
        suggestion: suggestion(&[], ranges, used),
    }
}

/// The error when Docker refused every subnet tried.
pub(crate) fn docker_took_all(ranges: &[Ipv4Net], used: &[Used], tried: &[Ipv4Net]) -> SubnetError {
    let tried_text: Vec<String> = tried.iter().map(Ipv4Net::to_string).collect();
    let tried_refs: Vec<&str> = tried_text.iter().map(String::as_str).collect();
    SubnetError::DockerTookAll {
        ranges: list(ranges),
        tried: tried.len(),
        examples: some_of(&tried_refs),
        suggestion: suggestion(ranges, ranges, used),
    }
}

fn list(ranges: &[Ipv4Net]) -> String {
    ranges
        .iter()
        .map(Ipv4Net::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The first few of `items`, and how many more there are.
fn some_of(items: &[&str]) -> String {
    const SHOWN: usize = 4;
    let mut text = items
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        text.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    text
}

/// `, e.g. HAPREPRO_SUBNETS=<keep>,<a free private /16>` for a /16 of the private ranges that
/// nothing of the host overlaps and `ranges` do not already hold; empty when there is none.
fn suggestion(keep: &[Ipv4Net], ranges: &[Ipv4Net], used: &[Used]) -> String {
    let candidates = (213..=255)
        .chain(0..213)
        .map(|b| Ipv4Net::new(Ipv4Addr::new(10, b, 0, 0), 16))
        .chain((16..=31).map(|b| Ipv4Net::new(Ipv4Addr::new(172, b, 0, 0), 16)))
        .chain([Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16)]);
    for candidate in candidates {
        if ranges.iter().any(|r| r.overlaps(&candidate)) {
            continue;
        }
        if Free::of(&[candidate], used).count() == 256 {
            let mut value = keep.to_vec();
            value.push(candidate);
            return format!(", e.g. {SUBNETS_VAR}={}", list(&value));
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Ipv4Net {
        let (addr, prefix) = text.split_once('/').unwrap();
        Ipv4Net::new(addr.parse().unwrap(), prefix.parse().unwrap())
    }

    fn route(dest: &str, via: Option<&str>, iface: &str) -> Route {
        Route {
            iface: iface.into(),
            dest: net(dest),
            gateway: via.map(|v| v.parse().unwrap()),
        }
    }

    fn address(addr: &str, prefix: u8, iface: &str) -> IfAddr {
        IfAddr {
            iface: iface.into(),
            addr: addr.parse().unwrap(),
            prefix,
        }
    }

    fn default_range() -> Vec<Ipv4Net> {
        parse_ranges(DEFAULT_SUBNETS).unwrap()
    }

    /// Every free /24, in order.
    fn all(free: &Free) -> Vec<Ipv4Net> {
        (0..free.count()).map(|n| free.nth(n).unwrap()).collect()
    }

    #[test]
    fn the_default_range_is_256_case_networks() {
        let free = Free::of(&default_range(), &[]);
        assert_eq!(free.count(), 256);
        assert_eq!(free.nth(0), Some(net("10.213.0.0/24")));
        assert_eq!(free.nth(255), Some(net("10.213.255.0/24")));
        assert_eq!(free.nth(256), None);
        assert_eq!(net("10.213.7.0/24").gateway(), Ipv4Addr::new(10, 213, 7, 1));
    }

    #[test]
    fn a_vpn_route_over_the_whole_range_leaves_nothing_and_says_so() {
        let routes = [
            route("0.0.0.0/0", Some("192.0.2.1"), "eth0"),
            route("192.0.2.0/24", None, "eth0"),
            route("10.213.0.0/16", Some("10.8.0.1"), "tun0"),
        ];
        let used = used_by(&routes, &[]);
        let free = Free::of(&default_range(), &used);
        assert_eq!(free.count(), 0);
        assert_eq!(free.random(), None);
        let message = host_covers_all(&default_range(), &used).to_string();
        assert!(
            message.starts_with("no /24 of 10.213.0.0/16 is free for a case network"),
            "{message}"
        );
        assert!(
            message.contains("route 10.213.0.0/16 via 10.8.0.1 dev tun0"),
            "{message}"
        );
        assert!(!message.contains("192.0.2.0/24"), "{message}");
        assert!(
            message.contains("Set HAPREPRO_SUBNETS to ranges that no route")
                && message.contains("e.g. HAPREPRO_SUBNETS=10.214.0.0/16;"),
            "{message}"
        );
    }

    #[test]
    fn a_wider_lan_route_covers_the_range_too() {
        let used = used_by(&[route("10.0.0.0/8", Some("192.0.2.1"), "eth0")], &[]);
        assert_eq!(Free::of(&default_range(), &used).count(), 0);
        let message = host_covers_all(&default_range(), &used).to_string();
        assert!(
            message.contains("e.g. HAPREPRO_SUBNETS=172.16.0.0/16;"),
            "{message}"
        );
    }

    #[test]
    fn a_24_route_excludes_that_24_only() {
        let used = used_by(&[route("10.213.7.0/24", None, "hr1234")], &[]);
        let free = Free::of(&default_range(), &used);
        assert_eq!(free.count(), 255);
        let all = all(&free);
        assert!(!all.contains(&net("10.213.7.0/24")));
        assert!(all.contains(&net("10.213.6.0/24")) && all.contains(&net("10.213.8.0/24")));
    }

    #[test]
    fn narrower_routes_and_addresses_exclude_the_24_that_holds_them() {
        let used = used_by(
            &[route("10.213.9.128/25", Some("192.0.2.7"), "eth0")],
            &[
                address("10.213.20.5", 32, "hr99"),
                address("10.213.30.1", 24, "wg0"),
                address("127.0.0.1", 8, "lo"),
            ],
        );
        let all = all(&Free::of(&default_range(), &used));
        assert_eq!(all.len(), 253);
        for gone in ["10.213.9.0/24", "10.213.20.0/24", "10.213.30.0/24"] {
            assert!(!all.contains(&net(gone)), "{gone}");
        }
    }

    /// The default route and the two halves VPN clients replace it with cover every network;
    /// they are no reason to skip one.
    #[test]
    fn default_routes_exclude_nothing() {
        let used = used_by(
            &[
                route("0.0.0.0/0", Some("192.0.2.1"), "eth0"),
                route("0.0.0.0/1", Some("10.8.0.1"), "tun0"),
                route("128.0.0.0/1", Some("10.8.0.1"), "tun0"),
            ],
            &[],
        );
        assert!(used.is_empty());
        assert_eq!(Free::of(&default_range(), &used).count(), 256);
    }

    #[test]
    fn the_edges_of_a_range_and_several_ranges() {
        let ranges = parse_ranges("10.213.0.0/23, 172.30.0.0/24").unwrap();
        let used = used_by(&[route("10.213.0.0/24", None, "x")], &[]);
        assert_eq!(
            all(&Free::of(&ranges, &used)),
            vec![net("10.213.1.0/24"), net("172.30.0.0/24")]
        );
        // Overlapping ranges count each /24 once.
        let twice = parse_ranges("10.213.0.0/16,10.213.4.0/24").unwrap();
        assert_eq!(Free::of(&twice, &[]).count(), 256);
    }

    #[test]
    fn a_random_choice_is_always_free() {
        let used = used_by(
            &[route("10.213.0.0/17", None, "x")],
            &[address("10.213.200.1", 24, "y")],
        );
        let free = Free::of(&default_range(), &used);
        assert_eq!(free.count(), 127);
        for _ in 0..500 {
            let pick = free.random().unwrap();
            assert!(used.iter().all(|u| !u.net.overlaps(&pick)), "{pick}");
            assert!(default_range()[0].overlaps(&pick));
        }
    }

    #[test]
    fn every_bad_value_names_the_variable_and_the_form() {
        for (value, says) in [
            ("10.213.0.0", "has no prefix length"),
            ("10.213.0/16", "is not an IPv4 address"),
            ("10.213.0.0/33", "is not a prefix length"),
            ("10.213.0.0/abc", "is not a prefix length"),
            ("10.213.0.0/25", "must hold whole /24s"),
            ("10.0.0.0/7", "must hold whole /24s"),
            (
                "10.213.5.0/16",
                "has host bits set: the network is 10.213.0.0/16",
            ),
            ("10.213.0.0/16,", "empty item"),
            ("fd00::/64", "is not an IPv4 address"),
        ] {
            let message = parse_ranges(value).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("HAPREPRO_SUBNETS={value:?}: ")),
                "{message}"
            );
            assert!(message.contains(says), "{value}: {message}");
            assert!(
                message.contains("e.g. HAPREPRO_SUBNETS=10.213.0.0/16"),
                "{message}"
            );
        }
        assert_eq!(
            parse_ranges("10.0.0.0/8,192.168.7.0/24").unwrap(),
            vec![net("10.0.0.0/8"), net("192.168.7.0/24")]
        );
    }

    #[test]
    fn docker_refusing_everything_says_what_was_tried() {
        let tried: Vec<Ipv4Net> = (0..6).map(|i| net(&format!("10.213.{i}.0/24"))).collect();
        let message = docker_took_all(&default_range(), &[], &tried).to_string();
        assert!(
            message.contains("each of the 6 tried")
                && message.contains("10.213.0.0/24; 10.213.1.0/24")
                && message.contains("and 2 more")
                && message.contains("haprepro clean")
                && message.contains("e.g. HAPREPRO_SUBNETS=10.213.0.0/16,10.214.0.0/16."),
            "{message}"
        );
    }
}
