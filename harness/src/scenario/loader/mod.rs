//! Loading a scenario folder: parse `scenario.toml` with spans, then check everything that can
//! be checked without Docker (names, ranges, conditions, the template), so that a mistake is
//! reported with its line before any container starts.
//!
//! The checks, a file per concern, run in the order their errors are reported: `topology.rs`
//! (roles, backends, instances; then the DNS server and the capture), `variants.rs` (each
//! case's plan: name, sysctls, vars, expectations; then its repeat and deadline),
//! `templates.rs` (each instance's config rendered for each variant) and `flow.rs` (each
//! variant's steps and measures in order, the servers they name, the symptom). Each hands the
//! next what it found: the topology's parts and names, the plans, the rendered configs.

mod flow;
mod templates;
mod topology;
mod variants;

use std::collections::BTreeSet;
use std::path::Path;

use crate::scenario::check::Checker;
use crate::scenario::error::ScenarioError;
use crate::scenario::model::ScenarioFile;
use crate::scenario::plan::{Scenario, Template, SCENARIO_FILE};

pub(crate) use templates::{placeholder_values, with_vars};

/// Loads and checks `dir/scenario.toml` and its template. Returns every problem found, first
/// one first.
pub fn load(dir: &Path) -> Result<Scenario, Vec<ScenarioError>> {
    let file = dir.join(SCENARIO_FILE);
    let text = crate::scenario::contain::read_no_follow(&file).map_err(|e| {
        vec![ScenarioError {
            file: file.clone(),
            line: 1,
            column: 1,
            field: "file".into(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    load_with(dir, &text, &|path: &Path| {
        crate::scenario::contain::read_no_follow(path)
    })
}

/// [`load`] of a scenario file's text, reading its templates with `read`: for the fuzz target
/// (no files) and any caller that holds the files itself.
pub fn load_with(
    dir: &Path,
    text: &str,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Result<Scenario, Vec<ScenarioError>> {
    let file = dir.join(SCENARIO_FILE);
    let mut c = Checker {
        file: file.clone(),
        text,
        errors: Vec::new(),
    };
    let raw: ScenarioFile = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let field = e
                .message()
                .split('`')
                .nth(1)
                .unwrap_or("syntax")
                .to_string();
            c.error(span, &field, e.message().trim().to_string());
            return Err(c.errors);
        }
    };
    let scenario = check(&mut c, dir, raw, read);
    if c.errors.is_empty() {
        Ok(scenario)
    } else {
        Err(c.errors)
    }
}

/// Every check of a parsed file, concern after concern; the scenario is good when `c` has no
/// errors after it.
fn check(
    c: &mut Checker,
    dir: &Path,
    raw: ScenarioFile,
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Scenario {
    check_heading(c, &raw);
    let parts = topology::check(c, &raw.topology);
    let mut plans = variants::plans(c, &raw, &parts.instances);
    topology::check_services(c, &raw.topology, &parts.roles);
    // The templates first: each variant's rendered configs tell which backends and servers
    // exist, for the steps and measures that name one.
    let rendered = templates::render(c, dir, &raw, &parts.roles, &plans, read);
    let names = parts.names(&raw);
    // Each variant runs its own steps and observations, or the scenario's.
    for (plan, configs) in plans.iter_mut().zip(&rendered.configs) {
        let runs = variants::settle(c, &raw, plan);
        flow::check(c, &names, parts.capture.clone(), runs, configs, plan);
    }

    // Steps shared by several variants are checked once per variant: report each problem once.
    let mut seen = BTreeSet::new();
    c.errors.retain(|e| seen.insert(e.to_string()));

    Scenario {
        dir: dir.to_path_buf(),
        name: raw.name.get_ref().clone(),
        digest: digest(c.text, &rendered.templates),
        variants: plans,
        templates: rendered.templates,
        roles: parts.roles,
        raw,
    }
}

/// The features the scenario requires are known ones, and its name is a plain word.
fn check_heading(c: &mut Checker, raw: &ScenarioFile) {
    for feature in &raw.requires {
        if !crate::images::source::is_feature(feature.get_ref()) {
            c.error(
                feature.span(),
                "requires",
                format!(
                    "unknown feature {:?}; known: {}",
                    feature.get_ref(),
                    crate::images::source::feature_names()
                ),
            );
        }
    }
    c.plain(raw.name.get_ref(), raw.name.span(), "name");
}

/// What a record says of the scenario it ran: the SHA-256 of its file and templates, so a merge
/// can tell results of two different texts of one scenario apart.
fn digest(text: &str, templates: &[Template]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(text.as_bytes());
    for t in templates {
        h.update([0]);
        h.update(t.instance.as_bytes());
        h.update([0]);
        h.update(t.text.as_bytes());
    }
    hex::encode(&h.finalize()[..8])
}
