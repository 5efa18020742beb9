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
    /// What ran it on what: a merge checks records belong together with it.
    #[serde(default)]
    pub provenance: Provenance,
}

/// Where a record comes from. Records of CI shards, retried jobs and other days meet in
/// `report merge`; this is what lets it name a case that is missing, doubled, or measured on
/// another text of the scenario instead of drawing a matrix that only looks whole.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provenance {
    /// The haprepro that ran the case (its package version).
    #[serde(default)]
    pub haprepro: String,
    /// The scenario's digest (its file and templates), as [`crate::scenario::Scenario`] has it.
    #[serde(default)]
    pub scenario_digest: String,
    /// The ID of the image the case ran (`sha256:...`), read once when the run resolved it.
    #[serde(default)]
    pub image_id: String,
    /// Set by `matrix`: the plan the case was part of and its item there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planned: Option<Planned>,
}

/// A case's place in a matrix's plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Planned {
    /// The plan's digest: equal for every shard of one matrix, and for its retried jobs.
    pub plan: String,
    /// `scenario[/variant]@<--versions item>`: known before any image is resolved, so every
    /// shard can list the cases of the others.
    pub item: String,
}

/// `plan.json`, written by `matrix` into its run folder before the first case starts: every
/// case of the matrix, this shard's and the others', so a merge of the shards' folders can
/// name the cases that none of them holds (a shard that never ran, or was cut short).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Plan {
    pub plan: String,
    pub run_id: String,
    /// `K/N` when the run was one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    pub haprepro: String,
    /// Every item of every shard, in the plan's order.
    pub items: Vec<String>,
}

impl Plan {
    /// The plan of `items` (every shard's), cut into `shards` parts: its digest depends on
    /// nothing else, so each shard of one matrix, and a retried shard, compute the same.
    pub fn new(run_id: &str, items: Vec<String>, shard: Option<(usize, usize)>) -> Plan {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for item in &items {
            h.update(item.as_bytes());
            h.update([0]);
        }
        h.update((shard.map_or(1, |(_, n)| n) as u64).to_le_bytes());
        Plan {
            plan: hex::encode(&h.finalize()[..8]),
            run_id: run_id.to_string(),
            shard: shard.map(|(k, n)| format!("{k}/{n}")),
            haprepro: haprepro_version().to_string(),
            items,
        }
    }
}

/// The version written into every record and plan.
pub fn haprepro_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
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
    /// Set when the container was stopped from outside the case (a Docker daemon restart, a
    /// `docker stop`), with what showed it: then the exit is no death of HAProxy's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_from_outside: Option<String>,
}

impl HaproxyExit {
    /// A death, not a failure to start: the instance had been ready, or it died of a fatal
    /// signal, or its last words show a crash.
    pub fn is_crash(&self) -> bool {
        if self.stopped_from_outside.is_some() {
            return false;
        }
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
        crate::case_id::row(&self.scenario, self.variant.as_deref())
    }
}
