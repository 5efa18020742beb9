//! The runtime API client: one TCP connection per command.
//!
//! Each command opens a connection, writes `cmd\n`, shuts down its write side and reads to EOF.
//! The half-close matters: a worker's stats socket closes after one answer anyway, but the
//! master CLI keeps the connection until the client is done, so a client that waits for EOF
//! without half-closing holds one of the master's 10 slots for ever (haproxy#2863). Everything
//! runs under one deadline so a wedged HAProxy fails the step instead of hanging the case.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::info::Info;
use super::parse::ParseError;
use super::peers::PeersSection;
use super::servers_state::ServerState;
use super::sess::Session;
use super::stat::StatRow;
use super::table::Table;

/// The deadline for one command when none is set: long enough for a loaded HAProxy, short
/// enough that a hung master CLI shows quickly.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// Answers HAProxy gives instead of a result. Matched at the start of the answer; the runtime
/// API has no status code, so this list is the only way to tell.
const ERROR_PREFIXES: [&str; 10] = [
    "Unknown command",
    "Permission denied",
    "No such ",
    "Can't find ",
    "Session not found",
    "Require ",
    "Missing ",
    "Invalid ",
    "Unknown ",
    "'",
];

/// A runtime API command that did not produce an answer to use.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Nothing accepted the connection (HAProxy not started, wrong address, socket not bound).
    #[error("cannot connect to the runtime API at {addr} to send `{command}`")]
    Connect {
        /// Where the socket was expected.
        addr: SocketAddr,
        /// The command that was to be sent.
        command: String,
        /// The connect error (refused, unreachable).
        #[source]
        source: io::Error,
    },
    /// Sending the command or reading the answer failed after connecting.
    #[error("runtime API at {addr} broke the connection during `{command}`")]
    Io {
        /// The socket.
        addr: SocketAddr,
        /// The command.
        command: String,
        /// The I/O error (reset, broken pipe).
        #[source]
        source: io::Error,
    },
    /// The whole exchange took longer than the deadline (a full master CLI, a stuck worker).
    #[error("runtime API at {addr} did not finish answering `{command}` within {timeout:?}")]
    Timeout {
        /// The socket.
        addr: SocketAddr,
        /// The command.
        command: String,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// HAProxy answered with an error message ("Unknown command", "Permission denied",
    /// "No such table", "Can't find backend.").
    #[error("HAProxy at {addr} rejected `{command}`: {message}")]
    Rejected {
        /// The socket.
        addr: SocketAddr,
        /// The command.
        command: String,
        /// The first line of HAProxy's answer.
        message: String,
        /// The whole answer (an unknown command is followed by the help text).
        answer: String,
    },
    /// The answer did not have the shape the command promises.
    #[error("cannot read the answer of HAProxy at {addr} to `{command}`")]
    Parse {
        /// The socket.
        addr: SocketAddr,
        /// The command.
        command: String,
        /// What was wrong.
        #[source]
        source: ParseError,
        /// The answer, for the evidence folder.
        answer: String,
    },
}

/// A client of one runtime API socket (a worker's `stats socket ipv4@...` or the master CLI).
#[derive(Debug, Clone)]
pub struct RuntimeApi {
    addr: SocketAddr,
    timeout: Duration,
    prefix: Option<String>,
}

impl RuntimeApi {
    /// A client of the TCP socket at `addr`, with [`DEFAULT_TIMEOUT`].
    pub fn tcp(addr: SocketAddr) -> Self {
        Self {
            addr,
            timeout: DEFAULT_TIMEOUT,
            prefix: None,
        }
    }

    /// Sets the deadline for each command (connect, send, read to EOF).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Prefixes every command, for reaching a worker through the master CLI: `@1` (first
    /// worker), `@!1234` (by pid). The typed helpers then parse the worker's answer.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `cmd` and returns the answer as is, error messages included.
    pub async fn raw(&self, cmd: &str) -> Result<String, ApiError> {
        let line = self.line(cmd);
        match tokio::time::timeout(self.timeout, self.exchange(&line)).await {
            Ok(result) => result,
            Err(_) => Err(ApiError::Timeout {
                addr: self.addr,
                command: line,
                timeout: self.timeout,
            }),
        }
    }

    /// Sends `cmd` and returns the answer, or [`ApiError::Rejected`] when HAProxy answered with
    /// an error message. An empty answer (what `set server` prints on success) is `Ok("")`
    /// give or take a newline.
    pub async fn command(&self, cmd: &str) -> Result<String, ApiError> {
        let answer = self.raw(cmd).await?;
        match rejection(&answer) {
            Some(message) => Err(ApiError::Rejected {
                addr: self.addr,
                command: self.line(cmd),
                message: message.to_owned(),
                answer,
            }),
            None => Ok(answer),
        }
    }

    /// `show info`.
    pub async fn show_info(&self) -> Result<Info, ApiError> {
        self.typed("show info", Info::parse).await
    }

    /// `show stat`, every proxy and server.
    pub async fn show_stat(&self) -> Result<Vec<StatRow>, ApiError> {
        self.typed("show stat", StatRow::parse_all).await
    }

    /// `show servers state [backend]`.
    pub async fn show_servers_state(
        &self,
        backend: Option<&str>,
    ) -> Result<Vec<ServerState>, ApiError> {
        let cmd = match backend {
            Some(be) => format!("show servers state {be}"),
            None => "show servers state".to_owned(),
        };
        self.typed(&cmd, ServerState::parse_all).await
    }

    /// `show table NAME`, with its entries.
    pub async fn show_table(&self, name: &str) -> Result<Table, ApiError> {
        self.typed(&format!("show table {name}"), |t| Table::parse_one(t, name))
            .await
    }

    /// `show table`: every table's header, without entries.
    pub async fn show_tables(&self) -> Result<Vec<Table>, ApiError> {
        self.typed("show table", Table::parse_all).await
    }

    /// `show sess`: every stream, the asking CLI stream included.
    pub async fn show_sess(&self) -> Result<Vec<Session>, ApiError> {
        self.typed("show sess", Session::parse_all).await
    }

    /// `show peers`.
    pub async fn show_peers(&self) -> Result<Vec<PeersSection>, ApiError> {
        self.typed("show peers", PeersSection::parse_all).await
    }

    /// The line sent for `cmd`, prefix included: what errors name.
    fn line(&self, cmd: &str) -> String {
        match &self.prefix {
            Some(p) => format!("{p} {cmd}"),
            None => cmd.to_owned(),
        }
    }

    async fn typed<T>(
        &self,
        cmd: &str,
        parse: impl FnOnce(&str) -> Result<T, ParseError>,
    ) -> Result<T, ApiError> {
        let answer = self.command(cmd).await?;
        parse(&answer).map_err(|source| ApiError::Parse {
            addr: self.addr,
            command: self.line(cmd),
            source,
            answer,
        })
    }

    async fn exchange(&self, line: &str) -> Result<String, ApiError> {
        let io_err = |source| ApiError::Io {
            addr: self.addr,
            command: line.to_owned(),
            source,
        };
        let mut stream =
            TcpStream::connect(self.addr)
                .await
                .map_err(|source| ApiError::Connect {
                    addr: self.addr,
                    command: line.to_owned(),
                    source,
                })?;
        stream
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(io_err)?;
        // Half-close: the master CLI answers and closes only once it sees our EOF.
        stream.shutdown().await.map_err(io_err)?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.map_err(io_err)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }
}

/// The first line of `answer` when it is one of HAProxy's error messages.
fn rejection(answer: &str) -> Option<&str> {
    let first = answer.lines().find(|l| !l.trim().is_empty())?.trim();
    // With `set severity-output`, messages start with `[3]: ` or `[err]: `.
    let message = match first.strip_prefix('[').and_then(|r| r.split_once("]: ")) {
        Some((_, m)) => m,
        None => first,
    };
    ERROR_PREFIXES
        .iter()
        .any(|p| message.starts_with(p))
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::haproxy::fixtures;
    use tokio::net::TcpListener;

    #[test]
    fn recognises_every_versions_error_answers() {
        for dir in fixtures::dirs() {
            for (name, message) in [
                ("bogus-command", "Unknown command"),
                ("permission-denied", "Permission denied"),
                ("error-show-table-nope", "No such table"),
                ("error-show-servers-state-nope", "Can't find backend."),
                ("error-set-server-nope", "No such server."),
            ] {
                let answer = fixtures::read(dir, name);
                let got = rejection(&answer).unwrap_or_else(|| panic!("{dir}/{name}"));
                assert!(got.starts_with(message), "{dir}/{name}: {got}");
            }
        }
        let unknown = fixtures::read("2.2.9", "error-show-version-unknown");
        assert!(rejection(&unknown).is_some(), "2.2 has no `show version`");
    }

    #[test]
    fn results_are_not_errors() {
        for dir in fixtures::dirs() {
            for name in [
                "show-info",
                "show-stat",
                "show-servers-state",
                "show-table",
                "show-table-be",
                "show-sess",
                "show-peers",
                "master-show-proc",
                "master-show-proc-after-reload",
            ] {
                assert_eq!(rejection(&fixtures::read(dir, name)), None, "{dir}/{name}");
            }
        }
        assert_eq!(
            rejection("\n"),
            None,
            "`set server` succeeds with an empty line"
        );
        assert_eq!(
            rejection("[3]: No such server.\n"),
            Some("[3]: No such server.")
        );
    }

    /// A server that behaves like the master CLI: it answers only after the client's EOF.
    async fn master_like(answer: &'static str) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut request = Vec::new();
                conn.read_to_end(&mut request).await.unwrap();
                assert_eq!(request, b"@1 show info\n");
                conn.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        addr
    }

    #[tokio::test]
    async fn half_closes_so_a_master_cli_answers() {
        let answer = fixtures::read("3.0.11", "show-info");
        let addr = master_like(Box::leak(answer.into_boxed_str())).await;
        let api = RuntimeApi::tcp(addr).with_prefix("@1");
        let info = api.show_info().await.unwrap();
        assert_eq!(info.version, "3.0.11-1+deb13u3");
    }

    #[tokio::test]
    async fn a_silent_server_times_out_naming_address_and_command() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _held = tokio::spawn(async move {
            let (conn, _) = listener.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(30)).await;
            drop(conn);
        });
        let api = RuntimeApi::tcp(addr).with_timeout(Duration::from_millis(200));
        let err = api.command("show stat").await.unwrap_err();
        assert!(matches!(err, ApiError::Timeout { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&addr.to_string()) && text.contains("show stat"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn refused_connection_names_address_and_command() {
        // Bind then drop to get a port with nothing listening.
        let addr = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let err = RuntimeApi::tcp(addr).show_info().await.unwrap_err();
        assert!(matches!(err, ApiError::Connect { .. }), "{err:?}");
        assert!(err.to_string().contains(&addr.to_string()));
        assert!(err.to_string().contains("show info"));
    }

    #[tokio::test]
    async fn rejected_and_unparsable_answers() {
        let rejected = master_like("No such table\n\n").await;
        let err = RuntimeApi::tcp(rejected)
            .with_prefix("@1")
            .command("show info")
            .await
            .unwrap_err();
        match err {
            ApiError::Rejected {
                message, command, ..
            } => {
                assert_eq!(message, "No such table");
                assert_eq!(command, "@1 show info");
            }
            other => panic!("{other:?}"),
        }
        let garbage = master_like("what\n").await;
        let err = RuntimeApi::tcp(garbage)
            .with_prefix("@1")
            .show_info()
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Parse { .. }), "{err:?}");
    }
}
