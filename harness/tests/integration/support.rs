//! Shared by the integration tests: paths, the engine, running one case.

use std::path::PathBuf;

use haprepro::images::{self, ImageSource};
use haprepro::report::CaseRecord;
use haprepro::runtime::Engine;
use haprepro::scenario::{self, RunOptions};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn scenarios_dir() -> PathBuf {
    workspace().join("scenarios")
}

/// Runs a scenario (one of its variants, or its first) on a catalog version and returns its
/// record; panics with the reason when the harness cannot run it (no Docker, no image), which is
/// a test failure, not a skip.
pub async fn run_variant(name: &str, variant: Option<&str>, version: &str) -> CaseRecord {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(the container tests need a Docker daemon)"));
    let dir = scenario::find(name, &scenarios_dir()).expect("scenario folder");
    let scenario = scenario::load(&dir).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let image = images::resolve(&engine, &ImageSource::Catalog(version.into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = RunOptions {
        run_id: format!("test-{}", haprepro::runtime::new_run_id()),
        results_dir: workspace().join("results"),
        keep: false,
    };
    let plan = scenario
        .variant(variant)
        .unwrap_or_else(|| panic!("{name} has no variant {variant:?}"));
    scenario::run_variant(&engine, &scenario, plan, &image, &opts, &|_| {}).await
}

/// Fails the test unless the measured outcome matched the scenario's expectation, printing the
/// timeline and the evidence folder.
pub fn assert_pass(record: &CaseRecord) {
    if record.verdict != scenario::Verdict::Pass {
        let timeline: Vec<String> = record
            .steps
            .iter()
            .map(|s| {
                format!(
                    "  #{} {} [{}ms] {} {}",
                    s.index,
                    s.action,
                    s.elapsed_ms,
                    if s.ok { "ok" } else { "FAILED" },
                    s.detail
                )
            })
            .collect();
        panic!(
            "{}: verdict {} — measured {} ({}), expected {:?} (range {:?})\n{}\nmeasures: {:?}\nevidence: {}",
            record.case,
            record.verdict,
            record.outcome,
            record.reason,
            record.expected,
            record.expected_range,
            timeline.join("\n"),
            record.measures,
            record.evidence_dir.display()
        );
    }
}
