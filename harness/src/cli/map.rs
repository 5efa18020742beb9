//! `haprepro map SCENARIO[,...] --src CLONE [--src CLONE ...] --versions SET [--explain]`: every
//! version of a set built and run (a `haprepro matrix` over it), then per scenario variant the
//! versions in order with their measured outcome, every boundary between adjacent versions
//! marked, and with `--explain` each boundary bisected to its commit (a `haprepro bisect`
//! between the two tags). Written as `map.json`, `map.md` and `map.html` in `results/map-<id>/`.
//!
//! The map is made of the commands a user would run by hand, each as a child process with its
//! own output shown: what they write (matrix.json, bisect.json) is what the map reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::run::CaseArgs;
use super::{exit, CliError, CliResult};
use haprepro::case_id::{row, split_row};
use haprepro::images::source::version_set;
use haprepro::schedule::{PlanItem, Shard};

#[derive(clap::Args)]
pub struct MapArgs {
    /// Scenarios to map (comma-separated).
    #[arg(value_delimiter = ',', required = true)]
    scenarios: Vec<String>,
    /// HAProxy clones (repeatable: a mainline clone and branch clones, their tags merged).
    #[arg(long, required = true, value_name = "DIR")]
    src: Vec<String>,
    /// The versions: tags, ranges in HAProxy's order (v3.0-dev0..v3.0.0), patterns (v3.1-dev*),
    /// newest-tag; comma-separated.
    #[arg(long, required = true, value_delimiter = ',', value_name = "SET")]
    versions: Vec<String>,
    /// Bisect every boundary to the commit that made it (first bad or first fixed).
    #[arg(long)]
    explain: bool,
    /// With --explain: runs of each named commit and of its parent that confirm it (and a
    /// build of the later end with the commit reverted); 0 skips the confirmation.
    #[arg(long, default_value_t = 3, value_name = "N")]
    confirm: usize,
    /// The most versions a map builds; a larger set is refused before anything is built.
    #[arg(long, default_value_t = 40, value_name = "N")]
    max_builds: usize,
    /// Cases run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Start over: by default the same map (scenarios, versions, clones) resumes in its
    /// folder, reusing the versions measured, the bisects and the confirmations done.
    #[arg(long)]
    fresh: bool,
    /// Measure only the K-th of N parts of the map's cases (a CI job of a sharded map), then
    /// stop: `haprepro report map` makes the map of the shards' folders. Also taken from
    /// HAPREPRO_SHARD, the flag winning.
    #[arg(long, value_name = "K/N", env = "HAPREPRO_SHARD")]
    shard: Option<Shard>,
    #[command(flatten)]
    case: CaseArgs,
}

/// One version of a strip.
#[derive(Debug, Serialize)]
struct Cell {
    version: String,
    outcome: String,
    /// The case's evidence folder.
    evidence: Option<String>,
    /// The image it ran (`haprepro/haproxy:src-...` for a source build).
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
}

/// A change of outcome between two adjacent measured versions.
#[derive(Debug, Serialize)]
struct Boundary {
    from: String,
    to: String,
    before: String,
    after: String,
    /// Versions between the two that could not be measured (`error`).
    unmeasured_between: Vec<String>,
    /// The commit that made it, from `--explain`'s bisect.
    commit: Option<Explained>,
    /// Why there is no commit (no `--explain`, ends in two clones, the bisect failed).
    unexplained: Option<String>,
}

#[derive(Debug, Serialize)]
struct Explained {
    kind: String,
    hash: String,
    subject: String,
    /// The bisect's folder (bisect.md, bisect.json, each step's evidence).
    bisect: String,
    /// Whether the re-runs (and the revert, where it applies) agree with the bisect.
    confirmed: Option<bool>,
    /// What the confirmation measured, in words.
    confirmation: Option<String>,
}

#[derive(Debug, Serialize)]
struct Strip {
    /// `scenario` or `scenario/variant`.
    case: String,
    cells: Vec<Cell>,
    boundaries: Vec<Boundary>,
    /// The one-line answer.
    answer: String,
}

#[derive(Debug, Serialize)]
struct MapRecord {
    versions: Vec<String>,
    clones: Vec<String>,
    strips: Vec<Strip>,
}

/// What a map is of, kept in its folder (`map-plan.json`) so that `haprepro report map` can
/// draw the map of shards measured apart.
#[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct MapPlan {
    pub scenarios: Vec<String>,
    /// The versions in HAProxy's order.
    pub versions: Vec<String>,
    pub clones: Vec<String>,
}

fn definite(outcome: &str) -> bool {
    matches!(outcome, "reproduced" | "not-reproduced" | "crashed")
}

pub async fn run(args: MapArgs) -> CliResult {
    let members = members(&args)?;
    let names: Vec<String> = members.iter().map(|m| m.name.clone()).collect();
    let id = map_id(&args, &names);
    let dir = args.case.results_dir.join(&id);
    eprintln!(
        "map {id}: {} over {} version(s): {}",
        args.scenarios.join(", "),
        names.len(),
        names.join(" ")
    );
    let exe = std::env::current_exe()
        .map_err(|e| CliError::harness(format!("cannot find the haprepro binary itself: {e}")))?;
    let cases = case_keys(&args).map_err(CliError::usage)?;
    write_plan(&args, &names, &dir)?;
    if let Some(shard) = args.shard {
        return measure_shard(&exe, &args, &names, shard, &dir);
    }
    let map = Mapping {
        exe: &exe,
        args: &args,
        members: &members,
        dir: &dir,
    };
    let to_run = still_to_run(&dir, &names, &cases);
    say_resumed(&id, &dir, &names, &to_run);
    if !to_run.is_empty() {
        map.measure(&to_run)?;
    }
    let records: Vec<serde_json::Value> =
        read_matrices(&dir.join("matrix")).into_values().collect();
    if records.is_empty() {
        return Err(CliError::harness(format!(
            "the map's matrix wrote no matrix.json under {}",
            dir.join("matrix").display()
        )));
    }
    let mut strips = strips(&records, &names);
    let mut failed = strips
        .iter()
        .any(|s| s.cells.iter().any(|c| !definite(&c.outcome)));
    failed |= map.explain_all(&mut strips);
    let record = MapRecord {
        versions: names,
        clones: args.src.clone(),
        strips,
    };
    write_and_summarise(&args, &dir, &record)?;
    Ok(if failed { exit::FAILED } else { exit::OK })
}

/// The set's versions over every clone's tags; every clone is checked, and the set's size
/// bounded, before anything is built.
fn members(args: &MapArgs) -> Result<Vec<version_set::Member>, CliError> {
    let mut clones = Vec::new();
    for src in &args.src {
        let dir = PathBuf::from(src);
        if !dir.join(".git").exists() && !dir.join("HEAD").is_file() {
            return Err(CliError::usage(format!(
                "--src {src} is not a git clone of HAProxy (map works on clones' tags)"
            )));
        }
        let tags =
            version_set::clone_tags(&dir).map_err(|e| CliError::usage(format!("--src: {e}")))?;
        clones.push((dir, tags));
    }
    let members = version_set::merge(&clones)
        .and_then(|tags| version_set::expand(&args.versions, &tags))
        .map_err(|e| CliError::usage(format!("--versions: {e}")))?;
    if members.len() > args.max_builds {
        return Err(CliError::usage(format!(
            "--versions names {} versions, more than the {} a map builds at most: \
             narrow the set, or ask for them with --max-builds {}",
            members.len(),
            args.max_builds,
            members.len()
        )));
    }
    Ok(members)
}

/// `map-plan.json`, written before anything runs so that a shard's folder says what map it is
/// part of.
fn write_plan(args: &MapArgs, names: &[String], dir: &Path) -> Result<(), CliError> {
    let plan = MapPlan {
        scenarios: args.scenarios.clone(),
        versions: names.to_vec(),
        clones: args.src.clone(),
    };
    let plan_json = serde_json::to_vec_pretty(&plan).expect("a plan serializes");
    if let Err(e) = std::fs::create_dir_all(dir)
        .and_then(|()| haprepro::report::write_atomic(&dir.join("map-plan.json"), &plan_json))
    {
        return Err(CliError::harness(format!(
            "cannot write {}: {e}",
            dir.join("map-plan.json").display()
        )));
    }
    Ok(())
}

/// A map run before with the same scenarios, versions and clones: its measured versions stay
/// (their binaries are in the binary cache anyway), the rest are run.
fn still_to_run<'a>(dir: &Path, names: &'a [String], cases: &[String]) -> Vec<&'a String> {
    let earlier = read_matrices(&dir.join("matrix"));
    names
        .iter()
        .filter(|v| {
            !cases.iter().all(|c| {
                earlier
                    .get(&PlanItem::new(c, v, 1, 1).to_string())
                    .is_some_and(|r| definite(r["outcome"].as_str().unwrap_or("")))
            })
        })
        .collect()
}

fn say_resumed(id: &str, dir: &Path, names: &[String], to_run: &[&String]) {
    if to_run.len() < names.len() {
        eprintln!(
            "map {id}: resuming in {}: {} of {} version(s) measured before; running {}",
            dir.display(),
            names.len() - to_run.len(),
            names.len(),
            if to_run.is_empty() {
                "none".to_string()
            } else {
                to_run
                    .iter()
                    .map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        );
    }
}

/// What measuring the versions and explaining the boundaries share.
struct Mapping<'a> {
    exe: &'a Path,
    args: &'a MapArgs,
    members: &'a [version_set::Member],
    dir: &'a Path,
}

impl Mapping<'_> {
    /// A matrix per version still to run, in order; the first that does not end with a verdict
    /// stops the map.
    fn measure(&self, to_run: &[&String]) -> Result<(), CliError> {
        let (exe, args, dir) = (self.exe, self.args, self.dir);
        // Builds overlap runs: a builder thread builds the versions in order into the binary
        // cache while a matrix per version runs the cases of the one built before (a matrix
        // that reaches a version first builds it itself: the build lock keeps it to one build).
        let ahead = super::build_ahead::BuildAhead::start(Some("map"));
        ahead.want(
            to_run
                .iter()
                .filter_map(|v| {
                    let m = self.members.iter().find(|m| &m.name == *v)?;
                    haprepro::images::SourceSpec::parse(&args.src[m.clone], Some(&m.name)).ok()
                })
                .collect(),
        );
        let mut stopped = None;
        for v in to_run {
            match matrix_of(exe, args, v, dir).status() {
                Ok(s) if matches!(s.code(), Some(0) | Some(1)) => {}
                Ok(s) => {
                    stopped = Some(matrix_stopped(
                        format!(
                            "the map's matrix of {v} did not run to its end ({s}); nothing mapped"
                        ),
                        s,
                    ));
                    break;
                }
                Err(e) => {
                    stopped = Some(CliError::harness(format!(
                        "cannot run haprepro matrix: {e}"
                    )));
                    break;
                }
            }
        }
        ahead.stop();
        match stopped {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Explains every boundary of every strip and sets each strip's answer; true when a
    /// boundary could not be explained or its commit was not confirmed.
    fn explain_all(&self, strips: &mut [Strip]) -> bool {
        let mut failed = false;
        for (k, strip) in strips.iter_mut().enumerate() {
            let (scenario, variant) = split_row(&strip.case);
            for (b, boundary) in strip.boundaries.iter_mut().enumerate() {
                let out = self.dir.join(format!("bisect-{k}-{b}"));
                failed |= self.explain_one(scenario, variant, boundary, &out);
            }
            strip.answer = answer(strip);
        }
        failed
    }

    /// One boundary bisected (and confirmed) into `out`; true when that failed.
    fn explain_one(
        &self,
        scenario: &str,
        variant: Option<&str>,
        boundary: &mut Boundary,
        out: &Path,
    ) -> bool {
        let args = self.args;
        if !args.explain {
            boundary.unexplained = Some("not asked (--explain bisects it)".into());
            return false;
        }
        let clone_of = |v: &str| self.members.iter().find(|m| m.name == v).map(|m| m.clone);
        let (a, z) = (clone_of(&boundary.from), clone_of(&boundary.to));
        if a != z {
            boundary.unexplained = Some(format!(
                "{} and {} are tags of two clones: bisect them in one clone that has both",
                boundary.from, boundary.to
            ));
            return false;
        }
        let clone = &args.src[a.unwrap_or(0)];
        match explain(self.exe, args, clone, scenario, variant, boundary, out) {
            Ok(mut e) => {
                let mut failed = false;
                if args.confirm > 0 {
                    let at = Target {
                        exe: self.exe,
                        args,
                        clone,
                        scenario,
                        variant,
                    };
                    let (ok, said) = confirmed(&at, boundary, &e.hash, out);
                    failed = !ok;
                    e.confirmed = Some(ok);
                    e.confirmation = Some(said);
                }
                boundary.commit = Some(e);
                failed
            }
            Err(why) => {
                boundary.unexplained = Some(why);
                true
            }
        }
    }
}

fn write_and_summarise(args: &MapArgs, dir: &Path, record: &MapRecord) -> Result<(), CliError> {
    let drawn = Drawn {
        scenarios: args.scenarios.clone(),
        explain: args.explain,
    };
    write(dir, record, &drawn).map_err(|e| cannot_write(dir, e))?;
    println!();
    say_answers(record, dir);
    Ok(())
}

/// Each strip's one-line answer, then where the map's files are.
fn say_answers(record: &MapRecord, dir: &Path) {
    for s in &record.strips {
        println!("{}: {}", s.case, s.answer);
    }
    println!("map: {}/map.md, map.html, map.json", dir.display());
}

/// A child `haprepro matrix` that did not end with a verdict (0 or 1): its own code is passed
/// on (3 when it has none, killed by a signal).
fn matrix_stopped(message: String, status: std::process::ExitStatus) -> CliError {
    let e = CliError::harness(message);
    match status.code() {
        Some(code) => e.code(code),
        None => e,
    }
}

/// The map's files could not be written.
fn cannot_write(dir: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::harness(format!("cannot write the map into {}: {e}", dir.display()))
}

/// The `haprepro matrix` of the map's scenarios on `versions` (a comma-separated list), into
/// the map's folder; a shard is said by the map, never inherited from the environment.
fn matrix_of(exe: &Path, args: &MapArgs, versions: &str, dir: &Path) -> Command {
    let mut matrix = Command::new(exe);
    matrix
        .env_remove("HAPREPRO_SHARD")
        .args(["matrix", "--scenarios", &args.scenarios.join(",")])
        .args(["--versions", versions])
        .args(["--jobs", &args.jobs.to_string()]);
    for src in &args.src {
        matrix.args(["--src", src]);
    }
    matrix
        .arg("--scenarios-dir")
        .arg(args.case.scenarios_dir())
        .arg("--results-dir")
        .arg(dir.join("matrix"));
    matrix
}

/// One shard of a sharded map: its part of the matrix, into the map's folder; the map itself
/// is drawn by `haprepro report map` over every shard's folder.
fn measure_shard(
    exe: &Path,
    args: &MapArgs,
    names: &[String],
    shard: Shard,
    dir: &Path,
) -> CliResult {
    let mut matrix = matrix_of(exe, args, &names.join(","), dir);
    matrix.args(["--shard", &shard.to_string()]);
    match matrix.status() {
        Ok(s) if matches!(s.code(), Some(0) | Some(1)) => {
            println!(
                "map shard {shard} measured in {}; `haprepro report map <every shard's folder>` draws the map",
                dir.display()
            );
            Ok(exit::OK)
        }
        Ok(s) => Err(matrix_stopped(
            format!("the shard's matrix did not run to its end ({s})"),
            s,
        )),
        Err(e) => Err(CliError::harness(format!(
            "cannot run haprepro matrix: {e}"
        ))),
    }
}

/// `haprepro report map DIR...`: the map of shards measured apart (each DIR a shard's map
/// folder, or a folder holding several), without `--explain`: their records merged as
/// `report merge` merges a matrix's (a case measured twice, by a retried job, is kept the
/// same way every time), then strips, boundaries and answers as `haprepro map` draws them.
pub fn draw_from(dirs: &[PathBuf], out: &Path) -> CliResult {
    let mut plans: Vec<(PathBuf, MapPlan)> = Vec::new();
    for d in dirs {
        for entry in walkdir_plans(d) {
            match std::fs::read_to_string(&entry)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<MapPlan>(&t).map_err(|e| e.to_string()))
            {
                Ok(p) => plans.push((entry, p)),
                Err(e) => return Err(CliError::usage(format!("{}: {e}", entry.display()))),
            }
        }
    }
    let Some((first_path, plan)) = plans.first() else {
        return Err(CliError::usage(format!(
            "no map-plan.json under {}: give the folders `haprepro map --shard K/N` wrote",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    if let Some((other, _)) = plans.iter().find(|(_, p)| p != plan) {
        return Err(CliError::usage(format!(
            "{} and {} are shards of two different maps (scenarios, versions or clones differ)",
            first_path.display(),
            other.display()
        )));
    }
    let merged = haprepro::report::merge::collect_all(dirs).map_err(CliError::harness)?;
    for problem in merged.problems() {
        eprintln!("note: {problem}");
    }
    let records: Vec<serde_json::Value> = merged
        .records
        .iter()
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    let mut strips = strips(&records, &plan.versions);
    for strip in &mut strips {
        for b in &mut strip.boundaries {
            b.unexplained =
                Some("a sharded map is not bisected (run `haprepro map --explain` on it)".into());
        }
        strip.answer = answer(strip);
    }
    let record = MapRecord {
        versions: plan.versions.clone(),
        clones: plan.clones.clone(),
        strips,
    };
    let args_like = Drawn {
        scenarios: plan.scenarios.clone(),
        explain: false,
    };
    write(out, &record, &args_like).map_err(|e| cannot_write(out, e))?;
    say_answers(&record, out);
    // A retried job's case (a duplicate) is kept once, the same way every time: not a gap.
    let whole = merged.unreadable.is_empty()
        && merged.missing.is_empty()
        && merged.mixed.is_empty()
        && record
            .strips
            .iter()
            .all(|s| s.cells.iter().all(|c| definite(&c.outcome)));
    Ok(if whole { exit::OK } else { exit::FAILED })
}

/// Every `map-plan.json` at or under `dir` (a shard's folder, or a folder of shards).
fn walkdir_plans(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let plan = d.join("map-plan.json");
        if plan.is_file() {
            found.push(plan);
            continue;
        }
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    found.sort();
    found
}

/// What the written map says of how it was made.
struct Drawn {
    scenarios: Vec<String>,
    explain: bool,
}

/// The map's folder name: the same scenarios, versions and clones give the same folder, so a
/// map run again resumes; `--fresh` gives a new one.
fn map_id(args: &MapArgs, names: &[String]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [&args.scenarios, names, &args.src] {
        for p in part {
            h.update(p.as_bytes());
            h.update([0]);
        }
        h.update([1]);
    }
    let (first, last) = (
        names.first().map(String::as_str).unwrap_or(""),
        names.last().map(String::as_str).unwrap_or(""),
    );
    let mut id = format!("map-{first}..{last}-{}", &hex::encode(h.finalize())[..10]);
    if args.fresh {
        id.push_str(&format!("-{:04x}", rand::random::<u16>()));
    }
    id
}

/// The cases (`scenario` or `scenario/variant`) of the map's scenarios.
fn case_keys(args: &MapArgs) -> Result<Vec<String>, String> {
    let dir = args.case.scenarios_dir();
    let mut keys = Vec::new();
    for name in &args.scenarios {
        let found = haprepro::scenario::find(name, &dir)
            .ok_or_else(|| format!("no scenario {name} in {}", dir.display()))?;
        let scenario = haprepro::scenario::load(&found).map_err(|errors| {
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })?;
        for v in &scenario.variants {
            keys.push(row(&scenario.name, v.name.as_deref()));
        }
    }
    Ok(keys)
}

/// A matrix record's item in its plan (`provenance.planned.item`), if it has one.
fn planned_item(record: &serde_json::Value) -> Option<PlanItem> {
    PlanItem::parse(record["provenance"]["planned"]["item"].as_str()?)
}

/// Every record of the matrices run under `dir` by their plan item (`case@version`), a later
/// run's over an earlier one's (run folders are named by their start time).
fn read_matrices(dir: &Path) -> BTreeMap<String, serde_json::Value> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|run| run.path().join("matrix.json"))
        .filter(|p| p.is_file())
        .collect();
    runs.sort();
    let mut by_item = BTreeMap::new();
    for path in runs {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(serde_json::Value::Array(records)) = serde_json::from_str(&text) else {
            continue;
        };
        for r in records {
            if let Some(item) = r["provenance"]["planned"]["item"].as_str() {
                by_item.insert(item.to_string(), r.clone());
            }
        }
    }
    by_item
}

/// The strips of a matrix's records, each version in the set's order, with its boundaries.
fn strips(records: &[serde_json::Value], versions: &[String]) -> Vec<Strip> {
    type Measured = (String, Option<String>, Option<String>);
    let mut by_case: BTreeMap<String, BTreeMap<String, Measured>> = BTreeMap::new();
    for r in records {
        let Some(item) = planned_item(r) else {
            continue;
        };
        by_case.entry(item.row).or_default().insert(
            item.version,
            (
                r["outcome"].as_str().unwrap_or("error").to_string(),
                r["evidence_dir"].as_str().map(str::to_string),
                r["image"].as_str().map(str::to_string),
            ),
        );
    }
    by_case
        .into_iter()
        .map(|(case, outcomes)| {
            let cells: Vec<Cell> = versions
                .iter()
                .map(|v| {
                    let (outcome, evidence, image) = outcomes
                        .get(v)
                        .cloned()
                        .unwrap_or_else(|| ("missing".into(), None, None));
                    Cell {
                        version: v.clone(),
                        outcome,
                        evidence,
                        image,
                    }
                })
                .collect();
            let boundaries = boundaries(&cells);
            Strip {
                case,
                cells,
                boundaries,
                answer: String::new(),
            }
        })
        .collect()
}

/// Changes of outcome between consecutive measured versions.
fn boundaries(cells: &[Cell]) -> Vec<Boundary> {
    let mut out = Vec::new();
    let mut last: Option<&Cell> = None;
    let mut between = Vec::new();
    for c in cells {
        if !definite(&c.outcome) {
            between.push(c.version.clone());
            continue;
        }
        if let Some(prev) = last {
            if prev.outcome != c.outcome {
                out.push(Boundary {
                    from: prev.version.clone(),
                    to: c.version.clone(),
                    before: prev.outcome.clone(),
                    after: c.outcome.clone(),
                    unmeasured_between: between.clone(),
                    commit: None,
                    unexplained: None,
                });
            }
        }
        between.clear();
        last = Some(c);
    }
    out
}

/// Bisects one boundary with `haprepro bisect` and reads its answer.
fn explain(
    exe: &Path,
    args: &MapArgs,
    clone: &str,
    scenario: &str,
    variant: Option<&str>,
    boundary: &Boundary,
    out: &Path,
) -> Result<Explained, String> {
    let mut cmd = Command::new(exe);
    cmd.args(["bisect", scenario, "--src", clone]).args([
        "--good",
        &boundary.from,
        "--bad",
        &boundary.to,
    ]);
    if let Some(v) = variant {
        cmd.args(["--variant", v]);
    }
    if boundary.before != "not-reproduced" && boundary.after == "not-reproduced" {
        cmd.arg("--fixed");
    }
    cmd.arg("--scenarios-dir")
        .arg(args.case.scenarios_dir())
        .arg("--results-dir")
        .arg(out);
    let bisected = || {
        std::fs::read_dir(out)
            .into_iter()
            .flatten()
            .flatten()
            .map(|run| run.path().join("bisect.json"))
            .find(|p| p.is_file())
    };
    // A map resumed: this boundary's bisect ran before (its folder is the boundary's own).
    let status = match bisected() {
        Some(json) => {
            eprintln!("map: reusing {}", json.display());
            None
        }
        None => {
            eprintln!(
                "map: bisecting {scenario}{} between {} ({}) and {} ({})",
                variant.map(|v| format!("/{v}")).unwrap_or_default(),
                boundary.from,
                boundary.before,
                boundary.to,
                boundary.after
            );
            Some(
                cmd.status()
                    .map_err(|e| format!("cannot run haprepro bisect: {e}"))?,
            )
        }
    };
    let json = bisected().ok_or_else(|| {
        format!(
            "the bisect gave no answer ({}); its output is above",
            status.map(|s| s.to_string()).unwrap_or_default()
        )
    })?;
    let text = std::fs::read_to_string(&json).map_err(|e| format!("{}: {e}", json.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))?;
    let answer = &value["answer"];
    let hash = answer["commit"]["hash"]
        .as_str()
        .ok_or_else(|| format!("the bisect found no commit ({})", json.display()))?;
    Ok(Explained {
        confirmed: None,
        confirmation: None,
        kind: answer["kind"].as_str().unwrap_or("").to_string(),
        hash: hash.to_string(),
        subject: answer["commit"]["subject"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        bisect: json
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    })
}

/// What a confirmation runs against.
struct Target<'a> {
    exe: &'a Path,
    args: &'a MapArgs,
    clone: &'a str,
    scenario: &'a str,
    variant: Option<&'a str>,
}

impl Target<'_> {
    /// `haprepro matrix` of the scenario on `refs` of the clone: the outcomes of the variant,
    /// per ref, or why there are none.
    fn measure(
        &self,
        refs: &[&str],
        extra: &[&str],
        out: &Path,
    ) -> Result<BTreeMap<String, Vec<String>>, String> {
        let status = Command::new(self.exe)
            .args(["matrix", "--scenarios", self.scenario, "--src", self.clone])
            .args(["--versions", &refs.join(",")])
            .args(extra)
            .arg("--scenarios-dir")
            .arg(self.args.case.scenarios_dir())
            .arg("--results-dir")
            .arg(out)
            .status()
            .map_err(|e| format!("cannot run haprepro matrix: {e}"))?;
        let records: Vec<serde_json::Value> = read_matrices(out).into_values().collect();
        if records.is_empty() {
            return Err(format!(
                "the map's matrix wrote no matrix.json under {} ({status})",
                out.display()
            ));
        }
        let case = row(self.scenario, self.variant);
        let mut by_ref: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &records {
            let Some(item) = planned_item(r) else {
                continue;
            };
            if item.row == case {
                by_ref
                    .entry(item.version)
                    .or_default()
                    .push(r["outcome"].as_str().unwrap_or("error").to_string());
            }
        }
        Ok(by_ref)
    }
}

/// [`confirm`], or its answer kept from an earlier run of the same map (same commit, same
/// number of runs) in `confirmation.json` of the boundary's folder.
fn confirmed(at: &Target<'_>, b: &Boundary, commit: &str, out: &Path) -> (bool, String) {
    let kept = out.join("confirmation.json");
    let key = serde_json::json!({ "commit": commit, "runs": at.args.confirm });
    if let Some(v) = std::fs::read_to_string(&kept)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter(|v| v["key"] == key)
    {
        if let (Some(ok), Some(said)) = (v["confirmed"].as_bool(), v["said"].as_str()) {
            eprintln!("map: reusing {}", kept.display());
            return (ok, said.to_string());
        }
    }
    let (ok, said) = confirm(at, b, commit, out);
    let json = serde_json::json!({ "key": key, "confirmed": ok, "said": said });
    if let Err(e) = haprepro::report::write_atomic(&kept, json.to_string().as_bytes()) {
        eprintln!(
            "warning: cannot keep {} for a resumed map: {e}",
            kept.display()
        );
    }
    (ok, said)
}

/// Confirms a named commit as syzbot does: the commit and its parent, run `--confirm` times
/// each, must measure the two sides of the boundary every time; and the later end rebuilt with
/// the commit reverted, where the revert applies, must measure like the earlier end.
fn confirm(at: &Target<'_>, b: &Boundary, commit: &str, out: &Path) -> (bool, String) {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(at.clone)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
    };
    let Some(parent) = git(&["rev-parse", &format!("{commit}^")]).map(|p| p.trim().to_string())
    else {
        return (
            false,
            format!("not confirmed: {commit} has no parent to compare with"),
        );
    };
    let n = at.args.confirm.to_string();
    let runs = match at.measure(&[commit, &parent], &["--repeat", &n], &out.join("confirm")) {
        Ok(r) => r,
        Err(e) => {
            return (
                false,
                format!("not confirmed: the re-runs did not run: {e}"),
            )
        }
    };
    let tally = |r: &str, want: &str| {
        let got = runs.get(r).cloned().unwrap_or_default();
        (got.iter().filter(|o| *o == want).count(), got.len())
    };
    let (c_same, c_all) = tally(commit, &b.after);
    let (p_same, p_all) = tally(&parent, &b.before);
    let short = |h: &str| h[..12.min(h.len())].to_string();
    let mut said = format!(
        "{} measured {} {c_same}/{c_all}, its parent {} measured {} {p_same}/{p_all}",
        short(commit),
        b.after,
        short(&parent),
        b.before
    );
    let mut ok = c_all > 0 && c_same == c_all && p_all > 0 && p_same == p_all;
    // The revert: the diff from the commit to its parent, on the later end.
    let revert = out.join("revert.patch");
    match git(&["diff", "--no-color", commit, &parent]) {
        Some(d) if !d.is_empty() && std::fs::write(&revert, &d).is_ok() => {
            let patch = revert.display().to_string();
            match at.measure(&[&b.to], &["--patch", &patch], &out.join("revert")) {
                Ok(r) => {
                    let got = r
                        .get(&b.to)
                        .and_then(|o| o.first())
                        .cloned()
                        .unwrap_or_else(|| "nothing".into());
                    if definite(&got) {
                        said.push_str(&format!("; {} with it reverted measured {got}", b.to));
                        ok &= got == b.before;
                    } else {
                        said.push_str(&format!(
                            "; {} with it reverted could not be measured ({got}: the revert may \
                             not apply there; not checked)",
                            b.to
                        ));
                    }
                }
                Err(_) => said.push_str(&format!(
                    "; the revert does not apply to {} (not checked)",
                    b.to
                )),
            }
        }
        _ => said.push_str("; no revert to try (an empty diff)"),
    }
    let verdict = if ok { "confirmed" } else { "not confirmed" };
    (ok, format!("{verdict}: {said}"))
}

fn cause(b: &Boundary) -> String {
    match &b.commit {
        Some(c) => format!(" ({} {:?})", &c.hash[..12.min(c.hash.len())], c.subject),
        None => String::new(),
    }
}

/// The strip in one line: where the outcome starts and ends, with the commits found.
fn answer(strip: &Strip) -> String {
    let measured: Vec<&Cell> = strip
        .cells
        .iter()
        .filter(|c| definite(&c.outcome))
        .collect();
    let (Some(first), Some(last)) = (measured.first(), measured.last()) else {
        return "nothing measured".into();
    };
    if strip.boundaries.is_empty() {
        return format!(
            "{} from {} to {} (no change in the set)",
            first.outcome, first.version, last.version
        );
    }
    let mut parts = Vec::new();
    let mut start = first.version.clone();
    let mut start_cause = String::new();
    for b in &strip.boundaries {
        parts.push(format!(
            "{} from {start}{start_cause} to {}",
            b.before, b.from
        ));
        start = b.to.clone();
        start_cause = cause(b);
    }
    let tail = strip.boundaries.last().expect("not empty");
    if tail.after == "not-reproduced" && tail.before != "not-reproduced" {
        parts.push(format!("fixed in {}{start_cause}", tail.to));
    } else {
        parts.push(format!(
            "{} from {start}{start_cause} to {}",
            tail.after, last.version
        ));
    }
    parts.join("; ")
}

fn write(dir: &Path, record: &MapRecord, args: &Drawn) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    haprepro::report::write_atomic(&dir.join("map.json"), &json)?;
    haprepro::report::write_atomic(&dir.join("map.md"), markdown(record, args).as_bytes())?;
    haprepro::report::write_atomic(&dir.join("map.html"), html(record).as_bytes())
}

/// `haproxy -vv` of a source build, kept beside its binary in the binary cache.
fn vv_of(cell: &Cell) -> Option<String> {
    // The tag comes from a matrix.json (perhaps a downloaded shard's): a plain name only.
    let tag = cell
        .image
        .as_deref()?
        .strip_prefix("haprepro/haproxy:")
        .filter(|t| !t.contains('/') && !t.starts_with('.'))?;
    use haprepro::images::source::binary_cache;
    binary_cache::read(&binary_cache::dir().join(tag))?.vv()
}

fn markdown(r: &MapRecord, args: &Drawn) -> String {
    let mut md = String::from("# haprepro map\n\n");
    for s in &r.strips {
        md.push_str(&format!("- **{}**: {}\n", s.case, s.answer));
    }
    // Paste-ready for a HAProxy issue: per boundary, the commit, the command that reproduces
    // each side, and `haproxy -vv` of both ends.
    for s in &r.strips {
        let (scenario, variant) = split_row(&s.case);
        let variant = variant
            .map(|v| format!(" --variant {v}"))
            .unwrap_or_default();
        for b in &s.boundaries {
            md.push_str(&format!(
                "\n### {}: {} ({}) → {} ({})\n\n",
                s.case, b.from, b.before, b.to, b.after
            ));
            if let Some(c) = &b.commit {
                md.push_str(&format!(
                    "{}: `{}` {:?}{}\n\n",
                    if c.kind.is_empty() { "commit" } else { &c.kind },
                    c.hash,
                    c.subject,
                    c.confirmation
                        .as_ref()
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default()
                ));
            }
            let clone = r.clones.first().map(String::as_str).unwrap_or("CLONE");
            md.push_str(&format!(
                "Reproduce: `haprepro run {scenario}{variant} --src {clone} --ref {}` ({}), \
                 `--ref {}` ({})\n",
                b.to, b.after, b.from, b.before
            ));
            for v in [&b.from, &b.to] {
                let vv = s.cells.iter().find(|c| &c.version == v).and_then(vv_of);
                if let Some(vv) = vv {
                    md.push_str(&format!(
                        "\n<details><summary><code>haproxy -vv</code> of {v}</summary>\n\n```\n{}\n```\n</details>\n",
                        vv.trim_end()
                    ));
                }
            }
        }
    }
    md.push_str(&format!(
        "\nClones: {}. Versions, in HAProxy's order: {}.\n\nReproduce one version: `haprepro run {} --src {} --ref <tag>`{}.\n",
        r.clones.join(", "),
        r.versions.join(" "),
        args.scenarios.join(","),
        r.clones.first().map(String::as_str).unwrap_or("CLONE"),
        if args.explain { "" } else { "; bisect a boundary with `--explain`" }
    ));
    for s in &r.strips {
        md.push_str(&format!(
            "\n## {}\n\n| version | outcome |\n|---|---|\n",
            s.case
        ));
        for c in &s.cells {
            md.push_str(&format!("| {} | {} |\n", c.version, c.outcome));
        }
        for b in &s.boundaries {
            md.push_str(&format!(
                "\nBoundary {} ({}) → {} ({}){}: {}\n",
                b.from,
                b.before,
                b.to,
                b.after,
                if b.unmeasured_between.is_empty() {
                    String::new()
                } else {
                    format!(", unmeasured between: {}", b.unmeasured_between.join(" "))
                },
                match (&b.commit, &b.unexplained) {
                    (Some(c), _) => format!(
                        "{}: {} {:?} (bisect: {}){}",
                        c.kind,
                        c.hash,
                        c.subject,
                        c.bisect,
                        c.confirmation
                            .as_ref()
                            .map(|t| format!("; {t}"))
                            .unwrap_or_default()
                    ),
                    (None, Some(why)) => why.clone(),
                    (None, None) => String::new(),
                }
            ));
        }
    }
    md
}

fn html(r: &MapRecord) -> String {
    let colour = |o: &str| match o {
        "reproduced" => "#e05050",
        "not-reproduced" => "#50a050",
        "crashed" => "#9050c0",
        _ => "#d0b020",
    };
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut page = String::from(
        "<!doctype html><meta charset=utf-8><title>haprepro map</title>\
         <style>body{font:14px sans-serif;margin:2em}td{padding:4px 8px;color:#fff;\
         text-align:center}td.b{border-left:4px solid #000}</style><h1>haprepro map</h1>",
    );
    for s in &r.strips {
        page.push_str(&format!(
            "<h2>{}</h2><p>{}</p><table><tr>",
            esc(&s.case),
            esc(&s.answer)
        ));
        for c in &s.cells {
            let edge = s.boundaries.iter().any(|b| b.to == c.version);
            page.push_str(&format!(
                "<td{} style=\"background:{}\" title=\"{}\">{}</td>",
                if edge { " class=b" } else { "" },
                colour(&c.outcome),
                esc(&c.outcome),
                esc(&c.version)
            ));
        }
        page.push_str("</tr></table>");
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(list: &[(&str, &str)]) -> Vec<Cell> {
        list.iter()
            .map(|(v, o)| Cell {
                version: v.to_string(),
                outcome: o.to_string(),
                evidence: None,
                image: None,
            })
            .collect()
    }

    #[test]
    fn boundaries_skip_unmeasured_versions_and_the_answer_reads_as_one_line() {
        let c = cells(&[
            ("v3.0-dev0", "not-reproduced"),
            ("v3.0-dev1", "reproduced"),
            ("v3.0-dev2", "error"),
            ("v3.0-dev3", "reproduced"),
            ("v3.0-dev4", "not-reproduced"),
        ]);
        let b = boundaries(&c);
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].from.as_str(), b[0].to.as_str()),
            ("v3.0-dev0", "v3.0-dev1")
        );
        assert_eq!(
            (b[1].from.as_str(), b[1].to.as_str()),
            ("v3.0-dev3", "v3.0-dev4")
        );
        assert!(b[1].unmeasured_between.is_empty());
        let mut strip = Strip {
            case: "s".into(),
            cells: c,
            boundaries: b,
            answer: String::new(),
        };
        strip.boundaries[0].commit = Some(Explained {
            confirmed: None,
            confirmation: None,
            kind: "first bad".into(),
            hash: "64c9c8e0123456789".into(),
            subject: "BUG".into(),
            bisect: String::new(),
        });
        assert_eq!(
            answer(&strip),
            "not-reproduced from v3.0-dev0 to v3.0-dev0; reproduced from v3.0-dev1 (64c9c8e01234 \"BUG\") to v3.0-dev3; fixed in v3.0-dev4"
        );
        let c = cells(&[("a", "error"), ("v1", "reproduced"), ("v2", "reproduced")]);
        let strip = Strip {
            case: "s".into(),
            boundaries: boundaries(&c),
            cells: c,
            answer: String::new(),
        };
        assert_eq!(
            answer(&strip),
            "reproduced from v1 to v2 (no change in the set)"
        );
    }
}
