//! Merging results: the `case.json` files of several result folders (CI shards, one per
//! version, or runs made on different days) become one matrix.
//!
//! `case.json` is the unit, not `matrix.json`: it is written as each case ends, so a shard that
//! was cut short still contributes the cases it finished. Each record's evidence folder is set
//! to where its `case.json` was found, so the merged page links to the files as they lie now,
//! not where the shard's machine wrote them. The runs of a racy case (`case#k` beside the
//! case's folder) are not read as cases of their own: the case's record sums them up.

use std::path::{Path, PathBuf};

use super::{read_case, CaseRecord};

/// Why a merge could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("{}: no such folder", .0.display())]
    NotAFolder(PathBuf),
    #[error("cannot read {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no case.json under {}\n  Give the folders `haprepro matrix` wrote (results/<run-id>/) or folders holding them.", .0.join(", "))]
    Empty(Vec<String>),
}

/// The records of a merge, and what could not be taken as it was: each named, so a merge that
/// lost or doubled a case says so instead of drawing a matrix that looks whole.
#[derive(Debug, Default)]
pub struct Merged {
    pub records: Vec<CaseRecord>,
    /// `case.json` files that could not be read (truncated, not JSON): left out, named.
    pub unreadable: Vec<String>,
    /// The same case of the same run found twice (a shard folder given twice, or copied): one
    /// is kept, always the same (the first path in name order), the others named.
    pub duplicates: Vec<String>,
}

impl Merged {
    /// Every problem, one line each.
    pub fn problems(&self) -> Vec<String> {
        let unreadable = self.unreadable.iter().map(|p| format!("left out: {p}"));
        let duplicates = self.duplicates.iter().map(|d| format!("duplicate: {d}"));
        unreadable.chain(duplicates).collect()
    }
}

/// Every `case.json` under `dirs` (searched recursively, in name order), read back; files that
/// cannot be read and duplicated cases are named in the result, not fatal.
pub fn collect_all(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    let mut files = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(MergeError::NotAFolder(dir.clone()));
        }
        find_cases(dir, &mut files)?;
    }
    let mut merged = Merged::default();
    let mut seen: std::collections::BTreeMap<(String, String), PathBuf> = Default::default();
    for path in files {
        let mut record = match read_case(&path) {
            Ok(r) => r,
            Err(e) => {
                merged.unreadable.push(format!(
                    "{}: {e} (truncated or not a case record)",
                    path.display()
                ));
                continue;
            }
        };
        // A racy case's runs (`case#k`) each leave a case.json too; the case's own record
        // already sums them up (`repeat`), and counting them again would change the cell.
        if record.case.contains('#') {
            continue;
        }
        let key = (record.run_id.clone(), record.case.clone());
        if let Some(first) = seen.get(&key) {
            merged.duplicates.push(format!(
                "{} of run {} at {} (kept: {})",
                record.case,
                record.run_id,
                path.display(),
                first.display()
            ));
            continue;
        }
        seen.insert(key, path.clone());
        if let Some(folder) = path.parent() {
            record.evidence_dir = folder.to_path_buf();
        }
        merged.records.push(record);
    }
    if merged.records.is_empty() {
        return Err(MergeError::Empty(
            dirs.iter().map(|d| d.display().to_string()).collect(),
        ));
    }
    Ok(merged)
}

/// The records of [`collect_all`], whatever it had to leave out.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<CaseRecord>, MergeError> {
    collect_all(dirs).map(|m| m.records)
}

fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), MergeError> {
    let read = |source| MergeError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read)?
        .collect::<Result<_, _>>()
        .map_err(read)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let kind = e.file_type().map_err(read)?;
        if kind.is_dir() {
            find_cases(&path, out)?;
        } else if kind.is_file() && e.file_name() == "case.json" {
            out.push(path);
        }
    }
    Ok(())
}
