//! `haprepro bench`: what a case costs the harness and how the matrix scales with `--jobs`.
//!
//! Per-case overhead is measured on the `smoke` scenario (HAProxy and two backends up, four
//! requests, teardown), run one at a time so nothing else competes: the median and 90th
//! percentile of setup time and wall time. Then the full matrix (every scenario on every built
//! version, or the ones given) runs at each `--jobs` value and its wall time is taken. The table
//! is printed as Markdown, ready for BENCHMARKS.md.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use haprepro::images::ResolvedImage;
use haprepro::report::CaseRecord;
use haprepro::runtime::Engine;
use haprepro::scenario::{Scenario, Verdict};
use haprepro::schedule::{run_jobs, Job};

use super::matrix::{built_versions, load_scenarios, resolve_version};
use super::run::CaseArgs;
use super::{engine, exit, CliError, CliResult};

#[derive(Args)]
pub struct BenchArgs {
    /// `--jobs` values to time the full matrix at (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    jobs: Vec<usize>,
    /// Runs of the `smoke` scenario for the per-case overhead (0 skips it).
    #[arg(long, default_value_t = 10)]
    cases: usize,
    /// The version the overhead is measured on; the first built one by default.
    #[arg(long)]
    overhead_version: Option<String>,
    /// Scenarios of the full matrix (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    scenarios: Option<Vec<String>>,
    /// Versions of the full matrix (comma-separated); every built catalog image by default.
    #[arg(long, value_delimiter = ',')]
    versions: Option<Vec<String>>,
    #[command(flatten)]
    case: CaseArgs,
}

pub async fn run(args: BenchArgs) -> CliResult {
    if args.jobs.contains(&0) {
        return Err(CliError::usage("--jobs values must be at least 1"));
    }
    let scenarios = load_scenarios(args.scenarios.clone(), &args.case.scenarios_dir())?;
    let smoke = if args.cases > 0 {
        Some(Arc::new(super::run::load_scenario(
            "smoke",
            &args.case.scenarios_dir(),
        )?))
    } else {
        None
    };
    let engine = engine().await?;
    let images = matrix_images(&engine, &args).await?;
    let bench_id = haprepro::runtime::new_run_id();
    let bench = Bench {
        engine: &engine,
        results_dir: args.case.results_dir.join(format!("bench-{bench_id}")),
        bench_id,
        images,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut all_passed = true;
    if let Some(smoke) = smoke {
        let image = match &args.overhead_version {
            Some(v) => resolve_version(&engine, v).await?,
            None => bench.images[0].clone(),
        };
        all_passed &= bench.overhead(smoke, image, args.cases, &mut rows).await;
    }
    for &jobs in &args.jobs {
        all_passed &= bench.full_matrix(&scenarios, jobs, &mut rows).await;
    }
    print_table(&rows, &bench.results_dir);
    if all_passed {
        Ok(exit::OK)
    } else {
        eprintln!("note: some cases did not pass; their timings are included above");
        Ok(exit::FAILED)
    }
}

/// A line of the table: what was measured, and the figure.
type Row = (String, String);

/// The full matrix's versions, each resolved before anything runs.
async fn matrix_images(engine: &Engine, args: &BenchArgs) -> Result<Vec<ResolvedImage>, CliError> {
    let versions = match &args.versions {
        Some(v) if !v.iter().all(|s| s.trim().is_empty()) => v.clone(),
        Some(_) => {
            return Err(CliError::usage("--versions was given but names nothing"));
        }
        None => built_versions(engine).await?,
    };
    let mut images = Vec::new();
    for v in &versions {
        images.push(resolve_version(engine, v).await?);
    }
    Ok(images)
}

/// What every measurement of one bench shares.
struct Bench<'a> {
    engine: &'a Engine,
    bench_id: String,
    results_dir: PathBuf,
    /// The full matrix's columns.
    images: Vec<ResolvedImage>,
}

impl Bench<'_> {
    /// The per-case overhead: `smoke` run `cases` times, one at a time so that nothing else
    /// competes; true when every run passed.
    async fn overhead(
        &self,
        smoke: Arc<Scenario>,
        image: ResolvedImage,
        cases: usize,
        rows: &mut Vec<Row>,
    ) -> bool {
        eprintln!(
            "overhead: smoke on {} x {} runs, one at a time",
            image.version, cases
        );
        let jobs = (1..=cases)
            .map(|k| {
                Job::new(
                    smoke.clone(),
                    image.clone(),
                    &format!("{}-overhead", self.bench_id),
                    &self.results_dir,
                    false,
                    Some((k, cases)),
                )
            })
            .collect();
        let records = run_jobs(self.engine, jobs, 1).await;
        let passed = records.iter().all(|r| r.verdict == Verdict::Pass);
        let setup: Vec<u64> = records.iter().map(|r| r.setup_ms).collect();
        let wall: Vec<u64> = records.iter().map(|r| r.wall_ms).collect();
        let version = haprepro::images::short_version(&image.version);
        for (what, values) in [("setup", &setup), ("wall time", &wall)] {
            rows.push((
                format!("`smoke` {what} on {version} ({} runs)", records.len()),
                format!(
                    "median {} ms, p90 {} ms",
                    percentile(values, 50),
                    percentile(values, 90)
                ),
            ));
        }
        passed
    }

    /// Every scenario on every version at `--jobs jobs`, timed whole; true when every case
    /// passed.
    async fn full_matrix(
        &self,
        scenarios: &[Arc<Scenario>],
        jobs: usize,
        rows: &mut Vec<Row>,
    ) -> bool {
        let images = &self.images;
        let list: Vec<Job> = scenarios
            .iter()
            .flat_map(|s| {
                images.iter().map(|i| {
                    Job::new(
                        s.clone(),
                        i.clone(),
                        &format!("{}-j{jobs}", self.bench_id),
                        &self.results_dir,
                        false,
                        None,
                    )
                })
            })
            .collect();
        let n = list.len();
        eprintln!(
            "matrix: {} scenario(s) x {} version(s) = {n} case(s), --jobs {jobs}",
            scenarios.len(),
            images.len()
        );
        let started = Instant::now();
        let records: Vec<CaseRecord> = run_jobs(self.engine, list, jobs).await;
        let secs = started.elapsed().as_secs_f64();
        let passed = records
            .iter()
            .filter(|r| r.verdict == Verdict::Pass)
            .count();
        let sum: u64 = records.iter().map(|r| r.wall_ms).sum();
        rows.push((
            format!(
                "full matrix, {} scenario(s) x {} version(s), `--jobs {jobs}`",
                scenarios.len(),
                images.len()
            ),
            format!(
                "{secs:.1} s ({passed}/{n} passed; cases' own wall time summed {:.1} s)",
                sum as f64 / 1000.0
            ),
        ));
        passed == n
    }
}

/// The table as Markdown, ready for BENCHMARKS.md, and the machine it was measured on.
fn print_table(rows: &[Row], results_dir: &Path) {
    println!("\n| what | figure |\n|---|---|");
    for (what, figure) in rows {
        println!("| {what} | {figure} |");
    }
    println!(
        "\nmachine: {} core(s); results in {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        results_dir.display()
    );
}

/// The `p`-th percentile by the nearest-rank method (0 for no values).
fn percentile(values: &[u64], p: usize) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&[7], 90), 7);
        assert_eq!(percentile(&[], 50), 0);
        assert_eq!(percentile(&[30, 10, 20], 50), 20);
    }
}
