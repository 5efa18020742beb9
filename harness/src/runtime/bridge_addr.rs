//! Addresses of the harness's own servers and clients on a case bridge, added and deleted over
//! rtnetlink (`RTM_NEWADDR` / `RTM_DELADDR`, as `ip addr add A/32 dev BRIDGE` does).
//!
//! A backend or client role keeps the address it would have had as a container, so HAProxy's
//! config, the capture and the placeholders see the same thing; the packets now end on the
//! host's side of the bridge. Each address is /32: it adds a local route only, never a second
//! prefix route beside the gateway's /24.
//!
//! Every address added is also kept in a process-wide list, so the signal watchdog can delete
//! what a case had not deleted yet (removing the Docker network deletes the bridge and its
//! addresses too; this does not rely on it).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;

/// Addresses this process added and has not deleted yet: (interface index, address).
static ADDED: Mutex<Vec<(u32, Ipv4Addr)>> = Mutex::new(Vec::new());

/// Why an address could not be added or deleted.
#[derive(Debug, thiserror::Error)]
pub enum AddrError {
    #[error("no interface {bridge} on this host (was the case network removed?)")]
    NoBridge { bridge: String },
    #[error(
        "adding {addr}/32 to {bridge} for {role} needs CAP_NET_ADMIN\n  Run haprepro as root \
         (or grant it CAP_NET_ADMIN, e.g. `setcap cap_net_admin,cap_net_raw+ep target/debug/haprepro`)."
    )]
    Privilege {
        role: String,
        addr: Ipv4Addr,
        bridge: String,
    },
    #[error(
        "the address {addr} of {role} is already assigned on this host\n  Another interface \
         holds it; remove it (`ip -4 addr show to {addr}`) or let the case pick another subnet."
    )]
    InUse { role: String, addr: Ipv4Addr },
    #[error(
        "cannot list this host's interface addresses to check that {addr} (for {role}) is free"
    )]
    Lookup {
        role: String,
        addr: Ipv4Addr,
        #[source]
        source: io::Error,
    },
    #[error("rtnetlink: cannot {action} {addr} on {bridge} for {role}")]
    Netlink {
        action: &'static str,
        role: String,
        addr: Ipv4Addr,
        bridge: String,
        #[source]
        source: io::Error,
    },
}

/// Adds `addr/32` to the bridge, for `role` (named in errors).
pub(crate) fn add(bridge: &str, addr: Ipv4Addr, role: &str) -> Result<(), AddrError> {
    let index = index_of(bridge)?;
    let local = is_local(addr).map_err(|source| AddrError::Lookup {
        role: role.into(),
        addr,
        source,
    })?;
    if local {
        return Err(AddrError::InUse {
            role: role.into(),
            addr,
        });
    }
    match request(libc::RTM_NEWADDR, index, addr) {
        Ok(()) => {
            lock().push((index, addr));
            Ok(())
        }
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => Err(AddrError::Privilege {
            role: role.into(),
            addr,
            bridge: bridge.into(),
        }),
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => Err(AddrError::InUse {
            role: role.into(),
            addr,
        }),
        Err(source) => Err(AddrError::Netlink {
            action: "add",
            role: role.into(),
            addr,
            bridge: bridge.into(),
            source,
        }),
    }
}

/// Deletes `addr/32` from the bridge. An address (or bridge) already gone is not an error.
pub(crate) fn delete(bridge: &str, addr: Ipv4Addr, role: &str) -> Result<(), AddrError> {
    let Ok(index) = index_of(bridge) else {
        forget(addr);
        return Ok(());
    };
    let result = request(libc::RTM_DELADDR, index, addr);
    forget(addr);
    match result {
        Ok(()) => Ok(()),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EADDRNOTAVAIL | libc::ENODEV)) => Ok(()),
        Err(source) => Err(AddrError::Netlink {
            action: "delete",
            role: role.into(),
            addr,
            bridge: bridge.into(),
            source,
        }),
    }
}

/// Deletes every address this process added and still holds (for the signal watchdog).
pub(crate) fn delete_all() {
    let all = std::mem::take(&mut *lock());
    for (index, addr) in all {
        let _ = request(libc::RTM_DELADDR, index, addr);
    }
}

/// Whether an interface of this host (of the calling thread's network namespace) holds `addr`
/// (`ip -4 addr show to ADDR`). Read from the interfaces, not probed with a bind: with
/// `net.ipv4.ip_nonlocal_bind=1` a bind succeeds on any address.
fn is_local(addr: Ipv4Addr) -> io::Result<bool> {
    Ok(super::host_net::interface_addresses()?
        .iter()
        .any(|a| a.addr == addr))
}

fn forget(addr: Ipv4Addr) {
    lock().retain(|(_, a)| *a != addr);
}

fn lock() -> std::sync::MutexGuard<'static, Vec<(u32, Ipv4Addr)>> {
    ADDED.lock().unwrap_or_else(|e| e.into_inner())
}

fn index_of(bridge: &str) -> Result<u32, AddrError> {
    let name = std::ffi::CString::new(bridge).map_err(|_| AddrError::NoBridge {
        bridge: bridge.into(),
    })?;
    // SAFETY: a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(AddrError::NoBridge {
            bridge: bridge.into(),
        });
    }
    Ok(index)
}

/// One rtnetlink request for `addr/32` on interface `index`, and its acknowledgement.
fn request(kind: u16, index: u32, addr: Ipv4Addr) -> io::Result<()> {
    let mut flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    if kind == libc::RTM_NEWADDR {
        flags |= (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
    }
    // nlmsghdr (16) + ifaddrmsg (8) + two rtattr of an IPv4 address (8 each).
    let mut msg = Vec::with_capacity(40);
    msg.extend_from_slice(&40u32.to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
    msg.extend_from_slice(&[libc::AF_INET as u8, 32, 0, libc::RT_SCOPE_UNIVERSE]);
    msg.extend_from_slice(&index.to_ne_bytes());
    for attr in [libc::IFA_LOCAL, libc::IFA_ADDRESS] {
        msg.extend_from_slice(&8u16.to_ne_bytes());
        msg.extend_from_slice(&attr.to_ne_bytes());
        msg.extend_from_slice(&addr.octets());
    }
    // SAFETY: plain socket calls on buffers we own; the fd is owned right after creation.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as u16;
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut answer = [0u8; 256];
    let got = unsafe { libc::recv(fd.as_raw_fd(), answer.as_mut_ptr().cast(), answer.len(), 0) };
    if got < 0 {
        return Err(io::Error::last_os_error());
    }
    // NLMSG_ERROR: the header, then the error code (0 is the acknowledgement).
    let kind_got = u16::from_ne_bytes([answer[4], answer[5]]);
    if got < 20 || kind_got != libc::NLMSG_ERROR as u16 {
        return Err(io::Error::other(format!(
            "unexpected rtnetlink answer (type {kind_got}, {got} bytes)"
        )));
    }
    let code = i32::from_ne_bytes([answer[16], answer[17], answer[18], answer[19]]);
    if code == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(-code))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::runtime::subnets;

    const NONLOCAL_BIND: &str = "/proc/sys/net/ipv4/ip_nonlocal_bind";

    /// The probe `is_local` was before: a bind, which `ip_nonlocal_bind=1` lets succeed on any
    /// address.
    fn bind_probe(addr: Ipv4Addr) -> bool {
        std::net::UdpSocket::bind((addr, 0)).is_ok()
    }

    /// `ip_nonlocal_bind` of the calling thread's network namespace.
    fn nonlocal_bind() -> String {
        std::fs::read_to_string(NONLOCAL_BIND)
            .expect("ip_nonlocal_bind can be read")
            .trim()
            .to_string()
    }

    /// `ip link set lo up`, in the calling thread's network namespace.
    fn lo_up() -> io::Result<()> {
        // SAFETY: a socket owned right after creation; ioctls on a zeroed ifreq we own.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (to, from) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *to = *from as libc::c_char;
        }
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } < 0 {
            return Err(io::Error::last_os_error());
        }
        unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
        if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS as _, &req) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// On a host with `net.ipv4.ip_nonlocal_bind=1` (a network namespace of the test's own,
    /// so the host's setting stays as it is), an address is local only when an interface holds
    /// it: a role's address can be added, which the bind probe refused ("already assigned").
    #[test]
    fn with_ip_nonlocal_bind_an_address_is_local_only_when_an_interface_holds_it() {
        let host_before = nonlocal_bind();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let in_namespace = std::thread::spawn(move || {
            // A network namespace of this thread only: the rest of the process, and the host,
            // keep theirs.
            // SAFETY: unshare affects the calling thread only.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                panic!(
                    "unshare(CLONE_NEWNET) failed: {} (this test needs root or CAP_SYS_ADMIN)",
                    io::Error::last_os_error()
                );
            }
            std::fs::write(NONLOCAL_BIND, "1").expect("ip_nonlocal_bind set in the namespace");
            assert_eq!(nonlocal_bind(), "1", "the namespace's ip_nonlocal_bind");
            ready_tx.send(()).unwrap();
            go_rx.recv().unwrap();

            let absent = Ipv4Addr::new(198, 51, 100, 7);
            let role = Ipv4Addr::new(10, 213, 77, 5);
            assert!(
                bind_probe(absent),
                "the bind probe says any address is local"
            );
            assert!(!is_local(absent).unwrap(), "{absent} is on no interface");
            // A fresh namespace's lo is down and holds nothing; up, it holds 127.0.0.1.
            assert!(!is_local(Ipv4Addr::LOCALHOST).unwrap());
            lo_up().expect("lo up in the namespace");
            assert!(is_local(Ipv4Addr::LOCALHOST).unwrap());

            // What a case does for a backend: the old probe refused this as "already assigned".
            assert!(bind_probe(role));
            add("lo", role, "web1").expect("the role's address is added");
            assert!(is_local(role).unwrap());
            assert!(matches!(
                add("lo", role, "web2"),
                Err(AddrError::InUse { addr, .. }) if addr == role
            ));
            // The namespace's own addresses and routes are what the subnet choice avoids.
            let used = subnets::host_used().expect("the namespace's routes and addresses");
            let ranges = subnets::parse_ranges(subnets::DEFAULT_SUBNETS).unwrap();
            let free = subnets::Free::of(&ranges, &used);
            assert_eq!(free.count(), 255, "{used:?}");
            assert!((0..255).all(|n| free.nth(n).unwrap().addr() != Ipv4Addr::new(10, 213, 77, 0)));

            delete("lo", role, "web1").expect("the role's address is deleted");
            assert!(!is_local(role).unwrap());
        });
        ready_rx
            .recv()
            .expect("the namespace's thread got ready (its panic says why not)");
        // While the namespace has it set, the host's value is what it was.
        assert_eq!(nonlocal_bind(), host_before, "the host's ip_nonlocal_bind");
        go_tx.send(()).unwrap();
        if let Err(panic) = in_namespace.join() {
            std::panic::resume_unwind(panic);
        }
        assert_eq!(nonlocal_bind(), host_before, "the host's ip_nonlocal_bind");
    }
}
