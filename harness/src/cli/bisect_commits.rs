//! `haprepro bisect SCENARIO --src DIR --good A --bad B [--fixed]`: the first commit whose
//! outcome differs from the old end's, each candidate built from source and run, every step
//! printed as it ends, and `bisect.json` + `bisect.md` in the run's folder.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use haprepro::bisect::commits::{self, CommitBisection, CommitRange, Plan};
use haprepro::bisect::record::{self, Answer, BisectRecord, BisectStep, PlanRecord, StepBuild};
use haprepro::bisect::BisectError;
use haprepro::images::kind::src;
use haprepro::images::{self, ImageSource, SourceSpec, TreeSource};
use haprepro::report::{self, CaseRecord};
use haprepro::runtime::Engine;
use haprepro::scenario::{self, Outcome, RunOptions, Scenario, VariantPlan};
use haprepro::schedule::numbered_run_id;

use super::bisect::BisectArgs;
use super::build_ahead::BuildAhead;
use super::build_progress::BuildProgress;
use super::error::Verdict;
use super::run::{load_scenario, pick_variant};
use super::source_args::check_requires;
use super::{engine, exit, CliError, CliResult, Kind};

fn short(hash: &str) -> &str {
    &hash[..12.min(hash.len())]
}

/// The command line checked before git or the engine is asked anything, so that a wrong flag
/// or a missing scenario costs nothing.
struct Request {
    spec: SourceSpec,
    dir: PathBuf,
    good: String,
    bad: String,
    scenario: Scenario,
    variant: VariantPlan,
    fixed: bool,
    keep: bool,
}

impl Request {
    fn parse(args: &BisectArgs) -> Result<Request, CliError> {
        let src = args
            .source
            .first(&src::KIND)
            .unwrap_or_default()
            .to_string();
        let (Some(good), Some(bad)) = (args.good.clone(), args.bad.clone()) else {
            return Err(CliError::usage("bisect --src DIR needs both ends: --good REF (the old end) and --bad REF (the new end)"));
        };
        if args.source.build.reference.is_some() {
            return Err(CliError::usage(
                "bisect takes its commits from --good and --bad, not --ref",
            ));
        }
        let spec = args.source.build.spec(&src).map_err(CliError::usage)?;
        let TreeSource::Git { dir, .. } = &spec.tree else {
            return Err(CliError::usage(format!(
                "bisect --src needs a git checkout (a directory), not {src}"
            )));
        };
        let dir = dir.clone();
        let scenario = load_scenario(&args.scenario, &args.case.scenarios_dir())?;
        let mut variant = pick_variant(&scenario, args.variant.as_deref())?.clone();
        if let Some(n) = args.repeat {
            if n == 0 {
                return Err(CliError::usage("--repeat must be at least 1"));
            }
            variant.repeat = n;
        }
        check_requires(&scenario, &ImageSource::Source(Box::new(spec.clone())))?;
        Ok(Request {
            spec,
            dir,
            good,
            bad,
            scenario,
            variant,
            fixed: args.fixed,
            keep: args.case.keep,
        })
    }

    /// The outcome the old end must have: a regression starts from "not reproduced", a fix
    /// from "reproduced".
    fn expected_old(&self) -> Outcome {
        if self.fixed {
            Outcome::Reproduced
        } else {
            Outcome::NotReproduced
        }
    }

    fn answer_kind(&self) -> &'static str {
        if self.fixed {
            "first fixed commit"
        } else {
            "first bad commit"
        }
    }
}

pub async fn run(args: BisectArgs) -> CliResult {
    let req = Request::parse(&args)?;
    let range = commit_range(&req).await?;
    let engine = engine().await?;
    let planned = plan_builds(&engine, &req.spec, &range).await;
    let run_id = haprepro::runtime::new_run_id();
    let run_dir = args.case.results_dir.join(&run_id);
    print_header(&req, &range, &planned, &run_id);
    let started = Instant::now();
    let bisection = Bisection {
        req: &req,
        engine: &engine,
        range: &range,
        run_id: &run_id,
        run_dir: &run_dir,
    };
    let (result, steps, records) = bisection.search(&planned.plan).await;
    let ended = Ended::tally(&req, steps, started);
    let (answer, error, code) = verdict(&req, &range, &result);
    print_verdict(&req, &ended, &answer, &error);
    let record = ended.record(&req, &run_id, &planned, range.commits.len(), answer, error);
    write_results(&run_dir, &records, &record);
    // A bisect that could not answer said why above, before its record was written: its code
    // (2 when its ends agree, 1 else) is the verdict of a run that went to its end.
    Ok(code)
}

/// A git that is missing is the harness's problem; any other range error is the user's refs.
async fn commit_range(req: &Request) -> Result<CommitRange, CliError> {
    commits::range(&req.dir, &req.good, &req.bad)
        .await
        .map_err(|e| {
            let kind = match e {
                commits::RangeError::Git(images::ImageError::GitMissing) => Kind::Harness,
                _ => Kind::Usage,
            };
            CliError::of(kind, e)
        })
}

/// The plan, with the tags it was made of, for the header and the record.
struct Planned {
    tag_indices: Vec<usize>,
    plan: Plan,
}

async fn plan_builds(engine: &Engine, spec: &SourceSpec, range: &CommitRange) -> Planned {
    let n = range.commits.len();
    let tag_indices: Vec<usize> = range.tags.keys().copied().collect();
    // Which tags (and ends) are built already: they cost no build in the plan.
    let mut built = HashSet::new();
    for &i in tag_indices.iter().chain([0, n - 1].iter()) {
        if let Ok(Some(_)) =
            images::source::find_built(engine, &spec.at(&range.commits[i].hash)).await
        {
            built.insert(i);
        }
    }
    let plan = commits::plan(n, &tag_indices, &|i| built.contains(&i));
    Planned { tag_indices, plan }
}

fn print_header(req: &Request, range: &CommitRange, planned: &Planned, run_id: &str) {
    let (plan, tag_indices) = (&planned.plan, &planned.tag_indices);
    println!(
        "bisect {}{} over {} commits of {} ({}..{}, first parents){}; {}; at most {} build(s) (run {run_id})",
        req.scenario.name,
        req.variant.name.as_deref().map(|v| format!("/{v}")).unwrap_or_default(),
        range.commits.len(),
        req.dir.display(),
        req.good,
        req.bad,
        if req.fixed { ", looking for the fix" } else { "" },
        match &plan.tag_stage {
            Some(points) => format!("tags first ({} tag(s) between), then commits", points.len() - 2),
            None if tag_indices.is_empty() => "no tag between, one stage".to_string(),
            None => format!("{} tag(s) between, but one stage is cheaper", tag_indices.len()),
        },
        plan.tag_stage
            .as_ref()
            .and(plan.two_stage_builds)
            .unwrap_or(plan.one_stage_builds)
    );
}

type Searched = (
    Result<CommitBisection, BisectError>,
    Vec<BisectStep>,
    Vec<CaseRecord>,
);

/// What every candidate's build and run shares, so that measuring one takes only its index.
struct Bisection<'a> {
    req: &'a Request,
    engine: &'a Engine,
    range: &'a CommitRange,
    run_id: &'a str,
    run_dir: &'a Path,
}

impl Bisection<'_> {
    /// Runs the bisection to its end, each step printed as it ends.
    async fn search(&self, plan: &Plan) -> Searched {
        let n = self.range.commits.len();
        let steps: RefCell<Vec<BisectStep>> = RefCell::new(Vec::new());
        let records: RefCell<Vec<CaseRecord>> = RefCell::new(Vec::new());
        let progress = BuildProgress::new();
        let width = n.to_string().len();
        let measure = |i: usize, stage: usize| {
            let (steps, records, progress) = (&steps, &records, &progress);
            async move {
                let (mut step, record) = self.measure(i, stage, progress).await;
                step.step = steps.borrow().len() + 1;
                records.borrow_mut().extend(record);
                print_step(&step, width);
                let outcome = step.outcome;
                steps.borrow_mut().push(step);
                outcome
            }
        };
        // Builds ahead: while a candidate's case runs, the candidates that may come next are
        // built into the binary cache on a thread of its own. One next candidate (an end, the
        // first middle) is certain and always built ahead; of two (either half), both are built
        // only when this bisect's last build took less time than its last run, so that a cold
        // build of the candidate not taken never holds up the one taken.
        let builder = BuildAhead::start(None);
        let ahead = |next: &[usize]| {
            let cheap = steps
                .borrow()
                .iter()
                .rev()
                .find(|s| !s.build.cached && s.build.error.is_none() && s.run_ms > 0)
                .is_some_and(|s| s.build.ms < s.run_ms);
            if next.len() == 1 || cheap {
                builder.want(
                    next.iter()
                        .map(|&i| self.req.spec.at(&self.range.commits[i].hash))
                        .collect(),
                );
            }
        };
        let result = commits::run_ahead(n, plan, self.req.expected_old(), measure, ahead).await;
        builder.stop();
        (result, steps.into_inner(), records.into_inner())
    }

    /// Builds candidate `i` and, when it builds, runs the case on it; the step comes back
    /// unnumbered, since its number is its place among the steps that ended.
    async fn measure(
        &self,
        i: usize,
        stage: usize,
        progress: &BuildProgress,
    ) -> (BisectStep, Option<CaseRecord>) {
        let n = self.range.commits.len();
        let commit = &self.range.commits[i];
        let candidate = self.req.spec.at(&commit.hash);
        let opts = RunOptions {
            run_id: numbered_run_id(self.run_id, "c", i + 1, n),
            results_dir: self.run_dir.to_path_buf(),
            keep: self.req.keep,
            column: None,
            planned: None,
        };
        let build_started = Instant::now();
        let built = images::source::build(self.engine, &candidate, &|e| progress.event(e)).await;
        progress.finish();
        let mut step = BisectStep {
            step: 0,
            stage,
            candidate: i,
            commit: commit.hash.clone(),
            subject: commit.subject.clone(),
            tags: self.range.tags.get(&i).cloned().unwrap_or_default(),
            build: StepBuild {
                cached: false,
                ms: build_started.elapsed().as_millis() as u64,
                image: None,
                log: None,
                error: None,
            },
            outcome: Outcome::Error,
            reason: String::new(),
            crash: None,
            version: None,
            evidence: None,
            run_ms: 0,
        };
        let b = match built {
            Err(e) => {
                build_failed(&mut step, &e);
                return (step, None);
            }
            Ok(b) => b,
        };
        step.build.cached = b.cached;
        step.build.image = Some(b.image.reference.clone());
        step.build.log = b.log.clone();
        step.version = Some(b.image.version.clone());
        let (scenario, variant) = (&self.req.scenario, &self.req.variant);
        let r =
            scenario::run_variant(self.engine, scenario, variant, &b.image, &opts, &|_| {}).await;
        ran(&mut step, &r);
        (step, Some(r))
    }
}

fn build_failed(step: &mut BisectStep, e: &images::ImageError) {
    step.reason = format!("build failed: {e}");
    step.build.error = Some(e.to_string());
    if let images::ImageError::SourceBuildFailed { log, .. }
    | images::ImageError::PatchFailed { log, .. } = e
    {
        step.build.log = Some(log.clone());
    }
}

fn ran(step: &mut BisectStep, r: &CaseRecord) {
    step.outcome = r.outcome;
    step.reason = r.reason.clone();
    step.crash = r
        .haproxy_exit
        .iter()
        .find(|e| e.is_crash())
        .map(|e| e.headline());
    step.evidence = Some(r.evidence_dir.clone());
    step.run_ms = r.wall_ms;
}

fn print_step(step: &BisectStep, width: usize) {
    let build = match (&step.build.error, step.build.cached) {
        (Some(_), _) => "build FAILED".to_string(),
        (None, true) => "cached".to_string(),
        (None, false) => format!("built {:.1}s", step.build.ms as f64 / 1000.0),
    };
    let tags = if step.tags.is_empty() {
        String::new()
    } else {
        format!(" ({})", step.tags.join(", "))
    };
    println!(
        "  step {:>2} [{}] #{:<w$} {} {:<50} {:<13} measured {:<14} {}",
        step.step,
        if step.stage == 1 { "tags" } else { "commits" },
        step.candidate + 1,
        short(&step.commit),
        truncate(&format!("{}{tags}", step.subject), 50),
        build,
        step.outcome.to_string(),
        match (&step.evidence, &step.build.log) {
            (Some(e), _) => format!("evidence {}", e.display()),
            (None, Some(l)) => format!("build log {}", l.display()),
            (None, None) => String::new(),
        },
        w = width,
    );
    if let Some(crash) = &step.crash {
        println!("      HAProxy died: {crash}");
    }
    if step.outcome == Outcome::Error {
        println!(
            "      skipped, like git bisect skip: {}",
            first_line(&step.reason)
        );
    }
}

/// The steps once the search has ended, with what they cost.
struct Ended {
    steps: Vec<BisectStep>,
    builds: usize,
    runs: usize,
    wall: Duration,
}

impl Ended {
    fn tally(req: &Request, steps: Vec<BisectStep>, started: Instant) -> Ended {
        let builds = steps.iter().filter(|s| !s.build.cached).count();
        let runs: usize =
            steps.iter().filter(|s| s.evidence.is_some()).count() * req.variant.repeat as usize;
        Ended {
            steps,
            builds,
            runs,
            wall: started.elapsed(),
        }
    }

    fn summary(&self) -> String {
        format!(
            "({} build(s), {} run(s), {})",
            self.builds,
            self.runs,
            humantime::format_duration(Duration::from_secs(self.wall.as_secs()))
        )
    }

    fn record(
        self,
        req: &Request,
        run_id: &str,
        planned: &Planned,
        candidates: usize,
        answer: Option<Answer>,
        error: Option<String>,
    ) -> BisectRecord {
        let plan = &planned.plan;
        BisectRecord {
            run_id: run_id.to_string(),
            scenario: req.scenario.name.clone(),
            variant: req.variant.name.clone(),
            source: format!("{}", req.dir.display()),
            old: req.good.clone(),
            new: req.bad.clone(),
            fixed: req.fixed,
            repeat: req.variant.repeat,
            plan: PlanRecord {
                candidates,
                tags_between: planned.tag_indices.len(),
                stages: if plan.tag_stage.is_some() { 2 } else { 1 },
                one_stage_worst_builds: plan.one_stage_builds,
                two_stage_worst_builds: plan.two_stage_builds,
            },
            steps: self.steps,
            answer,
            error,
            builds: self.builds,
            runs: self.runs,
            wall_ms: self.wall.as_millis() as u64,
        }
    }
}

/// Ends that agree, or are the wrong way round, are bad input (2); anything else that stopped
/// the search is a failure (1).
fn verdict(
    req: &Request,
    range: &CommitRange,
    result: &Result<CommitBisection, BisectError>,
) -> (Option<Answer>, Option<String>, Verdict) {
    match result {
        Ok(b) => {
            let answer = Answer {
                kind: req.answer_kind().to_string(),
                commit: range.commits[b.first_different].clone(),
                last_same: range.commits[b.last_same].clone(),
                untested: b
                    .untested
                    .iter()
                    .map(|&i| range.commits[i].clone())
                    .collect(),
            };
            (Some(answer), None, exit::OK)
        }
        Err(
            e @ (BisectError::EndsAgree { .. }
            | BisectError::WrongEnd { .. }
            | BisectError::TooFew(_)),
        ) => (None, Some(e.to_string()), exit::USAGE),
        Err(e) => (None, Some(e.to_string()), exit::FAILED),
    }
}

fn print_verdict(req: &Request, ended: &Ended, answer: &Option<Answer>, error: &Option<String>) {
    let (kind, summary) = (req.answer_kind(), ended.summary());
    match (answer, error) {
        (Some(a), _) if a.untested.is_empty() => {
            println!(
                "{kind}: {} {}     {summary}",
                a.commit.hash, a.commit.subject
            );
            println!(
                "  the one before, {} {}, still measures {}",
                short(&a.last_same.hash),
                a.last_same.subject,
                req.expected_old()
            );
        }
        (Some(a), _) => {
            let open: Vec<String> = a
                .untested
                .iter()
                .chain(std::iter::once(&a.commit))
                .map(|c| format!("{} {}", short(&c.hash), c.subject))
                .collect();
            println!(
                "{kind} is one of: {} (the others could not be built or run)     {summary}",
                open.join(", ")
            );
        }
        (None, Some(e)) => eprintln!("error: {e}\n  {summary}"),
        (None, None) => {}
    }
}

/// A report that cannot be written is said on stderr and does not change the verdict: the
/// answer was printed already.
fn write_results(run_dir: &Path, records: &[CaseRecord], record: &BisectRecord) {
    if !records.is_empty() {
        if let Err(e) = report::write_all(run_dir, records) {
            eprintln!(
                "error: cannot write the case reports into {}: {e}",
                run_dir.display()
            );
        }
    }
    match record::write(run_dir, record) {
        Ok(()) => println!("results: {}/bisect.md, bisect.json", run_dir.display()),
        Err(e) => eprintln!(
            "error: cannot write bisect.json into {}: {e}",
            run_dir.display()
        ),
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}
