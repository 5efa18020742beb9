//! `exec = { in = "haproxy", command = ["ss", "-tn"] }`: a command inside a container.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::word::{first_lines, Cx, Run, Word};
use crate::scenario::record::RecordKind;
use crate::scenario::record::Recorded;
use crate::scenario::case::CaseState;
use crate::scenario::problem::{problem, Problem};

/// A command run inside a container (`ss`, `ps`); fails on a non-zero exit. Arguments may use
/// the template's placeholders (`{{ s1.ip }}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecStep {
    #[serde(rename = "in")]
    pub container: Spanned<String>,
    pub command: Vec<String>,
    #[serde(default)]
    pub record: Option<String>,
}

impl Word for ExecStep {
    fn check(&self, cx: &mut Cx<'_, '_, '_>) {
        cx.role(&self.container, "step.exec.in");
        if self.command.is_empty() {
            cx.error("step.exec.command", "an empty command");
        }
        if let Some(r) = &self.record {
            cx.record(r, RecordKind::Exec);
        }
    }

    fn describe(&self) -> String {
        format!(
            "exec in {}: {}",
            self.container.get_ref(),
            self.command.join(" ")
        )
    }

    fn budget(&self) -> Duration {
        crate::scenario::deadline::EXEC
    }

    fn record(&self) -> Option<&str> {
        self.record.as_deref()
    }
}

impl Run for ExecStep {
    async fn run(&self, state: &mut CaseState<'_>) -> Result<String, Problem> {
        let e = self;
        let container = state
            .live.containers
            .iter()
            .find(|c| &c.role == e.container.get_ref())
            .ok_or_else(|| format!("no container {:?} (not started?)", e.container.get_ref()))?
            .clone();
        let rendered = e
            .command
            .iter()
            .map(|arg| {
                crate::scenario::template::render(arg, &state.values).map_err(|errors| {
                    format!(
                        "in {arg:?}: {}",
                        errors
                            .iter()
                            .map(|e| e.message.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cmd: Vec<&str> = rendered.iter().map(String::as_str).collect();
        let out = state
            .live.sandbox
            .exec(&container, &cmd)
            .await
            .map_err(|e| problem(&e))?;
        if out.exit_code != 0 {
            return Err(format!(
                "exited {}: {}",
                out.exit_code,
                first_lines(&format!("{}{}", out.stderr, out.stdout), 3)
            ).into());
        }
        let detail = format!(
            "{} line(s): {}",
            out.stdout.lines().count(),
            first_lines(&out.stdout, 2)
        );
        if let Some(name) = &e.record {
            state.kept.records.insert(
                name.clone(),
                Recorded::Api {
                    command: e.command.join(" "),
                    answer: out.stdout,
                },
            );
        }
        Ok(detail)
    }
}
