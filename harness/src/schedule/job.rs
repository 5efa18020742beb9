//! One run of one case, and running many of them a few at a time.

use std::path::Path;
use std::sync::Arc;

use super::progress::Progress;
use super::CaseId;
use crate::images::ResolvedImage;
use crate::report::{self, CaseRecord};
use crate::runtime::Engine;
use crate::scenario::{self, CaseEvent, RunOptions, Scenario};

/// One run of one case.
pub struct Job {
    scenario: Arc<Scenario>,
    image: ResolvedImage,
    opts: RunOptions,
    /// The case's name as its record will have it; its variant is the one to run (the
    /// scenario's first, or only, one when `None`).
    case: CaseId,
    /// `(k, n)`: the k-th of the n runs of `--repeat N`.
    repeat: Option<(usize, usize)>,
}

/// The run id of the k-th of n runs that must differ in it (the repeats of a case, a bisect's
/// candidates): `<run-id>-<tag>K`, K padded to the width of n so the folders sort.
pub fn numbered_run_id(run_id: &str, tag: &str, k: usize, n: usize) -> String {
    format!("{run_id}-{tag}{k:0width$}", width = n.to_string().len())
}

impl Job {
    /// The scenario's case on `image`, writing into `results_dir/<run-id>/<case>/` (`keep`:
    /// leave its containers and network in place). `repeat` is `(k, n)` when the case runs n
    /// times: run k gets the run id `<run-id>-rK` and writes into
    /// `results_dir/<run-id>/<run-id>-rK/<case>/` (containers and networks are named after the
    /// run id, so repeats running at once must differ in it).
    pub fn new(
        scenario: Arc<Scenario>,
        image: ResolvedImage,
        run_id: &str,
        results_dir: &Path,
        keep: bool,
        repeat: Option<(usize, usize)>,
    ) -> Job {
        let (run_id, results_dir) = match repeat {
            None => (run_id.to_string(), results_dir.to_path_buf()),
            Some((k, n)) => (numbered_run_id(run_id, "r", k, n), results_dir.join(run_id)),
        };
        Job {
            case: CaseId::new(&scenario.name, None, &image.version, None),
            scenario,
            image,
            opts: RunOptions {
                run_id,
                results_dir,
                keep,
                column: None,
                planned: None,
            },
            repeat,
        }
    }

    /// Tells this job's column from another of the same version (a matrix's column names).
    pub fn column(mut self, column: Option<String>) -> Job {
        self.case.column.clone_from(&column);
        self.opts.column = column;
        self
    }

    /// Runs this variant of the scenario.
    pub fn variant(mut self, variant: Option<String>) -> Job {
        self.case.variant = variant;
        self
    }

    /// Its place in the matrix's plan, kept in its record for `report merge`.
    pub fn planned(mut self, planned: report::Planned) -> Job {
        self.opts.planned = Some(planned);
        self
    }

    /// A rough relative duration, to start long cases first.
    pub fn cost_hint(&self) -> f64 {
        self.scenario
            .variant(self.case.variant.as_deref())
            .map(|plan| self.scenario.cost_hint(plan))
            .unwrap_or(1.0)
    }

    /// What the progress display calls it: the case, and `k/n` for a run of `--repeat`.
    fn label(&self) -> String {
        match self.repeat {
            None => self.case.to_string(),
            Some((k, n)) => format!("{} {k}/{n}", self.case),
        }
    }
}

/// Runs jobs, `parallel` at a time, drawing progress on stderr; returns the records sorted by
/// case then start time. The first case that ends on a harness problem (its `harness_error`)
/// stops the run: no other case starts, and the ones already running end as they would (they
/// mostly hit the same problem at once): cancelling them mid-setup would leave what Docker was
/// creating at that moment behind.
pub async fn run_jobs(engine: &Engine, jobs: Vec<Job>, parallel: usize) -> Vec<CaseRecord> {
    let progress = Arc::new(Progress::new(jobs.len()));
    let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = tokio::task::JoinSet::new();
    for job in jobs {
        let (engine, limit, progress) = (engine.clone(), limit.clone(), progress.clone());
        tasks.spawn(async move {
            // Closed by a case that hit a harness problem: start nothing more.
            let Ok(_permit) = limit.clone().acquire_owned().await else {
                return None;
            };
            let label = job.label();
            let bar = progress.start(&label);
            let on_event = |event: CaseEvent| match event {
                CaseEvent::Step { step, .. } => progress.step(&bar, &label, step),
                CaseEvent::Done(r) => progress.done(&bar, &label, r),
            };
            let record = match job.scenario.variant(job.case.variant.as_deref()) {
                Some(plan) => {
                    scenario::run_variant(
                        &engine,
                        &job.scenario,
                        plan,
                        &job.image,
                        &job.opts,
                        &on_event,
                    )
                    .await
                }
                None => {
                    scenario::run_case(&engine, &job.scenario, &job.image, &job.opts, &on_event)
                        .await
                }
            };
            if record.harness_error.is_some() {
                limit.close();
            }
            Some(record)
        });
    }
    let mut records: Vec<CaseRecord> = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(None) => {}
            Ok(Some(record)) => {
                if record.harness_error.is_some()
                    && !records.iter().any(|r| r.harness_error.is_some())
                {
                    let running = parallel.min(tasks.len()).saturating_sub(1);
                    if running > 0 {
                        progress.line(format!(
                            "stopping: a harness problem (below); waiting for the {running} case(s) still running to end"
                        ));
                    }
                }
                records.push(record);
            }
            Err(e) => progress.line(format!("error: a case panicked: {e}")),
        }
    }
    progress.finish();
    records.sort_by(|a, b| (&a.case, &a.started_at).cmp(&(&b.case, &b.started_at)));
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(repeat: Option<(usize, usize)>) -> Job {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/backup-sticks-after-dns-startup"
        );
        let scenario = crate::scenario::load(Path::new(dir)).expect("a shipped scenario loads");
        let image = ResolvedImage {
            reference: "haprepro/haproxy:3.0".into(),
            id: String::new(),
            version: "3.0.11-1".into(),
            source: "catalog".into(),
            binary: None,
        };
        Job::new(
            Arc::new(scenario),
            image,
            "20261204-0600",
            Path::new("results"),
            false,
            repeat,
        )
    }

    #[test]
    fn a_job_is_labelled_by_its_case_and_its_run_of_a_repeat() {
        assert_eq!(job(None).label(), "backup-sticks-after-dns-startup@3.0.11");
        let one = job(Some((3, 12)))
            .variant(Some("sticky".into()))
            .column(Some("src-1a2b3c4d5e6f-minimal".into()));
        assert_eq!(
            one.label(),
            "backup-sticks-after-dns-startup/sticky@3.0.11~src-1a2b3c4d5e6f-minimal 3/12"
        );
        assert_eq!(one.opts.run_id, "20261204-0600-r03");
        assert_eq!(one.opts.results_dir, Path::new("results/20261204-0600"));
        assert_eq!(one.opts.column.as_deref(), Some("src-1a2b3c4d5e6f-minimal"));
    }

    #[test]
    fn numbered_run_ids_are_padded_to_the_count() {
        assert_eq!(numbered_run_id("r", "c", 7, 123), "r-c007");
        assert_eq!(numbered_run_id("r", "r", 2, 9), "r-r2");
    }
}
