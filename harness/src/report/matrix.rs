//! The matrix of a run: scenario x version, as JSON and as a Markdown table a person reads.

use std::path::Path;

use super::{cells, versions, CaseRecord, Cell};
use crate::verdict::Verdict;

/// Writes `matrix.json` and `matrix.md` into `dir` (the run's folder).
pub fn write(dir: &Path, records: &[CaseRecord]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(records).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("matrix.json"), json)?;
    std::fs::write(dir.join("matrix.md"), markdown(records))
}

/// One row per scenario, one column per version; each cell the verdict and the measured
/// outcome (`R 3/20` with `--repeat`), so a mismatch shows what was measured instead of what
/// was hoped.
pub fn markdown(records: &[CaseRecord]) -> String {
    let versions = versions(records);
    let cells = cells(records);
    let mut scenarios: Vec<&str> = cells.iter().map(|c| c.scenario.as_str()).collect();
    scenarios.dedup();
    let mut out = String::from("| scenario |");
    for v in &versions {
        out.push_str(&format!(" {v} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(versions.len()));
    out.push('\n');
    for s in scenarios {
        out.push_str(&format!("| {s} |"));
        for v in &versions {
            let cell = cells
                .iter()
                .find(|c| c.scenario == s && &c.version == v)
                .map(cell_text)
                .unwrap_or_default();
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    let failed: Vec<&Cell> = cells
        .iter()
        .filter(|c| c.verdict() != Verdict::Pass)
        .collect();
    if !failed.is_empty() {
        out.push_str("\n## Not passing\n\n");
        for c in failed {
            let Some(r) = c.representative() else {
                continue;
            };
            let runs = if c.runs.len() > 1 {
                format!(" ({} runs: {})", c.runs.len(), c.measured())
            } else {
                String::new()
            };
            out.push_str(&format!(
                "- **{}**: {}{runs} — measured {} ({}), expected {}; evidence `{}`\n",
                c.name(),
                c.verdict(),
                r.outcome,
                r.reason,
                r.expected
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| "nothing".into()),
                r.evidence_dir.display()
            ));
        }
    }
    out
}

/// `pass (not-reproduced)`, `**FAIL** (R 3/20)`.
pub fn cell_text(c: &Cell) -> String {
    let mark = match c.verdict() {
        Verdict::Pass => "pass",
        Verdict::Fail => "**FAIL**",
        Verdict::NoExpectation => "no expectation",
        Verdict::Error => "**ERROR**",
    };
    format!("{mark} ({})", c.measured())
}
