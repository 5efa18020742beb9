//! `wait = { ... }`: waits for an event, with a deadline: a server in a state, a count of
//! servers in a state, SYNs seen by the capture, a DNS query, or a runtime API answer.

use std::time::{Duration, Instant};

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::dns::QueryRecord;
use crate::scenario::bounds;
use super::count_wait::{self, ServerSet};
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::model::syn::{describe_syn_match, syn_matches, SynMatch};
use crate::scenario::case::CaseState;
use crate::scenario::words::{describe_server, parse_state_word, server_in_state, POLL};
use crate::wait::WaitTimeout;

/// Waits for an event, with a deadline. Exactly one of `server`, `servers`, `syn`,
/// `dns_query`, `api`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// The HAProxy instance asked (`server`, `api`); the first one by default.
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// A runtime API command, repeated until its answer contains `contains`.
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    /// `backend/server`, with `state`.
    #[serde(default)]
    pub server: Option<Spanned<String>>,
    /// `UP`, `DOWN`, `MAINT`, `RMAINT` (maintenance for resolution), or one prefixed with `!`.
    #[serde(default)]
    pub state: Option<Spanned<String>>,
    /// Servers to count, with `state`, until `count` of them (all by default) are in it: a
    /// glob over `backend/server` (`be*/srv1`) or a list.
    #[serde(default)]
    pub servers: Option<Spanned<ServerSet>>,
    /// What a count wait that runs out of time is: `"error"` (the default) or
    /// `"observation"` (the count reached is recorded and the case goes on).
    #[serde(default)]
    pub on_timeout: Option<Spanned<String>>,
    /// Keeps a count wait's tally under this name, for a `counted` measure.
    #[serde(default)]
    pub record: Option<String>,
    /// `count` SYNs matching this, seen since the step started (needs a capture).
    #[serde(default)]
    pub syn: Option<SynMatch>,
    #[serde(default)]
    pub count: Option<u32>,
    /// A new query for this name (relative to the zone) reaching the DNS server.
    #[serde(default)]
    pub dns_query: Option<String>,
    #[serde(default)]
    pub qtype: Option<String>,
    #[serde(default = "super::word::default_within")]
    pub within: Dur,
}

impl Word for WaitStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let w = self;
        cx.at_most_time("step.wait.within", w.within.0, bounds::DURATION);
        cx.at_most(
            "step.wait.count",
            u64::from(w.count.unwrap_or(0)),
            u64::from(bounds::WAIT_COUNT),
        );
        cx.instance(&w.on, "step.wait.on");
        if w.api.is_some() != w.contains.is_some() {
            cx.error(
                "step.wait.contains",
                "an api wait needs contains = \"...\" (and only an api wait has it)",
            );
        }
        let kinds = [
            w.server.is_some(),
            w.servers.is_some(),
            w.syn.is_some(),
            w.dns_query.is_some(),
            w.api.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            cx.error(
                "step.wait",
                "needs exactly one of server, servers, syn, dns_query, api",
            );
        }
        let unknown_state = |state: &Spanned<String>| {
            format!(
                "unknown state {:?}: expected UP, DOWN, MAINT, RMAINT, or one of them after `!`",
                state.get_ref()
            )
        };
        if let Some(set) = &w.servers {
            for pattern in set.get_ref().patterns() {
                let target = cx.target(&w.on);
                cx.server(target, pattern, set.span(), "step.wait.servers");
            }
            match &w.state {
                Some(state) if parse_state_word(state.get_ref()).is_none() => {
                    cx.error_at(state.span(), "step.wait.state", unknown_state(state))
                }
                Some(_) => {}
                None => cx.error_at(set.span(), "step.wait.state", "a count wait needs a state"),
            }
            if let Some(r) = &w.record {
                cx.record(r, RecordKind::Count);
            }
        } else {
            if w.record.is_some() {
                cx.error(
                    "step.wait.record",
                    "only a count wait (servers = ...) records",
                );
            }
            if w.on_timeout.is_some() {
                cx.error(
                    "step.wait.on_timeout",
                    "only a count wait (servers = ...) may be an observation",
                );
            }
        }
        if let Some(o) = &w.on_timeout {
            if !["error", "observation"].contains(&o.get_ref().as_str()) {
                cx.error_at(
                    o.span(),
                    "step.wait.on_timeout",
                    format!("{:?}: expected \"error\" or \"observation\"", o.get_ref()),
                );
            }
        }
        if let Some(server) = &w.server {
            let target = cx.target(&w.on);
            cx.server(target, server.get_ref(), server.span(), "step.wait.server");
            match &w.state {
                Some(state) => {
                    if parse_state_word(state.get_ref()).is_none() {
                        cx.error_at(state.span(), "step.wait.state", unknown_state(state));
                    }
                }
                None => cx.error_at(
                    server.span(),
                    "step.wait.state",
                    "a server wait needs a state",
                ),
            }
        }
        if let Some(syn) = &w.syn {
            check_syn(cx, syn, "step.wait.syn");
            let from = syn.from.as_ref().map(|f| f.get_ref());
            match cx.flow.capture.clone() {
                None => cx.error(
                    "step.wait.syn",
                    "no capture is running here: add `capture = { syn_from = \"haproxy\" }` to [topology] or a capture step before",
                ),
                Some(running) if from.is_some_and(|f| *f != running) => cx.error(
                    "step.wait.syn.from",
                    format!(
                        "the running capture takes {running}'s SYNs only, not {:?}'s",
                        from.map(String::as_str).unwrap_or_default()
                    ),
                ),
                Some(_) => {}
            }
        }
        if let Some(name) = &w.dns_query {
            if cx.needs_dns("step.wait.dns_query") {
                cx.dns_name(name, "step.wait.dns_query");
            }
        }
    }

    fn describe(&self) -> String {
        let w = self;
        if let Some(cmd) = &w.api {
            format!(
                "wait `{cmd}` contains {:?} (within {})",
                w.contains.as_deref().unwrap_or(""),
                w.within
            )
        } else if let (Some(s), Some(st)) = (&w.server, &w.state) {
            format!(
                "wait {} {} (within {})",
                s.get_ref(),
                st.get_ref(),
                w.within
            )
        } else if let (Some(set), Some(st)) = (&w.servers, &w.state) {
            format!(
                "wait {} of {} {} (within {})",
                w.count.map_or("all".to_string(), |c| c.to_string()),
                set.get_ref(),
                st.get_ref(),
                w.within
            )
        } else if let Some(syn) = &w.syn {
            format!(
                "wait {} SYN(s) {} (within {})",
                w.count.unwrap_or(1),
                describe_syn_match(syn),
                w.within
            )
        } else {
            format!(
                "wait DNS query {} (within {})",
                w.dns_query.as_deref().unwrap_or("?"),
                w.within
            )
        }
    }

    fn budget(&self) -> Duration {
        self.within.0
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }
}

impl Run for WaitStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        Ok(wait_for(state, self, self.within.0).await?)
    }
}

/// The wait's condition, met within `within` (the step's own, or what a `flap` leaves of its
/// interval when the wait is its `until`).
pub(crate) async fn wait_for(
    state: &mut CaseState<'_>,
    w: &WaitStep,
    within: Duration,
) -> Result<String, String> {
    let on = w.on.as_ref().map(|o| o.get_ref().as_str());
    if let (Some(server), Some(word)) = (&w.server, &w.state) {
        return wait_server(state, on, server.get_ref(), word.get_ref(), within)
            .await
            .map_err(|e| e.to_string());
    }
    if let (Some(command), Some(contains)) = (&w.api, &w.contains) {
        return wait_api(state, on, command, contains, within)
            .await
            .map_err(|e| e.to_string());
    }
    if let (Some(set), Some(word)) = (&w.servers, &w.state) {
        let observation = w
            .on_timeout
            .as_ref()
            .is_some_and(|o| o.get_ref() == "observation");
        let count = count_wait::CountWait {
            on,
            set: set.get_ref(),
            state: word.get_ref(),
            count: w.count,
            within,
            observation,
            record: w.record.as_deref(),
        };
        return count_wait::wait_count(state, count).await;
    }
    if let Some(syn) = &w.syn {
        return wait_syns(state, syn, w.count.unwrap_or(1), within)
            .await
            .map_err(|e| e.to_string());
    }
    if let Some(name) = &w.dns_query {
        let dns = state.live.dns.as_ref().ok_or("no DNS server in this case")?;
        let log = dns.log();
        let wanted = crate::scenario::words::qualify(name, &dns.zone().origin());
        let qtype = w.qtype.clone();
        let what = format!(
            "a DNS query for {wanted}{}",
            qtype
                .as_deref()
                .map(|t| format!(" {t}"))
                .unwrap_or_default()
        );
        let found = log
            .wait_for_since(
                log.len(),
                &what,
                |q: &QueryRecord| {
                    q.name == wanted
                        && qtype
                            .as_deref()
                            .is_none_or(|t| q.qtype.eq_ignore_ascii_case(t))
                },
                within,
            )
            .await
            .map_err(|e| e.to_string())?;
        return Ok(format!("query seen: {found}"));
    }
    Err("nothing to wait for".into())
}

async fn wait_api(
    state: &CaseState<'_>,
    on: Option<&str>,
    command: &str,
    contains: &str,
    within: Duration,
) -> Result<String, WaitTimeout> {
    let started = Instant::now();
    let timeout = |last_seen: String| WaitTimeout {
        what: format!("`{command}` answering with {contains:?}"),
        waited: started.elapsed(),
        last_seen,
    };
    let api = &state.instance(on).map_err(timeout)?.api;
    crate::wait::poll(within, POLL, move || async move {
        match api.command(command).await {
            Ok(answer) if answer.contains(contains) => Ok(format!(
                "after {:?}: {}",
                started.elapsed(),
                super::word::first_lines(&answer, 3)
            )),
            Ok(answer) => Err(super::word::first_lines(&answer, 3)),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
    .map_err(timeout)
}

async fn wait_server(
    state: &CaseState<'_>,
    on: Option<&str>,
    server: &str,
    word: &str,
    within: Duration,
) -> Result<String, WaitTimeout> {
    let started = Instant::now();
    let timeout = |last_seen: String| WaitTimeout {
        what: format!("server {server} in state {word}"),
        waited: started.elapsed(),
        last_seen,
    };
    let (backend, _) = server.split_once('/').unwrap_or((server, ""));
    let instance = state.instance(on).map_err(timeout)?;
    let api = &instance.api;
    let (polls, case_start, name) = (&state.kept.server_polls, state.started, &instance.name);
    crate::wait::poll(within, POLL, move || async move {
        let servers = api
            .show_servers_state(Some(backend))
            .await
            .map_err(|e| e.to_string())?;
        let s = servers
            .iter()
            .find(|s| s.id() == server)
            .ok_or_else(|| format!("no server {server} in show servers state"))?;
        let seen = describe_server(s);
        crate::scenario::record::note_poll(polls, case_start, name, server, s, &seen);
        if server_in_state(s, word) {
            Ok(format!("{seen} after {:?}", started.elapsed()))
        } else {
            Err(seen)
        }
    })
    .await
    .map_err(timeout)
}

async fn wait_syns(
    state: &CaseState<'_>,
    m: &SynMatch,
    count: u32,
    within: Duration,
) -> Result<String, WaitTimeout> {
    let started = Instant::now();
    let what = format!("{count} SYN(s) matching {}", describe_syn_match(m));
    let Some(capture) = state.live.capture.as_ref().map(|c| &c.capture) else {
        return Err(WaitTimeout {
            what,
            waited: started.elapsed(),
            last_seen: "no capture is running (add [topology.capture] or a capture step)".into(),
        });
    };
    let ips = &state.ips;
    let (seen, last) = capture
        .wait_for_syns(
            &what,
            capture.seen(),
            |syn| syn_matches(ips, m, syn),
            count as usize,
            within,
        )
        .await?;
    Ok(format!(
        "{seen} SYN(s) after {:?}; last: {}",
        started.elapsed(),
        last.map(|s| s.to_string()).unwrap_or_default()
    ))
}

/// The roles a SYN match names, for a step or a measure.
pub(crate) fn check_syn(cx: &mut Cx<'_, '_, '_>, syn: &SynMatch, field: &str) {
    if let Some(from) = &syn.from {
        cx.role(from, &format!("{field}.from"));
    }
    if let Some(to) = &syn.to {
        cx.role(to, &format!("{field}.to"));
    }
}
