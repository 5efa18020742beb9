//! Measures: the numbers `reproduced_if` and `valid_if` are judged on, each computed from the
//! evidence the case kept (packets, query log, recorded runtime API answers, exchanges, logs).

use std::collections::BTreeMap;

use super::model::Measure;
use super::outcome::Outcome;
use super::runner::{CaseState, Recorded};
use super::steps::{qualify, syn_matches};
use super::VariantPlan;
use crate::haproxy::{HaproxyVersion, Info, ServerState, Session, Table};

pub(crate) fn compute_all(state: &CaseState<'_>) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for (name, measure) in state.scenario.measures_of(state.variant) {
        let value = compute(state, measure.get_ref()).map_err(|e| format!("{name}: {e}"))?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

fn compute(state: &CaseState<'_>, measure: &Measure) -> Result<f64, String> {
    let count = |n: usize| Ok(n as f64);
    match measure {
        Measure::Syns(m) => count(
            state
                .syns()
                .iter()
                .filter(|s| syn_matches(state, m, s))
                .count(),
        ),
        Measure::Responses(r) => {
            let Some(Recorded::Http(exchanges)) = state.records.get(&r.record) else {
                return Err(format!("no http record {:?} (did its step run?)", r.record));
            };
            count(
                exchanges
                    .iter()
                    .filter(|e| {
                        r.failed.is_none_or(|f| f == e.status.is_none())
                            && r.status.is_none_or(|s| e.status == Some(s))
                            && r.from.as_ref().is_none_or(|from| {
                                e.server
                                    .as_ref()
                                    .is_some_and(|s| from.iter().any(|f| f.get_ref() == s))
                            })
                    })
                    .count(),
            )
        }
        Measure::DnsQueries(q) => {
            let dns = state
                .scenario
                .raw
                .topology
                .dns
                .as_ref()
                .ok_or("no DNS server in this case")?;
            let name = q.name.as_ref().map(|n| qualify(n, &dns.zone));
            count(
                state
                    .dns_queries
                    .iter()
                    .filter(|r| name.as_ref().is_none_or(|n| &r.name == n))
                    .filter(|r| {
                        q.qtype
                            .as_ref()
                            .is_none_or(|t| r.qtype.eq_ignore_ascii_case(t))
                    })
                    .filter(|r| {
                        q.answer
                            .as_ref()
                            .is_none_or(|a| r.answer.contains(a.as_str()))
                    })
                    .count(),
            )
        }
        Measure::LogLines(l) => {
            let logs = state
                .logs
                .get(l.role.get_ref())
                .ok_or_else(|| format!("no output kept for {}", l.role.get_ref()))?;
            count(
                logs.lines()
                    .filter(|line| line.contains(&l.contains))
                    .count(),
            )
        }
        Measure::VersionMatchesImage(record) => {
            let answer = api_answer(state, record)?;
            let info = Info::parse(answer).map_err(|e| e.to_string())?;
            let reported = info.haproxy_version().map_err(|e| e.to_string())?;
            let image = HaproxyVersion::parse(&state.image.version).map_err(|e| e.to_string())?;
            Ok(if reported == image { 1.0 } else { 0.0 })
        }
        Measure::InstanceReady(name) => match state.records.get(name.get_ref()) {
            Some(Recorded::Start { ready, .. }) => Ok(if *ready { 1.0 } else { 0.0 }),
            _ => Err(format!("{} was never started by a step", name.get_ref())),
        },
        Measure::Unix(u) => match state.records.get(&u.record) {
            Some(Recorded::Unix(tally)) => tally
                .value(u.value.get_ref())
                .ok_or_else(|| format!("unknown value {}", u.value.get_ref())),
            _ => Err(format!("no unix record {:?} (did its step run?)", u.record)),
        },
        Measure::Sessions(m) => match state.records.get(&m.record) {
            Some(Recorded::Sessions(snapshot)) => {
                count(snapshot.count(m.server.as_deref(), m.state.get_ref()))
            }
            _ => Err(format!("no snapshot {:?} (did its step run?)", m.record)),
        },
        Measure::Streams(m) => {
            let answer = api_answer(state, &m.record)?;
            let (be, srv) = m.server.split_once('/').unwrap_or((&m.server, ""));
            let streams = Session::parse_all(answer).map_err(|e| e.to_string())?;
            count(
                streams
                    .iter()
                    .filter(|s| s.on_server(be, srv))
                    .filter(|s| {
                        m.older_than
                            .is_none_or(|d| s.age.is_some_and(|age| age >= d.0))
                    })
                    .count(),
            )
        }
        Measure::AnswerLines(a) => {
            let answer = api_answer(state, &a.record)?;
            count(answer.lines().filter(|l| l.contains(&a.contains)).count())
        }
        Measure::TableEntries(t) => {
            let answer = api_answer(state, &t.record)?;
            let tables = Table::parse_all(answer).map_err(|e| e.to_string())?;
            count(
                tables
                    .iter()
                    .flat_map(|table| &table.entries)
                    .filter(|e| match (&t.field, &t.equals) {
                        (Some(f), Some(v)) => e.data.get(f) == Some(v),
                        (Some(f), None) => e.data.contains_key(f),
                        _ => true,
                    })
                    .count(),
            )
        }
        Measure::ServersWith(f) => {
            let answer = api_answer(state, &f.record)?;
            let servers = ServerState::parse_all(answer).map_err(|e| e.to_string())?;
            count(
                servers
                    .iter()
                    .filter(|s| f.server.as_ref().is_none_or(|id| &s.id() == id))
                    .filter(|s| s.get(&f.field) == Some(f.equals.as_str()))
                    .count(),
            )
        }
    }
}

fn api_answer<'a>(state: &'a CaseState<'_>, record: &str) -> Result<&'a str, String> {
    match state.records.get(record) {
        Some(Recorded::Api { answer, .. }) => Ok(answer),
        _ => Err(format!("no api record {record:?} (did its step run?)")),
    }
}

/// The outcome from the measures: `error` when a validity condition fails (the experiment did
/// not exercise what it must), else reproduced or not, with the condition and its values.
pub(crate) fn outcome(
    variant: &VariantPlan,
    measures: &BTreeMap<String, f64>,
) -> (Outcome, String) {
    for valid in &variant.valid_if {
        if !valid.eval(measures) {
            return (
                Outcome::Error,
                format!(
                    "experiment invalid: valid_if {} does not hold",
                    valid.explain(measures)
                ),
            );
        }
    }
    let explained = variant.reproduced_if.explain(measures);
    if variant.reproduced_if.eval(measures) {
        (Outcome::Reproduced, format!("{explained} holds"))
    } else {
        (Outcome::NotReproduced, format!("{explained} does not hold"))
    }
}
