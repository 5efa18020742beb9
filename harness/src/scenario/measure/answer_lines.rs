//! `answer_lines = { record = "r", contains = "..." }`: lines of a recorded answer (api, exec
//! or removable) that contain a text.

use serde::Deserialize;

use super::word::{answer, count, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;
use crate::scenario::record::RecordKind;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerMatch {
    pub record: String,
    pub contains: String,
}

impl MeasureWord for AnswerMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.reads(
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
