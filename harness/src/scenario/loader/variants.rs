//! The variants' checks: each case's plan (the scenario itself, or one a `[[variant]]`) with its
//! name, sysctls, vars and expectations; then, variant by variant, its repeat and deadline and
//! what it runs ([`Runs`]), for the flow's checks.

use std::collections::BTreeSet;

use toml::Spanned;

use crate::haproxy::VersionRange;
use crate::scenario::check::Checker;
use crate::scenario::expr::Condition;
use crate::scenario::model::{ExpectTable, Observe, ScenarioFile, Step};
use crate::scenario::outcome::Expectations;
use crate::scenario::plan::VariantPlan;

/// One plan a case: the scenario's own when it declares no variant, else one a variant. Its
/// repeat, deadline and symptom are set later ([`settle`], the flow's checks).
pub(super) fn plans(
    c: &mut Checker,
    raw: &ScenarioFile,
    instances: &BTreeSet<String>,
) -> Vec<VariantPlan> {
    let base = VariantPlan {
        name: None,
        index: None,
        summary: None,
        vars: raw.vars.clone(),
        expectations: expectations(c, &raw.expect),
        sysctls: Default::default(),
        repeat: 1,
        deadline: std::time::Duration::ZERO,
        reproduced_if: Condition::never(),
        valid_if: Vec::new(),
    };
    if raw.variants.is_empty() {
        return vec![base];
    }
    let mut plans = Vec::new();
    let mut names = BTreeSet::new();
    for (index, v) in raw.variants.iter().enumerate() {
        c.plain(v.name.get_ref(), v.name.span(), "variant.name");
        if !names.insert(v.name.get_ref().clone()) {
            c.error(v.name.span(), "variant.name", "used twice");
        }
        for instance in v.sysctls.keys() {
            if !instances.contains(instance) {
                c.error(
                    v.name.span(),
                    "variant.sysctls",
                    format!("{instance:?} is not a HAProxy instance"),
                );
            }
        }
        let mut vars = raw.vars.clone();
        vars.extend(v.vars.clone());
        plans.push(VariantPlan {
            name: Some(v.name.get_ref().clone()),
            index: Some(index),
            summary: v.summary.clone(),
            vars,
            expectations: match &v.expect {
                Some(table) => expectations(c, table),
                None => base.expectations.clone(),
            },
            sysctls: v.sysctls.clone(),
            ..base.clone()
        });
    }
    plans
}

/// An `[expect]` table: its version ranges, in the order written, and at least one.
fn expectations(c: &mut Checker, table: &Spanned<ExpectTable>) -> Expectations {
    let mut expectations = Vec::new();
    for (range, outcome) in &table.get_ref().0 {
        match VersionRange::parse(range.get_ref()) {
            Ok(r) => expectations.push((r, *outcome.get_ref())),
            Err(e) => c.error(range.span(), "expect", e.to_string()),
        }
    }
    if table.get_ref().0.is_empty() {
        c.error(
            table.span(),
            "expect",
            "no expectation: add `\"*\" = \"not-reproduced\"` or ranges",
        );
    }
    Expectations(expectations)
}

/// What one variant runs: its own steps and observations, or the scenario's.
pub(super) struct Runs<'r> {
    pub steps: &'r [Spanned<Step>],
    pub observe: Option<&'r Observe>,
}

/// A plan's repeat and deadline, the variant's or the scenario's, checked and set; and what the
/// variant runs.
pub(super) fn settle<'r>(
    c: &mut Checker,
    raw: &'r ScenarioFile,
    plan: &mut VariantPlan,
) -> Runs<'r> {
    let variant = plan.index.map(|i| &raw.variants[i]);
    if let Some(repeat) = variant
        .and_then(|v| v.repeat.as_ref())
        .or(raw.repeat.as_ref())
    {
        let max = crate::scenario::bounds::REPEAT;
        if *repeat.get_ref() == 0 || *repeat.get_ref() > max {
            c.error(repeat.span(), "repeat", format!("between 1 and {max}"));
        }
        plan.repeat = (*repeat.get_ref()).clamp(1, max);
    }
    let steps = match variant {
        Some(v) if !v.steps.is_empty() => &v.steps,
        _ => &raw.steps,
    };
    plan.deadline = match variant
        .and_then(|v| v.deadline.as_ref())
        .or(raw.deadline.as_ref())
    {
        Some(d) => {
            let max = crate::scenario::bounds::DEADLINE;
            if d.get_ref().0 > max || d.get_ref().0.is_zero() {
                c.error(
                    d.span(),
                    "deadline",
                    format!("between 1s and {}", crate::scenario::duration::Dur(max)),
                );
            }
            d.get_ref().0
        }
        None => {
            crate::scenario::deadline::derive(steps.iter().map(|s| s.get_ref().word().budget()))
        }
    };
    Runs {
        steps,
        observe: variant
            .and_then(|v| v.observe.as_ref())
            .or(raw.observe.as_ref()),
    }
}
