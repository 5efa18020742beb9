//! `start = { instance = "hapB" }`: starts an instance declared with `start = "step"` and
//! records whether it became ready (a failure to start is evidence, not an error).

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::duration::Dur;
use crate::scenario::record::RecordKind;
use crate::scenario::case::CaseState;

/// Starts an instance declared with `start = "step"` and records whether it became ready.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartStep {
    pub instance: Spanned<String>,
    #[serde(default = "super::word::default_within")]
    pub within: Dur,
}

impl Word for StartStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most_time(
            "step.start.within",
            self.within.0,
            crate::scenario::bounds::DURATION,
        );
        if !cx.names.step_started.contains(self.instance.get_ref()) {
            cx.error_at(
                self.instance.span(),
                "step.start.instance",
                format!(
                    "{:?} is not an instance with start = \"step\"",
                    self.instance.get_ref()
                ),
            );
        }
        cx.record(self.instance.get_ref(), RecordKind::Start);
    }

    fn describe(&self) -> String {
        format!("start {} (within {})", self.instance.get_ref(), self.within)
    }

    fn budget(&self) -> Duration {
        self.within.0 + Duration::from_secs(20)
    }
}

impl Run for StartStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        crate::scenario::case::start_instance(state, self.instance.get_ref(), self.within.0).await
    }
}
