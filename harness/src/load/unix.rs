//! Clients of HAProxy's unix sockets (the master CLI, a worker's stats socket), as the reports
//! that exhaust them use them: connections held idle, commands with a deadline, aborted reads,
//! and floods of non-blocking connects.
//!
//! Connects are always non-blocking (raw `connect(2)` on a `SOCK_NONBLOCK` socket): on a unix
//! socket whose backlog is full a blocking connect hangs, while a non-blocking one fails at once
//! with EAGAIN, which is the symptom "Resource temporarily unavailable" itself.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a `unix` step did, counted; kept as evidence and read by measures.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UnixTally {
    pub socket: String,
    pub attempts: u32,
    pub connected: u32,
    /// Commands that got at least one byte of answer before the deadline.
    pub answered: u32,
    /// Commands whose connection the server closed (EOF) before the deadline.
    pub closed: u32,
    /// Bytes of answer received, over all commands.
    pub bytes: u64,
    /// Connects refused with EAGAIN (backlog full).
    pub eagain: u32,
    /// 1-based number of the first connect that failed with EAGAIN.
    pub first_eagain_at: Option<u32>,
    /// Connections left open by the step.
    pub held: u32,
    /// The start of each answer, for the evidence file.
    pub answers: Vec<String>,
    pub errors: Vec<String>,
}

impl UnixTally {
    pub fn new(socket: &Path) -> UnixTally {
        UnixTally {
            socket: socket.display().to_string(),
            ..Default::default()
        }
    }

    /// A named value, for measures.
    pub fn value(&self, name: &str) -> Option<f64> {
        Some(match name {
            "attempts" => self.attempts as f64,
            "connected" => self.connected as f64,
            "answered" => self.answered as f64,
            "closed" => self.closed as f64,
            "eagain" => self.eagain as f64,
            "first_eagain_at" => self.first_eagain_at.unwrap_or(0) as f64,
            "held" => self.held as f64,
            _ => return None,
        })
    }

    fn failed(&mut self, e: io::Error) {
        if e.kind() == io::ErrorKind::WouldBlock {
            self.eagain += 1;
            self.first_eagain_at.get_or_insert(self.attempts);
        }
        self.errors.push(format!("connect #{}: {e}", self.attempts));
    }
}

/// The value names [`UnixTally::value`] knows.
pub const VALUES: [&str; 7] = [
    "attempts",
    "connected",
    "answered",
    "closed",
    "eagain",
    "first_eagain_at",
    "held",
];

/// `connect(2)` on a non-blocking unix stream socket; EAGAIN comes back as `WouldBlock`.
pub fn connect_nonblocking(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    // SAFETY: plain libc calls on a socket this function owns; the address is zeroed, then
    // filled within the bounds of sun_path (checked above the copy).
    unsafe {
        let fd = libc::socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let owned = OwnedFd::from_raw_fd(fd);
        let mut addr: libc::sockaddr_un = std::mem::zeroed();
        addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
        if bytes.len() >= addr.sun_path.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("socket path too long: {}", path.display()),
            ));
        }
        for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        let len = (std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
        let ret = libc::connect(
            owned.as_raw_fd(),
            &addr as *const _ as *const libc::sockaddr,
            len,
        );
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(owned)
    }
}

/// Opens `count` connections and keeps them open without sending anything.
pub fn hold(path: &Path, count: u32, tally: &mut UnixTally) -> Vec<OwnedFd> {
    let mut held = Vec::new();
    for _ in 0..count {
        tally.attempts += 1;
        match connect_nonblocking(path) {
            Ok(fd) => {
                tally.connected += 1;
                held.push(fd);
            }
            Err(e) => tally.failed(e),
        }
    }
    tally.held += held.len() as u32;
    held
}

/// How a command is sent and its answer read.
#[derive(Debug, Clone, Copy)]
pub struct CommandStyle {
    pub within: Duration,
    /// Close the connection after this many bytes of answer (an aborted read).
    pub read_limit: Option<usize>,
    /// Shut down the write side after the command, as HAProxy's master CLI needs to close.
    pub half_close: bool,
}

/// Sends one command on a new connection and reads the answer until EOF, the deadline, or
/// `read_limit` bytes. What arrived before the deadline counts even when EOF did not.
pub async fn command(path: &Path, cmd: &str, style: CommandStyle, tally: &mut UnixTally) {
    let CommandStyle {
        within,
        read_limit,
        half_close,
    } = style;
    tally.attempts += 1;
    let fd = match connect_nonblocking(path) {
        Ok(fd) => fd,
        Err(e) => return tally.failed(e),
    };
    tally.connected += 1;
    let std_stream = std::os::unix::net::UnixStream::from(fd);
    let mut stream = match tokio::net::UnixStream::from_std(std_stream) {
        Ok(s) => s,
        Err(e) => return tally.errors.push(format!("#{}: {e}", tally.attempts)),
    };
    let mut answer = Vec::new();
    let exchange = async {
        stream.write_all(format!("{cmd}\n").as_bytes()).await?;
        if half_close {
            stream.shutdown().await?;
        }
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return io::Result::Ok(true);
            }
            answer.extend_from_slice(&buf[..n]);
            if read_limit.is_some_and(|limit| answer.len() >= limit) {
                return Ok(false);
            }
        }
    };
    match tokio::time::timeout(within, exchange).await {
        Ok(Ok(eof)) => tally.closed += u32::from(eof),
        Ok(Err(e)) => tally.errors.push(format!("#{}: {e}", tally.attempts)),
        Err(_) => tally.errors.push(format!(
            "#{}: {} within {within:?}",
            tally.attempts,
            if answer.is_empty() {
                "no answer"
            } else {
                "no end of answer"
            }
        )),
    }
    tally.bytes += answer.len() as u64;
    if !answer.is_empty() {
        tally.answered += 1;
    }
    let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).to_string();
    tally.answers.push(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_answers_eagain_and_held_connections() {
        let dir = std::env::temp_dir().join(format!("hr-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        // A listener that never accepts, with the smallest backlog: connects beyond it EAGAIN.
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        unsafe { libc::listen(listener.as_raw_fd(), 0) };
        let mut tally = UnixTally::new(&path);
        let held = hold(&path, 5, &mut tally);
        assert!(tally.eagain >= 1, "{tally:?}");
        assert_eq!(held.len() as u32, tally.connected);
        assert!(tally.first_eagain_at.unwrap() <= 5);

        // A listener that answers.
        let path2 = dir.join("a.sock");
        let _ = std::fs::remove_file(&path2);
        let answering = tokio::net::UnixListener::bind(&path2).unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = answering.accept().await {
                let mut req = Vec::new();
                let _ = s.read_to_end(&mut req).await;
                let _ = s.write_all(b"pong\n").await;
            }
        });
        let mut tally = UnixTally::new(&path2);
        let style = CommandStyle {
            within: Duration::from_secs(2),
            read_limit: None,
            half_close: true,
        };
        command(&path2, "ping", style, &mut tally).await;
        assert_eq!(
            (tally.answered, tally.closed, tally.answers[0].as_str()),
            (1, 1, "pong\n")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
