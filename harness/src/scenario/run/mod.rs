//! Running one case: a scenario on one HAProxy image, from an empty network to a verdict, in
//! stages that each take what the one before produced:
//!
//! 1. open: the case's folder and sandbox (network, labels), the empty [`CaseState`];
//! 2. steps ([`steps`]): the setup (DNS server on the case network's gateway, the capture, the
//!    backends in this process on addresses of the case bridge, HAProxy, until its runtime API
//!    answers), then the steps in file order; the first failure ends them, returned;
//! 3. deaths ([`crash`]): how each HAProxy ended, with its last words;
//! 4. evidence ([`evidence`]): everything written into the case's folder, and the read-only
//!    `Evidence` the measures see;
//! 5. verdict ([`verdict`]): measures, outcome, reason;
//! 6. the crash report, the timeline ([`write`]), teardown ([`teardown`]) and `case.json`.
//!
//! A failure never ends the case as a pass: it is `error` with the reason (the experiment did
//! not run as written), or `crashed` when HAProxy died. Evidence is collected whatever happened,
//! then everything is removed.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use crate::haproxy::HaproxyVersion;
use crate::images::ResolvedImage;
use crate::report::CaseRecord;
use crate::runtime::{Engine, Sandbox};

use super::case::{CaseState, Kept, Live};
use super::outcome::Outcome;
use super::plan::{Scenario, VariantPlan};
use super::problem::problem;

mod backtrace;
mod case;
mod crash;
mod evidence;
mod repeat;
mod setup;
mod steps;
mod teardown;
mod timeline;
pub(crate) mod verdict;
mod write;

use case::{case_id, evidence_dir, Case};
pub use case::{CaseEvent, RunOptions};

/// Runs the scenario's first variant (the scenario itself when it has none) on an image.
pub async fn run_case(
    engine: &Engine,
    scenario: &Scenario,
    image: &ResolvedImage,
    opts: &RunOptions,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    let variant = &scenario.variants[0];
    run_variant(engine, scenario, variant, image, opts, on_event).await
}

/// Runs one case (a variant of a scenario on an image) to its verdict. Never panics on a failed
/// experiment: every failure becomes a record with outcome `error` and the reason.
///
/// A racy case (`repeat = N`) runs N times, each in fresh containers; its outcome is
/// `reproduced` if the symptom appeared at least once, `not-reproduced` only if it never did,
/// and the record keeps each run's outcome and evidence ("3 of 20").
pub async fn run_variant(
    engine: &Engine,
    scenario: &Scenario,
    variant: &VariantPlan,
    image: &ResolvedImage,
    opts: &RunOptions,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    if variant.repeat <= 1 {
        return run_once(engine, scenario, variant, image, opts, None, on_event).await;
    }
    let started = Instant::now();
    let quiet = |event: CaseEvent| {
        if let CaseEvent::Step { .. } = event {
            on_event(event)
        }
    };
    let mut runs = Vec::new();
    for k in 1..=variant.repeat {
        let round = (k, variant.repeat);
        runs.push(run_once(engine, scenario, variant, image, opts, Some(round), &quiet).await);
    }
    let id = case_id(scenario, variant, image, opts, None);
    let (mut record, shown) = repeat::aggregate(&runs, id.to_string(), evidence_dir(opts, &id));
    write::aggregate_folder(&mut record, &shown);
    write::finish(record, started, on_event).await
}

async fn run_once(
    engine: &Engine,
    scenario: &Scenario,
    variant: &VariantPlan,
    image: &ResolvedImage,
    opts: &RunOptions,
    round: Option<(u32, u32)>,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    let case = Case::new(scenario, variant, image, opts, round);
    let mut record = new_record(&case);
    let mut state = match open(engine, &case).await {
        Ok(state) => state,
        Err((reason, harness_error)) => {
            (record.reason, record.harness_error) = (reason, harness_error);
            return write::finish(record, case.started, on_event).await;
        }
    };
    let failure = steps::run(&case, &mut state, &mut record, on_event).await;
    let exits = crash::exits(&mut state, &record).await;
    let evidence = evidence::collect(&mut state, exits).await;
    let judged = verdict::judge(&case, &evidence, failure, state.kept.refused.first());
    record.measures = judged.measures;
    record.outcome = judged.outcome;
    record.reason = judged.reason;
    record.harness_error = judged.harness_error;
    record.haproxy_exit = evidence.exits.clone();
    if record.outcome == Outcome::Crashed {
        crash::write_report(&mut state, &record).await;
    }
    record.wall_ms = state.ms();
    write::timeline(&case, &mut state, &evidence, &record).await;
    teardown::teardown(state, &mut record).await;
    write::finish(record, case.started, on_event).await
}

/// The record a case starts with: what runs where, and what its version is expected to show.
fn new_record(case: &Case<'_>) -> CaseRecord {
    let now = std::time::SystemTime::now();
    let (scenario, image) = (case.scenario, case.image);
    let mut record = CaseRecord {
        scenario: scenario.name.clone(),
        variant: case.variant.name.clone(),
        case: case.name.clone(),
        run_id: case.opts.run_id.clone(),
        image: image.reference.clone(),
        image_source: image.source.clone(),
        version: image.version.clone(),
        started_at: humantime::format_rfc3339_seconds(now).to_string(),
        started_unix_ms: now
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        wall_ms: 0,
        setup_ms: 0,
        steps: Vec::new(),
        measures: BTreeMap::new(),
        outcome: Outcome::Error,
        reason: String::new(),
        expected: None,
        expected_range: None,
        verdict: super::outcome::Verdict::Error,
        evidence_dir: case.evidence_dir.clone(),
        evidence: Vec::new(),
        repeat: None,
        harness_error: None,
        haproxy_exit: Vec::new(),
        provenance: crate::report::Provenance {
            haprepro: crate::report::haprepro_version().to_string(),
            scenario_digest: scenario.digest.clone(),
            image_id: image.id.clone(),
            planned: case.opts.planned.clone(),
        },
    };
    if let Ok(v) = HaproxyVersion::parse(&image.version) {
        if let Some((range, outcome)) = case.variant.expectations.for_version(&v) {
            record.expected = Some(outcome);
            record.expected_range = Some(range.to_string());
        }
    }
    record
}

/// The case's folder and sandbox, and its empty state; the reason and the harness problem when
/// either cannot be had.
async fn open<'a>(
    engine: &Engine,
    case: &Case<'a>,
) -> Result<CaseState<'a>, (String, Option<String>)> {
    if let Err(e) = std::fs::create_dir_all(&case.evidence_dir) {
        let reason = format!("cannot create {}: {e}", case.evidence_dir.display());
        let problem = format!("{reason}\n  Give a folder this user can write with --results-dir.");
        return Err((reason, Some(problem)));
    }
    let mut sandbox = Sandbox::create(engine, &case.opts.run_id, &case.name)
        .await
        .map_err(|e| {
            let problem = problem(&e);
            (problem.to_string(), problem.harness_problem())
        })?;
    sandbox.keep(case.opts.keep);
    let topology = &case.scenario.raw.topology;
    Ok(CaseState {
        image: case.image,
        clients: topology
            .clients
            .iter()
            .map(|c| c.name.get_ref().clone())
            .collect(),
        ips: BTreeMap::new(),
        values: BTreeMap::new(),
        started: case.started,
        evidence_dir: case.evidence_dir.clone(),
        live: Live {
            sandbox,
            containers: Vec::new(),
            backends: Vec::new(),
            dns: None,
            capture: None,
            instances: Vec::new(),
            held: HashMap::new(),
            loads: HashMap::new(),
            watch: super::watch::Watch::new(case.started),
        },
        kept: Kept::default(),
    })
}
