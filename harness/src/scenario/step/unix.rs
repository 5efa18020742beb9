//! `unix = { socket = "master.sock", ... }`: works a unix socket of an instance (the master
//! CLI, or one the config puts in `{{ sock.dir }}`): hold idle connections, send commands (one
//! per connection, or several in prompt mode, paced), open connections without waiting
//! (counting EAGAIN), or release what an earlier step held.

use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::load;
use crate::scenario::bounds;
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;
use crate::scenario::words::POLL;
use crate::scenario::problem::Problem;

/// Works a unix socket of an instance (`master.sock` with `master_cli`, or one the config puts
/// in `{{ sock.dir }}`). Exactly one of `hold`, `command`, `nonblocking_connects`, `release`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixStep {
    /// A plain file name in the instance's socket folder (`{{ sock.dir }}`).
    #[serde(default)]
    pub socket: Option<Spanned<String>>,
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// Open this many connections and keep them open, sending nothing.
    #[serde(default)]
    pub hold: Option<u32>,
    /// Send this command (then half-close) and wait `within` for an answer.
    #[serde(default)]
    pub command: Option<String>,
    /// Close the connection after this many bytes of answer (an aborted read).
    #[serde(default)]
    pub read_bytes: Option<usize>,
    /// Shut down the write side after the command (default true): the master CLI closes a
    /// connection only then; a client that does not, holds a slot.
    #[serde(default = "super::word::default_true")]
    pub half_close: bool,
    /// Open this many connections without waiting, keeping them: counts EAGAIN.
    #[serde(default)]
    pub nonblocking_connects: Option<u32>,
    /// Close the connections a step recorded under this name.
    #[serde(default)]
    pub release: Option<String>,
    #[serde(default = "default_unix_within")]
    pub within: Dur,
    /// Do the command this many times, one after another.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Retry the command (each try waiting `within`) until one is answered or this passes:
    /// for recovery, which takes HAProxy a moment.
    #[serde(default)]
    pub until_answered: Option<Dur>,
    /// Prompt mode (the master CLI's `prompt`): each of the `repeat` connections sends `prompt`,
    /// then the command `per_connection` times, each once the previous answer ended with the
    /// prompt; `within` is the longest silence allowed in an answer. A connection whose answer
    /// falls silent without its prompt is sent the next command; if that gets no byte within
    /// `within` either, it is frozen and kept open.
    #[serde(default)]
    pub prompt: bool,
    /// With `prompt`: commands per connection.
    #[serde(default)]
    pub per_connection: Option<u32>,
    /// Read answers at most this many bytes at a time (a slow reader)...
    #[serde(default)]
    pub read_chunk: Option<usize>,
    /// ...with this pause between reads.
    #[serde(default)]
    pub read_every: Option<Dur>,
    #[serde(default)]
    pub record: Option<String>,
}

fn default_unix_within() -> Dur {
    Dur(Duration::from_secs(2))
}

impl Word for UnixStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let u = self;
        for (field, n) in [
            ("step.unix.hold", u.hold),
            ("step.unix.nonblocking_connects", u.nonblocking_connects),
        ] {
            cx.at_most(
                field,
                u64::from(n.unwrap_or(0)),
                u64::from(bounds::UNIX_CONNECTIONS),
            );
        }
        cx.at_most(
            "step.unix.repeat",
            u64::from(u.repeat.unwrap_or(0)),
            u64::from(bounds::UNIX_REPEAT),
        );
        cx.at_most(
            "step.unix.read_bytes",
            u.read_bytes.unwrap_or(0) as u64,
            bounds::READ_BYTES as u64,
        );
        cx.at_most_time("step.unix.within", u.within.0, bounds::DURATION);
        if let Some(d) = u.until_answered {
            cx.at_most_time("step.unix.until_answered", d.0, bounds::DURATION);
        }
        cx.instance(&u.on, "step.unix.on");
        let kinds = [
            u.hold.is_some(),
            u.command.is_some(),
            u.nonblocking_connects.is_some(),
            u.release.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            cx.error(
                "step.unix",
                "needs exactly one of hold, command, nonblocking_connects, release",
            );
        }
        if u.release.is_none() && u.socket.is_none() {
            cx.error(
                "step.unix.socket",
                "say which socket: socket = \"master.sock\"",
            );
        }
        // The folder is the instance's; the container writes in it, the harness (root)
        // connects: a name of that folder, never a path.
        if let Some(socket) = &u.socket {
            if let Err(e) = crate::scenario::contain::plain_word(socket.get_ref()) {
                cx.error_at(
                    socket.span(),
                    "step.unix.socket",
                    format!(
                        "{e}; a socket is a file name in the instance's socket folder \
                         ({{{{ sock.dir }}}}), like \"master.sock\""
                    ),
                );
            }
        }
        // Without master-worker mode there is no master CLI: every connect would fail, and
        // a count of answers would read 0 for want of a socket.
        if u.socket.as_ref().map(|s| s.get_ref().as_str()) == Some("master.sock") {
            if let Some(target) = cx.target(&u.on) {
                if !cx.names.master_cli.contains(&target) {
                    cx.error(
                        "step.unix.socket",
                        format!(
                            "{target} has no master CLI: add `master_cli = true` to its \
                             [topology] haproxy entry, or name a socket its config binds in \
                             {{{{ sock.dir }}}}"
                        ),
                    );
                }
            }
        }
        if let Some(r) = &u.release {
            match cx.flow.records.get(r).map(|(kind, _)| kind.clone()) {
                Some(RecordKind::Unix { holds: true }) => {}
                Some(kind) => cx.error(
                    "step.unix.release",
                    format!(
                        "{r:?} is recorded by {}, which holds no connection",
                        kind.words()
                    ),
                ),
                None => cx.error(
                    "step.unix.release",
                    format!("no earlier unix step records {r:?}"),
                ),
            }
        }
        if u.prompt && (u.command.is_none() || u.until_answered.is_some() || u.read_bytes.is_some())
        {
            cx.error(
                "step.unix.prompt",
                "prompt mode goes with command (without until_answered or read_bytes)",
            );
        }
        if u.per_connection.is_some() && !u.prompt {
            cx.error(
                "step.unix.per_connection",
                "several commands on one connection need prompt = true",
            );
        }
        if (u.read_chunk.is_some() || u.read_every.is_some()) && !u.prompt {
            cx.error(
                "step.unix.read_chunk",
                "paced reads (read_chunk, read_every) go with prompt = true",
            );
        }
        if u.read_chunk == Some(0) {
            cx.error("step.unix.read_chunk", "at least 1 byte");
        }
        if let Some(r) = &u.record {
            let holds = u.hold.is_some() || u.nonblocking_connects.is_some();
            cx.record(r, RecordKind::Unix { holds });
        }
    }

    fn describe(&self) -> String {
        let u = self;
        let socket = u.socket.as_ref().map_or("", |s| s.get_ref().as_str());
        let times = u.repeat.map(|r| format!(" x{r}")).unwrap_or_default();
        if let Some(n) = u.hold {
            format!("unix {socket}: hold {n} idle connection(s)")
        } else if let (Some(cmd), true) = (&u.command, u.prompt) {
            let pace = match (u.read_chunk, u.read_every) {
                (Some(c), Some(e)) => format!(", read {c} bytes every {e}"),
                (Some(c), None) => format!(", read {c} bytes at a time"),
                _ => String::new(),
            };
            format!(
                "unix {socket}: prompt, `{cmd}` x{} per connection{pace}, {} connection(s) (within {})",
                u.per_connection.unwrap_or(1),
                u.repeat.unwrap_or(1),
                u.within
            )
        } else if let Some(cmd) = &u.command {
            format!("unix {socket}: `{cmd}`{times} (within {})", u.within)
        } else if let Some(n) = u.nonblocking_connects {
            format!("unix {socket}: {n} non-blocking connect(s)")
        } else {
            format!("unix: close {}", u.release.as_deref().unwrap_or("?"))
        }
    }

    fn budget(&self) -> Duration {
        let one = self.within.0;
        match self.until_answered {
            Some(d) => d.0 + one,
            None => one.saturating_mul(self.repeat.unwrap_or(1).max(1)),
        }
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }

    fn cost(&self) -> f64 {
        let all = self.within.0.as_secs_f64() * f64::from(self.repeat.unwrap_or(1));
        // Prompt mode: a frozen connection costs two deadlines.
        if self.prompt {
            all
        } else {
            all / 4.0
        }
    }
}

impl Run for UnixStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let u = self;
        if let Some(name) = &u.release {
            let closed = state.live.held.remove(name).map(|v| v.len()).unwrap_or(0);
            return Ok(format!("closed {closed} connection(s) of {name}"));
        }
        let on = u.on.as_ref().map(|o| o.get_ref().as_str());
        let socket = u.socket.as_ref().map_or("master.sock", |s| s.get_ref().as_str());
        let path = state.instance(on)?.sock_dir.join(socket);
        // Checked at load to be a plain name; the container may still have put a link or a
        // file there: refused before any connect (each connect checks again, race-free).
        load::unix::refuse_non_socket(&path)?;
        let mut tally = load::unix::UnixTally::new(&path);
        let mut held = Vec::new();
        if let Some(n) = u.hold.or(u.nonblocking_connects) {
            held = load::unix::hold(&path, n, &mut tally);
        }
        if let (Some(cmd), Some(deadline)) = (&u.command, u.until_answered) {
            let started = Instant::now();
            while tally.answered == 0 && started.elapsed() < deadline.0 {
                let style = load::unix::CommandStyle {
                    within: u.within.0,
                    read_limit: u.read_bytes,
                    half_close: u.half_close,
                };
                load::unix::command(&path, cmd, style, &mut tally).await;
                if tally.answered == 0 {
                    tokio::time::sleep(POLL).await;
                }
            }
        } else if let (Some(cmd), true) = (&u.command, u.prompt) {
            let style = load::unix::SessionStyle {
                within: u.within.0,
                commands: u.per_connection.unwrap_or(1),
                read_chunk: u.read_chunk.unwrap_or(16 * 1024),
                read_every: u.read_every.map(|d| d.0).unwrap_or_default(),
            };
            for _ in 0..u.repeat.unwrap_or(1) {
                if let Some(fd) = load::unix::prompt_session(&path, cmd, style, &mut tally).await {
                    held.push(fd);
                }
            }
            tally.held += held.len() as u32;
        } else if let Some(cmd) = &u.command {
            for _ in 0..u.repeat.unwrap_or(1) {
                let style = load::unix::CommandStyle {
                    within: u.within.0,
                    read_limit: u.read_bytes,
                    half_close: u.half_close,
                };
                load::unix::command(&path, cmd, style, &mut tally).await;
            }
        }
        let sessions = if u.prompt {
            format!(
                "; prompt mode: {} command(s), {} prompt(s), {} frozen (kept open), {} unserved; answers {}..{} bytes, unread in the socket at most {}..{} bytes",
                tally.commands,
                tally.prompts,
                tally.frozen,
                tally.unserved,
                tally.value("answer_bytes_min").unwrap_or(0.0),
                tally.value("answer_bytes_max").unwrap_or(0.0),
                tally.value("queue_peak_min").unwrap_or(0.0),
                tally.value("queue_peak_max").unwrap_or(0.0),
            )
        } else {
            String::new()
        };
        let detail = format!(
            "{} attempt(s): {} connected, {} answered, {} closed by HAProxy, {} EAGAIN{}{sessions}{}",
            tally.attempts,
            tally.connected,
            tally.answered,
            tally.closed,
            tally.eagain,
            tally
                .first_eagain_at
                .map(|n| format!(" (first at #{n})"))
                .unwrap_or_default(),
            tally
                .errors
                .last()
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        );
        if let Some(name) = &u.record {
            if !held.is_empty() {
                state.live.held.entry(name.clone()).or_default().extend(held);
            }
            state.kept.records.insert(name.clone(), Recorded::Unix(tally));
        } else if !held.is_empty() {
            state
                .live.held
                .entry(format!("#{}", state.live.held.len()))
                .or_default()
                .extend(held);
        }
        Ok(detail)
    }
}
