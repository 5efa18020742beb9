//! What runs write under `results/<run-id>/`: per case a folder with `case.json` (steps,
//! timings, measures, outcome, expectation, verdict) beside its evidence files, and for a
//! matrix the views a person or a CI server reads: `matrix.json`, `matrix.md`, `matrix.html`
//! and `junit.xml`.
//!
//! Every view is drawn from the same list of [`CaseRecord`]s, grouped into [`Cell`]s (one per
//! scenario x version, holding every repeat of that case), so a matrix written at the end of a
//! run and one merged later from CI shards ([`merge`]) are the same page.

pub mod html;
pub mod junit;
pub mod matrix;
pub mod merge;
mod record;
pub mod timeline;

pub use record::{
    haprepro_version, CaseRecord, HaproxyExit, Plan, Planned, Provenance, RepeatSummary,
    RunSummary, StepRecord,
};

use std::path::{Component, Path, PathBuf};

use crate::haproxy::HaproxyVersion;
use crate::verdict::{Outcome, Verdict};

/// Writes `case.json` into the case's evidence folder, whole or not at all.
pub fn write_case(record: &CaseRecord) -> std::io::Result<()> {
    std::fs::create_dir_all(&record.evidence_dir)?;
    let json = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
    write_atomic(&record.evidence_dir.join("case.json"), json.as_bytes())
}

/// Writes a file whole or not at all: into a temporary file beside it, flushed to disk, then
/// renamed over it. A full disk, or a process killed in the middle, leaves the old file (or
/// none), never half of one: `report merge` and the nightly read these files later.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other(format!("{}: no file name", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        crate::failpoint::hit_write(&name.to_string_lossy());
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Reads a `case.json` back (for merging shard results).
pub fn read_case(path: &Path) -> std::io::Result<CaseRecord> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}

/// Writes every view of a matrix into `dir`: `matrix.json` (the records), `matrix.md`,
/// `matrix.html` and `junit.xml`. Returns the files written.
pub fn write_all(dir: &Path, records: &[CaseRecord]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut put = |name: &str, contents: String| -> std::io::Result<()> {
        let path = dir.join(name);
        write_atomic(&path, contents.as_bytes())?;
        written.push(path);
        Ok(())
    };
    put(
        "matrix.json",
        serde_json::to_string_pretty(records).map_err(std::io::Error::other)?,
    )?;
    put("matrix.md", matrix::markdown(records))?;
    put("matrix.html", html::page(records, dir))?;
    put(
        "junit.xml",
        junit::xml(records).map_err(std::io::Error::other)?,
    )?;
    Ok(written)
}

/// A column of the matrix: one HAProxy build, as measured in its image, from one source. Two
/// images of the same upstream version (a Debian build and the official one) are two columns:
/// their patches differ, and so may the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The upstream version (`3.0.11`), the column's title.
    pub version: String,
    /// As `haproxy -v` printed it inside the image (`3.0.11-1+deb13u4`).
    pub full: String,
    /// Where the image came from, in words (`Debian trixie (built offline)`).
    pub source: String,
    /// The image reference.
    pub image: String,
}

impl Column {
    fn of(r: &CaseRecord) -> Column {
        Column {
            version: crate::images::short_version(&r.version),
            full: r.version.clone(),
            source: r.image_source.clone(),
            image: r.image.clone(),
        }
    }

    fn same(&self, r: &CaseRecord) -> bool {
        self.full == r.version && self.source == r.image_source
    }
}

/// The columns of the records in HAProxy's version order (then by source).
pub fn columns(records: &[CaseRecord]) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    for r in records {
        if !columns.iter().any(|c| c.same(r)) {
            columns.push(Column::of(r));
        }
    }
    columns.sort_by(|a, b| {
        (version_key(&a.version), &a.full, &a.source).cmp(&(
            version_key(&b.version),
            &b.full,
            &b.source,
        ))
    });
    columns
}

/// The rows of the records: a scenario, or one row per variant (`scenario/variant`), by name.
pub fn rows(records: &[CaseRecord]) -> Vec<String> {
    let mut rows: Vec<String> = records.iter().map(|r| r.row()).collect();
    rows.sort();
    rows.dedup();
    rows
}

/// One case of the matrix (a scenario variant on a HAProxy build) with all its runs: one run,
/// or `--repeat N`.
#[derive(Debug, Clone)]
pub struct Cell<'a> {
    /// The matrix's row: the scenario, or `scenario/variant`.
    pub scenario: String,
    /// The short version (`3.0.11`), the title of the cell's column.
    pub version: String,
    pub column: Column,
    pub runs: Vec<&'a CaseRecord>,
}

impl Cell<'_> {
    /// The outcome the cell shows (its colour): `crashed` if HAProxy died in any run (a death
    /// is never outweighed), `reproduced` if any run saw the symptom (a racy bug is there even
    /// if it shows once), `error` if no run could run, else `not-reproduced`.
    pub fn outcome(&self) -> Outcome {
        let any = |o: Outcome| self.runs.iter().any(|r| r.outcome == o);
        if any(Outcome::Crashed) {
            Outcome::Crashed
        } else if any(Outcome::Reproduced) {
            Outcome::Reproduced
        } else if self.runs.is_empty() || self.runs.iter().all(|r| r.outcome == Outcome::Error) {
            Outcome::Error
        } else {
            Outcome::NotReproduced
        }
    }

    /// How often the symptom appeared, for a cell of several runs (a racy case's own repeats,
    /// or `--repeat`): `(reproduced, runs)`.
    pub fn rate(&self) -> Option<(u32, u32)> {
        match self.runs.as_slice() {
            [one] => one.repeat.as_ref().map(|rep| (rep.reproduced, rep.runs)),
            runs => Some((self.count(Outcome::Reproduced) as u32, runs.len() as u32)),
        }
    }

    /// `pass` only when every run passed; else the worst: a fail, then an error, then a run
    /// without expectation.
    pub fn verdict(&self) -> Verdict {
        let any = |v: Verdict| self.runs.iter().any(|r| r.verdict == v);
        if self.runs.is_empty() {
            Verdict::Error
        } else if any(Verdict::Fail) {
            Verdict::Fail
        } else if any(Verdict::Error) {
            Verdict::Error
        } else if any(Verdict::NoExpectation) {
            Verdict::NoExpectation
        } else {
            Verdict::Pass
        }
    }

    /// How many runs measured this outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.runs.iter().filter(|r| r.outcome == outcome).count()
    }

    /// The run to show first: the first that did not pass, else the first.
    pub fn representative(&self) -> Option<&CaseRecord> {
        self.runs
            .iter()
            .find(|r| r.verdict != Verdict::Pass)
            .or_else(|| self.runs.first())
            .copied()
    }

    /// The measured outcome in words: `reproduced` for one run (`reproduced, 4 of 8 runs` for a
    /// racy case that repeats itself; `error: 7 of 8 runs ran, symptom in 3` when one could
    /// not run), `R 3/20` (and `E 1` for runs that could not run) for
    /// `--repeat`.
    pub fn measured(&self) -> String {
        match self.runs.as_slice() {
            [one] => match &one.repeat {
                Some(rep) if rep.errors > 0 => format!(
                    "{}: {} of {} runs ran, symptom in {}",
                    one.outcome,
                    rep.runs - rep.errors,
                    rep.runs,
                    rep.reproduced
                ),
                Some(rep) => format!("{}, {} of {} runs", one.outcome, rep.reproduced, rep.runs),
                None => one.outcome.to_string(),
            },
            runs => {
                let mut text = format!("R {}/{}", self.count(Outcome::Reproduced), runs.len());
                let errors = self.count(Outcome::Error);
                if errors > 0 {
                    text.push_str(&format!(", E {errors}"));
                }
                text
            }
        }
    }

    /// The first death of HAProxy among the runs, in one line (`haproxy SIGSEGV: ...`).
    pub fn crash(&self) -> Option<String> {
        self.runs
            .iter()
            .flat_map(|r| &r.haproxy_exit)
            .find(|e| e.is_crash())
            .map(|e| e.headline())
    }

    /// `scenario@version`, as case names are written.
    pub fn name(&self) -> String {
        format!("{}@{}", self.scenario, self.version)
    }
}

/// Groups records by row and column: rows by name, columns in HAProxy's version order, runs in
/// the order they started.
pub fn cells(records: &[CaseRecord]) -> Vec<Cell<'_>> {
    let columns = columns(records);
    let mut cells: Vec<Cell> = Vec::new();
    for r in records {
        let row = r.row();
        match cells
            .iter_mut()
            .find(|c| c.scenario == row && c.column.same(r))
        {
            Some(c) => c.runs.push(r),
            None => {
                let column = Column::of(r);
                cells.push(Cell {
                    scenario: row,
                    version: column.version.clone(),
                    column,
                    runs: vec![r],
                })
            }
        }
    }
    for c in &mut cells {
        c.runs.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    }
    let position = |c: &Cell| columns.iter().position(|col| *col == c.column);
    cells.sort_by(|a, b| (&a.scenario, position(a)).cmp(&(&b.scenario, position(b))));
    cells
}

/// The cell of a row in a column, if the records have one.
pub fn cell_at<'c, 'a>(cells: &'c [Cell<'a>], row: &str, column: &Column) -> Option<&'c Cell<'a>> {
    cells
        .iter()
        .find(|c| c.scenario == row && c.column == *column)
}

/// How many matrix cells passed, of how many.
pub fn passed_cells(records: &[CaseRecord]) -> (usize, usize) {
    let cells = cells(records);
    let passed = cells
        .iter()
        .filter(|c| c.verdict() == Verdict::Pass)
        .count();
    (passed, cells.len())
}

/// The versions of the records in HAProxy's order (the matrix's columns).
pub fn versions(records: &[CaseRecord]) -> Vec<String> {
    let mut versions: Vec<String> = records
        .iter()
        .map(|r| crate::images::short_version(&r.version))
        .collect();
    versions.sort_by_key(|v| version_key(v));
    versions.dedup();
    versions
}

/// Sorts parseable versions by HAProxy's rules and the rest after them, by text.
fn version_key(v: &str) -> (bool, Option<HaproxyVersion>, String) {
    match HaproxyVersion::parse(v) {
        Ok(parsed) => (false, Some(parsed), String::new()),
        Err(_) => (true, None, v.to_string()),
    }
}

/// `path` relative to the folder `base` (`../shard-1/x/pcap`), for links in a page written in
/// `base`. Both are made absolute against the current folder first.
pub fn relative_to(path: &Path, base: &Path) -> PathBuf {
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (path, base) = (abs(path), abs(base));
    let (p, b) = (clean(&path), clean(&base));
    let common = p.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &p[common..] {
        out.push(c.as_os_str());
    }
    out
}

fn clean(p: &Path) -> Vec<Component<'_>> {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests;
