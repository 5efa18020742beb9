//! The matrix of a run as a Markdown table a person reads (in a terminal, a pull request, a
//! CI job summary): a row per scenario variant, a column per HAProxy build in version order.
//!
//! A cell says first what was measured, as a coloured square (Markdown has no colours, emoji
//! squares render everywhere that matters): which versions have the bug is the question a
//! reader comes with. The verdict against the scenario's expectation is the mark after it.

use std::path::Path;

use super::{cell_at, cells, columns, rows, CaseRecord, Cell};
use crate::verdict::{Outcome, Verdict};

/// Writes `matrix.json` and `matrix.md` into `dir` (the run's folder).
pub fn write(dir: &Path, records: &[CaseRecord]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_string_pretty(records).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("matrix.json"), json)?;
    std::fs::write(dir.join("matrix.md"), markdown(records))
}

/// What each square and mark means, as printed under the table.
pub const LEGEND: &str = "🟥 reproduced (the bug's symptom was measured) · 🟩 not reproduced \
     (the steps ran, no symptom) · 🟪 crashed (HAProxy died; how, in brackets) · 🟨 error (the \
     experiment could not run) · `k/n`: runs that \
     reproduced — ✓ as expected · ✗ **FAIL**: not as expected · ? no expectation for this \
     version";

/// The table, the legend, the builds behind the columns, and what did not pass.
pub fn markdown(records: &[CaseRecord]) -> String {
    let columns = columns(records);
    let cells = cells(records);
    let mut out = String::from("| scenario |");
    for c in &columns {
        out.push_str(&format!(" {} |", c.version));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(columns.len()));
    out.push('\n');
    for row in rows(records) {
        out.push_str(&format!("| {row} |"));
        for column in &columns {
            let cell = cell_at(&cells, &row, column)
                .map(cell_text)
                .unwrap_or_default();
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str(&format!("\n{LEGEND}\n\nBuilds:\n"));
    for c in &columns {
        out.push_str(&format!(
            "- **{}**: HAProxy `{}`, {} (`{}`)\n",
            c.version, c.full, c.source, c.image
        ));
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

/// The square of an outcome.
pub fn square(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Reproduced => "🟥",
        Outcome::NotReproduced => "🟩",
        Outcome::Crashed => "🟪",
        Outcome::Error => "🟨",
    }
}

/// The mark of a verdict: `✓`, `✗ **FAIL**`, `?` (no expectation), `✗` (could not run: the
/// square already says error).
pub fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "✓",
        Verdict::Fail => "✗ **FAIL**",
        Verdict::NoExpectation => "? no expectation",
        Verdict::Error => "✗",
    }
}

/// `🟥 reproduced ✓`, `🟩 not reproduced ✗ **FAIL**`, `🟥 reproduced 3/8 ✓`.
pub fn cell_text(c: &Cell) -> String {
    let outcome = c.outcome();
    let rate = c
        .rate()
        .map(|(k, n)| format!(" {k}/{n}"))
        .unwrap_or_default();
    let crash = c
        .crash()
        .map(|words| format!(" ({})", words.replace('|', "\\|")))
        .unwrap_or_default();
    format!(
        "{} {}{rate}{crash} {}",
        square(outcome),
        outcome_words(outcome),
        mark(c.verdict())
    )
}

/// The outcome as the matrix writes it.
pub fn outcome_words(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Reproduced => "reproduced",
        Outcome::NotReproduced => "not reproduced",
        Outcome::Crashed => "crashed",
        Outcome::Error => "error",
    }
}
