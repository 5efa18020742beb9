//! `flap = { name = "app", between = [["web1"], ["web2"]], every = "300ms", times = 6 }`:
//! flaps a DNS name's A records between address sets, a bounded number of times, each set
//! holding for `every`. What was set when is recorded (the step's detail, and the record's
//! evidence file when it has `record`), so the timeline shows each flip beside HAProxy's
//! queries and server states.
//!
//! `follow = "be/s1"` asks HAProxy after each flip until that server's address is in the new
//! set (within the interval): the record counts the flips HAProxy `followed`, the bug class
//! where a server stops following its name. `until` is a wait (any `wait` step's table) that
//! ends the flapping early once it holds; it is asked for what is left of each interval, so
//! its own `within` does not apply.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::wait::{wait_for, WaitStep};
use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::bounds;
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::record::{FlapLog, Flip, Recorded};
use crate::scenario::case::CaseState;
use crate::scenario::words::{describe_server, POLL};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlapStep {
    /// The name whose A records flap (relative to the zone, or absolute).
    pub name: String,
    /// The address sets, in turn: roles of the topology or literal IPs, as `dns` takes them.
    pub between: Spanned<Vec<Vec<Spanned<String>>>>,
    /// How long each set holds.
    pub every: Dur,
    /// How many sets are put in place in all (the first included).
    pub times: u32,
    /// A server (`backend/server`) whose address must follow each flip.
    #[serde(default)]
    pub follow: Option<Spanned<String>>,
    /// The instance asked (`follow`, `until`); the first one by default.
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// Ends the flapping early once this wait holds.
    #[serde(default)]
    pub until: Option<Box<WaitStep>>,
    /// Keeps what was set when, for the `value` measure and the evidence folder.
    #[serde(default)]
    pub record: Option<String>,
}

impl Word for FlapStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most(
            "step.flap.times",
            u64::from(self.times),
            u64::from(bounds::FLAP_TIMES),
        );
        if self.times == 0 {
            cx.error("step.flap.times", "at least 1");
        }
        cx.at_most_time("step.flap.every", self.every.0, bounds::DURATION);
        if self.every.0 < bounds::FLAP_EVERY_MIN {
            cx.error(
                "step.flap.every",
                format!("at least {}", Dur(bounds::FLAP_EVERY_MIN)),
            );
        }
        if self.every.0.saturating_mul(self.times) > bounds::DURATION {
            cx.error(
                "step.flap",
                format!(
                    "times x every is more than {}, the most a step may take",
                    Dur(bounds::DURATION)
                ),
            );
        }
        cx.needs_dns("step.flap");
        let sets = self.between.get_ref();
        if sets.len() < 2 || sets.len() > bounds::FLAP_SETS {
            cx.error_at(
                self.between.span(),
                "step.flap.between",
                format!(
                    "between 2 and {} address sets, like [[\"web1\"], [\"web2\"]]",
                    bounds::FLAP_SETS
                ),
            );
        }
        for set in sets {
            if set.is_empty() {
                cx.error_at(
                    self.between.span(),
                    "step.flap.between",
                    "an empty set: each needs an address (`dns = { remove = ... }` removes a name)",
                );
            }
            for a in set {
                cx.role_or_ip(a, "step.flap.between");
            }
        }
        cx.instance(&self.on, "step.flap.on");
        if let Some(follow) = &self.follow {
            let target = cx.target(&self.on);
            cx.server(target, follow.get_ref(), follow.span(), "step.flap.follow");
        }
        if let Some(until) = &self.until {
            if until.record.is_some() || until.on_timeout.is_some() {
                cx.error(
                    "step.flap.until",
                    "until is asked again in every interval: it keeps no record and has no on_timeout",
                );
            }
            until.check(cx);
        }
        if let Some(r) = &self.record {
            cx.record(r, RecordKind::Flap);
        }
    }

    fn describe(&self) -> String {
        let sets: Vec<String> = self
            .between
            .get_ref()
            .iter()
            .map(|set| {
                let names: Vec<&str> = set.iter().map(|a| a.get_ref().as_str()).collect();
                format!("[{}]", names.join(", "))
            })
            .collect();
        format!(
            "flap {} between {} every {} x{}{}{}",
            self.name,
            sets.join(" "),
            self.every,
            self.times,
            self.follow
                .as_ref()
                .map(|f| format!(", {} following", f.get_ref()))
                .unwrap_or_default(),
            self.until
                .as_ref()
                .map(|u| format!(", until {}", u.describe()))
                .unwrap_or_default()
        )
    }

    fn budget(&self) -> Duration {
        // Each interval, plus a runtime API answer that may come late at its end.
        self.every.0.saturating_mul(self.times) + crate::haproxy::DEFAULT_TIMEOUT
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }

    fn dns_names(&self) -> Vec<&str> {
        vec![self.name.as_str()]
    }

    fn cost(&self) -> f64 {
        self.every.0.as_secs_f64() * f64::from(self.times)
    }
}

impl Run for FlapStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        // Every address first: a role without one fails the step before anything changes.
        let sets = self
            .between
            .get_ref()
            .iter()
            .map(|set| {
                set.iter()
                    .map(|a| state.role_ip(a.get_ref()))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let zone = state
            .live.dns
            .as_ref()
            .ok_or("no DNS server in this case")?
            .zone();
        let on = self.on.as_ref().map(|o| o.get_ref().as_str());
        let api = state.instance(on)?.api.clone();
        let instance = state.instance(on)?.name.clone();
        let mut log = FlapLog {
            name: self.name.clone(),
            follow: self.follow.as_ref().map(|f| f.get_ref().clone()),
            flips: Vec::new(),
            until_met_ms: None,
        };
        let start = tokio::time::Instant::now();
        for i in 0..self.times {
            let next = start + self.every.0 * (i + 1);
            let addrs = sets[i as usize % sets.len()].clone();
            zone.set_a(&self.name, addrs.clone());
            let mut flip = Flip {
                at_ms: state.ms(),
                addrs: addrs.clone(),
                followed_ms: None,
                seen: None,
            };
            if let Some(server) = &self.follow {
                let server = server.get_ref().as_str();
                let (backend, _) = server.split_once('/').unwrap_or((server, ""));
                while tokio::time::Instant::now() < next {
                    let answer = tokio::time::timeout_at(next, api.show_servers_state(Some(backend)));
                    let servers = match answer.await {
                        Ok(Ok(servers)) => servers,
                        Ok(Err(e)) => {
                            flip.seen = Some(e.to_string());
                            tokio::time::sleep(POLL).await;
                            continue;
                        }
                        Err(_) => break,
                    };
                    let Some(s) = servers.iter().find(|s| s.id() == server) else {
                        flip.seen = Some(format!("no server {server} in show servers state"));
                        break;
                    };
                    let seen = describe_server(s);
                    crate::scenario::record::note_poll(
                        &state.kept.server_polls,
                        state.started,
                        &instance,
                        server,
                        s,
                        &seen,
                    );
                    let addr = s.get("srv_addr").and_then(|a| a.parse::<Ipv4Addr>().ok());
                    flip.seen = Some(seen);
                    if addr.is_some_and(|a| addrs.contains(&a)) {
                        flip.followed_ms = Some(state.ms());
                        break;
                    }
                    tokio::time::sleep(POLL).await;
                }
            }
            log.flips.push(flip);
            if let Some(until) = &self.until {
                let left = next.saturating_duration_since(tokio::time::Instant::now());
                if wait_for(state, until, left).await.is_ok() {
                    log.until_met_ms = Some(state.ms());
                    break;
                }
            }
            // The interval is the flapping's own tempo (the bug's timing), not a wait for HAProxy.
            tokio::time::sleep_until(next).await;
        }
        let detail = summary(&log, self.follow.is_some());
        if let Some(name) = &self.record {
            state.kept.records.insert(name.clone(), Recorded::Flap(log));
        }
        Ok(detail)
    }
}

/// What was set when, on one line: `0ms [10.0.0.2] 300ms [10.0.0.3] ...`.
fn summary(log: &FlapLog, follow: bool) -> String {
    let flips: Vec<String> = log
        .flips
        .iter()
        .map(|f| {
            let addrs: Vec<String> = f.addrs.iter().map(|a| a.to_string()).collect();
            let followed = match (follow, f.followed_ms) {
                (false, _) => String::new(),
                (true, Some(ms)) => format!(" (followed at {ms}ms)"),
                (true, None) => " (not followed)".into(),
            };
            format!("{}ms [{}]{followed}", f.at_ms, addrs.join(", "))
        })
        .collect();
    let followed = if follow {
        format!(
            "; followed {} of {}",
            log.value("followed").unwrap_or(0.0),
            log.flips.len()
        )
    } else {
        String::new()
    };
    let until = log
        .until_met_ms
        .map(|ms| format!("; until held at {ms}ms"))
        .unwrap_or_default();
    format!(
        "{} set {} time(s): {}{followed}{until}",
        log.name,
        log.flips.len(),
        flips.join(" ")
    )
}
