//! Outcomes and verdicts, the words every part shares: what a case measured, and whether that
//! is what was expected. A leaf module (it imports nothing of haprepro), so the scenario runner
//! and the report both use it without importing each other.

use serde::{Deserialize, Serialize};

/// What a case measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The bug's symptom was observed.
    Reproduced,
    /// The scenario ran to the end and the symptom was absent.
    NotReproduced,
    /// HAProxy died during the case and the scenario did not name the death as its symptom:
    /// a result about HAProxy (its exit, signal and last words are kept), never a harness
    /// problem, and never a skip in a bisect.
    Crashed,
    /// The harness could not run the experiment (the record says why).
    Error,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Outcome::Reproduced => "reproduced",
            Outcome::NotReproduced => "not-reproduced",
            Outcome::Crashed => "crashed",
            Outcome::Error => "error",
        })
    }
}

/// Measured against expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    /// No `[expect]` range covers the version: reported, never counted as a pass.
    NoExpectation,
    /// The case could not run.
    Error,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::NoExpectation => "no expectation",
            Verdict::Error => "error",
        })
    }
}

/// The verdict for a measured outcome given what was expected.
pub fn verdict(measured: Outcome, expected: Option<Outcome>) -> Verdict {
    match (measured, expected) {
        (Outcome::Error, _) => Verdict::Error,
        (_, None) => Verdict::NoExpectation,
        (m, Some(e)) if m == e => Verdict::Pass,
        _ => Verdict::Fail,
    }
}
