//! Measures: the numbers `reproduced_if` and `valid_if` are judged on, each computed from the
//! case's [`Evidence`] (packets, query log, recorded runtime API answers, exchanges, logs).
//!
//! A measure either has the evidence it reads or fails with the reason, which makes the case
//! `error`: a capture that never ran for the role, one that lost packets, a record of the wrong
//! kind, a server or field the record does not have. None of them may quietly read 0.

use std::collections::BTreeMap;

use toml::Spanned;

use super::evidence::Evidence;
use super::model::{Measure, SynMatch};
use super::outcome::Outcome;
use super::runner::Recorded;
use super::steps::{qualify, syn_matches};
use super::VariantPlan;
use crate::haproxy::{HaproxyVersion, Info, ServerState, Session, Table};

pub(crate) fn compute_all(
    evidence: &Evidence,
    measures: &BTreeMap<String, Spanned<Measure>>,
) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for (name, measure) in measures {
        let value = compute(evidence, measure.get_ref()).map_err(|e| format!("{name}: {e}"))?;
        out.insert(name.clone(), value);
    }
    Ok(out)
}

pub(crate) fn compute(ev: &Evidence, measure: &Measure) -> Result<f64, String> {
    let count = |n: usize| Ok(n as f64);
    match measure {
        Measure::Syns(m) => count(syns(ev, m)?),
        Measure::Responses(r) => {
            let exchanges = match record(ev, &r.record)? {
                Recorded::Http(exchanges) => exchanges,
                other => return Err(wrong_kind(&r.record, other, "an http step's exchanges")),
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
            let dns = ev.dns.as_ref().ok_or("no DNS server ran in this case")?;
            let name = q.name.as_ref().map(|n| qualify(n, &dns.origin));
            count(
                dns.queries
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
            let logs = ev.logs.get(l.role.get_ref()).ok_or_else(|| {
                format!(
                    "no output kept for {} (its container never started, or its logs could not be read)",
                    l.role.get_ref()
                )
            })?;
            count(
                logs.lines()
                    .filter(|line| line.contains(&l.contains))
                    .count(),
            )
        }
        Measure::VersionMatchesImage(r) => {
            let answer = answer(ev, r)?;
            let info = Info::parse(answer).map_err(|e| e.to_string())?;
            let reported = info.haproxy_version().map_err(|e| e.to_string())?;
            let image = HaproxyVersion::parse(&ev.image_version).map_err(|e| e.to_string())?;
            Ok(if reported == image { 1.0 } else { 0.0 })
        }
        Measure::InstanceReady(name) => match ev.records.get(name.get_ref()) {
            Some(Recorded::Start { ready, .. }) => Ok(if *ready { 1.0 } else { 0.0 }),
            _ => Err(format!("{} was never started by a step", name.get_ref())),
        },
        Measure::Counted(m) => match record(ev, &m.record)? {
            Recorded::Count(tally) => {
                let value = m.value.as_ref().map_or("matched", |v| v.get_ref().as_str());
                tally
                    .value(value)
                    .ok_or_else(|| format!("unknown value {value}"))
            }
            other => Err(wrong_kind(&m.record, other, "a count wait's tally")),
        },
        Measure::Unix(u) => match record(ev, &u.record)? {
            Recorded::Unix(tally) => tally
                .value(u.value.get_ref())
                .ok_or_else(|| format!("unknown value {}", u.value.get_ref())),
            other => Err(wrong_kind(&u.record, other, "a unix step's tally")),
        },
        Measure::Sessions(m) => match record(ev, &m.record)? {
            Recorded::Sessions(snapshot) => {
                count(snapshot.count(m.server.as_deref(), m.state.get_ref()))
            }
            other => Err(wrong_kind(&m.record, other, "a snapshot of sessions")),
        },
        Measure::Streams(m) => {
            let answer = answer(ev, &m.record)?;
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
            let answer = answer(ev, &a.record)?;
            count(answer.lines().filter(|l| l.contains(&a.contains)).count())
        }
        Measure::TableEntries(t) => {
            let answer = answer(ev, &t.record)?;
            let tables = Table::parse_all(answer).map_err(|e| e.to_string())?;
            let entries: Vec<_> = tables.iter().flat_map(|table| &table.entries).collect();
            if let Some(field) = &t.field {
                // Entries carry every data field of their table: if none has this one, the
                // table does not store it, and the count would be a silent 0.
                if !entries.is_empty() && !entries.iter().any(|e| e.data.contains_key(field)) {
                    let mut known: Vec<&String> =
                        entries.iter().flat_map(|e| e.data.keys()).collect();
                    known.sort();
                    known.dedup();
                    return Err(format!(
                        "no entry of {:?} has a field {field:?}; its entries have {}",
                        t.record,
                        join(known)
                    ));
                }
            }
            count(
                entries
                    .iter()
                    .filter(|e| match (&t.field, &t.equals) {
                        (Some(f), Some(v)) => e.data.get(f) == Some(v),
                        (Some(f), None) => e.data.contains_key(f),
                        _ => true,
                    })
                    .count(),
            )
        }
        Measure::ServersWith(f) => {
            let answer = answer(ev, &f.record)?;
            let servers = ServerState::parse_all(answer).map_err(|e| e.to_string())?;
            if let Some(id) = &f.server {
                if !servers.iter().any(|s| &s.id() == id) {
                    return Err(format!(
                        "no server {id} in {:?}; it lists {}",
                        f.record,
                        join(servers.iter().map(|s| s.id()))
                    ));
                }
            }
            if let Some(first) = servers.first() {
                if first.get(&f.field).is_none() {
                    return Err(format!(
                        "`show servers state` has no column {:?} on this version; it has {}",
                        f.field,
                        join(first.fields.keys())
                    ));
                }
            }
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

/// SYNs matching, over every capture that took the role's SYNs; an error when no such capture
/// ran or one of them is incomplete.
fn syns(ev: &Evidence, m: &SynMatch) -> Result<usize, String> {
    let from = m.from.as_ref().map(|f| f.get_ref().as_str());
    let runs: Vec<_> = ev
        .captures
        .iter()
        .filter(|c| from.is_none_or(|f| c.role == f))
        .collect();
    if runs.is_empty() {
        return Err(match from {
            Some(f) => format!(
                "no capture of {f}'s SYNs ran (captures: {}); add `capture = {{ syn_from = {f:?} }}` to [topology]",
                join(ev.captures.iter().map(|c| c.role.as_str()))
            ),
            None => "no capture ran in this case".into(),
        });
    }
    if let Some((role, problem)) = runs
        .iter()
        .find_map(|c| c.problem.as_ref().map(|p| (&c.role, p)))
    {
        return Err(format!(
            "the capture of {role}'s SYNs is incomplete: {problem}"
        ));
    }
    Ok(runs
        .iter()
        .flat_map(|c| &c.syns)
        .filter(|s| syn_matches(&ev.ips, m, s))
        .count())
}

fn record<'a>(ev: &'a Evidence, name: &str) -> Result<&'a Recorded, String> {
    ev.records
        .get(name)
        .ok_or_else(|| format!("no record {name:?} (did its step run?)"))
}

fn answer<'a>(ev: &'a Evidence, name: &str) -> Result<&'a str, String> {
    match record(ev, name)? {
        Recorded::Api { answer, .. } => Ok(answer),
        other => Err(wrong_kind(name, other, "a recorded answer")),
    }
}

fn wrong_kind(name: &str, found: &Recorded, wanted: &str) -> String {
    format!("record {name:?} is {}, not {wanted}", found.kind())
}

fn join<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
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

#[cfg(test)]
mod tests;
