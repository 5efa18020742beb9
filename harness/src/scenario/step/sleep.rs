//! `sleep = { for = "3s", because = "..." }`: a pause, only where the bug itself is
//! time-bound (never to wait for HAProxy: that is a `wait`).

use std::time::Duration;

use serde::Deserialize;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::duration::Dur;
use crate::scenario::case::CaseState;

/// A pause, only where the bug itself is time-bound; `because` says why, in the timeline.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepStep {
    #[serde(rename = "for")]
    pub duration: Dur,
    pub because: String,
}

impl Word for SleepStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.at_most_time(
            "step.sleep.for",
            self.duration.0,
            crate::scenario::bounds::SLEEP,
        );
        if self.because.trim().is_empty() {
            cx.error(
                "step.sleep.because",
                "say why the bug needs time to pass here",
            );
        }
    }

    fn describe(&self) -> String {
        format!("sleep {}", self.duration)
    }

    fn budget(&self) -> Duration {
        self.duration.0
    }

    fn cost(&self) -> f64 {
        self.duration.0.as_secs_f64()
    }
}

impl Run for SleepStep {
    async fn run(&self, _state: &mut CaseState<'_>) -> Result<String, Problem> {
        tokio::time::sleep(self.duration.0).await;
        Ok(format!("slept {} because {}", self.duration, self.because))
    }
}
