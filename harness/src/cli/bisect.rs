//! `haprepro bisect`: the first version (or image) of an ordered list whose measured outcome
//! differs from the first one's, with [`haprepro::bisect`] choosing what to run. Every
//! candidate is resolved before anything starts, so a typo costs no container run. With
//! `--src DIR --good A --bad B`, the candidates are commits, built one by one
//! ([`super::bisect_commits`]).

use std::cell::RefCell;
use std::path::Path;

use clap::Args;
use haprepro::bisect::{self, BisectError};
use haprepro::images::kind::{src, version};
use haprepro::images::{ImageSource, ResolvedImage};
use haprepro::report::{self, CaseRecord};
use haprepro::runtime::Engine;
use haprepro::scenario::{self, RunOptions, Scenario, VariantPlan};
use haprepro::schedule::numbered_run_id;

use super::matrix::expand_ranges;
use super::run::{load_scenario, pick_variant, CaseArgs};
use super::source_args::{Candidates, SourceArgs};
use super::{engine, exit, CliError, CliResult};

#[derive(Args)]
pub struct BisectArgs {
    /// The scenario: a folder name under --scenarios-dir, or a path to a scenario folder.
    pub(super) scenario: String,
    // The candidates: each kind's candidates flag (--versions, --images, --src), at least one,
    // with --src's build options.
    #[command(flatten)]
    pub(super) source: SourceArgs<Candidates>,
    /// With --src: the old end, a ref that does not reproduce (or, with --fixed, reproduces).
    #[arg(long, value_name = "REF", requires = "src", alias = "old")]
    pub(super) good: Option<String>,
    /// With --src: the new end, a ref that reproduces (or, with --fixed, does not).
    #[arg(long, value_name = "REF", requires = "src", alias = "new")]
    pub(super) bad: Option<String>,
    /// Look for the fix instead: the old end reproduces, the new one does not; the answer is
    /// the first commit that no longer reproduces.
    #[arg(long, requires = "src")]
    pub(super) fixed: bool,
    /// Runs per candidate (a racy variant's own repeat count otherwise): reproduced if the
    /// symptom appears in any.
    #[arg(long, value_name = "N", requires = "src")]
    pub(super) repeat: Option<u32>,
    /// The variant of the scenario to run (its first by default).
    #[arg(long)]
    pub(super) variant: Option<String>,
    #[command(flatten)]
    pub(super) case: CaseArgs,
}

/// The values of a candidates flag, trimmed, the empty ones left out.
fn items(values: Option<&[String]>) -> Vec<String> {
    values
        .unwrap_or_default()
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

pub async fn run(args: BisectArgs) -> CliResult {
    if asks_for_commits(&args)? {
        return super::bisect_commits::run(args).await;
    }
    let (names, sources) = list_candidates(&args)?;
    let scenario = load_scenario(&args.scenario, &args.case.scenarios_dir())?;
    let variant = pick_variant(&scenario, args.variant.as_deref())?;
    let engine = engine().await?;
    let candidates = resolve_candidates(&engine, sources).await?;
    let run_id = haprepro::runtime::new_run_id();
    let run_dir = args.case.results_dir.join(&run_id);
    println!(
        "bisect {} over {} candidate(s): {} (run {run_id}; at most {} runs)",
        scenario.name,
        candidates.len(),
        names.join(", "),
        bisect::max_probes(candidates.len())
    );
    let probing = Probing {
        engine: &engine,
        scenario: &scenario,
        variant,
        names: &names,
        run_id: &run_id,
        run_dir: &run_dir,
        keep: args.case.keep,
    };
    let (result, records) = probing.search(&candidates).await;
    if let Err(e) = report::write_all(&run_dir, &records) {
        eprintln!(
            "error: cannot write the reports into {}: {e}",
            run_dir.display()
        );
    }
    match result {
        Ok(b) => {
            probing.print_answer(&b, &records);
            Ok(exit::OK)
        }
        Err(e @ (BisectError::EndsAgree { .. } | BisectError::TooFew(_))) => {
            Err(CliError::usage(e))
        }
        Err(e) => Err(CliError::failed(format!(
            "{e}\n  See the run's evidence in {}.",
            run_dir.display()
        ))),
    }
}

/// `--src` without `--versions` bisects commits, a command of its own; the kinds' flags that
/// cannot be mixed are refused first.
fn asks_for_commits(args: &BisectArgs) -> Result<bool, CliError> {
    let source = &args.source;
    let (src, versions) = (source.first(&src::KIND), source.given(&version::KIND));
    // The other kinds' candidates (--images): lists of their own.
    let others: Vec<_> = source.others(&[&version::KIND, &src::KIND]).collect();
    if let Some((_, flag, _)) = others.first() {
        if src.is_some() || versions.is_some() || others.len() > 1 {
            return Err(CliError::usage(format!(
                "--{} is a list of its own: give it without --versions and --src",
                flag.long
            )));
        }
    }
    Ok(src.is_some() && versions.is_none())
}

/// The candidates' names and sources, in order, at least two.
fn list_candidates(args: &BisectArgs) -> Result<(Vec<String>, Vec<ImageSource>), CliError> {
    let source = &args.source;
    let (src, versions) = (source.first(&src::KIND), source.given(&version::KIND));
    let others: Vec<_> = source.others(&[&version::KIND, &src::KIND]).collect();
    if src.is_some() && (args.good.is_some() || args.bad.is_some()) {
        return Err(CliError::usage(
            "--good/--bad bisect the commits between two refs; --versions bisects a set of tags: give one of the two",
        ));
    }
    source.build_without_source().map_err(CliError::usage)?;
    // Catalog versions with their ranges expanded, or the values of another kind, in order.
    let candidates = if let Some(src) = src {
        tag_candidates(args, src)
    } else {
        let (kind, values) = match others.first() {
            None => (&version::KIND, expand_ranges(&items(versions))),
            Some((kind, _, values)) => (*kind, Ok(items(Some(values)))),
        };
        values.and_then(|values| {
            values
                .into_iter()
                .map(|v| source.parse(kind, &v).map(|s| (v, s)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(CliError::usage)
        })
    };
    let (names, sources): (Vec<String>, Vec<ImageSource>) = candidates?.into_iter().unzip();
    if names.len() < 2 {
        return Err(CliError::usage(format!(
            "bisect needs at least two candidates, in order (got {}): --versions A,B,C or --images REF,REF",
            names.len()
        )));
    }
    Ok((names, sources))
}

type Candidate = (ImageSource, Option<ResolvedImage>);

/// Catalog versions and images are resolved before the first run (a missing one stops the
/// bisect at once); tags of a clone are built only when probed.
async fn resolve_candidates(
    engine: &Engine,
    sources: Vec<ImageSource>,
) -> Result<Vec<Candidate>, CliError> {
    let mut candidates: Vec<Candidate> = Vec::new();
    for source in sources {
        if matches!(source, ImageSource::Source(_)) {
            candidates.push((source, None));
            continue;
        }
        let image = super::resolve_image(engine, &source).await?;
        candidates.push((source, Some(image)));
    }
    Ok(candidates)
}

/// What every probe shares, so that probing one candidate takes only its index.
struct Probing<'a> {
    engine: &'a Engine,
    scenario: &'a Scenario,
    variant: &'a VariantPlan,
    names: &'a [String],
    run_id: &'a str,
    run_dir: &'a Path,
    keep: bool,
}

impl Probing<'_> {
    /// One run id per candidate: two images may report the same version, and case folders
    /// and container names are made of scenario, version and run id.
    fn candidate_run(&self, i: usize) -> String {
        numbered_run_id(self.run_id, "c", i + 1, self.names.len())
    }

    /// Runs the bisection to its end, each probe printed as it ends.
    async fn search(
        &self,
        candidates: &[Candidate],
    ) -> (Result<bisect::Bisection, BisectError>, Vec<CaseRecord>) {
        let records: RefCell<Vec<CaseRecord>> = RefCell::new(Vec::new());
        let result = bisect::bisect(candidates, |i, image| {
            let records = &records;
            let probe = records.borrow().len() + 1;
            let (source, resolved) = image.clone();
            async move {
                let Some(r) = self.probe(i, probe, source, resolved).await else {
                    return scenario::Outcome::Error;
                };
                let outcome = r.outcome;
                records.borrow_mut().push(r);
                outcome
            }
        })
        .await;
        (result, records.into_inner())
    }

    /// Candidate `i` resolved (built, for a tag of a clone) and run as probe number `probe`;
    /// `None` when it could not be built.
    async fn probe(
        &self,
        i: usize,
        probe: usize,
        source: ImageSource,
        resolved: Option<ResolvedImage>,
    ) -> Option<CaseRecord> {
        let opts = RunOptions {
            run_id: self.candidate_run(i),
            results_dir: self.run_dir.to_path_buf(),
            keep: self.keep,
            column: None,
            planned: None,
        };
        let names = self.names;
        let image = match resolved {
            Some(image) => image,
            None => match super::resolve_image(self.engine, &source).await {
                Ok(image) => image,
                Err(_) => {
                    println!(
                        "  run {probe}: #{:<2} {:<24} could not be built (its error is above; skipped, like git bisect skip)",
                        i + 1,
                        names[i]
                    );
                    return None;
                }
            },
        };
        let (engine, scenario, variant) = (self.engine, self.scenario, self.variant);
        let r = scenario::run_variant(engine, scenario, variant, &image, &opts, &|_| {}).await;
        println!(
            "  run {probe}: #{:<2} {:<24} HAProxy {:<20} measured {:<15} {:>5.1}s  evidence {}{}",
            i + 1,
            names[i],
            r.version,
            r.outcome.to_string(),
            r.wall_ms as f64 / 1000.0,
            r.evidence_dir.display(),
            if r.outcome == scenario::Outcome::Error {
                format!(
                    "\n      could not run: {} (skipped, like git bisect skip)",
                    r.reason
                )
            } else {
                String::new()
            }
        );
        Some(r)
    }

    fn print_answer(&self, b: &bisect::Bisection, records: &[CaseRecord]) {
        let names = self.names;
        // The probe of the first candidate to differ: the one run with its run id.
        let differing = self.candidate_run(b.first_different);
        let other = records
            .iter()
            .find(|r| r.run_id == differing && r.outcome != b.reference)
            .map(|r| r.outcome.to_string())
            .unwrap_or_else(|| "a different outcome".into());
        println!(
            "\n{} runs. #1 {} measures {}.",
            b.probes.len(),
            names[0],
            b.reference
        );
        if b.is_exact() {
            println!(
                "first to differ: #{} {} ({other}); the one before, #{} {}, still measures {}.",
                b.first_different + 1,
                names[b.first_different],
                b.last_same + 1,
                names[b.last_same],
                b.reference
            );
        } else {
            let open: Vec<String> = b
                .untested
                .iter()
                .chain(std::iter::once(&b.first_different))
                .map(|&i| format!("#{} {}", i + 1, names[i]))
                .collect();
            println!(
                "the change is after #{} {} ({}) and at one of: {} (the others before #{} could not run).",
                b.last_same + 1,
                names[b.last_same],
                b.reference,
                open.join(", "),
                b.first_different + 1
            );
        }
        println!("results: {}", self.run_dir.display());
    }
}

/// `--src CLONE --versions SET`: the set's tags of the clone in HAProxy's version order, each a
/// source build of the clone at that tag (with --profile, --patch, ...).
fn tag_candidates(args: &BisectArgs, src: &str) -> Result<Vec<(String, ImageSource)>, CliError> {
    use haprepro::images::source::version_set;
    let spec = args.source.build.spec(src).map_err(CliError::usage)?;
    if !matches!(spec.tree, haprepro::images::TreeSource::Git { .. }) {
        return Err(CliError::usage(format!(
            "--src {src} with --versions: a set of tags needs a git clone of HAProxy"
        )));
    }
    let dir = std::path::PathBuf::from(src);
    let tags = version_set::clone_tags(&dir)
        .map(|t| vec![(dir, t)])
        .and_then(|clones| version_set::merge(&clones))
        .map_err(|e| CliError::usage(format!("--src: {e}")))?;
    let versions = args.source.given(&version::KIND).unwrap_or_default();
    let members = version_set::expand(versions, &tags)
        .map_err(|e| CliError::usage(format!("--versions: {e}")))?;
    Ok(members
        .into_iter()
        .map(|m| {
            let source = ImageSource::Source(Box::new(spec.at(&m.name)));
            (m.name, source)
        })
        .collect())
}
