//! `log_lines = { role = "haproxy", contains = "is DOWN" }`: lines of a container's (or a
//! backend's) output containing a text.

use serde::Deserialize;
use toml::Spanned;

use super::word::{count, Cx, MeasureWord};
use crate::scenario::evidence::Evidence;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogMatch {
    pub role: Spanned<String>,
    pub contains: String,
}

impl MeasureWord for LogMatch {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        let field = cx.field.clone();
        cx.role(&self.role, &field);
    }

    fn compute(&self, ev: &Evidence) -> Result<f64, String> {
        let logs = ev.logs.get(self.role.get_ref()).ok_or_else(|| {
            format!(
                "no output kept for {} (its container never started, or its logs could not be read)",
                self.role.get_ref()
            )
        })?;
        count(
            logs.lines()
                .filter(|line| line.contains(&self.contains))
                .count(),
        )
    }
}
