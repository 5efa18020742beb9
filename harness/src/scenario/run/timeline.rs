//! The case's timeline, gathered from its evidence once the steps are over and before the
//! containers go: the DNS query log, the SYNs, the server states seen by the waits' polls and
//! in HAProxy's log (read with Docker's timestamps), the clients' requests and sessions, the
//! steps, and the window each measure counted over. The report draws it
//! ([`crate::report::timeline`]).

use std::time::{Duration, SystemTime};

use crate::report::timeline::{
    DnsMark, ExitMark, RequestMark, ServerMark, SessionSpan, StepSpan, SynMark, Timeline, Window,
};
use crate::report::CaseRecord;

use super::case::Case;
use crate::scenario::case::CaseState;
use crate::scenario::evidence::Evidence;
use crate::scenario::model::{Measure, Step};
use crate::scenario::record::Recorded;

/// The timeline of a case, one lane after another.
pub(crate) async fn build(
    case: &Case<'_>,
    state: &CaseState<'_>,
    evidence: &Evidence,
    record: &CaseRecord,
) -> Timeline {
    let clock = Clock(SystemTime::UNIX_EPOCH + Duration::from_millis(record.started_unix_ms));
    let mut t = Timeline {
        captured: case.scenario.raw.topology.capture.is_some() || !evidence.captures.is_empty(),
        steps: steps(record),
        exits: exits(record),
        dns: dns(evidence, &clock),
        servers: servers(state, &clock).await,
        syns: syns(state, evidence, &clock),
        ..Timeline::default()
    };
    clients(case, state, evidence, &mut t);
    t.end_ms = [
        record.wall_ms,
        t.steps.iter().map(|s| s.end_ms).max().unwrap_or(0),
        t.dns.iter().map(|d| d.at_ms).max().unwrap_or(0),
        t.syns.iter().map(|s| s.at_ms).max().unwrap_or(0),
        t.servers.iter().map(|s| s.at_ms).max().unwrap_or(0),
        t.requests.iter().map(|r| r.end_ms).max().unwrap_or(0),
    ]
    .into_iter()
    .max()
    .unwrap_or(0)
    .max(1);
    t.windows = windows(case, record, t.end_ms);
    t
}

/// Milliseconds since the case started, from a wall-clock time.
struct Clock(SystemTime);

impl Clock {
    fn ms(&self, t: SystemTime) -> u64 {
        t.duration_since(self.0)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

fn steps(record: &CaseRecord) -> Vec<StepSpan> {
    record
        .steps
        .iter()
        .map(|s| StepSpan {
            index: s.index,
            action: s.action.clone(),
            at_ms: s.at_ms,
            end_ms: s.at_ms + s.elapsed_ms,
            ok: s.ok,
            detail: s.detail.clone(),
        })
        .collect()
}

fn exits(record: &CaseRecord) -> Vec<ExitMark> {
    record
        .haproxy_exit
        .iter()
        .map(|e| ExitMark {
            at_ms: e.at_ms,
            instance: e.instance.clone(),
            crash: e.is_crash(),
            text: e.headline(),
        })
        .collect()
}

fn dns(evidence: &Evidence, clock: &Clock) -> Vec<DnsMark> {
    evidence
        .dns
        .iter()
        .flat_map(|log| &log.queries)
        .map(|q| DnsMark {
            at_ms: clock.ms(q.at),
            name: q.name.trim_end_matches('.').to_string(),
            qtype: q.qtype.clone(),
            answer: q.answer.clone(),
        })
        .collect()
}

/// Server states: the runs the waits' polls saw, then the changes HAProxy logged.
async fn servers(state: &CaseState<'_>, clock: &Clock) -> Vec<ServerMark> {
    let several = state.live.instances.len() > 1;
    let label = |instance: &str, server: &str| {
        if several {
            format!("{instance}: {server}")
        } else {
            server.to_string()
        }
    };
    let polls = state
        .kept
        .server_polls
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    let mut marks: Vec<ServerMark> = polls
        .iter()
        .map(|p| ServerMark {
            at_ms: p.at_ms,
            server: label(&p.instance, &p.server),
            state: p.state.to_string(),
            from: "poll".into(),
            until_ms: Some(p.until_ms),
            text: p.text.clone(),
        })
        .collect();
    for instance in &state.live.instances {
        for (at_ms, server, text) in logged_changes(state, instance, clock).await {
            marks.push(ServerMark {
                at_ms,
                server: label(&instance.name, &server),
                state: state_in_line(&text).to_string(),
                from: "log".into(),
                until_ms: None,
                text,
            });
        }
    }
    marks
}

/// The server state changes in an instance's log, read again with Docker's timestamps.
async fn logged_changes(
    state: &CaseState<'_>,
    instance: &crate::scenario::case::Instance,
    clock: &Clock,
) -> Vec<(u64, String, String)> {
    let Some(container) = &instance.container else {
        return Vec::new();
    };
    let engine = state.live.sandbox.engine();
    let Ok(lines) = engine.logs_timestamped(&container.id).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut last: Option<(u64, String)> = None;
    for (at, line) in lines {
        // HAProxy says most state changes twice (the log line and a `[WARNING] (pid) :`
        // copy on stderr): one mark.
        let text = strip_warning_prefix(&line).to_string();
        let at_ms = clock.ms(at);
        if matches!(&last, Some((t0, l)) if *l == text && at_ms.abs_diff(*t0) < 100) {
            continue;
        }
        // Only lines about a server (`Server be/s1 ...`, `be/s1: ...`), not the traffic
        // log lines that name the server a request went to.
        if let Some(server) = server_in_line(&text) {
            out.push((at_ms, server, text.clone()));
        }
        last = Some((at_ms, text));
    }
    out
}

fn syns(state: &CaseState<'_>, evidence: &Evidence, clock: &Clock) -> Vec<SynMark> {
    let role_of = |ip: std::net::IpAddr| {
        state
            .ips
            .iter()
            .find(|(_, v)| std::net::IpAddr::V4(**v) == ip)
            .map(|(k, _)| k.clone())
    };
    evidence
        .captures
        .iter()
        .flat_map(|c| &c.syns)
        .map(|s| SynMark {
            at_ms: clock.ms(s.at),
            to: match role_of(s.dst.ip()) {
                Some(role) => format!("{role}:{}", s.dst.port()),
                None => s.dst.to_string(),
            },
            port: s.dst.port(),
        })
        .collect()
}

/// The clients' lanes: each http step's requests (by its `from` and `to`), and the sessions
/// of each load, from its snapshots and, for a load still running, from now.
fn clients(case: &Case<'_>, state: &CaseState<'_>, evidence: &Evidence, t: &mut Timeline) {
    let steps = case.scenario.steps_of(case.variant);
    for (name, rec) in &evidence.records {
        match rec {
            Recorded::Http(exchanges) => {
                let client = steps
                    .iter()
                    .find_map(|s| match s.get_ref() {
                        Step::Http(h) if h.record == *name => Some(format!(
                            "{} → {}",
                            h.from
                                .as_ref()
                                .map(|f| f.get_ref().as_str())
                                .unwrap_or("harness"),
                            h.to.get_ref()
                        )),
                        _ => None,
                    })
                    .unwrap_or_else(|| name.clone());
                t.requests.extend(exchanges.iter().map(|e| RequestMark {
                    at_ms: e.at_ms,
                    end_ms: e.at_ms + e.elapsed_ms,
                    client: client.clone(),
                    server: e.server.clone(),
                    status: e.status,
                    error: e.error.clone(),
                }));
            }
            Recorded::Sessions(snapshot) => {
                // A snapshot's record names the load it was taken `of`.
                let load = steps
                    .iter()
                    .find_map(|s| match s.get_ref() {
                        Step::Snapshot(sn) if sn.record == *name => Some(sn.of.clone()),
                        _ => None,
                    })
                    .unwrap_or_else(|| name.clone());
                merge_sessions(&mut t.sessions, &load, snapshot)
            }
            _ => {}
        }
    }
    for (name, load) in &state.live.loads {
        merge_sessions(&mut t.sessions, name, &load.snapshot());
    }
}

/// Sessions of a load by id across its snapshots, the latest word on each kept: snapshots
/// list the same sessions, and a later one knows more (the server, when it closed).
fn merge_sessions(
    into: &mut Vec<SessionSpan>,
    load: &str,
    snapshot: &crate::load::sessions::Snapshot,
) {
    for s in &snapshot.sessions {
        let span = SessionSpan {
            load: load.to_string(),
            id: s.id,
            server: s.server.clone(),
            opened_ms: s.opened_ms,
            closed_ms: s.closed_ms,
            closed_how: s.closed_how.clone(),
        };
        match into.iter_mut().find(|x| x.load == load && x.id == s.id) {
            Some(existing) if existing.closed_ms.is_none() => *existing = span,
            Some(_) => {}
            None => into.push(span),
        }
    }
}

fn strip_warning_prefix(line: &str) -> &str {
    // `[WARNING]  (1) : text`, `[NOTICE]   (1) : text`, `[ALERT]    (1) : text`.
    if line.starts_with('[') {
        if let Some((_, rest)) = line.split_once(" : ") {
            return rest;
        }
    }
    line
}

/// `be/app1` in `Server be/app1 is UP...` or `be/app1: IP changed ...`.
fn server_in_line(text: &str) -> Option<String> {
    let word = text
        .strip_prefix("Server ")
        .and_then(|rest| rest.split_whitespace().next())
        .or_else(|| text.split(": ").next().filter(|w| !w.contains(' ')))?;
    let word = word.trim_end_matches(':');
    let (backend, server) = word.split_once('/')?;
    (!backend.is_empty() && !server.is_empty()).then(|| word.to_string())
}

/// The state a log line puts a server in, as the server lanes colour it.
fn state_in_line(text: &str) -> &'static str {
    if text.contains("for maintenance") {
        if text.contains("DNS") || text.contains("resolution") {
            "RMAINT"
        } else {
            "MAINT"
        }
    } else if text.contains(" is UP") || text.contains("UP/READY") {
        "UP"
    } else if text.contains(" is DOWN") {
        "DOWN"
    } else {
        "log"
    }
}

/// The part of the case each measure counts: the step that recorded what it reads, the
/// capture for SYNs, the whole case for the DNS and container logs.
fn windows(case: &Case<'_>, record: &CaseRecord, end_ms: u64) -> Vec<Window> {
    let steps = case.scenario.steps_of(case.variant);
    let symptom: Vec<&str> = case.variant.reproduced_if.measures().collect();
    let span_of = |record_name: &str| -> Option<(u64, u64)> {
        let i = steps
            .iter()
            .position(|s| step_record(s.get_ref()) == Some(record_name))?;
        record
            .steps
            .iter()
            .find(|s| s.index == i + 1)
            .map(|s| (s.at_ms, s.at_ms + s.elapsed_ms))
    };
    let capture_span = || {
        if case.scenario.raw.topology.capture.is_some() {
            return (0, end_ms);
        }
        let start = steps
            .iter()
            .position(|s| matches!(s.get_ref(), Step::Capture(c) if c.from.is_some()));
        let stop = steps
            .iter()
            .position(|s| matches!(s.get_ref(), Step::Capture(c) if c.from.is_none()));
        let at = |i: Option<usize>, default: u64| {
            i.and_then(|i| record.steps.iter().find(|s| s.index == i + 1))
                .map(|s| s.at_ms)
                .unwrap_or(default)
        };
        (at(start, 0), at(stop, end_ms))
    };
    case.scenario
        .measures_of(case.variant)
        .iter()
        .map(|(name, m)| {
            let (span, over) = match m.get_ref() {
                Measure::Syns(_) => (capture_span(), "the SYNs of the capture".to_string()),
                Measure::DnsQueries(_) => ((0, end_ms), "the whole DNS query log".to_string()),
                Measure::LogLines(l) => ((0, end_ms), format!("all of {}'s output", l.role.get_ref())),
                Measure::InstanceReady(crate::scenario::measure::InstanceName(i)) => (
                    steps
                        .iter()
                        .position(|s| matches!(s.get_ref(), Step::Start(st) if st.instance.get_ref() == i.get_ref()))
                        .and_then(|i| record.steps.iter().find(|s| s.index == i + 1))
                        .map(|s| (s.at_ms, s.at_ms + s.elapsed_ms))
                        .unwrap_or((0, end_ms)),
                    format!("the start of {}", i.get_ref()),
                ),
                other => match measure_record(other) {
                    Some(r) => (
                        span_of(r).unwrap_or((0, end_ms)),
                        format!("record {r}"),
                    ),
                    None => ((0, end_ms), "the case".to_string()),
                },
            };
            Window {
                measure: name.clone(),
                value: record.measures.get(name).copied(),
                from_ms: span.0,
                to_ms: span.1.max(span.0),
                over,
                symptom: symptom.contains(&name.as_str()),
            }
        })
        .collect()
}

/// The record a measure reads, for those that read one.
fn measure_record(m: &Measure) -> Option<&str> {
    m.word().record()
}

/// The record a step writes, for those that write one.
fn step_record(step: &Step) -> Option<&str> {
    step.word().record()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_name_their_server_and_state() {
        let down = "Server be/app1 is going DOWN for maintenance (DNS NX status). 0 active";
        assert_eq!(server_in_line(down).as_deref(), Some("be/app1"));
        assert_eq!(state_in_line(down), "RMAINT");
        let ip = "be/app1: IP changed from '(none)' to '10.213.50.11' by 'dns/ns1'.";
        assert_eq!(server_in_line(ip).as_deref(), Some("be/app1"));
        assert_eq!(state_in_line(ip), "log");
        assert_eq!(
            state_in_line("Server be/app1 ('app.svc.test') is UP/READY (resolves again)."),
            "UP"
        );
        assert_eq!(
            server_in_line("backend 'be' has no server available!"),
            None
        );
        assert_eq!(
            strip_warning_prefix("[WARNING]  (1) : Server be/s1 is DOWN"),
            "Server be/s1 is DOWN"
        );
    }
}
