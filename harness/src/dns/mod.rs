//! An authoritative DNS server inside the harness process.
//!
//! HAProxy's `resolvers` section queries this server, so a scenario controls exactly what
//! HAProxy is told and when: records appear, change and disappear at run time ([`Zone`]), names
//! answer late, wrongly or not at all ([`Fault`]), and every query is logged with its time,
//! source and answer ([`QueryLog`]) so steps can wait for HAProxy to ask and the report can show
//! what it asked. The server binds UDP and TCP on the same port, as resolvers expect.
//!
//! All hickory code of haprepro lives here: the server ([`DnsServer`]), the request handler
//! (`handler.rs`), the zone ([`Zone`]) and the log ([`QueryLog`]).

mod fault;
mod handler;
mod log;
mod zone;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_proto::rr::Name;
use hickory_server::Server;
use tokio::net::{TcpListener, UdpSocket};
use tokio_util::sync::CancellationToken;

pub use self::fault::Fault;
pub use self::log::{Protocol, QueryLog, QueryRecord};
pub use self::zone::{RecordKind, SrvTarget, Zone};

use self::handler::Handler;

/// How often `start` with port 0 looks for a port free for both UDP and TCP.
const PORT_ATTEMPTS: usize = 8;
/// A TCP connection that sends no query for this long is closed.
const TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Responses queued per TCP connection.
const TCP_RESPONSE_BUFFER: usize = 32;

/// Why the DNS server could not start.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A socket could not be bound.
    #[error(
        "cannot bind the DNS server's {protocol} socket on {addr}: is another DNS server (or an \
         earlier haprepro run) using the port, or is the address not assigned on this host yet \
         (the case network's gateway exists only once the network is created)?"
    )]
    Bind {
        /// "UDP" or "TCP".
        protocol: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// The error from the OS.
        #[source]
        source: io::Error,
    },
    /// With port 0, no port was free for UDP and TCP at once.
    #[error(
        "no port on {ip} was free for both UDP and TCP after {attempts} attempts; \
         too many sockets open?"
    )]
    NoSharedPort {
        /// The address asked for.
        ip: IpAddr,
        /// How many ports were tried.
        attempts: usize,
    },
    /// The origin is not a DNS name.
    #[error("the zone origin {origin:?} is not a valid DNS name")]
    Origin {
        /// The origin as given.
        origin: String,
        /// Why it did not parse.
        #[source]
        source: hickory_proto::ProtoError,
    },
}

/// A running DNS server: one UDP socket and one TCP listener on the same address and port.
///
/// It stops when dropped; [`DnsServer::shutdown`] stops it and waits until the listeners are
/// closed.
pub struct DnsServer {
    addr: SocketAddr,
    zone: Zone,
    log: QueryLog,
    /// Stops delayed answers still waiting.
    shutdown: CancellationToken,
    /// `None` once shut down. Dropping the hickory server aborts its listener tasks.
    server: Option<Server<Handler>>,
}

impl DnsServer {
    /// Starts a server for the zone `origin` ("svc.test") on `bind`:`port`. Port 0 picks a port
    /// that is free for both UDP and TCP. The zone starts empty, with a TTL of 1 s.
    pub async fn start(bind: IpAddr, port: u16, origin: &str) -> Result<DnsServer, DnsError> {
        Name::from_ascii(origin).map_err(|source| DnsError::Origin {
            origin: origin.to_string(),
            source,
        })?;
        let (udp, tcp) = bind_pair(bind, port).await?;
        let addr = udp.local_addr().map_err(|source| DnsError::Bind {
            protocol: "UDP",
            addr: SocketAddr::new(bind, port),
            source,
        })?;

        let zone = Zone::new(origin);
        let log = QueryLog::new();
        let shutdown = CancellationToken::new();
        let mut server = Server::new(Handler {
            zone: zone.clone(),
            log: log.clone(),
            shutdown: shutdown.clone(),
        });
        server.register_socket(udp);
        server.register_listener(tcp, TCP_IDLE_TIMEOUT, TCP_RESPONSE_BUFFER);
        Ok(DnsServer {
            addr,
            zone,
            log,
            shutdown,
            server: Some(server),
        })
    }

    /// The address and port the server answers on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to change records and faults while the server runs.
    pub fn zone(&self) -> Zone {
        self.zone.clone()
    }

    /// A handle on the log of queries.
    pub fn log(&self) -> QueryLog {
        self.log.clone()
    }

    /// Stops answering, drops delayed answers still waiting, and waits until the sockets are
    /// closed.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(mut server) = self.server.take() {
            // The only errors are listener loops that had already failed; the server is
            // stopped either way.
            let _ = server.shutdown_gracefully().await;
        }
    }
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("addr", &self.addr)
            .field("origin", &self.zone.origin())
            .field("running", &self.server.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(server) = &self.server {
            server.shutdown_token().cancel();
        }
    }
}

/// Binds UDP and TCP on the same port. With port 0, UDP picks a port and TCP takes the same one;
/// if TCP's is taken, it tries again with a new UDP port.
async fn bind_pair(ip: IpAddr, port: u16) -> Result<(UdpSocket, TcpListener), DnsError> {
    let attempts = if port == 0 { PORT_ATTEMPTS } else { 1 };
    for _ in 0..attempts {
        let want = SocketAddr::new(ip, port);
        let udp = UdpSocket::bind(want)
            .await
            .map_err(|source| DnsError::Bind {
                protocol: "UDP",
                addr: want,
                source,
            })?;
        let got = udp.local_addr().map_err(|source| DnsError::Bind {
            protocol: "UDP",
            addr: want,
            source,
        })?;
        match TcpListener::bind(got).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(source) => {
                return Err(DnsError::Bind {
                    protocol: "TCP",
                    addr: got,
                    source,
                })
            }
        }
    }
    Err(DnsError::NoSharedPort { ip, attempts })
}
