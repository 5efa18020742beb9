//! What this host's network already uses, read from the network namespace of the calling
//! thread: the IPv4 addresses of its interfaces (`getifaddrs`, as `ip -4 addr` shows them) and
//! the routes of its main table (`/proc/thread-self/net/route`, as `ip -4 route` shows them).
//!
//! Both are read, never guessed: a socket bound to an address says nothing once
//! `net.ipv4.ip_nonlocal_bind=1` lets any bind succeed. And both are the calling thread's, not
//! the process's (`/proc/net` is the main thread's), so a thread that entered a namespace of its
//! own (the tests do) sees that namespace.

use std::ffi::CStr;
use std::io;
use std::net::Ipv4Addr;

use super::subnets::Ipv4Net;

/// An IPv4 address of an interface, with its prefix length (`10.0.0.5/24` on `eth0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IfAddr {
    pub iface: String,
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

/// A route of the main table: where `dest` goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub iface: String,
    pub dest: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
}

/// Every IPv4 address of every interface of the calling thread's network namespace.
pub(crate) fn interface_addresses() -> io::Result<Vec<IfAddr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: on success `head` is a list owned by us until freeifaddrs below; every pointer
    // read from it is checked for null first and points into that list.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut current = head;
    while !current.is_null() {
        let entry = unsafe { &*current };
        current = entry.ifa_next;
        if let Some(addr) = unsafe { ipv4_of(entry.ifa_addr) } {
            let prefix = unsafe { ipv4_of(entry.ifa_netmask) }
                .map(|mask| u32::from(mask).count_ones() as u8)
                .unwrap_or(32);
            let iface = if entry.ifa_name.is_null() {
                String::new()
            } else {
                unsafe { CStr::from_ptr(entry.ifa_name) }
                    .to_string_lossy()
                    .into_owned()
            };
            out.push(IfAddr {
                iface,
                addr,
                prefix,
            });
        }
    }
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// The IPv4 address in a socket address, if it is one.
///
/// # Safety
/// `sa` is null or points to a socket address as large as its family says.
unsafe fn ipv4_of(sa: *const libc::sockaddr) -> Option<Ipv4Addr> {
    if sa.is_null() || i32::from(unsafe { (*sa).sa_family }) != libc::AF_INET {
        return None;
    }
    let sin = unsafe { &*sa.cast::<libc::sockaddr_in>() };
    Some(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()))
}

/// Where the routes of the calling thread's namespace are.
pub(crate) const ROUTES_FILE: &str = "/proc/thread-self/net/route";

/// The IPv4 routes of the main table of the calling thread's network namespace.
pub(crate) fn routes() -> io::Result<Vec<Route>> {
    std::fs::read_to_string(ROUTES_FILE).map(|text| parse_routes(&text))
}

/// Parses `/proc/net/route`: a header line, then one route per line, whitespace-separated:
/// `Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT`. Addresses are the
/// network-order 32 bits printed as a native-order hex number (`0100000A` is 10.0.0.1 on a
/// little-endian host). Lines that do not parse are skipped.
pub(crate) fn parse_routes(text: &str) -> Vec<Route> {
    let hex = |field: &str| {
        u32::from_str_radix(field, 16)
            .ok()
            .map(|raw| Ipv4Addr::from(raw.to_ne_bytes()))
    };
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                return None;
            }
            let dest = hex(fields[1])?;
            let gateway = hex(fields[2])?;
            let mask = u32::from(hex(fields[7])?);
            let prefix = mask.count_ones() as u8;
            Some(Route {
                iface: fields[0].to_string(),
                dest: Ipv4Net::new(dest, prefix),
                gateway: (!gateway.is_unspecified()).then_some(gateway),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(addr: [u8; 4]) -> String {
        format!("{:08X}", u32::from_ne_bytes(addr))
    }

    #[test]
    fn routes_parse_as_the_kernel_prints_them() {
        let text = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t{}\t{}\t0003\t0\t0\t0\t{}\t0\t0\t0\n\
             tun0\t{}\t{}\t0003\t0\t0\t0\t{}\t0\t0\t0\n\
             garbage\n",
            hex([0, 0, 0, 0]),
            hex([192, 0, 2, 1]),
            hex([0, 0, 0, 0]),
            hex([10, 213, 0, 0]),
            hex([10, 8, 0, 1]),
            hex([255, 255, 0, 0]),
        );
        let routes = parse_routes(&text);
        assert_eq!(
            routes,
            vec![
                Route {
                    iface: "eth0".into(),
                    dest: Ipv4Net::new(Ipv4Addr::UNSPECIFIED, 0),
                    gateway: Some(Ipv4Addr::new(192, 0, 2, 1)),
                },
                Route {
                    iface: "tun0".into(),
                    dest: Ipv4Net::new(Ipv4Addr::new(10, 213, 0, 0), 16),
                    gateway: Some(Ipv4Addr::new(10, 8, 0, 1)),
                },
            ]
        );
    }

    /// The running host's own table and addresses can be read (they may be empty in a bare
    /// namespace, never an error).
    #[test]
    fn this_hosts_routes_and_addresses_are_readable() {
        routes().expect("the routes of this namespace");
        let addresses = interface_addresses().expect("the addresses of this namespace");
        assert!(addresses.iter().all(|a| a.prefix <= 32));
    }
}
