//! The count wait: "until N servers (a glob or a list) are in state S, within T". Where a
//! plain server wait fails blind at its deadline, this one says how many servers were in the
//! state then, and which were not; with `on_timeout = "observation"` the count reached is
//! recorded and the case goes on, so the count itself can be the evidence (haproxy#2666: how
//! many of 300 servers come back after DNS was silent past `hold timeout`).

use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::scenario::case::CaseState;
use crate::scenario::record::CountTally;
use crate::scenario::record::Recorded;
use crate::scenario::words::{describe_server, server_in_state, POLL};

/// The servers a count wait counts: a glob over `backend/server` (`be*/srv*`, `?` is one
/// character) or a list of names.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ServerSet {
    Glob(String),
    List(Vec<String>),
}

impl ServerSet {
    pub fn matches(&self, id: &str) -> bool {
        match self {
            ServerSet::Glob(g) => crate::haproxy::config::glob(g, id),
            ServerSet::List(l) => l.iter().any(|s| s == id),
        }
    }

    /// Every pattern or name, for checks at load.
    pub fn patterns(&self) -> Vec<&str> {
        match self {
            ServerSet::Glob(g) => vec![g.as_str()],
            ServerSet::List(l) => l.iter().map(String::as_str).collect(),
        }
    }
}

impl std::fmt::Display for ServerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServerSet::Glob(g) => f.write_str(g),
            ServerSet::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}

/// One count wait, as the step gives it.
pub(crate) struct CountWait<'a> {
    pub on: Option<&'a str>,
    pub set: &'a ServerSet,
    pub state: &'a str,
    pub count: Option<u32>,
    pub within: Duration,
    /// A timeout is an observation (recorded, the case goes on), not an error.
    pub observation: bool,
    pub record: Option<&'a str>,
}

pub(crate) async fn wait_count(
    state: &mut CaseState<'_>,
    w: CountWait<'_>,
) -> Result<String, String> {
    let started = Instant::now();
    let api = state.instance(w.on)?.api.clone();
    let deadline = started + w.within;
    let mut tally;
    let mut last_error = None;
    loop {
        tally = None;
        match api.show_servers_state(None).await {
            Ok(servers) => {
                let set: Vec<_> = servers.iter().filter(|s| w.set.matches(&s.id())).collect();
                if !set.is_empty() {
                    let wanted = w.count.map_or(set.len(), |c| c as usize);
                    let in_state = set.iter().filter(|s| server_in_state(s, w.state)).count();
                    let not_yet = set
                        .iter()
                        .filter(|s| !server_in_state(s, w.state))
                        .take(20)
                        .map(|s| describe_server(s))
                        .collect();
                    tally = Some(CountTally {
                        total: set.len(),
                        wanted,
                        matched: in_state,
                        timed_out: false,
                        elapsed_ms: started.elapsed().as_millis() as u64,
                        not_yet,
                    });
                }
            }
            Err(e) => last_error = Some(e.to_string()),
        }
        let done = tally.as_ref().is_some_and(|t| t.matched >= t.wanted);
        if done || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let what = format!(
        "{} of {} {}",
        w.count.map_or("all".to_string(), |c| c.to_string()),
        w.set,
        w.state
    );
    let Some(mut tally) = tally else {
        // Not even one server to count: a name that does not exist is no observation.
        return Err(format!(
            "waiting for {what}: no server matches {} in `show servers state` after {:?}{}",
            w.set,
            started.elapsed(),
            last_error
                .map(|e| format!("; last error: {e}"))
                .unwrap_or_default()
        ));
    };
    tally.timed_out = tally.matched < tally.wanted;
    let summary = format!(
        "{} of {} server(s) matching {} {} after {:?} (wanted {})",
        tally.matched,
        tally.total,
        w.set,
        w.state,
        started.elapsed(),
        tally.wanted
    );
    let not_yet = if tally.not_yet.is_empty() {
        String::new()
    } else {
        format!("; not yet: {}", tally.not_yet.join("; "))
    };
    let timed_out = tally.timed_out;
    if let Some(name) = w.record {
        state
            .kept
            .records
            .insert(name.to_string(), Recorded::Count(tally));
    }
    match (timed_out, w.observation) {
        (false, _) => Ok(summary),
        (true, true) => Ok(format!(
            "deadline {:?} passed: {summary}{not_yet}",
            w.within
        )),
        (true, false) => Err(format!(
            "timed out after {:?} waiting for {what}: {summary}{not_yet}",
            w.within
        )),
    }
}
