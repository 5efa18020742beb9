//! `answer_lines = { record = "r", contains = "..." }`: lines of a recorded answer (api, exec
//! or removable) that contain a text.

use serde::Deserialize;

use super::{answer, count, MeasureCx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::loader::RecordKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerMatch {
    pub record: String,
    pub contains: String,
}

impl MeasureWord for AnswerMatch {
    fn check(&self, cx: &mut MeasureCx<'_, '_, '_>) {
        cx.record(
            &self.record,
            &RecordKind::is_text,
            "a text answer (api, exec or removable)",
        );
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let answer = answer(ev, &self.record)?;
        count(
            answer
                .lines()
                .filter(|l| l.contains(&self.contains))
                .count(),
        )
    }

    fn record(&self) -> Option<&str> {
        Some(&self.record)
    }
}
