//! `haprepro check`: one case, answered in `git bisect run`'s exit codes, so a user can bisect
//! their own HAProxy checkout with their own build command.
//!
//! Expectations play no part: the question is only "does this build show the symptom?". 0 is
//! good (not reproduced), 1 bad (reproduced, or HAProxy crashed: `--crash skip` makes a crash
//! 125), 125 "this build cannot be judged" (the case
//! measured `error`, or the binary does not run in the base image), which `git bisect run`
//! skips. Anything that says nothing about the build stops the bisection instead (128 or more:
//! `git bisect run` aborts): bad input (an unknown scenario, a scenario file error) exits 128;
//! a harness that cannot work at all (Docker unreachable, no base image, no packet capture
//! allowed) exits 129. A skip there would mark every commit untestable, one slow run at a time.

use clap::Args;
use haprepro::images::{self, ImageError};
use haprepro::scenario::{self, CaseEvent, Outcome};

use super::build_progress::BuildProgress;
use super::run::{begin, load_scenario, pick_variant, print_event, CaseArgs};
use super::source_args::{check_requires, One, SourceArgs};
use super::{CliError, CliResult, Kind};

/// Not reproduced: `git bisect run` marks the commit good.
const GOOD: i32 = 0;
/// Reproduced: bad.
const BAD: i32 = 1;
/// This build cannot be judged: skip.
const SKIP: i32 = 125;
/// Bad input: `git bisect run` aborts.
const ABORT: i32 = 128;
/// The harness cannot work here (Docker, images, capture): `git bisect run` aborts too.
const HARNESS: i32 = 129;

/// `check`'s code for a check that stopped before its verdict, with its line on stderr: bad
/// input and a harness that cannot work both stop `git bisect run`, as 128 and 129; a build
/// that cannot be judged is a skip (125).
pub fn stop_code(e: &CliError) -> i32 {
    let (code, why) = match e.kind() {
        Kind::Usage => (ABORT, "bad input; stops `git bisect run`"),
        Kind::Untestable => (SKIP, "skip: this build cannot be judged"),
        Kind::Harness | Kind::Failed => (
            HARNESS,
            "the harness cannot work here; stops `git bisect run`",
        ),
    };
    eprintln!("check: exit {code} ({why}{})", e.check_context());
    code
}

/// Whether an image that could not be had says something about the build (skip) or about the
/// harness or the input (stop).
fn image_kind(e: &ImageError) -> Kind {
    match e {
        // This commit's build failed, its patch does not apply, its binary does not run or is
        // not there: this commit cannot be judged.
        ImageError::BadBinary { .. }
        | ImageError::NoVersion { .. }
        | ImageError::Io(..)
        | ImageError::SourceBuildFailed { .. }
        | ImageError::PatchFailed { .. } => Kind::Untestable,
        e if e.is_bad_input() => Kind::Usage,
        ImageError::Catalog(_) | ImageError::BadSourcePackage { .. } => Kind::Usage,
        _ => Kind::Harness,
    }
}

/// What must work for any commit to be judged, checked before the case so that a harness
/// problem stops the bisection at once instead of skipping every commit: packet capture
/// (the case network's capture needs the same permission as one on `lo`).
fn preflight() -> Result<(), String> {
    let path = std::env::temp_dir().join(format!("haprepro-check-{}.pcap", std::process::id()));
    let result = haprepro::capture::Capture::start("lo", "tcp and port 9", &path)
        .and_then(|c| c.stop())
        .map(drop)
        .map_err(|e| haprepro::causes::one_line(&e));
    let _ = std::fs::remove_file(&path);
    result
}

#[derive(Args)]
pub struct CheckArgs {
    /// The scenario: a folder name under --scenarios-dir, or a path to a scenario folder.
    scenario: String,
    #[command(flatten)]
    source: SourceArgs<One>,
    /// The variant of the scenario to run (its first by default).
    #[arg(long)]
    variant: Option<String>,
    /// What a crash of HAProxy is: `bad` (exit 1, the default: a crash is a result, and the
    /// commit that brought it is what a bisect must find) or `skip` (exit 125, to look past a
    /// crash for another symptom).
    #[arg(long, value_name = "bad|skip", default_value = "bad", value_parser = ["bad", "skip"])]
    crash: String,
    #[command(flatten)]
    case: CaseArgs,
}

/// The exit code and its word for a measured outcome: a crash is bad unless asked to skip it.
fn outcome_exit(outcome: Outcome, crash_skips: bool) -> (i32, &'static str) {
    match outcome {
        Outcome::NotReproduced => (GOOD, "good"),
        Outcome::Reproduced => (BAD, "bad"),
        Outcome::Crashed if crash_skips => (SKIP, "skip: HAProxy crashed (--crash skip)"),
        Outcome::Crashed => (BAD, "bad: HAProxy crashed"),
        Outcome::Error => (SKIP, "skip"),
    }
}

pub async fn run(args: CheckArgs) -> CliResult {
    let scenario = load_scenario(&args.scenario, &args.case.scenarios_dir())?;
    let variant = pick_variant(&scenario, args.variant.as_deref())?;
    let source = args.source.source()?;
    check_requires(&scenario, &source)?;
    let engine = haprepro::runtime::Engine::connect()
        .await
        .map_err(|e| CliError::of(Kind::Harness, e))?;
    preflight().map_err(CliError::harness)?;
    let progress = BuildProgress::new();
    let resolved = images::resolve_with(&engine, &source, &|e| progress.event(e)).await;
    progress.finish();
    // A ref that does not exist, a tarball that is no HAProxy: every commit would fail the same
    // way, so stop `git bisect run` rather than skip them all. A build that fails is this
    // commit's problem: skip it. See `image_kind`.
    let image = resolved.map_err(|e| {
        CliError::of(image_kind(&e), e).context(format!("; no usable HAProxy from {source}"))
    })?;
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
    let (mut code, mut word) = outcome_exit(r.outcome, args.crash == "skip");
    // A case that failed on a harness problem (Docker, capture, DNS, an address of the bridge),
    // or after which Docker is gone, says nothing about the build.
    if r.outcome == Outcome::Error
        && (r.harness_error.is_some() || haprepro::runtime::Engine::connect().await.is_err())
    {
        (code, word) = (
            HARNESS,
            "the harness cannot work here; stops `git bisect run`",
        );
    }
    println!(
        "check {}: {} ({}) => exit {code} ({word})\n  evidence: {}",
        r.case,
        r.outcome,
        r.reason,
        r.evidence_dir.display()
    );
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_is_bad_unless_asked_to_skip_it() {
        assert_eq!(outcome_exit(Outcome::Crashed, false).0, BAD);
        assert_eq!(outcome_exit(Outcome::Crashed, true).0, SKIP);
        assert_eq!(outcome_exit(Outcome::Error, false).0, SKIP);
        assert_eq!(outcome_exit(Outcome::NotReproduced, true).0, GOOD);
    }

    #[test]
    fn a_stop_before_the_case_is_in_git_bisect_runs_codes() {
        assert_eq!(stop_code(&CliError::usage("x")), ABORT);
        assert_eq!(stop_code(&CliError::harness("x")), HARNESS);
        let build = CliError::of(Kind::Untestable, ImageError::MmdebstrapMissing);
        assert_eq!(stop_code(&build), SKIP);
    }

    #[test]
    fn only_what_the_build_causes_is_a_skip() {
        let bad = ImageError::BadBinary {
            path: "haproxy".into(),
            base: "base".into(),
            said: "".into(),
        };
        assert_eq!(image_kind(&bad), Kind::Untestable);
        let unknown = ImageError::UnknownVersion {
            wanted: "9.9".into(),
            known: "3.0.11".into(),
        };
        assert_eq!(image_kind(&unknown), Kind::Usage);
        let not_built = ImageError::NotBuilt {
            wanted: "3.0.11".into(),
            suite: "trixie".into(),
        };
        assert_eq!(image_kind(&not_built), Kind::Harness);
        assert_eq!(image_kind(&ImageError::MmdebstrapMissing), Kind::Harness);
        assert_eq!(
            (ABORT, HARNESS),
            (128, 129),
            "git bisect run stops at 128 or more"
        );
    }
}
