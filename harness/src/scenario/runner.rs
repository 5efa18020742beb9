//! Running one case: a scenario on one HAProxy image, from an empty network to a verdict.
//!
//! Setup starts the DNS server (on the case network's gateway), the capture, the backends (in
//! this process, on addresses of the case bridge) and HAProxy, then waits until HAProxy's
//! runtime API answers. Steps run in file order; the first
//! failing step ends the case as `error` (the experiment did not run as written), never as a
//! pass. Evidence is collected whatever happened, then everything is removed.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Instant;

use crate::capture::Capture;
use crate::case_id::CaseId;
use crate::dns::DnsServer;
use crate::haproxy::{HaproxyVersion, RuntimeApi};
use crate::images::ResolvedImage;
use crate::report::{self, CaseRecord, StepRecord};
use crate::runtime::{Container, ContainerSpec, Engine, Sandbox};

use super::evidence::{collect_evidence, CaptureRun};
use super::measure;
use super::outcome::{verdict, Outcome};
use super::setup::setup;
use super::Scenario;

pub use super::setup::SOCK_DIR;

/// Options shared by every case of a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub run_id: String,
    /// `results/`; the case writes into `results/<run-id>/<case>/`.
    pub results_dir: PathBuf,
    /// Leave containers and network in place (for debugging).
    pub keep: bool,
    /// What tells this image's column from another of the same version in one run (two
    /// builds of 3.0.11: Debian's and one from source); it joins the case name
    /// (`smoke@3.0.11~src-1a2b3c4d5e6f-minimal`), which names the case folder and containers.
    pub column: Option<String>,
    /// Set by `matrix` per case: its place in the plan, kept in the record.
    pub planned: Option<crate::report::Planned>,
}

/// What a running case reports as it goes, for progress displays.
#[derive(Debug)]
pub enum CaseEvent<'a> {
    Step { case: &'a str, step: &'a StepRecord },
    Done(&'a CaseRecord),
}

pub use super::record::Recorded;

/// The running capture and the role whose SYNs it takes.
pub(crate) struct LiveCapture {
    pub role: String,
    pub capture: Capture,
}

/// One HAProxy of the case.
pub(crate) struct Instance {
    pub name: String,
    pub api: RuntimeApi,
    pub spec: ContainerSpec,
    pub container: Option<Container>,
    /// The host side of `SOCK_DIR`.
    pub sock_dir: PathBuf,
    /// Master-worker mode: ready only once the master CLI answers too.
    pub master_cli: bool,
}

/// The running case's world, handed to every step, in three parts: what the case is (fixed once
/// the setup is done), [`Live`] (what runs: containers, backends, DNS, capture, held sockets,
/// loads; torn down at the end) and [`Kept`] (what the steps keep for the evidence, which
/// becomes the read-only [`super::evidence::Evidence`] the measures see). A step changes the
/// live world and adds to what is kept; only the setup writes the first part.
pub(crate) struct CaseState<'a> {
    pub scenario: &'a Scenario,
    pub image: &'a ResolvedImage,
    pub variant: &'a super::VariantPlan,
    /// Every role's address in this case.
    pub ips: BTreeMap<String, Ipv4Addr>,
    /// The template's values, for placeholders in `exec` commands.
    pub values: BTreeMap<String, String>,
    pub started: Instant,
    pub evidence_dir: PathBuf,
    pub live: Live,
    pub kept: Kept,
}

/// The runtime handles of a case: everything that must be stopped or removed when it ends.
pub(crate) struct Live {
    pub sandbox: Sandbox,
    pub containers: Vec<Container>,
    /// The backends, serving in this process.
    pub backends: Vec<crate::backend::Backend>,
    pub dns: Option<DnsServer>,
    pub capture: Option<LiveCapture>,
    pub instances: Vec<Instance>,
    /// Connections `unix` steps hold open, by record name.
    pub held: HashMap<String, Vec<std::os::fd::OwnedFd>>,
    /// Running `sessions` loads, by record name.
    pub loads: HashMap<String, crate::load::sessions::SessionLoad>,
    /// The watchers of the HAProxy containers, which see a death when it happens.
    pub watch: super::watch::Watch,
}

/// What the steps keep for the evidence: only added to while the case runs, then read.
#[derive(Default)]
pub(crate) struct Kept {
    /// Captures already stopped, with their SYNs.
    pub captures: Vec<CaptureRun>,
    pub records: BTreeMap<String, Recorded>,
    /// Evidence files written, by name.
    pub evidence: Vec<String>,
    /// Evidence files not written yet: name and contents.
    pub pending: Vec<(String, Vec<u8>)>,
    /// Evidence files that could not be written, with why: the case cannot stand on them.
    pub lost: Vec<String>,
    /// Evidence names refused as no plain file name (`contain.rs`): the case ends as `error`.
    pub refused: Vec<String>,
    pub logs: HashMap<String, String>,
    /// Server states the waits' polls saw, changes only, for the timeline.
    pub server_polls: std::sync::Mutex<Vec<super::timeline::ServerPoll>>,
}

impl CaseState<'_> {
    /// The instance a step names, or the first one.
    pub fn instance(&self, on: Option<&str>) -> Result<&Instance, String> {
        match on {
            None => self
                .live
                .instances
                .first()
                .ok_or_else(|| "no HAProxy instance".to_string()),
            Some(name) => self
                .live
                .instances
                .iter()
                .find(|i| i.name == name)
                .ok_or_else(|| format!("no HAProxy instance {name:?}")),
        }
    }

    /// Stops the running capture, if any, keeping its SYNs (read after it stopped) and what
    /// makes them incomplete; returns the capture's summary or why it failed.
    pub(crate) async fn stop_capture(
        &mut self,
    ) -> Option<Result<crate::capture::CaptureSummary, String>> {
        let live = self.live.capture.take()?;
        // Joining the capture thread blocks: not on an async worker.
        let capture = live.capture;
        let (syns, result) = tokio::task::spawn_blocking(move || capture.finish())
            .await
            .unwrap_or_else(|e| {
                (
                    Vec::new(),
                    Err(crate::capture::CaptureError::Spawn(std::io::Error::other(
                        e.to_string(),
                    ))),
                )
            });
        let run = CaptureRun::judge(live.role, syns, result);
        let answer = match (&run.summary, &run.problem) {
            (Some(s), _) => Ok(s.clone()),
            (None, problem) => Err(problem.clone().unwrap_or_default()),
        };
        self.kept.captures.push(run);
        Some(answer)
    }

    pub(crate) fn ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Keeps a file for the evidence folder; [`CaseState::flush_evidence`] writes them, off the
    /// async workers.
    pub(crate) fn write_evidence(&mut self, name: &str, contents: impl AsRef<[u8]>) {
        if let Err(e) = super::contain::evidence_file_name(name) {
            return self.kept.refused.push(e);
        }
        self.kept
            .pending
            .push((name.to_string(), contents.as_ref().to_vec()));
    }

    /// Writes the files kept so far on a blocking thread; those written join `evidence`.
    pub(crate) async fn flush_evidence(&mut self) {
        let pending = std::mem::take(&mut self.kept.pending);
        let dir = self.evidence_dir.clone();
        let (written, lost) = tokio::task::spawn_blocking(move || {
            let mut written = Vec::new();
            let mut lost = Vec::new();
            for (name, contents) in pending {
                match report::write_atomic(&dir.join(&name), &contents) {
                    Ok(()) => {
                        written.push(name);
                        crate::failpoint::hit("evidence");
                    }
                    Err(e) => lost.push(format!("{name}: {e}")),
                }
            }
            (written, lost)
        })
        .await
        .unwrap_or_else(|e| (Vec::new(), vec![format!("the writer failed: {e}")]));
        self.kept.evidence.extend(written);
        self.kept.lost.extend(lost);
    }

    /// `role:port` (as steps write a destination) to the address it names in this case.
    pub(crate) fn role_addr(&self, to: &str) -> Result<std::net::SocketAddr, String> {
        let (role, port) = to
            .split_once(':')
            .ok_or_else(|| format!("{to:?}: expected role:port"))?;
        let port: u16 = port.parse().map_err(|_| format!("{to:?}: bad port"))?;
        Ok(std::net::SocketAddr::new(self.role_ip(role)?.into(), port))
    }

    /// The source address of a step's `from` (a client of the topology), if it names one.
    pub(crate) fn client_ip(
        &self,
        from: Option<&toml::Spanned<String>>,
    ) -> Result<Option<std::net::IpAddr>, String> {
        let Some(from) = from else {
            return Ok(None);
        };
        let name = from.get_ref();
        if !self
            .scenario
            .raw
            .topology
            .clients
            .iter()
            .any(|c| c.name.get_ref() == name)
        {
            return Err(format!("{name:?} is not a client of the topology"));
        }
        Ok(Some(self.role_ip(name)?.into()))
    }

    pub(crate) fn role_ip(&self, role: &str) -> Result<Ipv4Addr, String> {
        role.parse()
            .ok()
            .or_else(|| self.ips.get(role).copied())
            .ok_or_else(|| format!("no address for {role:?}"))
    }
}

/// Runs the scenario's first variant (the scenario itself when it has none) on an image.
pub async fn run_case(
    engine: &Engine,
    scenario: &Scenario,
    image: &ResolvedImage,
    opts: &RunOptions,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    let variant = &scenario.variants[0];
    run_variant(engine, scenario, variant, image, opts, on_event).await
}

/// Runs one case (a variant of a scenario on an image) to its verdict. Never panics on a failed
/// experiment: every failure becomes a record with outcome `error` and the reason.
///
/// A racy case (`repeat = N`) runs N times, each in fresh containers; its outcome is
/// `reproduced` if the symptom appeared at least once, `not-reproduced` only if it never did,
/// and the record keeps each run's outcome and evidence ("3 of 20").
pub async fn run_variant(
    engine: &Engine,
    scenario: &Scenario,
    variant: &super::VariantPlan,
    image: &ResolvedImage,
    opts: &RunOptions,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    if variant.repeat <= 1 {
        return run_once(engine, scenario, variant, image, opts, None, on_event).await;
    }
    let started = Instant::now();
    let quiet = |event: CaseEvent| {
        if let CaseEvent::Step { .. } = event {
            on_event(event)
        }
    };
    let mut runs = Vec::new();
    for k in 1..=variant.repeat {
        let round = (k, variant.repeat);
        runs.push(run_once(engine, scenario, variant, image, opts, Some(round), &quiet).await);
    }
    let reproduced = runs
        .iter()
        .filter(|r| r.outcome == Outcome::Reproduced)
        .count() as u32;
    let errors = runs.iter().filter(|r| r.outcome == Outcome::Error).count() as u32;
    let n = variant.repeat;
    let outcomes: Vec<Outcome> = runs.iter().map(|r| r.outcome).collect();
    let (outcome, summary) = super::outcome::repeated(&outcomes);
    // The run whose record is shown: the first in which HAProxy died (a death outweighs the
    // rest), else the first that could not run (it is why the case is an error), else the
    // first that showed the symptom, else the last.
    let shown = [Outcome::Crashed, Outcome::Error, Outcome::Reproduced]
        .iter()
        .find_map(|o| runs.iter().find(|r| r.outcome == *o))
        .or(runs.last())
        .expect("at least two runs");
    let from = shown.evidence_dir.clone();
    let mut record = shown.clone();
    let case = CaseId::new(
        &scenario.name,
        variant.name.as_deref(),
        &image.version,
        opts.column.as_deref(),
    );
    record.case = case.to_string();
    // The aggregate has a folder of its own beside the runs' folders; its case.json lists them.
    record.evidence_dir = opts.results_dir.join(&opts.run_id).join(case.folder());
    record.evidence = Vec::new();
    // The aggregate's folder shows the timeline of the run it speaks for.
    if std::fs::create_dir_all(&record.evidence_dir).is_ok() {
        for file in [report::timeline::JSON_FILE, report::timeline::SVG_FILE] {
            if std::fs::copy(from.join(file), record.evidence_dir.join(file)).is_ok() {
                record.evidence.push(file.to_string());
            }
        }
    }
    record.outcome = outcome;
    record.reason = format!("{summary}; this run: {}", record.reason);
    record.repeat = Some(report::RepeatSummary {
        runs: n,
        ran: n - errors,
        reproduced,
        errors,
        each: runs
            .iter()
            .map(|r| report::RunSummary {
                outcome: r.outcome,
                reason: r.reason.clone(),
                evidence_dir: r.evidence_dir.clone(),
            })
            .collect(),
    });
    record.wall_ms = started.elapsed().as_millis() as u64;
    finish(record, started, on_event).await
}

async fn run_once(
    engine: &Engine,
    scenario: &Scenario,
    variant: &super::VariantPlan,
    image: &ResolvedImage,
    opts: &RunOptions,
    round: Option<(u32, u32)>,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    let started = Instant::now();
    let now = std::time::SystemTime::now();
    let started_at = humantime::format_rfc3339_seconds(now).to_string();
    let started_unix_ms = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut id = CaseId::new(
        &scenario.name,
        variant.name.as_deref(),
        &image.version,
        opts.column.as_deref(),
    );
    if let Some((k, _)) = round {
        id = id.round(k);
    }
    let case = id.to_string();
    let evidence_dir = opts.results_dir.join(&opts.run_id).join(id.folder());
    let mut record = CaseRecord {
        scenario: scenario.name.clone(),
        variant: variant.name.clone(),
        case: case.clone(),
        run_id: opts.run_id.clone(),
        image: image.reference.clone(),
        image_source: image.source.clone(),
        version: image.version.clone(),
        started_at,
        started_unix_ms,
        wall_ms: 0,
        setup_ms: 0,
        steps: Vec::new(),
        measures: BTreeMap::new(),
        outcome: Outcome::Error,
        reason: String::new(),
        expected: None,
        expected_range: None,
        verdict: super::Verdict::Error,
        evidence_dir: evidence_dir.clone(),
        evidence: Vec::new(),
        repeat: None,
        harness_error: None,
        haproxy_exit: Vec::new(),
        provenance: crate::report::Provenance {
            haprepro: crate::report::haprepro_version().to_string(),
            scenario_digest: scenario.digest.clone(),
            image_id: image.id.clone(),
            planned: opts.planned.clone(),
        },
    };
    let parsed_version = HaproxyVersion::parse(&image.version);
    if let Ok(v) = &parsed_version {
        if let Some((range, outcome)) = variant.expectations.for_version(v) {
            record.expected = Some(outcome);
            record.expected_range = Some(range.to_string());
        }
    }
    if let Err(e) = std::fs::create_dir_all(&evidence_dir) {
        record.reason = format!("cannot create {}: {e}", evidence_dir.display());
        record.harness_error = Some(format!(
            "{}\n  Give a folder this user can write with --results-dir.",
            record.reason
        ));
        return finish(record, started, on_event).await;
    }
    let mut sandbox = match Sandbox::create(engine, &opts.run_id, &case).await {
        Ok(s) => s,
        Err(e) => {
            record.reason = error_chain(&e);
            record.harness_error = harness_problem(&record.reason);
            return finish(record, started, on_event).await;
        }
    };
    sandbox.keep(opts.keep);
    let mut state = CaseState {
        scenario,
        image,
        variant,
        ips: BTreeMap::new(),
        values: BTreeMap::new(),
        started,
        evidence_dir,
        live: Live {
            sandbox,
            containers: Vec::new(),
            backends: Vec::new(),
            dns: None,
            capture: None,
            instances: Vec::new(),
            held: HashMap::new(),
            loads: HashMap::new(),
            watch: super::watch::Watch::new(started),
        },
        kept: Kept::default(),
    };

    // The case's deadline: a step (or a Docker call) that never returns ends the case, named.
    let deadline = tokio::time::Instant::now() + variant.deadline;
    let overran = || {
        format!(
            "the case deadline ({}) passed while it ran; set `deadline` in the scenario if the case needs longer",
            super::duration::Dur(variant.deadline)
        )
    };
    let setup = tokio::time::timeout_at(deadline, setup(&mut state))
        .await
        .unwrap_or_else(|_| Err(overran()));
    record.setup_ms = state.ms();
    let setup_step = StepRecord {
        index: 0,
        action: "setup".into(),
        at_ms: 0,
        elapsed_ms: record.setup_ms,
        ok: setup.is_ok(),
        detail: match &setup {
            Ok(detail) => detail.clone(),
            Err(e) => e.clone(),
        },
    };
    on_event(CaseEvent::Step {
        case: &case,
        step: &setup_step,
    });
    record.steps.push(setup_step);
    let mut failure = setup.err().map(|e| format!("setup: {e}"));
    crate::failpoint::hit("setup");

    let death = state.live.watch.handle();
    if failure.is_none() {
        for (i, step) in scenario.steps_of(variant).iter().enumerate() {
            let at_ms = state.ms();
            let t = Instant::now();
            let action = step.get_ref().word().describe();
            state
                .live
                .watch
                .set_during(format!("step {} ({action})", i + 1));
            // A death ends the step at once: the step's own timeout would only say "timed out".
            let result = tokio::select! {
                result = tokio::time::timeout_at(deadline, step.get_ref().run(&mut state)) => {
                    result.unwrap_or_else(|_| Err(overran()))
                }
                exit = death.death() => Err(match &exit.stopped_from_outside {
                    Some(_) => format!("{} was stopped from outside the case", exit.instance),
                    None => format!("HAProxy died: {}", exit.headline()),
                }),
            };
            let step_record = StepRecord {
                index: i + 1,
                action: action.clone(),
                at_ms,
                elapsed_ms: t.elapsed().as_millis() as u64,
                ok: result.is_ok(),
                detail: match &result {
                    Ok(d) => d.clone(),
                    Err(e) => e.clone(),
                },
            };
            on_event(CaseEvent::Step {
                case: &case,
                step: &step_record,
            });
            record.steps.push(step_record);
            crate::failpoint::hit("steps");
            if let Err(e) = result {
                failure = Some(format!("step {} ({action}): {e}", i + 1));
                break;
            }
        }
    }
    let apis: Vec<(String, RuntimeApi)> = state
        .live
        .instances
        .iter()
        .filter(|i| i.container.is_some())
        .map(|i| (i.name.clone(), i.api.clone()))
        .collect();
    state.live.watch.settle(&apis).await;
    let mut exits = state.live.watch.stop();
    super::crash::place_in_time(&mut exits, &record);
    super::crash::keep_last_words(&mut state, &mut exits).await;

    let mut evidence = collect_evidence(&mut state).await;
    evidence.exits = exits.clone();
    let measures = scenario.measures_of(variant);
    if let Some(death) = exits.iter().find(|e| e.is_crash()) {
        // A death is a result whatever else failed: HAProxy's, not the harness's.
        let (measures, _) = measure::compute_each(&evidence, measures);
        let crash_measures = measure::crash_measures(scenario.measures_of(variant));
        let (outcome, reason) =
            measure::outcome_after_death(variant, &measures, &crash_measures, death);
        record.measures = measures;
        record.outcome = outcome;
        record.reason = reason;
        failure = None;
    } else if failure.is_none() {
        match measure::compute_all(&evidence, measures) {
            Ok(measures) => {
                record.measures = measures;
                let (outcome, reason) = measure::outcome(variant, &record.measures);
                record.outcome = outcome;
                record.reason = reason;
            }
            Err(e) => failure = Some(format!("measure: {e}")),
        }
    }
    if let Some(exit) = exits.iter().find(|e| e.stopped_from_outside.is_some()) {
        failure = Some(format!(
            "{HARNESS_PROBLEM}HAProxy's container {} was stopped from outside the case: {}",
            exit.instance,
            exit.stopped_from_outside.as_deref().unwrap_or_default()
        ));
    }
    record.haproxy_exit = exits;
    if let Some(refused) = state.kept.refused.first() {
        failure = Some(format!("evidence: {refused}"));
    }
    if let Some(reason) = failure {
        record.outcome = Outcome::Error;
        record.harness_error = harness_problem(&reason);
        record.reason = reason;
    }
    if record.outcome == Outcome::Crashed {
        super::crash::write_report(&mut state, &record).await;
    }
    // Before teardown (and while the loads run): HAProxy's log is read again, with Docker's timestamps.
    record.wall_ms = state.ms();
    let timeline = super::timeline::build(&state, &evidence, &record).await;
    if let Ok(json) = serde_json::to_string(&timeline) {
        state.write_evidence(report::timeline::JSON_FILE, json);
    }
    state.write_evidence(report::timeline::SVG_FILE, report::timeline::svg(&timeline));
    // The evidence was flushed once already (for the measures); the timeline comes after.
    state.flush_evidence().await;
    // Clients, then backends (their sockets closed before their addresses go), then Docker.
    state.live.loads.clear();
    for backend in std::mem::take(&mut state.live.backends) {
        backend.shutdown().await;
    }
    if let Err(e) = state.live.sandbox.teardown().await {
        record
            .reason
            .push_str(&format!(" (teardown: {})", error_chain(&e)));
    }
    for instance in &state.live.instances {
        let _ = std::fs::remove_dir_all(&instance.sock_dir);
    }
    record.evidence = std::mem::take(&mut state.kept.evidence);
    // Evidence lost (a full disk): the verdict would stand on files that are not there.
    if !state.kept.lost.is_empty() {
        record.outcome = Outcome::Error;
        record.reason = format!(
            "evidence not written ({}); was: {}",
            state.kept.lost.join("; "),
            record.reason
        );
        record.harness_error = Some(format!(
            "cannot write evidence into {}: {}\n  Free space there, or give another --results-dir.",
            record.evidence_dir.display(),
            state.kept.lost.join("; ")
        ));
    }
    finish(record, started, on_event).await
}

async fn finish(
    mut record: CaseRecord,
    started: Instant,
    on_event: &(dyn Fn(CaseEvent) + Sync),
) -> CaseRecord {
    record.wall_ms = started.elapsed().as_millis() as u64;
    record.verdict = verdict(record.outcome, record.expected);
    let copy = record.clone();
    let written = tokio::task::spawn_blocking(move || report::write_case(&copy))
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
    if let Err(e) = written {
        // A case whose record is not on disk is lost to the reports and to `report merge`.
        record
            .reason
            .push_str(&format!(" (case.json not written: {e})"));
        record.outcome = Outcome::Error;
        record.verdict = verdict(record.outcome, record.expected);
        record.harness_error.get_or_insert_with(|| {
            format!(
                "cannot write {}: {e}\n  Free space there, or give another --results-dir.",
                record.evidence_dir.join("case.json").display()
            )
        });
    }
    on_event(CaseEvent::Done(&record));
    record
}

/// Marks, at the start of an error's text, a failure that is the harness's and not the
/// scenario's (see [`is_harness_problem`]). Errors reach the record as text, through
/// [`error_chain`]; the mark is how the kind survives that.
pub const HARNESS_PROBLEM: &str = "harness problem: ";

/// Errors that every case would hit, whatever its scenario: Docker is gone, an image the
/// harness needs is missing, capture or adding addresses to the case bridge is not permitted,
/// no subnet of `HAPREPRO_SUBNETS` is free (or the variable is bad).
pub fn is_harness_problem(e: &(dyn std::error::Error + 'static)) -> bool {
    use crate::capture::CaptureError;
    use crate::images::ImageError;
    use crate::runtime::RuntimeError;
    let runtime = |r: &RuntimeError| {
        matches!(
            r,
            RuntimeError::DockerUnavailable { .. }
                | RuntimeError::ImageMissing { .. }
                | RuntimeError::Address(crate::runtime::AddrError::Privilege { .. })
                | RuntimeError::Subnets(_)
        )
    };
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(r) = err.downcast_ref::<RuntimeError>() {
            if runtime(r) {
                return true;
            }
        }
        match err.downcast_ref::<ImageError>() {
            Some(ImageError::NotBuilt { .. } | ImageError::MmdebstrapMissing) => return true,
            // Transparent: its source() skips the runtime error it wraps.
            Some(ImageError::Runtime(r)) if runtime(r) => return true,
            _ => {}
        }
        if let Some(CaptureError::PermissionDenied { .. }) = err.downcast_ref::<CaptureError>() {
            return true;
        }
        if let Some(crate::runtime::AddrError::Privilege { .. }) = err.downcast_ref() {
            return true;
        }
        current = err.source();
    }
    false
}

/// The harness problem a failure's text carries (after `setup: ` or `step N: `), if any.
fn harness_problem(reason: &str) -> Option<String> {
    reason
        .find(HARNESS_PROBLEM)
        .map(|at| reason[at + HARNESS_PROBLEM.len()..].to_string())
}

/// An error with its causes on one line, for records; a harness problem begins with
/// [`HARNESS_PROBLEM`].
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let text = crate::causes::one_line(e);
    if is_harness_problem(e) {
        format!("{HARNESS_PROBLEM}{text}")
    } else {
        text
    }
}
