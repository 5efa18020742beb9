//! Merging results: the `case.json` files of several result folders (CI shards, one per
//! version, or runs made on different days) become one matrix.
//!
//! `case.json` is the unit, not `matrix.json`: it is written as each case ends, so a shard that
//! was cut short still contributes the cases it finished. Each record's evidence folder is set
//! to where its `case.json` was found, so the merged page links to the files as they lie now,
//! not where the shard's machine wrote them. The runs of a racy case (`case#k` beside the
//! case's folder) are not read as cases of their own: the case's record sums them up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{read_case, CaseRecord, Plan};
use crate::case_id::CaseId;

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
    /// `case.json` and `plan.json` files that could not be read (truncated, not JSON): left
    /// out, named.
    pub unreadable: Vec<String>,
    /// The same case found twice: of the same run (a shard folder given twice, or copied), or
    /// of one plan's item in two runs (a retried job). One is kept, chosen the same way every
    /// time (the newest run; in one run, the first path in name order), the others named.
    pub duplicates: Vec<String>,
    /// Items of a matrix's plan that no folder holds: a shard that never ran or was cut short.
    pub missing: Vec<String>,
    /// A scenario measured from two different texts of its file (digests differ): its cells
    /// then do not answer one question.
    pub mixed: Vec<String>,
}

impl Merged {
    /// Every problem, one line each.
    pub fn problems(&self) -> Vec<String> {
        let unreadable = self.unreadable.iter().map(|p| format!("left out: {p}"));
        let duplicates = self.duplicates.iter().map(|d| format!("duplicate: {d}"));
        let missing = self.missing.iter().map(|m| format!("missing: {m}"));
        let mixed = self.mixed.iter().map(|m| format!("mixed: {m}"));
        unreadable
            .chain(duplicates)
            .chain(missing)
            .chain(mixed)
            .collect()
    }
}

/// Every `case.json` and `plan.json` under `dirs` (searched recursively, in name order), read
/// back; files that cannot be read, duplicated and missing cases are named in the result, not
/// fatal.
pub fn collect_all(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    let mut found = Found::default();
    for dir in dirs {
        if !dir.is_dir() {
            return Err(MergeError::NotAFolder(dir.clone()));
        }
        find_cases(dir, &mut found)?;
    }
    let mut merged = Merged::default();
    let mut read: Vec<(PathBuf, CaseRecord)> = Vec::new();
    for path in found.cases {
        match read_case(&path) {
            // A racy case's runs (`case#k`) each leave a case.json too; the case's own record
            // already sums them up (`repeat`), and counting them again would change the cell.
            Ok(record) if CaseId::parse(&record.case).is_some_and(|c| c.round.is_some()) => {}
            Ok(record) => read.push((path, record)),
            Err(e) => merged.unreadable.push(format!(
                "{}: {e} (truncated or not a case record)",
                path.display()
            )),
        }
    }
    let plans = read_plans(&found.plans, &mut merged.unreadable);
    let kept = keep_one_of_each(read, &mut merged.duplicates);
    merged.missing = missing_items(&plans, &kept);
    merged.mixed = mixed_texts(&kept);
    merged.records = kept
        .into_iter()
        .map(|(path, mut record)| {
            if let Some(folder) = path.parent() {
                record.evidence_dir = folder.to_path_buf();
            }
            record
        })
        .collect();
    if merged.records.is_empty() {
        return Err(MergeError::Empty(
            dirs.iter().map(|d| d.display().to_string()).collect(),
        ));
    }
    Ok(merged)
}

/// The files a merge reads, in name order.
#[derive(Default)]
struct Found {
    cases: Vec<PathBuf>,
    plans: Vec<PathBuf>,
}

fn read_plans(paths: &[PathBuf], unreadable: &mut Vec<String>) -> Vec<Plan> {
    let mut plans = Vec::new();
    for path in paths {
        let plan = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<Plan>(&t).map_err(|e| e.to_string()));
        match plan {
            Ok(plan) => plans.push(plan),
            Err(e) => unreadable.push(format!("{}: {e} (truncated or not a plan)", path.display())),
        }
    }
    plans
}

/// One record per case of a run and per item of a plan. Within one run, the first path in name
/// order is kept; across the runs of one plan (a retried job), the newest run, since a job is
/// retried because its earlier run went wrong. Either way the same files give the same merge.
fn keep_one_of_each(
    read: Vec<(PathBuf, CaseRecord)>,
    duplicates: &mut Vec<String>,
) -> Vec<(PathBuf, CaseRecord)> {
    let mut by_run: BTreeMap<(String, String), (PathBuf, CaseRecord)> = BTreeMap::new();
    for (path, record) in read {
        let key = (record.run_id.clone(), record.case.clone());
        if let Some((first, _)) = by_run.get(&key) {
            duplicates.push(format!(
                "{} of run {} at {} (kept: {})",
                record.case,
                record.run_id,
                path.display(),
                first.display()
            ));
            continue;
        }
        by_run.insert(key, (path, record));
    }
    let mut by_item: BTreeMap<(String, String), (PathBuf, CaseRecord)> = BTreeMap::new();
    let mut unplanned = Vec::new();
    for (path, record) in by_run.into_values() {
        let Some(planned) = record.provenance.planned.clone() else {
            unplanned.push((path, record));
            continue;
        };
        let key = (planned.plan.clone(), planned.item.clone());
        let newer = match by_item.get(&key) {
            None => true,
            Some((_, kept)) => record.run_id > kept.run_id,
        };
        let (dropped, kept) = if newer {
            let old = by_item.insert(key, (path.clone(), record));
            (old, path)
        } else {
            (Some((path, record)), by_item[&key].0.clone())
        };
        if let Some((path, record)) = dropped {
            duplicates.push(format!(
                "{} (plan item {}) of run {} at {} (kept the newer run: {})",
                record.case,
                planned.item,
                record.run_id,
                path.display(),
                kept.display()
            ));
        }
    }
    let mut kept: Vec<_> = by_item.into_values().chain(unplanned).collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    kept
}

/// The items of every plan found that no kept record answers, named with the plan.
fn missing_items(plans: &[Plan], kept: &[(PathBuf, CaseRecord)]) -> Vec<String> {
    let answered: BTreeSet<(&str, &str)> = kept
        .iter()
        .filter_map(|(_, r)| r.provenance.planned.as_ref())
        .map(|p| (p.plan.as_str(), p.item.as_str()))
        .collect();
    let mut missing = BTreeSet::new();
    for plan in plans {
        for item in &plan.items {
            if !answered.contains(&(plan.plan.as_str(), item.as_str())) {
                missing.insert((plan.plan.clone(), item.clone()));
            }
        }
    }
    missing
        .into_iter()
        .map(|(plan, item)| {
            format!("{item} (plan {plan}: no folder holds its case.json; was a shard not run, or cut short?)")
        })
        .collect()
}

/// Scenarios whose kept records were measured from different texts of the scenario.
fn mixed_texts(kept: &[(PathBuf, CaseRecord)]) -> Vec<String> {
    let mut digests: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, r) in kept {
        if !r.provenance.scenario_digest.is_empty() {
            digests
                .entry(r.scenario.as_str())
                .or_default()
                .insert(r.provenance.scenario_digest.as_str());
        }
    }
    digests
        .into_iter()
        .filter(|(_, d)| d.len() > 1)
        .map(|(scenario, d)| {
            format!(
                "{scenario} was measured from {} different texts of its scenario file (digests {})",
                d.len(),
                d.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

/// The records of [`collect_all`], whatever it had to leave out.
pub fn collect(dirs: &[PathBuf]) -> Result<Vec<CaseRecord>, MergeError> {
    collect_all(dirs).map(|m| m.records)
}

fn find_cases(dir: &Path, out: &mut Found) -> Result<(), MergeError> {
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
            out.cases.push(path);
        } else if kind.is_file() && e.file_name() == "plan.json" {
            out.plans.push(path);
        }
    }
    Ok(())
}
