//! One accepted connection, answered as the backend's mode and behaviour say: HTTP answers to
//! every request head, or a TCP banner then echo. Returns how the connection ended, in words.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::behaviour::{HttpAnswer, TcpAnswer};
use super::log::ConnectionLog;

/// Where a connection's bytes are counted.
pub(crate) struct Counted<'a> {
    pub log: &'a ConnectionLog,
    pub id: u64,
}

impl Counted<'_> {
    fn read(&self, n: usize) {
        self.log.bytes(self.id, n as u64, 0);
    }
    fn wrote(&self, n: usize) {
        self.log.bytes(self.id, 0, n as u64);
    }
}

/// Words for an I/O error ending a connection.
pub(crate) fn ended_by(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "peer reset".into(),
        io::ErrorKind::BrokenPipe => "peer gone (broken pipe)".into(),
        _ => format!("error: {e}"),
    }
}

pub(crate) async fn tcp(
    mut stream: TcpStream,
    name: &str,
    answer: &TcpAnswer,
    count: Counted<'_>,
) -> io::Result<String> {
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let banner = answer.banner.clone().unwrap_or_else(|| name.to_string());
    if !banner.is_empty() {
        let line = format!("{banner}\n");
        stream.write_all(line.as_bytes()).await?;
        count.wrote(line.len());
    }
    let mut total = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok("peer closed".into());
        }
        count.read(n);
        total += n as u64;
        if answer.echo {
            stream.write_all(&buf[..n]).await?;
            count.wrote(n);
        }
        if let Some(limit) = answer.close_after {
            if total >= limit {
                stream.shutdown().await?;
                return Ok(format!("closed by the backend after {total} bytes"));
            }
        }
    }
}

pub(crate) async fn http(
    mut stream: TcpStream,
    name: &str,
    answer: &HttpAnswer,
    count: Counted<'_>,
) -> io::Result<String> {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 8 * 1024];
    let mut answered = 0u64;
    loop {
        // Answer every complete request head in the buffer; bodies are not expected.
        while let Some(end) = find_head_end(&pending) {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            pending.drain(..end + 4);
            let close = answer.close || head.contains("connection: close");
            if !answer.delay.is_zero() {
                tokio::time::sleep(answer.delay).await;
            }
            let response = response(name, answer, close);
            stream.write_all(response.as_bytes()).await?;
            count.wrote(response.len());
            answered += 1;
            if close {
                stream.shutdown().await?;
                return Ok(format!("closed by the backend after {answered} answer(s)"));
            }
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(format!("peer closed after {answered} answer(s)"));
        }
        count.read(n);
        pending.extend_from_slice(&buf[..n]);
    }
}

fn response(name: &str, answer: &HttpAnswer, close: bool) -> String {
    let body = answer.body.clone().unwrap_or_else(|| format!("{name}\n"));
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nX-Server: {name}\r\nContent-Length: {}\r\n",
        answer.status,
        reason(answer.status),
        body.len()
    );
    for (k, v) in &answer.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head + "\r\n" + &body
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}
