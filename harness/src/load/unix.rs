//! Clients of HAProxy's unix sockets (the master CLI, a worker's stats socket), as the reports
//! that exhaust them use them: connections held idle, commands with a deadline, aborted reads,
//! floods of non-blocking connects, and prompt-mode sessions that repeat a command on one
//! connection while reading each answer slowly (haproxy#3070).
//!
//! Connects are always non-blocking (raw `connect(2)` on a `SOCK_NONBLOCK` socket): on a unix
//! socket whose backlog is full a blocking connect hangs, while a non-blocking one fails at once
//! with EAGAIN, which is the symptom "Resource temporarily unavailable" itself.
//!
//! The sockets live in a folder the container writes (`{{ sock.dir }}`) and the harness runs as
//! root: a connect never follows a link. The socket file is opened first (`O_PATH |
//! O_NOFOLLOW`), refused unless it is a socket, and the connect goes to that very file through
//! `/proc/self/fd/N`, so a link swapped in after the check is not followed either.

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
    /// Aborted reads (`read_limit` reached) closed while the server was still sending: it had
    /// not shut its side yet (no `POLLRDHUP`). An abort after the server finished proves nothing
    /// about aborts, which is what a loaded machine turns them into.
    pub cut_short: u32,
    /// Aborted reads closed after the server had already sent everything and closed.
    pub cut_after_end: u32,
    /// Prompt-mode sessions: commands sent, over all connections.
    pub commands: u32,
    /// Prompt-mode answers that ended with the prompt.
    pub prompts: u32,
    /// Prompt-mode connections whose answer never ended with the prompt and whose next command
    /// then got no byte at all: frozen, kept open (each holds a master CLI slot).
    pub frozen: u32,
    /// Prompt-mode connections that got no answer to `prompt` itself (no free slot).
    pub unserved: u32,
    /// Sizes of prompt-mode answers that ended with the prompt or froze, prompt excluded (an
    /// answer cut by a late server is in `errors`, not here).
    pub answer_sizes: Vec<u64>,
    /// Per prompt-mode answer, the most bytes seen waiting unread in the client's socket
    /// (`FIONREAD` before each read): near the socket's capacity when the server had to wait.
    pub queue_peaks: Vec<u64>,
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
            "cut_short" => self.cut_short as f64,
            "cut_after_end" => self.cut_after_end as f64,
            "commands" => self.commands as f64,
            "prompts" => self.prompts as f64,
            "frozen" => self.frozen as f64,
            "unserved" => self.unserved as f64,
            "answer_bytes_min" => min_or_zero(&self.answer_sizes),
            "answer_bytes_max" => max_or_zero(&self.answer_sizes),
            "queue_peak_min" => min_or_zero(&self.queue_peaks),
            "queue_peak_max" => max_or_zero(&self.queue_peaks),
            "queue_full" => self
                .queue_peaks
                .iter()
                .filter(|p| **p >= FULL_QUEUE)
                .count() as f64,
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

/// Bytes waiting unread in a unix socket that show its writer had to stop: more than half of
/// what a socket with Linux's default send buffer (212 992 bytes of kernel memory, about
/// 200 kB of data) holds. A sender that has more to write than this is then met with EAGAIN.
pub const FULL_QUEUE: u64 = 128 * 1024;

fn min_or_zero(v: &[u64]) -> f64 {
    v.iter().min().copied().unwrap_or(0) as f64
}

fn max_or_zero(v: &[u64]) -> f64 {
    v.iter().max().copied().unwrap_or(0) as f64
}

/// The value names [`UnixTally::value`] knows.
pub const VALUES: [&str; 18] = [
    "attempts",
    "connected",
    "answered",
    "closed",
    "eagain",
    "first_eagain_at",
    "held",
    "cut_short",
    "cut_after_end",
    "commands",
    "prompts",
    "frozen",
    "unserved",
    "answer_bytes_min",
    "answer_bytes_max",
    "queue_peak_min",
    "queue_peak_max",
    "queue_full",
];

/// Why the file at `path` is not a socket, in words (`None` for a socket).
fn not_a_socket(file_type: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if file_type.is_socket() {
        None
    } else if file_type.is_symlink() {
        Some("a symbolic link")
    } else if file_type.is_file() {
        Some("a regular file")
    } else if file_type.is_dir() {
        Some("a folder")
    } else {
        Some("not a socket")
    }
}

fn refused(path: &Path, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "{} is {what}, not a unix socket: refused (the container writes that folder; links \
             are never followed)",
            path.display()
        ),
    )
}

/// Refuses the socket path unless it is a socket or not there yet (`symlink_metadata`: a link
/// is seen as a link, never followed): a step's check before it connects. Each connect checks
/// again ([`connect_nonblocking`]).
pub fn refuse_non_socket(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => match not_a_socket(meta.file_type()) {
            Some(what) => Err(refused(path, what).to_string()),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// The socket file at `path`, opened without following a link (`O_PATH | O_NOFOLLOW`: a link is
/// opened as itself) and checked to be a socket; the handle pins that file for the connect.
fn open_socket_file(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_NOFOLLOW)
        .open(path)?;
    match not_a_socket(file.metadata()?.file_type()) {
        Some(what) => Err(refused(path, what)),
        None => Ok(OwnedFd::from(file)),
    }
}

/// Connects to the unix socket at `path` (checked, never through a link), for a client that
/// awaits its answers.
pub async fn connect(path: &Path) -> io::Result<tokio::net::UnixStream> {
    let fd = connect_nonblocking(path)?;
    tokio::net::UnixStream::from_std(std::os::unix::net::UnixStream::from(fd))
}

/// `connect(2)` on a non-blocking unix stream socket; EAGAIN comes back as `WouldBlock`. The
/// file at `path` must be a socket, not a link to one ([`open_socket_file`]).
pub fn connect_nonblocking(path: &Path) -> io::Result<OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let pinned = open_socket_file(path)?;
    // The file just checked, by its handle: the path may have changed since.
    let through = std::path::PathBuf::from(format!("/proc/self/fd/{}", pinned.as_raw_fd()));
    let bytes = through.as_os_str().as_bytes();
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
        Ok(Ok(false)) => {
            // Cut short here: whether the server was still sending is what the abort means.
            if peer_has_shut_down(&stream) {
                tally.cut_after_end += 1;
            } else {
                tally.cut_short += 1;
            }
        }
        Ok(Ok(true)) => tally.closed += 1,
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

/// How a prompt-mode session runs: the client of haproxy#3070, which kept one master CLI
/// connection in prompt mode, repeated a forwarded command, and read each answer slowly.
#[derive(Debug, Clone, Copy)]
pub struct SessionStyle {
    /// The longest silence in an answer before its prompt, and before the next command's first
    /// byte.
    pub within: Duration,
    /// Commands sent on the connection, each once the previous answer's prompt arrived.
    pub commands: u32,
    /// Read at most this many bytes at a time...
    pub read_chunk: usize,
    /// ...and wait this long between reads, so that the server's sends meet a full socket.
    pub read_every: Duration,
}

/// How an answer ended.
enum End {
    Prompt,
    Deadline,
    Eof,
    Failed(io::Error),
}

/// One connection in prompt mode: `prompt`, then `cmd` up to `style.commands` times, each
/// answer read slowly until its prompt. An answer that falls silent for `within` without its
/// prompt is followed by the next command, as in the report; if that gets no byte within
/// `within` either, the connection is frozen and returned, still open: it holds a slot of the
/// master CLI.
pub async fn prompt_session(
    path: &Path,
    cmd: &str,
    style: SessionStyle,
    tally: &mut UnixTally,
) -> Option<OwnedFd> {
    tally.attempts += 1;
    let n = tally.attempts;
    let fd = match connect_nonblocking(path) {
        Ok(fd) => fd,
        Err(e) => {
            tally.failed(e);
            return None;
        }
    };
    tally.connected += 1;
    let std_stream = std::os::unix::net::UnixStream::from(fd);
    let mut stream = match tokio::net::UnixStream::from_std(std_stream) {
        Ok(s) => s,
        Err(e) => {
            tally.errors.push(format!("#{n}: {e}"));
            return None;
        }
    };
    let fast = SessionStyle {
        read_every: Duration::ZERO,
        read_chunk: 16 * 1024,
        ..style
    };
    if let Err(e) = stream.write_all(b"prompt\n").await {
        tally.errors.push(format!("#{n}: prompt: {e}"));
        return None;
    }
    let (_, _, end) = read_answer(&mut stream, fast).await;
    if !matches!(end, End::Prompt) {
        tally.unserved += 1;
        tally.errors.push(format!(
            "#{n}: no prompt within {:?} (no free slot?)",
            style.within
        ));
        return None;
    }
    for i in 1..=style.commands {
        tally.commands += 1;
        if let Err(e) = stream.write_all(format!("{cmd}\n").as_bytes()).await {
            tally.errors.push(format!("#{n} command {i}: {e}"));
            return None;
        }
        let (answer, peak, end) = read_answer(&mut stream, style).await;
        let body = match end {
            End::Prompt => &answer[..answer.len() - prompt_len(&answer)],
            _ => &answer[..],
        };
        tally.bytes += answer.len() as u64;
        tally.answered += u32::from(!answer.is_empty());
        tally.queue_peaks.push(peak);
        if i == 1 {
            let text = String::from_utf8_lossy(&answer[..answer.len().min(120)]).to_string();
            tally.answers.push(text);
        }
        match end {
            End::Prompt => {
                tally.prompts += 1;
                tally.answer_sizes.push(body.len() as u64);
            }
            End::Deadline => {
                let complete = if body.ends_with(b"\n\n") {
                    "ends with the CLI's empty line"
                } else {
                    "incomplete"
                };
                tally.commands += 1;
                let next = match stream.write_all(format!("{cmd}\n").as_bytes()).await {
                    Ok(()) => read_answer(&mut stream, fast).await,
                    Err(e) => (Vec::new(), 0, End::Failed(e)),
                };
                return match next {
                    (bytes, _, End::Deadline) if bytes.is_empty() => {
                        tally.frozen += 1;
                        tally.answer_sizes.push(body.len() as u64);
                        tally.errors.push(format!(
                            "#{n} command {i}: {} bytes ({complete}), then {:?} of silence without the prompt; \
                             the next command: no answer within {:?} (frozen, kept open)",
                            body.len(),
                            style.within,
                            style.within
                        ));
                        Some(stream.into_std().ok()?.into())
                    }
                    (bytes, _, _) => {
                        tally.errors.push(format!(
                            "#{n} command {i}: {} bytes ({complete}), then {:?} of silence without the prompt; \
                             the next command got {} byte(s): late, not frozen",
                            body.len(),
                            style.within,
                            bytes.len()
                        ));
                        None
                    }
                };
            }
            End::Eof => {
                tally.closed += 1;
                tally
                    .errors
                    .push(format!("#{n} command {i}: closed by HAProxy"));
                return None;
            }
            End::Failed(e) => {
                tally.errors.push(format!("#{n} command {i}: {e}"));
                return None;
            }
        }
    }
    None
}

/// Reads until the prompt ends the answer, EOF, or a silence of `style.within` (a slow answer
/// on a busy machine is not a frozen one; bounded as a whole by [`ANSWER_CAP`] times
/// `within`); returns the bytes, the largest number of bytes seen waiting unread in the
/// socket, and how it ended.
async fn read_answer(
    stream: &mut tokio::net::UnixStream,
    style: SessionStyle,
) -> (Vec<u8>, u64, End) {
    let cap = tokio::time::Instant::now() + style.within * ANSWER_CAP;
    let mut deadline = tokio::time::Instant::now() + style.within;
    // Reads are paced on a clock (one every `read_every` on average), not by a sleep after
    // each: a timer's granularity would otherwise make the reader slower than asked.
    let mut next_read = tokio::time::Instant::now();
    let mut answer = Vec::new();
    let mut peak = 0u64;
    let mut buf = vec![0u8; style.read_chunk.max(1)];
    loop {
        match tokio::time::timeout_at(deadline, stream.readable()).await {
            Err(_) => return (answer, peak, End::Deadline),
            Ok(Err(e)) => return (answer, peak, End::Failed(e)),
            Ok(Ok(())) => {}
        }
        peak = peak.max(unread_bytes(stream));
        match stream.try_read(&mut buf) {
            Ok(0) => return (answer, peak, End::Eof),
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                deadline = (tokio::time::Instant::now() + style.within).min(cap);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return (answer, peak, End::Failed(e)),
        }
        if prompt_len(&answer) > 0 {
            return (answer, peak, End::Prompt);
        }
        if !style.read_every.is_zero() {
            // At most one read of catching up: after waiting for data, the pace starts again.
            let now = tokio::time::Instant::now();
            next_read = (next_read + style.read_every)
                .max(now.checked_sub(style.read_every).unwrap_or(now));
            tokio::time::sleep_until(next_read).await;
        }
    }
}

/// An answer that keeps trickling ends after this many times `within`.
const ANSWER_CAP: u32 = 20;

/// The length of the prompt (`master> `, `> `) ending `answer`, 0 when it does not end with one:
/// a last line without newline that ends with "> ".
fn prompt_len(answer: &[u8]) -> usize {
    let start = answer
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let last = &answer[start..];
    if last.ends_with(b"> ") && last.len() <= 64 {
        last.len()
    } else {
        0
    }
}

/// Whether the peer has shut down its sending side (`POLLRDHUP`), queued data or not.
fn peer_has_shut_down(stream: &tokio::net::UnixStream) -> bool {
    use std::os::fd::AsRawFd;
    let mut pfd = libc::pollfd {
        fd: stream.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one pollfd that lives across the call; a zero timeout never blocks.
    let ret = unsafe { libc::poll(&mut pfd, 1, 0) };
    ret > 0 && pfd.revents & (libc::POLLRDHUP | libc::POLLHUP) != 0
}

/// Bytes waiting unread in the socket's receive queue (`FIONREAD`).
fn unread_bytes(stream: &tokio::net::UnixStream) -> u64 {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer given, which lives across the call.
    let ret = unsafe { libc::ioctl(stream.as_raw_fd(), libc::FIONREAD, &mut n) };
    if ret == 0 {
        n.max(0) as u64
    } else {
        0
    }
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

    /// An aborted read counts as cut short only while the server is still sending: one whose
    /// server already sent everything and closed is told apart (what a loaded machine makes of
    /// an abort).
    #[tokio::test]
    async fn an_abort_is_cut_short_only_while_the_server_still_sends() {
        let dir = std::env::temp_dir().join(format!("hr-test-cut-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let serve = |name: &str, pause: Option<Duration>| {
            let path = dir.join(name);
            let listener = tokio::net::UnixListener::bind(&path).unwrap();
            tokio::spawn(async move {
                while let Ok((mut s, _)) = listener.accept().await {
                    let _ = s.write_all(&[b'x'; 8192]).await;
                    match pause {
                        // Still sending: more comes later.
                        Some(pause) => {
                            tokio::time::sleep(pause).await;
                            let _ = s.write_all(&[b'y'; 8192]).await;
                        }
                        None => {
                            let _ = s.shutdown().await;
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                    }
                }
            });
            path
        };
        let style = CommandStyle {
            within: Duration::from_secs(2),
            read_limit: Some(4096),
            half_close: false,
        };
        let sending = serve("sending.sock", Some(Duration::from_secs(3)));
        let mut tally = UnixTally::new(&sending);
        command(&sending, "show stat", style, &mut tally).await;
        assert_eq!((tally.cut_short, tally.cut_after_end), (1, 0), "{tally:?}");

        // The server's shutdown follows its write at once; the client may read before it.
        let done = serve("done.sock", None);
        let mut tally = UnixTally::new(&done);
        for _ in 0..20 {
            command(&done, "show stat", style, &mut tally).await;
            if tally.cut_after_end > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(tally.cut_after_end >= 1, "{tally:?}");
        assert_eq!(tally.cut_short + tally.cut_after_end, tally.attempts);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The container writes the socket folder: a link named like a socket (even to a real,
    /// listening socket: Docker's, say) and a regular file are refused before any connect,
    /// by the step's check and by every connect; a real socket is connected to.
    #[tokio::test]
    async fn only_a_socket_itself_is_connected_never_a_link_or_a_file() {
        let dir = std::env::temp_dir().join(format!("hr-test-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Elsewhere on the host: a listening socket the container must not reach.
        let host = dir.join("host.sock");
        let listener = std::os::unix::net::UnixListener::bind(&host).unwrap();
        listener.set_nonblocking(true).unwrap();
        let folder = dir.join("sock");
        std::fs::create_dir_all(&folder).unwrap();
        let link = folder.join("master.sock");
        std::os::unix::fs::symlink(&host, &link).unwrap();
        let file = folder.join("stats.sock");
        std::fs::write(&file, "not a socket").unwrap();

        for (path, what) in [(&link, "a symbolic link"), (&file, "a regular file")] {
            let e = refuse_non_socket(path).unwrap_err();
            assert!(e.contains(what) && e.contains("refused"), "{e}");
            let e = connect_nonblocking(path).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
            assert!(e.to_string().contains(what), "{e}");
            assert!(connect(path).await.is_err());
            let mut tally = UnixTally::new(path);
            assert!(hold(path, 3, &mut tally).is_empty());
            let style = CommandStyle {
                within: Duration::from_millis(200),
                read_limit: None,
                half_close: true,
            };
            command(path, "show info", style, &mut tally).await;
            assert_eq!((tally.connected, tally.answered), (0, 0), "{tally:?}");
            assert!(tally.errors.iter().all(|e| e.contains(what)), "{tally:?}");
        }
        // Nothing reached the host's socket through the link.
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        // Not there yet: left to the connects (ENOENT is counted, not refused).
        assert_eq!(refuse_non_socket(&folder.join("later.sock")), Ok(()));
        // The socket itself is connected, through the handle that checked it.
        assert_eq!(refuse_non_socket(&host), Ok(()));
        let _held = connect_nonblocking(&host).unwrap();
        assert!(listener.accept().is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A prompt-mode server like the master CLI: `prompt` answers `master> `, every command a
    /// large answer ending with an empty line and the prompt, except the second command on each
    /// connection, whose answer comes without the prompt and after which nothing more is read.
    async fn frozen_on_second_command(listener: tokio::net::UnixListener, answer: Vec<u8>) {
        while let Ok((s, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut lines = tokio::io::BufReader::new(r);
                let mut line = String::new();
                let mut n = 0;
                loop {
                    line.clear();
                    if tokio::io::AsyncBufReadExt::read_line(&mut lines, &mut line)
                        .await
                        .unwrap_or(0)
                        == 0
                    {
                        return;
                    }
                    if line == "prompt\n" {
                        let _ = w.write_all(b"master> ").await;
                        continue;
                    }
                    n += 1;
                    let _ = w.write_all(&answer).await;
                    if n == 2 {
                        // Frozen: keep the connection, answer nothing more.
                        std::future::pending::<()>().await;
                    }
                    let _ = w.write_all(b"master> ").await;
                }
            });
        }
    }

    #[tokio::test]
    async fn prompt_sessions_count_prompts_and_keep_frozen_connections() {
        let dir = std::env::temp_dir().join(format!("hr-test-prompt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.sock");
        let _ = std::fs::remove_file(&path);
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let mut answer = vec![b'x'; 300_000];
        answer.extend_from_slice(b"\n\n");
        tokio::spawn(frozen_on_second_command(listener, answer));
        let style = SessionStyle {
            within: Duration::from_millis(300),
            commands: 3,
            read_chunk: 4096,
            read_every: Duration::ZERO,
        };
        let mut tally = UnixTally::new(&path);
        let kept = prompt_session(&path, "show map", style, &mut tally).await;
        assert!(kept.is_some(), "{tally:?}");
        // The first answer ended with its prompt; the second did not, and its next command
        // (the third sent) got nothing.
        assert_eq!(
            (tally.commands, tally.prompts, tally.frozen, tally.unserved),
            (3, 1, 1, 0),
            "{:?}",
            tally.errors
        );
        assert_eq!(tally.answer_sizes, vec![300_002, 300_002]);
        assert!(
            tally.errors[0].contains("ends with the CLI's empty line"),
            "{:?}",
            tally.errors
        );
        assert!(tally.value("queue_peak_max").unwrap() > 0.0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_prompt_is_a_last_line_ending_with_angle_and_space() {
        assert_eq!(prompt_len(b"a\nb\n\nmaster> "), 8);
        assert_eq!(prompt_len(b"master> "), 8);
        assert_eq!(prompt_len(b"a\nb> c\n"), 0);
        assert_eq!(prompt_len(b"a\nb"), 0);
    }
}
