//! `capture = { start = "syn", from = "haproxy" }` / `capture = { stop = true }`: a SYN capture
//! of one role, started and stopped between steps.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{Cx, Run, Word};
use crate::scenario::problem::Problem;
use crate::scenario::case::CaseState;
use crate::scenario::case::start_capture;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureStep {
    /// `syn`: start capturing the SYNs of `from`.
    #[serde(default)]
    pub start: Option<Spanned<String>>,
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    #[serde(default)]
    pub stop: Option<bool>,
}

impl Word for CaptureStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        match (&self.start, self.stop) {
            (Some(start), None) => {
                if start.get_ref() != "syn" {
                    cx.error_at(
                        start.span(),
                        "step.capture.start",
                        "only \"syn\" captures exist",
                    );
                }
                match &self.from {
                    Some(from) => {
                        cx.role(from, "step.capture.from");
                        cx.flow.capture = Some(from.get_ref().clone());
                        cx.flow.captured.insert(from.get_ref().clone());
                    }
                    None => cx.error("step.capture.from", "say whose SYNs: from = \"haproxy\""),
                }
            }
            (None, Some(true)) => {
                if cx.flow.capture.take().is_none() {
                    cx.error("step.capture.stop", "no capture is running here");
                }
            }
            _ => cx.error(
                "step.capture",
                "either start = \"syn\" (with from) or stop = true",
            ),
        }
    }

    fn describe(&self) -> String {
        match &self.from {
            Some(f) => format!("capture SYNs from {}", f.get_ref()),
            None => "capture stop".into(),
        }
    }

    fn budget(&self) -> Duration {
        Duration::from_secs(5)
    }
}

impl Run for CaptureStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        if self.stop == Some(true) {
            let summary = state
                .stop_capture()
                .await
                .ok_or("no capture is running")??;
            return Ok(format!(
                "stopped: {} packets, {} SYNs",
                summary.packets, summary.syns
            ));
        }
        let from = self.from.as_ref().ok_or("capture needs from")?;
        start_capture(state, from.get_ref()).await?;
        Ok(format!(
            "capturing SYNs from {} on {}",
            from.get_ref(),
            state.live.sandbox.network().bridge
        ))
    }
}
