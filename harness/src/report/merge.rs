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

/// Every `case.json` under `dirs` (searched recursively, in name order), read back.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<CaseRecord>, MergeError> {
    let mut files = Vec::new();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(MergeError::NotAFolder(dir.clone()));
        }
        find_cases(dir, &mut files)?;
    }
    let mut records = Vec::new();
    for path in files {
        let mut record = read_case(&path).map_err(|source| MergeError::Read {
            path: path.clone(),
            source,
        })?;
        // A racy case's runs (`case#k`) each leave a case.json too; the case's own record
        // already sums them up (`repeat`), and counting them again would change the cell.
        if record.case.contains('#') {
            continue;
        }
        if let Some(folder) = path.parent() {
            record.evidence_dir = folder.to_path_buf();
        }
        records.push(record);
    }
    if records.is_empty() {
        return Err(MergeError::Empty(
            dirs.iter().map(|d| d.display().to_string()).collect(),
        ));
    }
    Ok(records)
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
