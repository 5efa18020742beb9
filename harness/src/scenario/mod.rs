//! Scenarios: one bug report turned into an experiment, read from `scenarios/<name>/`.
//!
//! A scenario file reads top to bottom like the report: the topology, the steps in the order
//! they run (one action each), the measures taken from the evidence, the symptom
//! (`reproduced_if`) and the expected outcome per version range. Loading checks all of it
//! before anything starts ([`load`]); [`runner`] runs it as one case per HAProxy image.

mod backend_step;
mod bounds;
mod count_wait;
mod deadline;
mod duration;
mod error;
mod evidence;
mod expr;
mod load;
mod measure;
mod model;
mod outcome;
mod removable;
pub mod runner;
mod setup;
mod steps;
pub mod template;
mod timeline;
mod words;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use error::ScenarioError;
pub use expr::Condition;
pub use load::{load, load_with, SCENARIO_FILE};
pub use model::{ScenarioFile, Step};
pub use outcome::{verdict, Expectations, Outcome, Verdict};
pub use runner::{run_case, run_variant, CaseEvent, RunOptions};

/// A loaded, checked scenario.
#[derive(Debug)]
pub struct Scenario {
    pub dir: PathBuf,
    pub name: String,
    /// At least one: the scenario itself when it declares no variant.
    pub variants: Vec<VariantPlan>,
    /// One config template per HAProxy instance.
    pub templates: Vec<Template>,
    /// `haproxy` and the backends' names.
    pub roles: BTreeSet<String>,
    pub raw: ScenarioFile,
}

/// One case of a scenario per version: the scenario as written, or one of its variants.
#[derive(Debug, Clone)]
pub struct VariantPlan {
    pub name: Option<String>,
    /// Its position in the file's `[[variant]]` list.
    pub index: Option<usize>,
    /// The symptom, over this variant's measures.
    pub reproduced_if: Condition,
    pub valid_if: Vec<Condition>,
    pub summary: Option<String>,
    /// The scenario's vars with the variant's on top.
    pub vars: std::collections::BTreeMap<String, String>,
    pub expectations: Expectations,
    /// How many times the case runs (1 unless the scenario or variant says `repeat`).
    pub repeat: u32,
    /// The most one run may take (the file's `deadline`, or derived from the steps).
    pub deadline: std::time::Duration,
    /// Extra sysctls per instance.
    pub sysctls: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// A HAProxy instance's config template.
#[derive(Debug, Clone)]
pub struct Template {
    pub instance: String,
    pub path: PathBuf,
    pub text: String,
}

impl Scenario {
    /// The features the scenario's `requires` names (`ssl`, `lua`, ...).
    pub fn requires(&self) -> Vec<String> {
        self.raw
            .requires
            .iter()
            .map(|f| f.get_ref().clone())
            .collect()
    }

    /// The steps a variant runs: its own, or the scenario's.
    pub fn steps_of(&self, variant: &VariantPlan) -> &[toml::Spanned<Step>] {
        match variant.index.map(|i| &self.raw.variants[i]) {
            Some(v) if !v.steps.is_empty() => &v.steps,
            _ => &self.raw.steps,
        }
    }

    /// A rough duration of a variant in seconds, for scheduling: runs x (setup + sleeps + the
    /// deadlines of its waits, which bound what the timers exercised can take).
    pub fn cost_hint(&self, variant: &VariantPlan) -> f64 {
        let per_run: f64 = self
            .steps_of(variant)
            .iter()
            .map(|step| match step.get_ref() {
                Step::Sleep(s) => s.duration.0.as_secs_f64(),
                // Prompt mode: a frozen connection costs two deadlines.
                Step::Unix(u) if u.prompt => {
                    u.within.0.as_secs_f64() * f64::from(u.repeat.unwrap_or(1))
                }
                Step::Unix(u) => u.within.0.as_secs_f64() * f64::from(u.repeat.unwrap_or(1)) / 4.0,
                _ => 0.1,
            })
            .sum();
        f64::from(variant.repeat) * (1.0 + per_run)
    }

    /// The measures a variant takes: its own `[observe]`, or the scenario's.
    pub fn measures_of(
        &self,
        variant: &VariantPlan,
    ) -> &std::collections::BTreeMap<String, toml::Spanned<model::Measure>> {
        let observe = variant
            .index
            .and_then(|i| self.raw.variants[i].observe.as_ref())
            .or(self.raw.observe.as_ref())
            .expect("the loader checked that every variant has an [observe]");
        &observe.measure
    }

    /// The variant with this name (`None`: the first).
    pub fn variant(&self, name: Option<&str>) -> Option<&VariantPlan> {
        match name {
            None => self.variants.first(),
            Some(n) => self.variants.iter().find(|v| v.name.as_deref() == Some(n)),
        }
    }
}

/// The folder of a scenario given by name or path: a path that holds a scenario file, else
/// `<scenarios_dir>/<name>`.
pub fn find(name_or_path: &str, scenarios_dir: &Path) -> Option<PathBuf> {
    let as_path = Path::new(name_or_path);
    if as_path.join(SCENARIO_FILE).is_file() {
        return Some(as_path.to_path_buf());
    }
    let in_dir = scenarios_dir.join(name_or_path);
    in_dir.join(SCENARIO_FILE).is_file().then_some(in_dir)
}

/// The scenario names under a scenarios folder, sorted.
pub fn list(scenarios_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(SCENARIO_FILE).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// A step in words, for the timeline.
pub fn describe(step: &Step) -> String {
    use model::*;
    match step {
        Step::Start(s) => format!("start {} (within {})", s.instance.get_ref(), s.within),
        Step::Wait(w) => {
            if let Some(cmd) = &w.api {
                format!(
                    "wait `{cmd}` contains {:?} (within {})",
                    w.contains.as_deref().unwrap_or(""),
                    w.within
                )
            } else if let (Some(s), Some(st)) = (&w.server, &w.state) {
                format!(
                    "wait {} {} (within {})",
                    s.get_ref(),
                    st.get_ref(),
                    w.within
                )
            } else if let (Some(set), Some(st)) = (&w.servers, &w.state) {
                format!(
                    "wait {} of {} {} (within {})",
                    w.count.map_or("all".to_string(), |c| c.to_string()),
                    set.get_ref(),
                    st.get_ref(),
                    w.within
                )
            } else if let Some(syn) = &w.syn {
                format!(
                    "wait {} SYN(s) {} (within {})",
                    w.count.unwrap_or(1),
                    steps::describe_syn_match(syn),
                    w.within
                )
            } else {
                format!(
                    "wait DNS query {} (within {})",
                    w.dns_query.as_deref().unwrap_or("?"),
                    w.within
                )
            }
        }
        Step::Dns(d) => {
            if let Some(n) = &d.set {
                format!("dns set {n}")
            } else if let Some(n) = &d.remove {
                format!("dns remove {n}")
            } else if let Some(n) = &d.fault {
                format!(
                    "dns fault {n} {}",
                    d.kind.as_ref().map(|k| k.get_ref().as_str()).unwrap_or("?")
                )
            } else {
                format!("dns clear {}", d.clear.as_deref().unwrap_or("?"))
            }
        }
        Step::Capture(c) => match &c.from {
            Some(f) => format!("capture SYNs from {}", f.get_ref()),
            None => "capture stop".into(),
        },
        Step::Api(a) => format!("api {}", a.command),
        Step::Http(h) => format!("http {}x GET {}{}", h.count, h.to.get_ref(), h.path),
        Step::Sleep(s) => format!("sleep {}", s.duration),
        Step::Removable(r) => format!("removable {} (within {})", r.server.get_ref(), r.within),
        Step::Backend(b) => backend_step::describe(b),
        Step::Unix(u) => {
            let socket = u.socket.as_deref().unwrap_or("");
            let times = u.repeat.map(|r| format!(" x{r}")).unwrap_or_default();
            if let Some(n) = u.hold {
                format!("unix {socket}: hold {n} idle connection(s)")
            } else if let (Some(cmd), true) = (&u.command, u.prompt) {
                let pace = match (u.read_chunk, u.read_every) {
                    (Some(c), Some(e)) => format!(", read {c} bytes every {e}"),
                    (Some(c), None) => format!(", read {c} bytes at a time"),
                    _ => String::new(),
                };
                format!(
                    "unix {socket}: prompt, `{cmd}` x{} per connection{pace}, {} connection(s) (within {})",
                    u.per_connection.unwrap_or(1),
                    u.repeat.unwrap_or(1),
                    u.within
                )
            } else if let Some(cmd) = &u.command {
                format!("unix {socket}: `{cmd}`{times} (within {})", u.within)
            } else if let Some(n) = u.nonblocking_connects {
                format!("unix {socket}: {n} non-blocking connect(s)")
            } else {
                format!("unix: close {}", u.release.as_deref().unwrap_or("?"))
            }
        }
        Step::Sessions(s) => format!(
            "{} sessions to {} every {}{}",
            s.count,
            s.to.get_ref(),
            s.every,
            if s.churn > 0 {
                format!(", churn {}/s", s.churn)
            } else {
                String::new()
            }
        ),
        Step::Snapshot(s) => format!("snapshot of {} as {}", s.of, s.record),
        Step::Tcp(t) => format!(
            "tcp {}: connect and close x{}",
            t.to.get_ref(),
            t.connect_close
        ),
        Step::Exec(e) => format!("exec in {}: {}", e.container.get_ref(), e.command.join(" ")),
        Step::Signal(s) => format!(
            "signal {} to {}{}",
            s.signal,
            s.to.get_ref(),
            if s.process.is_some() { "'s worker" } else { "" }
        ),
    }
}
