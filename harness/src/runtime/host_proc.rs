//! A container's sockets and processes read from the host, through its main process's PID:
//! `/proc/<pid>/net/tcp{,6}` lists every TCP socket of the container's network namespace (what
//! `ss -tan` inside it lists), and `/proc/*/stat` gives its process tree. Nothing runs inside
//! the container, so a slim image (the official ones have neither `ss` nor `ps`) is observed
//! the same way as a full one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// A TCP socket of a network namespace, as the kernel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSocket {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub state: TcpState,
    /// Bytes queued to send and not yet acknowledged, and received and not yet read.
    pub send_q: u64,
    pub recv_q: u64,
}

/// The kernel's TCP states (`include/net/tcp_states.h`), named as `ss` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    Established,
    SynSent,
    SynRecv,
    FinWait1,
    FinWait2,
    TimeWait,
    Close,
    CloseWait,
    LastAck,
    Listen,
    Closing,
}

impl TcpState {
    const ALL: [TcpState; 11] = [
        TcpState::Established,
        TcpState::SynSent,
        TcpState::SynRecv,
        TcpState::FinWait1,
        TcpState::FinWait2,
        TcpState::TimeWait,
        TcpState::Close,
        TcpState::CloseWait,
        TcpState::LastAck,
        TcpState::Listen,
        TcpState::Closing,
    ];

    fn from_code(code: u8) -> Option<TcpState> {
        TcpState::ALL
            .get(usize::from(code).checked_sub(1)?)
            .copied()
    }

    /// The state's name in `ss`'s filter language (`established`, `close-wait`).
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Established => "established",
            TcpState::SynSent => "syn-sent",
            TcpState::SynRecv => "syn-recv",
            TcpState::FinWait1 => "fin-wait-1",
            TcpState::FinWait2 => "fin-wait-2",
            TcpState::TimeWait => "time-wait",
            TcpState::Close => "close",
            TcpState::CloseWait => "close-wait",
            TcpState::LastAck => "last-ack",
            TcpState::Listen => "listen",
            TcpState::Closing => "closing",
        }
    }

    /// The state named `name` (as `ss` names it).
    pub fn parse(name: &str) -> Option<TcpState> {
        TcpState::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Every name [`TcpState::parse`] knows, for error messages.
    pub fn names() -> Vec<&'static str> {
        TcpState::ALL.iter().map(|s| s.name()).collect()
    }
}

/// Every TCP socket (IPv4 and IPv6) of the network namespace process `pid` lives in.
pub fn tcp_sockets(pid: u32) -> std::io::Result<Vec<TcpSocket>> {
    let mut all = Vec::new();
    for file in ["tcp", "tcp6"] {
        let path = Path::new("/proc")
            .join(pid.to_string())
            .join("net")
            .join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => all.extend(parse_tcp_table(&text)),
            // A kernel without IPv6 has no tcp6.
            Err(e) if file == "tcp6" && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(all)
}

/// The lines of `/proc/net/tcp` or `tcp6` (the header skipped, a line that does not parse
/// left out).
pub fn parse_tcp_table(text: &str) -> Vec<TcpSocket> {
    text.lines().skip(1).filter_map(parse_tcp_line).collect()
}

fn parse_tcp_line(line: &str) -> Option<TcpSocket> {
    // sl local_address rem_address st tx_queue:rx_queue ...
    let fields: Vec<&str> = line.split_whitespace().collect();
    let local = parse_addr(fields.get(1)?)?;
    let peer = parse_addr(fields.get(2)?)?;
    let state = TcpState::from_code(u8::from_str_radix(fields.get(3)?, 16).ok()?)?;
    let (tx, rx) = fields.get(4)?.split_once(':')?;
    Some(TcpSocket {
        local,
        peer,
        state,
        send_q: u64::from_str_radix(tx, 16).ok()?,
        recv_q: u64::from_str_radix(rx, 16).ok()?,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): each 32-bit word of the address
/// in the host's byte order, the port in hex.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(&addr[i * 8..i * 8 + 8], 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let ip = match words.as_slice() {
        [w] => IpAddr::V4(Ipv4Addr::from(w.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].into_iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            let v6 = Ipv6Addr::from(bytes);
            // An IPv4 peer of a dual-stack socket reads as an IPv4 address, as ss shows it.
            v6.to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// One line per socket, in the form of `ss -Htn` (state, queues, local, peer).
pub fn format_sockets(sockets: &[TcpSocket]) -> String {
    sockets
        .iter()
        .map(|s| {
            format!(
                "{} {} {} {} {}\n",
                s.state.name().to_uppercase(),
                s.recv_q,
                s.send_q,
                s.local,
                s.peer
            )
        })
        .collect()
}

/// A process as the host sees it, with its PID inside the container's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub host_pid: u32,
    /// The innermost PID (`NSpid`'s last), what `ps` inside the container shows.
    pub ns_pid: u32,
}

/// The direct children of host process `parent` (a master's workers).
pub fn children(parent: u32) -> std::io::Result<Vec<Process>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process that ended meanwhile is simply not listed.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if parent_of(&stat) != Some(parent) {
            continue;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        found.push(Process {
            host_pid: pid,
            ns_pid: ns_pid(&status).unwrap_or(pid),
        });
    }
    found.sort_by_key(|p| p.host_pid);
    Ok(found)
}

/// The parent PID of a `/proc/<pid>/stat` line: the field after the `(comm)`, which may hold
/// spaces and parentheses itself.
fn parent_of(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn ns_pid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// The number of a signal named as `kill -l` names it (`STOP`, `USR2`), for the signals a
/// scenario has a use for.
pub fn signal_number(name: &str) -> Option<i32> {
    Some(match name {
        "HUP" => libc::SIGHUP,
        "INT" => libc::SIGINT,
        "QUIT" => libc::SIGQUIT,
        "ABRT" => libc::SIGABRT,
        "KILL" => libc::SIGKILL,
        "SEGV" => libc::SIGSEGV,
        "USR1" => libc::SIGUSR1,
        "USR2" => libc::SIGUSR2,
        "PIPE" => libc::SIGPIPE,
        "TERM" => libc::SIGTERM,
        "CONT" => libc::SIGCONT,
        "STOP" => libc::SIGSTOP,
        "TTOU" => libc::SIGTTOU,
        "TTIN" => libc::SIGTTIN,
        _ => return None,
    })
}

/// Sends signal `signal` to host process `pid`.
pub fn kill(pid: u32, signal: i32) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) with plain integers.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernels_tcp_tables() {
        let v4 = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
            0: 00000000:270F 00000000:0000 0A 00000000:00000000 00:00000000 00000000    99        0 1 1 0 100 0 0 10 0\n   \
            1: 0A05D50A:270F 0105D50A:A1B2 08 00000000:00000001 00:00000000 00000000    99        0 2 1 0 20 4 30 10 -1\n";
        let sockets = parse_tcp_table(v4);
        assert_eq!(sockets.len(), 2);
        assert_eq!(sockets[0].state, TcpState::Listen);
        assert_eq!(sockets[0].local, "0.0.0.0:9999".parse().unwrap());
        assert_eq!(sockets[1].state, TcpState::CloseWait);
        assert_eq!(sockets[1].local, "10.213.5.10:9999".parse().unwrap());
        assert_eq!(sockets[1].peer, "10.213.5.1:41394".parse().unwrap());
        assert_eq!(sockets[1].recv_q, 1);
        assert_eq!(
            format_sockets(&sockets[1..]),
            "CLOSE-WAIT 1 0 10.213.5.10:9999 10.213.5.1:41394\n"
        );
        // ::ffff:10.213.5.10 port 8080, and ::1.
        let v6 = "  sl  local_address                         remote_address                        st\n   \
            0: 0000000000000000FFFF00000A05D50A:1F90 0000000000000000FFFF00000105D50A:C000 01 00000000:00000000 00:00000000 00000000 0 0 3\n   \
            1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 4\n";
        let sockets = parse_tcp_table(v6);
        assert_eq!(sockets[0].local, "10.213.5.10:8080".parse().unwrap());
        assert_eq!(sockets[0].state, TcpState::Established);
        assert_eq!(sockets[1].local, "[::1]:80".parse().unwrap());
    }

    #[test]
    fn state_names_are_those_of_ss() {
        assert_eq!(TcpState::parse("close-wait"), Some(TcpState::CloseWait));
        assert_eq!(TcpState::parse("established"), Some(TcpState::Established));
        assert_eq!(TcpState::parse("estab"), None);
        assert_eq!(TcpState::from_code(0x0A), Some(TcpState::Listen));
        assert_eq!(TcpState::from_code(0), None);
    }

    #[test]
    fn this_process_sockets_and_children_are_read_from_proc() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sockets = tcp_sockets(std::process::id()).unwrap();
        assert!(
            sockets
                .iter()
                .any(|s| s.local.port() == port && s.state == TcpState::Listen),
            "{sockets:?}"
        );
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let kids = children(std::process::id()).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(kids.iter().any(|k| k.host_pid == child.id()), "{kids:?}");
    }

    #[test]
    fn a_command_name_with_parentheses_does_not_hide_the_parent() {
        assert_eq!(parent_of("42 (a) b) S 7 42 42 0"), Some(7));
        assert_eq!(ns_pid("Name:\tx\nNSpid:\t31337\t8\n"), Some(8));
    }
}
