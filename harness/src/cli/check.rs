//! `haprepro check`: one case, answered in `git bisect run`'s exit codes, so a user can bisect
//! their own HAProxy checkout with their own build command.
//!
//! Expectations play no part: the question is only "does this build show the symptom?". 0 is
//! good (not reproduced), 1 bad (reproduced), 125 "cannot test this commit" (the case could not
//! run, the image or binary is unusable, Docker is missing), which `git bisect run` skips. Bad
//! input (an unknown scenario, a scenario file error) exits 128, which makes `git bisect run`
//! stop instead of marking every commit bad.

use clap::Args;
use haprepro::images;
use haprepro::scenario::{self, CaseEvent, Outcome};

use super::build_progress::BuildProgress;
use super::report_error;
use super::run::{begin, load_scenario, pick_variant, print_event, CaseArgs, SourceArgs};
use super::source_args::{check_requires, BuildOpts};

/// Not reproduced: `git bisect run` marks the commit good.
const GOOD: i32 = 0;
/// Reproduced: bad.
const BAD: i32 = 1;
/// Could not run: skip.
const SKIP: i32 = 125;
/// Bad input: `git bisect run` aborts.
const ABORT: i32 = 128;

#[derive(Args)]
pub struct CheckArgs {
    /// The scenario: a folder name under --scenarios-dir, or a path to a scenario folder.
    scenario: String,
    #[command(flatten)]
    source: SourceArgs,
    #[command(flatten)]
    build: BuildOpts,
    /// The variant of the scenario to run (its first by default).
    #[arg(long)]
    variant: Option<String>,
    #[command(flatten)]
    case: CaseArgs,
}

pub async fn run(args: CheckArgs) -> i32 {
    let scenario = match load_scenario(&args.scenario, &args.case.scenarios_dir()) {
        Ok(s) => s,
        Err(_) => {
            eprintln!("check: exit {ABORT} (bad input; stops `git bisect run`)");
            return ABORT;
        }
    };
    let Ok(variant) = pick_variant(&scenario, args.variant.as_deref()) else {
        eprintln!("check: exit {ABORT} (bad input; stops `git bisect run`)");
        return ABORT;
    };
    let Ok(source) = args.source.source_with(&args.build) else {
        eprintln!("check: exit {ABORT} (bad input; stops `git bisect run`)");
        return ABORT;
    };
    if check_requires(&scenario, &source).is_err() {
        eprintln!("check: exit {ABORT} (bad input; stops `git bisect run`)");
        return ABORT;
    }
    let engine = match haprepro::runtime::Engine::connect().await {
        Ok(e) => e,
        Err(e) => {
            report_error(&e);
            eprintln!("check: exit {SKIP} (could not run)");
            return SKIP;
        }
    };
    let progress = BuildProgress::new();
    let resolved = images::resolve_with(&engine, &source, &|e| progress.event(e)).await;
    progress.finish();
    let image = match resolved {
        Ok(i) => i,
        // A ref that does not exist, a tarball that is no HAProxy: every commit would fail the
        // same way, so stop `git bisect run` rather than skip them all. A build that fails is
        // this commit's problem: skip it.
        Err(e) if e.is_bad_input() && !matches!(e, images::ImageError::PatchFailed { .. }) => {
            report_error(&e);
            eprintln!("check: exit {ABORT} (bad input; stops `git bisect run`)");
            return ABORT;
        }
        Err(e) => {
            report_error(&e);
            eprintln!("check: exit {SKIP} (could not run: no usable HAProxy from {source})");
            return SKIP;
        }
    };
    let opts = begin(&scenario, &image, &args.case);
    let on_event = |event: CaseEvent| {
        if let CaseEvent::Step { .. } = event {
            print_event(event)
        }
    };
    let r = scenario::run_variant(&engine, &scenario, variant, &image, &opts, &on_event).await;
    for (name, value) in &r.measures {
        println!("  measure {name} = {value}");
    }
    let (code, word) = match r.outcome {
        Outcome::NotReproduced => (GOOD, "good"),
        Outcome::Reproduced => (BAD, "bad"),
        Outcome::Error => (SKIP, "skip"),
    };
    println!(
        "check {}: {} ({}) => exit {code} ({word})\n  evidence: {}",
        r.case,
        r.outcome,
        r.reason,
        r.evidence_dir.display()
    );
    code
}
