//! What a run needs from this machine, checked before any case starts: a results folder it
//! can write, permission to capture, the images the cases use. Each failure is
//! one message naming what is missing and what to do, and the harness exit code (3): a case
//! that cannot start for one of these reasons says nothing about HAProxy, and every other
//! case would fail the same way.

use std::path::Path;
use std::sync::Arc;

use haprepro::scenario::{Scenario, Step};

use super::CliError;

/// `dir` exists (or can be made) and takes a file.
pub fn results_writable(dir: &Path) -> Result<(), CliError> {
    let probe = dir.join(format!(".haprepro-write-test-{}", std::process::id()));
    let result = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&probe, b""))
        .and_then(|_| std::fs::remove_file(&probe));
    result.map_err(|e| {
        CliError::harness(format!(
            "cannot write results into {}: {e}\n  Give a folder this user can write with \
             --results-dir, or fix its permissions. Nothing was started.",
            dir.display()
        ))
    })
}

/// The ranges case networks are carved from (`HAPREPRO_SUBNETS`): a bad value is bad input
/// (2), a host whose routes and addresses leave none of them free cannot run a case (3).
pub fn case_subnets() -> Result<(), CliError> {
    haprepro::runtime::subnets::check_host()
        .map(drop)
        .map_err(|e| CliError::from(e).note(NOTHING_STARTED))
}

/// The line after a check's message.
const NOTHING_STARTED: &str = "  Nothing was started.";

/// Whether any case of these scenarios captures packets.
pub fn captures(scenarios: &[Arc<Scenario>]) -> bool {
    scenarios.iter().any(|s| {
        s.raw.topology.capture.is_some()
            || s.variants
                .iter()
                .flat_map(|v| s.steps_of(v))
                .any(|step| matches!(step.get_ref(), Step::Capture(_)))
    })
}

/// This process may open a packet capture.
pub fn capture_allowed() -> Result<(), CliError> {
    haprepro::capture::check_permission().map_err(|e| CliError::from(e).note(NOTHING_STARTED))
}

/// Every check a matrix of these scenarios needs before its images are made ready.
pub fn before_images(scenarios: &[Arc<Scenario>], results: &Path) -> Result<(), CliError> {
    results_writable(results)?;
    if captures(scenarios) {
        capture_allowed()?;
    }
    Ok(())
}
