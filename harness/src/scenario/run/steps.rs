//! The steps stage: the setup (shown as step 0), then the scenario's steps in file order, each
//! within the case deadline and cut short by a death of HAProxy. The first failure ends the
//! stage; it is returned for the verdict, never read back from the state.

use std::time::Instant;

use crate::report::{CaseRecord, StepRecord};
use crate::scenario::case::CaseState;
use crate::scenario::problem::{Failure, Problem};

use super::case::{Case, CaseEvent};

/// Runs the setup, then the steps while they pass; each step's record joins `record.steps` and
/// is reported as it ends. Returns the first failure.
pub(crate) async fn run(
    case: &Case<'_>,
    state: &mut CaseState<'_>,
    record: &mut CaseRecord,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> Option<Failure> {
    let setup = tokio::time::timeout_at(case.deadline, super::setup::setup(case, state))
        .await
        .unwrap_or_else(|_| Err(case.overran().into()));
    record.setup_ms = state.ms();
    let step = step_record(0, "setup".into(), 0, record.setup_ms, &setup);
    report(case, record, step, on_event);
    crate::failpoint::hit("setup");
    if let Err(e) = setup {
        return Some(Failure::new("setup", e));
    }
    let death = state.live.watch.handle();
    for (i, step) in case.scenario.steps_of(case.variant).iter().enumerate() {
        let at_ms = state.ms();
        let t = Instant::now();
        let action = step.get_ref().word().describe();
        state
            .live
            .watch
            .set_during(format!("step {} ({action})", i + 1));
        // A death ends the step at once: the step's own timeout would only say "timed out".
        let result = tokio::select! {
            result = tokio::time::timeout_at(case.deadline, step.get_ref().run(state)) => {
                result.unwrap_or_else(|_| Err(case.overran().into()))
            }
            exit = death.death() => Err(Problem::Case(match &exit.stopped_from_outside {
                Some(_) => format!("{} was stopped from outside the case", exit.instance),
                None => format!("HAProxy died: {}", exit.headline()),
            })),
        };
        let elapsed = t.elapsed().as_millis() as u64;
        let step = step_record(i + 1, action.clone(), at_ms, elapsed, &result);
        report(case, record, step, on_event);
        crate::failpoint::hit("steps");
        if let Err(e) = result {
            return Some(Failure::new(format!("step {} ({action})", i + 1), e));
        }
    }
    None
}

fn step_record(
    index: usize,
    action: String,
    at_ms: u64,
    elapsed_ms: u64,
    result: &Result<String, Problem>,
) -> StepRecord {
    StepRecord {
        index,
        action,
        at_ms,
        elapsed_ms,
        ok: result.is_ok(),
        detail: match result {
            Ok(detail) => detail.clone(),
            Err(problem) => problem.to_string(),
        },
    }
}

fn report(
    case: &Case<'_>,
    record: &mut CaseRecord,
    step: StepRecord,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) {
    on_event(CaseEvent::Step {
        case: &case.name,
        step: &step,
    });
    record.steps.push(step);
}
