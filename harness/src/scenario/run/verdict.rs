//! The verdict stage: the measures from the evidence, then the outcome. A death of HAProxy is a
//! result whatever else failed (the measures that can still be read are kept); a failure of the
//! setup, a step, a measure or the evidence makes the case `error`, with the failure kept as
//! the reason; a harness problem among them says so in its own field.

use std::collections::BTreeMap;

use crate::report::HaproxyExit;
use crate::scenario::evidence::Evidence;
use crate::scenario::measure;
use crate::scenario::outcome::Outcome;
use crate::scenario::plan::VariantPlan;
use crate::scenario::problem::{Failure, Problem};

use super::case::Case;

/// What the verdict stage decides.
pub(crate) struct Judged {
    pub measures: BTreeMap<String, f64>,
    pub outcome: Outcome,
    pub reason: String,
    /// Set when the failure is the harness's (see [`Problem::Harness`]).
    pub harness_error: Option<String>,
}

/// Judges a case from its evidence and what failed before (setup or a step); `refused` are the
/// evidence names the steps gave that were no plain file name.
pub(crate) fn judge(
    case: &Case<'_>,
    evidence: &Evidence,
    failure: Option<Failure>,
    refused: Option<&String>,
) -> Judged {
    let measures = case.scenario.measures_of(case.variant);
    let mut judged = Judged {
        measures: BTreeMap::new(),
        outcome: Outcome::Error,
        reason: String::new(),
        harness_error: None,
    };
    let mut failure = failure;
    if let Some(death) = evidence.exits.iter().find(|e| e.is_crash()) {
        // A death is a result whatever else failed: HAProxy's, not the harness's.
        let (values, _) = measure::compute_each(evidence, measures);
        let crash_measures = measure::crash_measures(measures);
        let (outcome, reason) = outcome_after_death(case.variant, &values, &crash_measures, death);
        (judged.measures, judged.outcome, judged.reason) = (values, outcome, reason);
        failure = None;
    } else if failure.is_none() {
        match measure::compute_all(evidence, measures) {
            Ok(values) => {
                let (o, reason) = outcome(case.variant, &values);
                (judged.measures, judged.outcome, judged.reason) = (values, o, reason);
            }
            Err(e) => failure = Some(Failure::new("measure", Problem::Case(e))),
        }
    }
    if let Some(exit) = evidence
        .exits
        .iter()
        .find(|e| e.stopped_from_outside.is_some())
    {
        failure = Some(Failure::of_case(Problem::Harness(format!(
            "HAProxy's container {} was stopped from outside the case: {}",
            exit.instance,
            exit.stopped_from_outside.as_deref().unwrap_or_default()
        ))));
    }
    if let Some(refused) = refused {
        failure = Some(Failure::new("evidence", Problem::Case(refused.clone())));
    }
    if let Some(failure) = failure {
        judged.outcome = Outcome::Error;
        judged.harness_error = failure.harness_problem();
        judged.reason = failure.to_string();
    }
    judged
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

/// The outcome of a case in which HAProxy died: `reproduced` when `reproduced_if` names the
/// death (a crash measure) and holds, else `crashed`. `valid_if` is not asked: the steps it
/// would judge were cut short by the death, which is itself what was measured.
pub(crate) fn outcome_after_death(
    variant: &VariantPlan,
    measures: &BTreeMap<String, f64>,
    crash_measures: &std::collections::BTreeSet<String>,
    death: &HaproxyExit,
) -> (Outcome, String) {
    let died = format!("HAProxy died during {}: {}", death.during, death.headline());
    let named = variant
        .reproduced_if
        .measures()
        .any(|m| crash_measures.contains(m));
    let explained = variant.reproduced_if.explain(measures);
    if named && variant.reproduced_if.eval(measures) {
        (Outcome::Reproduced, format!("{explained} holds ({died})"))
    } else if named {
        (
            Outcome::Crashed,
            format!("{died}; reproduced_if {explained} does not hold"),
        )
    } else {
        (Outcome::Crashed, died)
    }
}
