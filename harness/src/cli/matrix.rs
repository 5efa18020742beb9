//! `haprepro matrix`: scenarios x versions, in parallel, with a progress display, the summary
//! table and every report view at the end. The cases run on the library's scheduler
//! (`haprepro::schedule`), as `haprepro bench`'s do.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use haprepro::case_id::row;
use haprepro::images::kind::{src, version};
use haprepro::images::{self, ImageSource, ResolvedImage};
use haprepro::report::{self, CaseRecord};
use haprepro::runtime::Engine;
use haprepro::scenario::{self, Scenario, Verdict};
use haprepro::schedule::{run_jobs, shard_cases, Job, PlanItem, Shard};

use super::run::{load_scenario, CaseArgs};
use super::source_args::{check_requires, Columns, SourceArgs};
use super::{engine, exit, CliError, CliResult, Kind};

#[derive(Args)]
pub struct MatrixArgs {
    /// Scenarios to run (comma-separated); all under --scenarios-dir by default.
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    // The columns: each kind's columns flag (--versions, --official, --src), with --src's
    // build options.
    #[command(flatten)]
    source: SourceArgs<Columns>,
    /// Cases run at once. Each case has its own network, /24 and DNS server, so cases do not
    /// compete for a host resource and none needs to be serialised.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Run only the K-th of N deterministic parts of the case list (1 <= K <= N), for CI shards.
    /// Cases are sorted by scenario then version and dealt round-robin. Also taken from
    /// HAPREPRO_SHARD (a CI matrix job's index), the flag winning.
    #[arg(long, value_name = "K/N", env = "HAPREPRO_SHARD")]
    shard: Option<Shard>,
    /// Run each case N times; a cell then says how many runs reproduced (`R 3/20`) and passes
    /// only if every run passed.
    #[arg(long, default_value_t = 1, value_name = "N")]
    repeat: usize,
    #[command(flatten)]
    case: CaseArgs,
}

/// A comma-separated option given on the command line: its non-empty items, or why none.
fn given_list(list: &Option<Vec<String>>, option: &str) -> Result<Option<Vec<String>>, String> {
    match list {
        None => Ok(None),
        Some(items) => {
            let items: Vec<String> = items
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
            if items.is_empty() {
                Err(format!(
                    "{option} was given but names nothing; leave it out to use the default (all)"
                ))
            } else {
                Ok(Some(items))
            }
        }
    }
}

/// `--versions` items with `A..B` ranges over the catalog expanded, or the reason they cannot be.
pub fn expand_ranges(items: &[String]) -> Result<Vec<String>, CliError> {
    haprepro::images::Catalog::builtin()
        .expand(items)
        .map_err(|e| CliError::usage(format!("--versions: {e}")))
}

/// Loads the named scenarios (all by default), or prints why not.
pub fn load_scenarios(
    names: Option<Vec<String>>,
    dir: &std::path::Path,
) -> Result<Vec<Arc<Scenario>>, CliError> {
    let names = names.unwrap_or_else(|| scenario::list(dir));
    if names.is_empty() {
        return Err(CliError::usage(format!("no scenario in {}", dir.display())));
    }
    names
        .iter()
        .map(|n| load_scenario(n, dir).map(Arc::new))
        .collect()
}

/// The suites of every built catalog image, or why there are none.
pub async fn built_versions(engine: &Engine) -> Result<Vec<String>, CliError> {
    match images::list_built(engine).await {
        Ok(built) if !built.is_empty() => Ok(built.into_iter().map(|b| b.suite).collect()),
        Ok(_) => Err(CliError::harness(
            "no HAProxy image is built yet\n  Build them with `haprepro images build`.",
        )),
        Err(e) => Err(CliError::of(Kind::Harness, e)),
    }
}

/// Resolves a catalog version; an unknown version is bad input (2), a missing image a harness
/// problem (3).
pub async fn resolve_version(engine: &Engine, v: &str) -> Result<ResolvedImage, CliError> {
    super::resolve_image(engine, &ImageSource::Catalog(v.to_string())).await
}

/// `--versions` with `--src`: catalog items (ranges of the catalog expanded) stay as they are;
/// with git checkouts, the other items are refs or sets of the clones' tags (see
/// [`version_set`]), each a source column built from the clone that has it; a tarball or
/// `debian:SUITE` is one more column. Bad input is said here, before anything is built.
fn source_columns(
    args: &MatrixArgs,
    versions: Option<Vec<String>>,
    sources: &mut Vec<(String, ImageSource)>,
) -> Result<Option<Vec<String>>, CliError> {
    use haprepro::images::source::version_set;
    use haprepro::images::TreeSource;
    let catalog = haprepro::images::Catalog::builtin();
    let srcs = args.source.given(&src::KIND).unwrap_or_default();
    let specs = srcs
        .iter()
        .map(|src| args.source.build.spec(src))
        .collect::<Result<Vec<_>, _>>()
        .map_err(CliError::usage)?;
    args.source
        .build_without_source()
        .map_err(CliError::usage)?;
    let git = |spec: &haprepro::images::SourceSpec| matches!(spec.tree, TreeSource::Git { .. });
    match specs.as_slice() {
        [] => versions.map(|v| expand_ranges(&v)).transpose(),
        [spec] if !git(spec) => {
            let mut versions = versions.map(|v| expand_ranges(&v)).transpose()?;
            versions.get_or_insert_with(Vec::new).push(srcs[0].clone());
            sources.push((srcs[0].clone(), ImageSource::Source(Box::new(spec.clone()))));
            Ok(versions)
        }
        specs => {
            if let Some(i) = specs.iter().position(|s| !git(s)) {
                return Err(CliError::usage(format!(
                    "--src {} is not a git checkout: --src is given more than once, so each one \
                     must be a clone of HAProxy (a mainline clone and branch clones)",
                    srcs[i]
                )));
            }
            let Some(items) = versions else {
                return Err(CliError::usage("with --src DIR (a git checkout), --versions names the refs or tag sets to build (`--versions v3.0-dev12,v3.1-dev*,v3.0.0..v3.0.99`)"));
            };
            // A catalog item, or a range of the catalog; `ref:` forces a ref of the checkout.
            let of_catalog = |item: &str| {
                !item.starts_with("ref:")
                    && (catalog.find(item).is_some()
                        || item.split_once("..").is_some_and(|(a, b)| {
                            [a, b]
                                .iter()
                                .all(|e| e.is_empty() || catalog.find(e.trim()).is_some())
                                && !(a.is_empty() && b.is_empty())
                        }))
            };
            let needs_tags = specs.len() > 1
                || items.iter().any(|i| {
                    !of_catalog(i)
                        && (i.contains("..")
                            || i.contains(['*', '?'])
                            || i == haprepro::images::nightly::NEWEST_TAG)
                });
            let tags = if needs_tags {
                let clones = specs
                    .iter()
                    .zip(srcs)
                    .map(|(_, dir)| {
                        let dir = std::path::PathBuf::from(dir);
                        version_set::clone_tags(&dir).map(|t| (dir, t))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .and_then(|clones| version_set::merge(&clones))
                    .map_err(|e| CliError::usage(format!("--src: {e}")))?;
                clones
            } else {
                Vec::new()
            };
            let mut out = Vec::new();
            for item in &items {
                if of_catalog(item) {
                    out.extend(expand_ranges(std::slice::from_ref(item))?);
                    continue;
                }
                let wanted = [item.strip_prefix("ref:").unwrap_or(item).to_string()];
                let members = version_set::expand(&wanted, &tags)
                    .map_err(|e| CliError::usage(format!("--versions: {e}")))?;
                for m in members {
                    if !out.contains(&m.name) {
                        sources.push((
                            m.name.clone(),
                            ImageSource::Source(Box::new(specs[m.clone].at(&m.name))),
                        ));
                        out.push(m.name);
                    }
                }
            }
            Ok(Some(out))
        }
    }
}

/// The columns of the kinds other than catalog versions and source builds (`--official
/// 3.2,latest`): each value one column, named as its source is (`haproxy:3.2`).
fn other_columns(args: &MatrixArgs) -> Result<Vec<(String, ImageSource)>, CliError> {
    let mut columns = Vec::new();
    for (kind, flag, values) in args.source.others(&[&version::KIND, &src::KIND]) {
        let items = given_list(&Some(values.to_vec()), &format!("--{}", flag.long))
            .map_err(CliError::usage)?;
        for item in items.unwrap_or_default() {
            let source = args.source.parse(kind, &item).map_err(CliError::usage)?;
            columns.push((source.to_string(), source));
        }
    }
    Ok(columns)
}

pub async fn run(args: MatrixArgs) -> CliResult {
    let asked = Asked::parse(&args)?;
    let engine = engine().await?;
    // Every catalog version by default: the missing images are built below.
    let versions = asked.versions.unwrap_or_else(catalog_versions);
    let planned = Planned::new(&args, &asked.scenarios, &versions);
    let cases = shard_cases(planned.all, args.shard);
    if let Some(shard) = args.shard {
        eprintln!(
            "shard {shard}: {} of {} case(s)",
            cases.len(),
            planned.in_all
        );
    }
    if cases.is_empty() {
        println!("nothing to run: shard has no case");
        return Ok(exit::OK);
    }
    let images = Images::ready(&engine, &cases, &asked.sources).await?;
    let run_id = haprepro::runtime::new_run_id();
    let plan = report::Plan::new(&run_id, planned.items, args.shard.map(|s| (s.k, s.n)));
    let run_dir = args.case.results_dir.join(&run_id);
    write_plan(&run_dir, &plan)?;
    let jobs = jobs(&args, &planned.rows, &cases, &images, &run_id, &plan);
    eprintln!(
        "run {run_id}: {} case(s){}, {} at a time (images: {} built, ready in {} ms)",
        cases.len(),
        if args.repeat > 1 {
            format!(" x {} repeats = {} runs", args.repeat, jobs.len())
        } else {
            String::new()
        },
        args.jobs,
        images.built,
        images.ms
    );
    let started = Instant::now();
    let expected_runs = jobs.len();
    let records = run_jobs(&engine, jobs, args.jobs).await;
    if let Some(stopped) = records.iter().find(|r| r.harness_error.is_some()) {
        return Err(harness_stop(stopped, records.len(), expected_runs));
    }
    report_run(&run_dir, &records, started, &images, expected_runs)
}

/// The command line checked, scenarios loaded and every column named, before the engine is
/// asked anything.
struct Asked {
    scenarios: Vec<Arc<Scenario>>,
    /// The columns, `None` for every catalog version.
    versions: Option<Vec<String>>,
    /// Which columns are not catalog versions, and what they are.
    sources: Vec<(String, ImageSource)>,
}

impl Asked {
    fn parse(args: &MatrixArgs) -> Result<Asked, CliError> {
        if args.jobs == 0 || args.repeat == 0 {
            return Err(CliError::usage("--jobs and --repeat must be at least 1"));
        }
        let versions = args.source.given(&version::KIND).map(<[String]>::to_vec);
        let (names, versions) = match (
            given_list(&args.scenarios, "--scenarios"),
            given_list(&versions, "--versions"),
        ) {
            (Ok(s), Ok(v)) => (s, v),
            // Both said when both are empty.
            (s, v) => {
                return Err(CliError::lines(
                    Kind::Usage,
                    [s.err(), v.err()].into_iter().flatten(),
                ))
            }
        };
        let others = other_columns(args)?;
        let scenarios = load_scenarios(names, &args.case.scenarios_dir())?;
        // `--src`: which --versions items are source builds, and of what.
        let mut sources: Vec<(String, ImageSource)> = Vec::new();
        let mut versions = source_columns(args, versions, &mut sources)?;
        for (name, source) in others {
            if !sources.iter().any(|(n, _)| *n == name) {
                versions.get_or_insert_with(Vec::new).push(name.clone());
                sources.push((name, source));
            }
        }
        for (_, source) in &sources {
            for s in &scenarios {
                check_requires(s, source)?;
            }
        }
        super::preflight::before_images(&scenarios, &args.case.results_dir)?;
        Ok(Asked {
            scenarios,
            versions,
            sources,
        })
    }
}

/// A row of the matrix: its name, its scenario and the variant's name.
type Row<'a> = (String, &'a Arc<Scenario>, Option<&'a String>);

/// Every case of the matrix, before a shard takes its part.
struct Planned<'a> {
    rows: Vec<Row<'a>>,
    /// Every (row, version), once.
    all: Vec<(String, String)>,
    in_all: usize,
    /// Every run, repeats included, as the plan names it.
    items: Vec<String>,
}

impl<'a> Planned<'a> {
    fn new(args: &MatrixArgs, scenarios: &'a [Arc<Scenario>], versions: &[String]) -> Self {
        // A case is a row, a scenario (or one of its variants, `scenario/variant`), on a
        // version.
        let rows: Vec<Row<'a>> = scenarios
            .iter()
            .flat_map(|s| {
                s.variants.iter().map(move |variant| {
                    let name = variant.name.as_ref();
                    (row(&s.name, name.map(String::as_str)), s, name)
                })
            })
            .collect();
        let all: Vec<(String, String)> = rows
            .iter()
            .flat_map(|(row, ..)| versions.iter().map(move |v| (row.clone(), v.clone())))
            .collect();
        let in_all = all.len();
        let items: Vec<String> = (1..=args.repeat)
            .flat_map(|k| {
                all.iter()
                    .map(move |(row, v)| PlanItem::new(row, v, k, args.repeat).to_string())
            })
            .collect();
        Planned {
            rows,
            all,
            in_all,
            items,
        }
    }
}

/// The columns' images, ready before the first case.
struct Images {
    resolved: Vec<(String, ResolvedImage)>,
    columns: std::collections::HashMap<String, String>,
    built: usize,
    ms: u128,
}

impl Images {
    /// Builds what is missing, then resolves each version once, before anything starts.
    async fn ready(
        engine: &Engine,
        cases: &[(String, String)],
        sources: &[(String, ImageSource)],
    ) -> Result<Images, CliError> {
        let mut needed: Vec<String> = cases
            .iter()
            .map(|(_, v)| v.clone())
            .filter(|v| !sources.iter().any(|(name, _)| name == v))
            .collect();
        needed.sort();
        needed.dedup();
        let images_started = Instant::now();
        let mut resolved: Vec<(String, ResolvedImage)> = Vec::new();
        // Images to pull first (official ones): one that is missing and cannot be pulled (no
        // registry) stops the run before anything is built.
        let pulled = |s: Option<&ImageSource>| s.is_some_and(ImageSource::may_pull);
        resolve_columns(engine, cases, sources, pulled, &mut resolved).await?;
        let built = super::images::ensure(engine, &needed).await?.built.len();
        resolve_columns(engine, cases, sources, |_| true, &mut resolved).await?;
        let ms = images_started.elapsed().as_millis();
        let columns = column_names(&resolved);
        Ok(Images {
            resolved,
            columns,
            built,
            ms,
        })
    }
}

/// A job per run of each case, longest first, so that a long racy case does not start last
/// and stretch the run's tail.
fn jobs(
    args: &MatrixArgs,
    rows: &[Row<'_>],
    cases: &[(String, String)],
    images: &Images,
    run_id: &str,
    plan: &report::Plan,
) -> Vec<Job> {
    let mut jobs = Vec::new();
    for k in 1..=args.repeat {
        for (key, v) in cases {
            let case = rows.iter().find(|(row, ..)| row == key);
            let image = images
                .resolved
                .iter()
                .find(|(w, _)| w == v)
                .map(|(_, i)| i.clone());
            if let (Some((_, scenario, variant)), Some(image)) = (case, image) {
                jobs.push(
                    Job::new(
                        Arc::clone(scenario),
                        image,
                        run_id,
                        &args.case.results_dir,
                        args.case.keep,
                        (args.repeat > 1).then_some((k, args.repeat)),
                    )
                    .variant(variant.cloned())
                    .column(images.columns.get(v).cloned())
                    .planned(report::Planned {
                        plan: plan.plan.clone(),
                        item: PlanItem::new(key, v, k, args.repeat).to_string(),
                    }),
                );
            }
        }
    }
    jobs.sort_by(|a, b| b.cost_hint().total_cmp(&a.cost_hint()));
    jobs
}

/// Writes the reports, prints the table and the summary line, and gives the verdict.
fn report_run(
    run_dir: &std::path::Path,
    records: &[CaseRecord],
    started: Instant,
    images: &Images,
    expected_runs: usize,
) -> CliResult {
    let report_started = Instant::now();
    // Reports that could not be written are a run whose results are lost: never exit 0 (the
    // table is still printed).
    let reports_lost = report::write_all(run_dir, records).err().map(|e| {
        CliError::harness(format!(
            "cannot write the reports into {}: {e}\n  The cases' own case.json files are in \
             their folders; `haprepro report merge {}` makes the reports again once there is room.",
            run_dir.display(),
            run_dir.display()
        ))
    });
    let report_ms = report_started.elapsed().as_millis();
    println!("\n{}", report::matrix::markdown(records));
    let (passed, total) = report::passed_cells(records);
    println!(
        "{passed} passed, {} not passing  ({:.1}s; results in {}: matrix.html, matrix.md, junit.xml; images ready in {} ms, {} built; reports written in {report_ms} ms)",
        total - passed,
        started.elapsed().as_secs_f64(),
        run_dir.display(),
        images.ms,
        images.built
    );
    if let Some(e) = reports_lost {
        Err(e)
    } else if records.len() == expected_runs && records.iter().all(|r| r.verdict == Verdict::Pass) {
        Ok(exit::OK)
    } else {
        Ok(exit::FAILED)
    }
}

/// Writes `plan.json` before the first case: a matrix whose plan is lost could not be checked
/// for missing cases later, so a failed write stops it (exit 3).
fn write_plan(run_dir: &std::path::Path, plan: &report::Plan) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(plan).expect("a plan serializes");
    std::fs::create_dir_all(run_dir)
        .and_then(|()| report::write_atomic(&run_dir.join("plan.json"), json.as_bytes()))
        .map_err(|e| {
            CliError::harness(format!(
                "cannot write {}: {e}\n  Give --results-dir a folder with room that this user can write.",
                run_dir.join("plan.json").display()
            ))
        })
}

/// Resolves, once each, the columns of the cases whose source `pick` accepts and that are not
/// in `resolved` yet: a source given by name (`--src`, `--official`), else a catalog version.
async fn resolve_columns(
    engine: &Engine,
    cases: &[(String, String)],
    sources: &[(String, ImageSource)],
    pick: impl Fn(Option<&ImageSource>) -> bool,
    resolved: &mut Vec<(String, ResolvedImage)>,
) -> Result<(), CliError> {
    for (_, v) in cases {
        if resolved.iter().any(|(w, _)| w == v) {
            continue;
        }
        let source = sources.iter().find(|(name, _)| name == v).map(|(_, s)| s);
        if !pick(source) {
            continue;
        }
        let image = match source {
            Some(source) => super::resolve_image(engine, source).await?,
            None => resolve_version(engine, v).await?,
        };
        resolved.push((v.clone(), image));
    }
    Ok(())
}

/// The one message of a run stopped by a harness problem: what is wrong and what to do.
pub fn harness_stop(stopped: &CaseRecord, finished: usize, expected: usize) -> CliError {
    CliError::harness(format!(
        "{}\n\nThe run stopped at {} ({finished} of {expected} case(s) ended): this \
         is the harness's problem, not the scenario's, and every case would hit it.\n  \
         Its record: {}",
        stopped.harness_error.as_deref().unwrap_or(&stopped.reason),
        stopped.case,
        stopped.evidence_dir.join("case.json").display()
    ))
}

/// The catalog's versions, oldest first: what a matrix runs when `--versions` is not given.
pub fn catalog_versions() -> Vec<String> {
    images::Catalog::builtin()
        .suites
        .iter()
        .map(|s| s.version_hint.clone())
        .collect()
}

/// A name for each column whose HAProxy version another column of the run shares (the catalog's
/// 3.0.11 beside a source build or an official image of 3.0.11): the tag of its image
/// (`suite-trixie`, `src-1a2b3c4d5e6f-minimal`), the whole reference when the tags are alike
/// too, or the `--versions` item when two items name one image. Case names are made of scenario and version, and they name case folders and
/// containers: without this, two such columns would take each other's.
fn column_names(resolved: &[(String, ResolvedImage)]) -> std::collections::HashMap<String, String> {
    let short = |i: &ResolvedImage| images::short_version(&i.version);
    let tag = |i: &ResolvedImage| {
        i.reference
            .rsplit_once(':')
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| i.reference.clone())
    };
    let mut names = std::collections::HashMap::new();
    for (key, image) in resolved {
        let same: Vec<&ResolvedImage> = resolved
            .iter()
            .filter(|(k, i)| k != key && short(i) == short(image))
            .map(|(_, i)| i)
            .collect();
        if same.is_empty() {
            continue;
        }
        let name = if same.iter().any(|i| i.reference == image.reference) {
            key.clone()
        } else if same.iter().any(|i| tag(i) == tag(image)) {
            image.reference.clone()
        } else {
            tag(image)
        };
        names.insert(key.clone(), haprepro::runtime::sanitize(&name));
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_list_option_is_refused_and_an_absent_one_means_all() {
        assert_eq!(given_list(&None, "--versions"), Ok(None));
        assert_eq!(
            given_list(&Some(vec!["".into()]), "--versions"),
            Err(
                "--versions was given but names nothing; leave it out to use the default (all)"
                    .into()
            )
        );
        assert_eq!(
            given_list(&Some(vec!["3.0.11".into(), " ".into()]), "--versions"),
            Ok(Some(vec!["3.0.11".to_string()]))
        );
    }
}
