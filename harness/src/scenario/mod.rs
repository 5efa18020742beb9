//! Scenarios: one bug report turned into an experiment, read from `scenarios/<name>/`.
//!
//! A scenario file reads top to bottom like the report: the topology, the steps in the order
//! they run (one action each), the measures taken from the evidence, the symptom
//! (`reproduced_if`) and the expected outcome per version range. Loading checks all of it
//! before anything starts ([`load`]); [`run_variant`] runs it as one case per HAProxy image, in the
//! stages of `run/`.

mod bounds;
mod case;
mod check;
mod contain;
mod deadline;
mod duration;
mod error;
mod evidence;
mod expr;
#[cfg(test)]
mod layers;
mod loader;
mod measure;
mod model;
mod outcome;
mod plan;
mod problem;
mod record;
pub mod reference;
mod run;
mod step;
pub mod template;
mod watch;
mod words;

pub use error::ScenarioError;
pub use expr::Condition;
pub use loader::{load, load_with};
pub use model::{ScenarioFile, Step};
pub use outcome::{verdict, Expectations, Outcome, Verdict};
pub use plan::{describe, find, list, Scenario, Template, VariantPlan, SCENARIO_FILE};
pub use run::{run_case, run_variant, CaseEvent, RunOptions};
