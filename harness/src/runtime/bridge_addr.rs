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
    if is_local(addr) {
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

/// Whether `addr` is assigned to any interface of this host (`ip -4 addr show to ADDR`).
fn is_local(addr: Ipv4Addr) -> bool {
    // Binding a socket succeeds only on a local address (ip_nonlocal_bind aside).
    std::net::UdpSocket::bind((addr, 0)).is_ok()
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
