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
    /// Every HAProxy instance that exited while the case ran (before teardown), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub haproxy_exit: Vec<HaproxyExit>,
}

/// An HAProxy instance that exited while its case ran: a death (after it was ready) or a
/// failure to start. Kept in `case.json`, whatever the outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HaproxyExit {
    pub instance: String,
    /// Milliseconds since the case started, when the harness learnt of it (Docker's wait).
    pub at_ms: u64,
    /// Docker's time of the exit (RFC 3339), when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    /// What was running then: `setup`, or `step 3 (api show info)`.
    pub during: String,
    pub exit_code: Option<i64>,
    /// The signal that ended the main process (from the exit code, 128 + N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(default)]
    pub oom_killed: bool,
    /// The instance had not become ready yet: a failure to start, a crash only when a fatal
    /// signal or HAProxy's own words say so.
    #[serde(default)]
    pub while_starting: bool,
    /// The end of its output (stdout and stderr, as Docker kept them).
    #[serde(default)]
    pub last_lines: Vec<String>,
    /// What HAProxy's dying output says: the condition, the panic, the call trace.
    #[serde(default)]
    pub last_words: crate::haproxy::LastWords,
    /// What became of its core dump: the evidence file, or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core: Option<String>,
    /// The backtrace from the core (`backtrace-<instance>.txt`), or why there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backtrace: Option<String>,
}

impl HaproxyExit {
    /// A death, not a failure to start: the instance had been ready, or it died of a fatal
    /// signal, or its last words show a crash.
    pub fn is_crash(&self) -> bool {
        !self.while_starting
            || self
                .signal
                .is_some_and(crate::haproxy::last_words::is_crash_signal)
            || self.last_words.shows_crash()
    }

    /// `SIGSEGV`, `exit 1`, `OOM-killed`: how it ended, in a word.
    pub fn how(&self) -> String {
        if self.oom_killed {
            return "OOM-killed".into();
        }
        match (self.signal, self.exit_code) {
            (Some(sig), _) => crate::haproxy::last_words::signal_name(sig)
                .map(String::from)
                .unwrap_or_else(|| format!("signal {sig}")),
            (None, Some(code)) => format!("exit {code}"),
            (None, None) => "exited".into(),
        }
    }

    /// One line: `haproxy SIGILL: BUG_ON(x) at src/cli.c:12`, for cells and timelines.
    pub fn headline(&self) -> String {
        match self.last_words.headline() {
            Some(words) => format!("{} {}: {words}", self.instance, self.how()),
            None => format!("{} {}", self.instance, self.how()),
        }
    }
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
