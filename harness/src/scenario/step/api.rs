//! `api = { command = "show servers state", record = "..." }`: one runtime API command.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{first_lines, Cx, Run, Word};
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;
use crate::scenario::problem::Problem;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiStep {
    pub command: String,
    /// The HAProxy instance; the first one by default.
    #[serde(default)]
    pub on: Option<Spanned<String>>,
    /// Keeps the answer under this name, for `[observe.measure]` and the evidence folder.
    #[serde(default)]
    pub record: Option<String>,
    /// The step fails unless the answer contains this text.
    #[serde(default)]
    pub expect_contains: Option<String>,
}

impl Word for ApiStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.instance(&self.on, "step.api.on");
        let words: Vec<&str> = self.command.split_whitespace().collect();
        if let ["add", "server", id, ..] = words.as_slice() {
            cx.flow.added.insert(id.to_string());
        }
        if let Some(r) = &self.record {
            let kind = RecordKind::Api {
                command: self.command.clone(),
                instance: cx.target(&self.on),
            };
            cx.record(r, kind);
        }
    }

    fn describe(&self) -> String {
        format!("api {}", self.command)
    }

    fn budget(&self) -> Duration {
        crate::haproxy::DEFAULT_TIMEOUT
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }
}

impl Run for ApiStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let on = self.on.as_ref().map(|o| o.get_ref().as_str());
        let answer = state
            .instance(on)?
            .api
            .command(&self.command)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(wanted) = &self.expect_contains {
            if !answer.contains(wanted.as_str()) {
                return Err(format!(
                    "answer does not contain {wanted:?}: {}",
                    first_lines(&answer, 5)
                ).into());
            }
        }
        let detail = first_lines(&answer, 2);
        if let Some(name) = &self.record {
            state.kept.records.insert(
                name.clone(),
                Recorded::Api {
                    command: self.command.clone(),
                    answer,
                },
            );
        }
        Ok(detail)
    }
}
