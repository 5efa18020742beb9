//! The backend program that runs in containers behind HAProxy: it names itself, so every
//! answer says which server HAProxy picked.
//!
//! HTTP mode answers every request with its name (body and `X-Server` header), keeping the
//! connection alive; TCP mode sends its name on a line first, then echoes. Each connection is
//! logged on stdout (`open`/`close` with peer and bytes), which the case keeps as evidence.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How a backend answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Http,
    Tcp,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "http" => Ok(Mode::Http),
            "tcp" => Ok(Mode::Tcp),
            other => Err(format!("unknown mode {other:?}: expected http or tcp")),
        }
    }
}

/// Where the backend program is mounted inside containers.
pub const CONTAINER_PATH: &str = "/usr/local/bin/haprepro-backend";

/// Serves until the process is killed. Each listen address gets its own accept loop.
pub async fn serve(name: String, mode: Mode, listen: Vec<SocketAddr>) -> std::io::Result<()> {
    let name = Arc::new(name);
    let ids = Arc::new(AtomicU64::new(0));
    let mut loops = Vec::new();
    for addr in listen {
        let listener = TcpListener::bind(addr).await?;
        println!("listen {addr} mode={mode:?}");
        let (name, ids) = (name.clone(), ids.clone());
        loops.push(tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let id = ids.fetch_add(1, Ordering::Relaxed);
                let name = name.clone();
                tokio::spawn(async move {
                    println!("open #{id} from {peer}");
                    let result = match mode {
                        Mode::Http => http(stream, &name).await,
                        Mode::Tcp => tcp(stream, &name).await,
                    };
                    match result {
                        Ok(bytes) => println!("close #{id} from {peer} bytes_in={bytes}"),
                        Err(e) => println!("close #{id} from {peer} error={e}"),
                    }
                });
            }
        }));
    }
    for l in loops {
        let _ = l.await;
    }
    Ok(())
}

async fn tcp(mut stream: TcpStream, name: &str) -> std::io::Result<u64> {
    stream.write_all(format!("{name}\n").as_bytes()).await?;
    let mut total = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        stream.write_all(&buf[..n]).await?;
    }
}

async fn http(mut stream: TcpStream, name: &str) -> std::io::Result<u64> {
    let mut total = 0u64;
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        // Answer every complete request head in the buffer; bodies are not expected.
        while let Some(end) = find_head_end(&pending) {
            let head = String::from_utf8_lossy(&pending[..end]).to_string();
            pending.drain(..end + 4);
            let close = head.to_ascii_lowercase().contains("connection: close");
            let body = format!("{name}\n");
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Server: {name}\r\nContent-Length: {}\r\n{}\r\n{body}",
                body.len(),
                if close { "Connection: close\r\n" } else { "" }
            );
            stream.write_all(response.as_bytes()).await?;
            if close {
                return Ok(total);
            }
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        pending.extend_from_slice(&buf[..n]);
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Finds the backend binary on the host, to mount into containers: `HAPREPRO_BACKEND_BIN`,
/// else beside the running program (or one level up, where cargo puts test binaries).
pub fn locate() -> Result<std::path::PathBuf, crate::runtime::RuntimeError> {
    if let Some(path) = std::env::var_os("HAPREPRO_BACKEND_BIN") {
        return Ok(path.into());
    }
    let mut looked = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join("haprepro-backend");
            if candidate.is_file() {
                return Ok(candidate);
            }
            looked.push(candidate);
        }
    }
    Err(crate::runtime::RuntimeError::BackendMissing { looked })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn http_and_tcp_modes_name_the_server() {
        let http_addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let l = TcpListener::bind(http_addr).await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        tokio::spawn(serve("web9".into(), Mode::Http, vec![addr]));
        let mut s = loop {
            if let Ok(s) = TcpStream::connect(addr).await {
                break s;
            }
            tokio::task::yield_now().await;
        };
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert_eq!(out.matches("X-Server: web9").count(), 2, "{out}");

        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        tokio::spawn(serve("s1".into(), Mode::Tcp, vec![addr]));
        let mut s = loop {
            if let Ok(s) = TcpStream::connect(addr).await {
                break s;
            }
            tokio::task::yield_now().await;
        };
        s.write_all(b"ping").await.unwrap();
        s.shutdown().await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert_eq!(out, "s1\nping");
    }
}
