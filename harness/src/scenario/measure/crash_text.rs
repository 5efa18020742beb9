//! `crash_text = { instance = "haproxy", contains = "src/cli.c" }`: 1 when the instance died
//! and its last output contains the text (a `BUG_ON` condition, a file:line, a frame of the
//! call trace), 0 otherwise.

use serde::Deserialize;
use toml::Spanned;

use super::crashed::{death, instance};
use super::word::{Cx, MeasureWord};
use crate::scenario::evidence::Evidence;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrashTextMatch {
    pub instance: Spanned<String>,
    pub contains: Spanned<String>,
}

impl MeasureWord for CrashTextMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        instance(cx, &self.instance);
        if self.contains.get_ref().is_empty() {
            cx.error_here_at(self.contains.span(), "an empty text matches every death");
        }
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let said = death(ev, self.instance.get_ref()).is_some_and(|d| {
            d.last_lines
                .iter()
                .any(|l| l.contains(self.contains.get_ref().as_str()))
        });
        Ok(if said { 1.0 } else { 0.0 })
    }

    fn names_a_crash(&self) -> bool {
        true
    }
}
