//! `haprepro bisect SCENARIO --src DIR --good A --bad B [--fixed]`: the first commit whose
//! outcome differs from the old end's, each candidate built from source and run, every step
//! printed as it ends, and `bisect.json` + `bisect.md` in the run's folder.

use std::cell::RefCell;
use std::collections::HashSet;
use std::time::Instant;

use haprepro::bisect::commits::{self, CommitRange};
use haprepro::bisect::record::{self, Answer, BisectRecord, BisectStep, PlanRecord, StepBuild};
use haprepro::bisect::BisectError;
use haprepro::images::kind::src;
use haprepro::images::{self, ImageSource, TreeSource};
use haprepro::report::{self, CaseRecord};
use haprepro::scenario::{self, Outcome, RunOptions};
use haprepro::schedule::numbered_run_id;

use super::bisect::BisectArgs;
use super::build_ahead::BuildAhead;
use super::build_progress::BuildProgress;
use super::run::{load_scenario, pick_variant};
use super::source_args::check_requires;
use super::{engine, exit, CliError, CliResult, Kind};

fn short(hash: &str) -> &str {
    &hash[..12.min(hash.len())]
}

pub async fn run(args: BisectArgs) -> CliResult {
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
    let range: CommitRange = commits::range(&dir, &good, &bad).await.map_err(|e| {
        let kind = match e {
            commits::RangeError::Git(images::ImageError::GitMissing) => Kind::Harness,
            _ => Kind::Usage,
        };
        CliError::of(kind, e)
    })?;
    let engine = engine().await?;
    let n = range.commits.len();
    let tag_indices: Vec<usize> = range.tags.keys().copied().collect();
    // Which tags (and ends) are built already: they cost no build in the plan.
    let mut built = HashSet::new();
    for &i in tag_indices.iter().chain([0, n - 1].iter()) {
        if let Ok(Some(_)) =
            images::source::find_built(&engine, &spec.at(&range.commits[i].hash)).await
        {
            built.insert(i);
        }
    }
    let plan = commits::plan(n, &tag_indices, &|i| built.contains(&i));
    let run_id = haprepro::runtime::new_run_id();
    let run_dir = args.case.results_dir.join(&run_id);
    let expected_old = if args.fixed {
        Outcome::Reproduced
    } else {
        Outcome::NotReproduced
    };
    println!(
        "bisect {}{} over {} commits of {} ({good}..{bad}, first parents){}; {}; at most {} build(s) (run {run_id})",
        scenario.name,
        variant.name.as_deref().map(|v| format!("/{v}")).unwrap_or_default(),
        n,
        dir.display(),
        if args.fixed { ", looking for the fix" } else { "" },
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
    let started = Instant::now();
    let steps: RefCell<Vec<BisectStep>> = RefCell::new(Vec::new());
    let records: RefCell<Vec<CaseRecord>> = RefCell::new(Vec::new());
    let progress = BuildProgress::new();
    let width = n.to_string().len();
    let measure = |i: usize, stage: usize| {
        let commit = range.commits[i].clone();
        let tags = range.tags.get(&i).cloned().unwrap_or_default();
        let candidate = spec.at(&commit.hash);
        let (engine, scenario, variant, steps, records, progress) =
            (&engine, &scenario, &variant, &steps, &records, &progress);
        let opts = RunOptions {
            run_id: numbered_run_id(&run_id, "c", i + 1, n),
            results_dir: run_dir.clone(),
            keep: args.case.keep,
            column: None,
            planned: None,
        };
        async move {
            let build_started = Instant::now();
            let built = images::source::build(engine, &candidate, &|e| progress.event(e)).await;
            progress.finish();
            let step_no = steps.borrow().len() + 1;
            let mut step = BisectStep {
                step: step_no,
                stage,
                candidate: i,
                commit: commit.hash.clone(),
                subject: commit.subject.clone(),
                tags: tags.clone(),
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
            match built {
                Err(e) => {
                    step.reason = format!("build failed: {e}");
                    step.build.error = Some(e.to_string());
                    if let images::ImageError::SourceBuildFailed { log, .. }
                    | images::ImageError::PatchFailed { log, .. } = &e
                    {
                        step.build.log = Some(log.clone());
                    }
                }
                Ok(b) => {
                    step.build.cached = b.cached;
                    step.build.image = Some(b.image.reference.clone());
                    step.build.log = b.log.clone();
                    step.version = Some(b.image.version.clone());
                    let r =
                        scenario::run_variant(engine, scenario, variant, &b.image, &opts, &|_| {})
                            .await;
                    step.outcome = r.outcome;
                    step.reason = r.reason.clone();
                    step.crash = r
                        .haproxy_exit
                        .iter()
                        .find(|e| e.is_crash())
                        .map(|e| e.headline());
                    step.evidence = Some(r.evidence_dir.clone());
                    step.run_ms = r.wall_ms;
                    records.borrow_mut().push(r);
                }
            }
            let build = match (&step.build.error, step.build.cached) {
                (Some(_), _) => "build FAILED".to_string(),
                (None, true) => "cached".to_string(),
                (None, false) => format!("built {:.1}s", step.build.ms as f64 / 1000.0),
            };
            println!(
                "  step {step_no:>2} [{}] #{:<w$} {} {:<50} {:<13} measured {:<14} {}",
                if stage == 1 { "tags" } else { "commits" },
                i + 1,
                short(&commit.hash),
                truncate(
                    &format!(
                        "{}{}",
                        commit.subject,
                        if tags.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", tags.join(", "))
                        }
                    ),
                    50
                ),
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
            let outcome = step.outcome;
            steps.borrow_mut().push(step);
            outcome
        }
    };
    // Builds ahead: while a candidate's case runs, the candidates that may come next are built
    // into the binary cache on a thread of its own. One next candidate (an end, the first
    // middle) is certain and always built ahead; of two (either half), both are built only
    // when this bisect's last build took less time than its last run, so that a cold build of
    // the candidate not taken never holds up the one taken.
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
                    .map(|&i| spec.at(&range.commits[i].hash))
                    .collect(),
            );
        }
    };
    let result = commits::run_ahead(n, &plan, expected_old, measure, ahead).await;
    builder.stop();
    let steps = steps.into_inner();
    let records = records.into_inner();
    let builds = steps.iter().filter(|s| !s.build.cached).count();
    let runs: usize =
        steps.iter().filter(|s| s.evidence.is_some()).count() * variant.repeat as usize;
    let wall = started.elapsed();
    let kind = if args.fixed {
        "first fixed commit"
    } else {
        "first bad commit"
    };
    let (answer, error, code) = match &result {
        Ok(b) => {
            let answer = Answer {
                kind: kind.to_string(),
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
    };
    let summary = format!(
        "({builds} build(s), {runs} run(s), {})",
        humantime::format_duration(std::time::Duration::from_secs(wall.as_secs()))
    );
    match (&answer, &error) {
        (Some(a), _) if a.untested.is_empty() => {
            println!(
                "{kind}: {} {}     {summary}",
                a.commit.hash, a.commit.subject
            );
            println!(
                "  the one before, {} {}, still measures {}",
                short(&a.last_same.hash),
                a.last_same.subject,
                expected_old
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
    let record = BisectRecord {
        run_id: run_id.clone(),
        scenario: scenario.name.clone(),
        variant: variant.name.clone(),
        source: format!("{}", dir.display()),
        old: good,
        new: bad,
        fixed: args.fixed,
        repeat: variant.repeat,
        plan: PlanRecord {
            candidates: n,
            tags_between: tag_indices.len(),
            stages: if plan.tag_stage.is_some() { 2 } else { 1 },
            one_stage_worst_builds: plan.one_stage_builds,
            two_stage_worst_builds: plan.two_stage_builds,
        },
        steps,
        answer,
        error,
        builds,
        runs,
        wall_ms: wall.as_millis() as u64,
    };
    if !records.is_empty() {
        if let Err(e) = report::write_all(&run_dir, &records) {
            eprintln!(
                "error: cannot write the case reports into {}: {e}",
                run_dir.display()
            );
        }
    }
    match record::write(&run_dir, &record) {
        Ok(()) => println!("results: {}/bisect.md, bisect.json", run_dir.display()),
        Err(e) => eprintln!(
            "error: cannot write bisect.json into {}: {e}",
            run_dir.display()
        ),
    }
    // A bisect that could not answer said why above, before its record was written: its code
    // (2 when its ends agree, 1 else) is the verdict of a run that went to its end.
    Ok(code)
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
