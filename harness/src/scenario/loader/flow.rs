//! The flow's checks, variant by variant: its steps then its measures in file order, each by its
//! word ([`Flow`] carries what earlier ones left: records, captures, servers named), the servers
//! named against the variant's rendered configs, and the symptom and validity conditions over
//! its measures.

use std::collections::BTreeSet;

use toml::Spanned;

use super::templates::Configs;
use super::variants::Runs;
use crate::scenario::check::{Checker, Cx, Flow, Names};
use crate::scenario::expr::Condition;
use crate::scenario::model::{Measure, Step};
use crate::scenario::plan::VariantPlan;

/// One variant's steps and observations, with `capture` the role whose SYNs the topology's
/// capture takes from the start; sets the plan's symptom and validity conditions.
pub(super) fn check(
    c: &mut Checker,
    names: &Names,
    capture: Option<String>,
    runs: Runs,
    configs: &Configs,
    plan: &mut VariantPlan,
) {
    let Some(observe) = runs.observe else {
        c.error(
            0..0,
            "observe",
            "no [observe] for the scenario or this variant",
        );
        return;
    };
    let mut flow = Flow::new(capture);
    for step in runs.steps {
        check_step(c, names, step, &mut flow);
    }
    let mut measures = BTreeSet::new();
    for (name, measure) in &observe.measure {
        measures.insert(name.clone());
        check_measure(c, names, &mut flow, name, measure);
    }
    flow.check_servers(c, names, configs);
    if let Some(cond) = condition(
        c,
        &measures,
        &observe.reproduced_if,
        "observe.reproduced_if",
    ) {
        plan.reproduced_if = cond;
    }
    plan.valid_if = observe
        .valid_if
        .iter()
        .filter_map(|v| condition(c, &measures, v, "observe.valid_if"))
        .collect();
}

/// A step's load-time checks are its word's (`step/<word>.rs`).
fn check_step(c: &mut Checker, names: &Names, step: &Spanned<Step>, flow: &mut Flow) {
    let mut cx = Cx {
        c,
        names,
        flow,
        span: step.span(),
        field: "step".into(),
    };
    step.get_ref().word().check(&mut cx);
}

/// A measure's load-time checks are its own (`measure/<name>.rs`).
fn check_measure(
    c: &mut Checker,
    names: &Names,
    flow: &mut Flow,
    name: &str,
    measure: &Spanned<Measure>,
) {
    let mut cx = Cx {
        c,
        names,
        flow,
        span: measure.span(),
        field: format!("observe.measure.{name}"),
    };
    measure.get_ref().word().check(&mut cx);
}

/// A condition over the variant's measures: it parses, and every measure it names is defined.
fn condition(
    c: &mut Checker,
    measures: &BTreeSet<String>,
    text: &Spanned<String>,
    field: &str,
) -> Option<Condition> {
    match Condition::parse(text.get_ref()) {
        Ok(cond) => {
            for m in cond.measures() {
                if !measures.contains(m) {
                    let known = measures.iter().cloned().collect::<Vec<_>>().join(", ");
                    c.error(
                        text.span(),
                        field,
                        format!("undefined measure {m:?}: [observe.measure] defines {known}"),
                    );
                }
            }
            Some(cond)
        }
        Err(e) => {
            c.error(text.span(), field, e);
            None
        }
    }
}
