//! Shared by the integration tests: paths, the engine, running one case.

use std::path::PathBuf;

use haprepro::images::{self, ImageSource};
use haprepro::report::CaseRecord;
use haprepro::runtime::Engine;
use haprepro::scenario::{self, RunOptions, Scenario};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn scenarios_dir() -> PathBuf {
    workspace().join("scenarios")
}

/// Builds the catalog images that are missing, all at once and once for every test (the
/// build lock makes the tests that arrive meanwhile wait, then find them built), saying so on
/// the terminal: the tests cover every catalog version, so a fresh clone needs no separate
/// `images build`. Panics with the reason when they cannot be built.
pub async fn ensure_images(engine: &Engine) {
    use std::io::Write as _;
    // Straight to stderr: the test harness captures `eprintln!` of passing tests, and a minute
    // of silence would look like a hang.
    let say = |line: String| {
        let _ = writeln!(std::io::stderr(), "{line}");
    };
    let versions: Vec<String> = images::Catalog::builtin()
        .suites
        .iter()
        .map(|s| s.version_hint.clone())
        .collect();
    let announce = |missing: &[String]| {
        say(format!(
            "haprepro tests: no image yet for {}: building them now, offline from Debian's mirror \
             (about a minute per suite, in parallel, once)",
            missing.join(", ")
        ))
    };
    let progress = |e: images::BuildEvent| {
        if matches!(e.step.as_str(), "done" | "import")
            || (e.step == "rootfs" && e.detail.starts_with("mmdebstrap"))
        {
            say(format!(
                "haprepro tests: {:<13} {}: {}",
                e.suite, e.step, e.detail
            ));
        }
    };
    images::ensure(engine, &versions, true, &announce, &progress)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The image backends and test containers run in, built first if missing.
pub async fn base_image(engine: &Engine) -> String {
    ensure_images(engine).await;
    images::base_image(engine)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a scenario (one of its variants, or its first) on a catalog version and returns its
/// record; panics with the reason when the harness cannot run it (no Docker, no image that can
/// be built), which is a test failure, not a skip.
pub async fn run_variant(name: &str, variant: Option<&str>, version: &str) -> CaseRecord {
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
    run_loaded(&scenario, variant, version).await
}

/// Runs a loaded scenario's variant (or its first) on a catalog version, into `results/`.
async fn run_loaded(loaded: &Scenario, variant: Option<&str>, version: &str) -> CaseRecord {
    let engine = Engine::connect()
        .await
        .unwrap_or_else(|e| panic!("{e}\n(the container tests need a Docker daemon)"));
    ensure_images(&engine).await;
    let image = images::resolve(&engine, &ImageSource::Catalog(version.into()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = RunOptions {
        run_id: format!("test-{}", haprepro::runtime::new_run_id()),
        results_dir: workspace().join("results"),
        keep: false,
        column: None,
        planned: None,
    };
    let plan = loaded
        .variant(variant)
        .unwrap_or_else(|| panic!("{} has no variant {variant:?}", loaded.name));
    scenario::run_variant(&engine, loaded, plan, &image, &opts, &|_| {}).await
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
    // Every case, passing or not, leaves its timeline picture beside its evidence.
    for file in ["timeline.svg", "timeline.json"] {
        let path = record.evidence_dir.join(file);
        assert!(
            record.evidence.iter().any(|e| e == file) && path.is_file(),
            "{}: no {file} in its evidence ({:?}, {})",
            record.case,
            record.evidence,
            path.display()
        );
    }
}

/// Runs the haprepro binary with scenarios from `scenarios` and results under `results/`.
pub fn haprepro_with(scenarios: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(args)
        .arg("--scenarios-dir")
        .arg(scenarios)
        .arg("--results-dir")
        .arg(workspace().join("results"))
        .env("CI", "true")
        .output()
        .expect("the haprepro binary runs")
}

/// A command's exit code and output, for an assertion's message.
pub fn show(out: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes a scenario and its template to a temporary folder and runs it on a catalog version.
pub async fn run_written(
    name: &str,
    scenario_text: &str,
    template: &str,
    version: &str,
) -> CaseRecord {
    let dir = std::env::temp_dir().join(format!("haprepro-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("scenario.toml"), scenario_text).unwrap();
    std::fs::write(dir.join("haproxy.cfg"), template).unwrap();
    let loaded = scenario::load(&dir).unwrap_or_else(|e| panic!("{e:?}"));
    let _ = std::fs::remove_dir_all(&dir);
    run_loaded(&loaded, None, version).await
}

/// The `matrix.json` of the one run under `results` (a matrix given `--results-dir`), as
/// JSON records, or `None` when there is none.
pub fn matrix_records(results: &std::path::Path) -> Option<Vec<serde_json::Value>> {
    let text = std::fs::read_dir(results)
        .into_iter()
        .flatten()
        .flatten()
        .map(|run| run.path().join("matrix.json"))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::read_to_string(p).ok())?;
    serde_json::from_str(&text).ok()
}

/// Runs the haprepro binary with the workspace's scenarios and results under `results`.
pub fn haprepro_into(results: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_haprepro"))
        .args(args)
        .arg("--scenarios-dir")
        .arg(scenarios_dir())
        .arg("--results-dir")
        .arg(results)
        .env("CI", "true")
        .output()
        .expect("the haprepro binary runs")
}
