//! Bounded client load toward HAProxy from the harness process: HTTP requests that record which
//! server answered, connect-and-close, long-lived sessions, unix-socket clients. A client of the
//! topology sends from its own address on the case bridge ([`connect_from`]); otherwise the
//! kernel picks the gateway's.
//!
//! Every loop here is bounded by a count and a per-request timeout, so a broken HAProxy makes a
//! case fail in seconds instead of hanging it.

pub mod sessions;
pub mod unix;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// One HTTP exchange as the client saw it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HttpExchange {
    /// Milliseconds since the case started.
    pub at_ms: u64,
    pub status: Option<u16>,
    /// The backend that answered (its `X-Server` header), when one did.
    pub server: Option<String>,
    pub elapsed_ms: u64,
    pub error: Option<String>,
}

/// Connects to `to`, from the address `from` when given (a client's own bridge address).
pub async fn connect_from(from: Option<IpAddr>, to: SocketAddr) -> std::io::Result<TcpStream> {
    let Some(ip) = from else {
        return TcpStream::connect(to).await;
    };
    let socket = match ip {
        IpAddr::V4(_) => TcpSocket::new_v4()?,
        IpAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.bind(SocketAddr::new(ip, 0))?;
    socket.connect(to).await
}

/// Sends `count` requests one after another, each on a fresh connection.
pub async fn http_requests(
    from: Option<IpAddr>,
    to: SocketAddr,
    path: &str,
    count: u32,
    timeout: Duration,
    case_start: Instant,
) -> Vec<HttpExchange> {
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let started = Instant::now();
        let result = tokio::time::timeout(timeout, http_get(from, to, path)).await;
        let (status, server, error) = match result {
            Ok(Ok((status, server))) => (Some(status), server, None),
            Ok(Err(e)) => (None, None, Some(e.to_string())),
            Err(_) => (None, None, Some(format!("no answer within {timeout:?}"))),
        };
        out.push(HttpExchange {
            at_ms: started.duration_since(case_start).as_millis() as u64,
            status,
            server,
            elapsed_ms: started.elapsed().as_millis() as u64,
            error,
        });
    }
    out
}

/// Opens `count` TCP connections one after another and closes each without sending anything;
/// returns how many connected.
pub async fn connect_close(
    from: Option<IpAddr>,
    to: SocketAddr,
    count: u32,
    timeout: Duration,
) -> u32 {
    let mut connected = 0;
    for _ in 0..count {
        if let Ok(Ok(stream)) = tokio::time::timeout(timeout, connect_from(from, to)).await {
            connected += 1;
            drop(stream);
        }
    }
    connected
}

async fn http_get(
    from: Option<IpAddr>,
    to: SocketAddr,
    path: &str,
) -> std::io::Result<(u16, Option<String>)> {
    let mut stream = connect_from(from, to).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: haprepro\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    parse_response(&response).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&response[..response.len().min(80)])
            ),
        )
    })
}

fn parse_response(raw: &[u8]) -> Option<(u16, Option<String>)> {
    let text = String::from_utf8_lossy(raw);
    let mut lines = text.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let server = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("x-server"))
        .map(|(_, v)| v.trim().to_string());
    Some((status, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_server() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(parse_response(raw), Some((503, None)));
        let raw = b"HTTP/1.1 200 OK\r\nx-server: web2\r\n\r\nweb2\n";
        assert_eq!(parse_response(raw), Some((200, Some("web2".into()))));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
