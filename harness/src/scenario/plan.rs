//! A loaded, checked scenario ([`Scenario`]) and the cases it makes ([`VariantPlan`]): what the
//! loader produces and the runner and the commands read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::expr::Condition;
use super::model::{self, ScenarioFile, Step};
use super::outcome::Expectations;

/// The file of a scenario folder.
pub const SCENARIO_FILE: &str = "scenario.toml";

/// A loaded, checked scenario.
#[derive(Debug)]
pub struct Scenario {
    pub dir: PathBuf,
    pub name: String,
    /// The first 16 hex digits of the SHA-256 of the scenario file and its templates.
    pub digest: String,
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
            .map(|step| step.get_ref().word().cost())
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
    step.word().describe()
}
