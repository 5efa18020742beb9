//! Upper bounds on every count and duration a scenario file may ask for, checked at load: a
//! typo (`count = 20000000`, `within = "5h"`) is an error with its line, never a case that
//! floods the machine or never ends. README.md lists them ("Bounds").

use std::time::Duration;

use super::model::Step;

/// How many times a case may repeat (`repeat`).
pub const REPEAT: u32 = 100;
/// Requests of one `http` step.
pub const HTTP_COUNT: u32 = 10_000;
/// Connections of one `tcp` step.
pub const TCP_CONNECTS: u32 = 10_000;
/// New short connections per second of a `sessions` step.
pub const CHURN: u32 = 1_000;
/// Connections a `unix` step holds, or opens without waiting.
pub const UNIX_CONNECTIONS: u32 = 1_000;
/// Commands of one `unix` step (`repeat`).
pub const UNIX_REPEAT: u32 = 1_000;
/// Bytes of answer a `unix` step reads before it aborts (`read_bytes`).
pub const READ_BYTES: usize = 16 << 20;
/// SYNs or servers a `wait` counts (`count`).
pub const WAIT_COUNT: u32 = 100_000;
/// Any one duration of a step (`within`, `timeout`, `until_answered`, a DNS delay).
pub const DURATION: Duration = Duration::from_secs(600);
/// A `sleep`.
pub const SLEEP: Duration = Duration::from_secs(300);
/// A case's whole deadline (`deadline`).
pub const DEADLINE: Duration = Duration::from_secs(3600);

/// Every bound a step breaks, as `(field, message)`.
pub(crate) fn check(step: &Step) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut at_most = |field: &'static str, value: u64, max: u64| {
        if value > max {
            out.push((
                field,
                format!("{value} is more than {max}, the most allowed"),
            ));
        }
    };
    let secs = |d: Duration| d.as_secs();
    match step {
        Step::Start(s) => at_most("step.start.within", secs(s.within.0), secs(DURATION)),
        Step::Wait(w) => {
            at_most("step.wait.within", secs(w.within.0), secs(DURATION));
            at_most(
                "step.wait.count",
                u64::from(w.count.unwrap_or(0)),
                u64::from(WAIT_COUNT),
            );
        }
        Step::Dns(d) => {
            if let Some(delay) = d.delay {
                at_most("step.dns.delay", secs(delay.0), secs(DURATION));
            }
        }
        Step::Http(h) => {
            at_most("step.http.count", u64::from(h.count), u64::from(HTTP_COUNT));
            at_most("step.http.timeout", secs(h.timeout.0), secs(DURATION));
        }
        Step::Unix(u) => {
            for (field, n) in [
                ("step.unix.hold", u.hold),
                ("step.unix.nonblocking_connects", u.nonblocking_connects),
            ] {
                at_most(
                    field,
                    u64::from(n.unwrap_or(0)),
                    u64::from(UNIX_CONNECTIONS),
                );
            }
            at_most(
                "step.unix.repeat",
                u64::from(u.repeat.unwrap_or(0)),
                u64::from(UNIX_REPEAT),
            );
            at_most(
                "step.unix.read_bytes",
                u.read_bytes.unwrap_or(0) as u64,
                READ_BYTES as u64,
            );
            at_most("step.unix.within", secs(u.within.0), secs(DURATION));
            if let Some(d) = u.until_answered {
                at_most("step.unix.until_answered", secs(d.0), secs(DURATION));
            }
        }
        Step::Tcp(t) => at_most(
            "step.tcp.connect_close",
            u64::from(t.connect_close),
            u64::from(TCP_CONNECTS),
        ),
        Step::Sessions(s) => {
            at_most("step.sessions.churn", u64::from(s.churn), u64::from(CHURN));
            at_most("step.sessions.within", secs(s.within.0), secs(DURATION));
            if let Some(b) = s.banners {
                at_most("step.sessions.banners", u64::from(b), u64::from(s.count));
            }
            if s.every.0 < Duration::from_millis(1) {
                out.push(("step.sessions.every", "at least 1ms".into()));
            }
        }
        Step::Sleep(s) => at_most("step.sleep.for", secs(s.duration.0), secs(SLEEP)),
        Step::Removable(r) => at_most("step.removable.within", secs(r.within.0), secs(DURATION)),
        Step::Capture(_)
        | Step::Api(_)
        | Step::Exec(_)
        | Step::Signal(_)
        | Step::Snapshot(_)
        | Step::Backend(_) => {}
    }
    out
}
