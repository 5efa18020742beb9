//! The record of one case: everything needed to judge it later without rerunning it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::verdict::{Outcome, Verdict};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRecord {
    pub scenario: String,
    /// The variant, when the scenario has several.
    #[serde(default)]
    pub variant: Option<String>,
    /// `scenario[/variant]@version`, unique within a run.
    pub case: String,
    pub run_id: String,
    pub image: String,
    pub image_source: String,
    /// The version `haproxy -v` printed in the image.
    pub version: String,
    pub started_at: String,
    /// When the case started, in milliseconds since the Unix epoch: the origin of the step
    /// times (`at_ms`), to place evidence stamped with wall-clock times (DNS queries, SYNs,
    /// HAProxy's log) on the same axis.
    #[serde(default)]
    pub started_unix_ms: u64,
    /// From the sandbox's creation to its removal.
    pub wall_ms: u64,
    /// The part of `wall_ms` spent before the first step (network, containers, readiness).
    pub setup_ms: u64,
    pub steps: Vec<StepRecord>,
    pub measures: BTreeMap<String, f64>,
    pub outcome: Outcome,
    /// Why: the condition with the measured values, or what stopped the case.
    pub reason: String,
    pub expected: Option<Outcome>,
    pub expected_range: Option<String>,
    pub verdict: Verdict,
    pub evidence_dir: PathBuf,
    /// Files in `evidence_dir`.
    pub evidence: Vec<String>,
    /// For a racy case (`repeat` in the scenario): how often the symptom appeared.
    #[serde(default)]
    pub repeat: Option<RepeatSummary>,
    /// Set when the case could not run for a reason that is not the scenario's (no Docker, no
    /// image, no capture permission, a missing program): every other case would hit it too, so
    /// a matrix stops at the first one instead of filling its cells with `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub harness_error: Option<String>,
}

/// How a repeated case went, run by run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepeatSummary {
    pub runs: u32,
    /// Runs that ran to a measured outcome (`runs - errors`); the case is `error` unless all did.
    #[serde(default)]
    pub ran: u32,
    pub reproduced: u32,
    pub errors: u32,
    pub each: Vec<RunSummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub outcome: crate::verdict::Outcome,
    pub reason: String,
    pub evidence_dir: PathBuf,
}

/// One line of the timeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    /// 1-based, as in the scenario file; 0 for setup.
    pub index: usize,
    pub action: String,
    /// Milliseconds since the case started.
    pub at_ms: u64,
    pub elapsed_ms: u64,
    pub ok: bool,
    /// What was seen: the state reached, the answer, or why the step failed.
    pub detail: String,
}

impl CaseRecord {
    /// The matrix row this case belongs to: `scenario`, or `scenario/variant`.
    pub fn row(&self) -> String {
        match &self.variant {
            Some(v) => format!("{}/{v}", self.scenario),
            None => self.scenario.clone(),
        }
    }
}
