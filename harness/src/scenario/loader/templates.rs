//! The config templates' checks: each instance's template read from the folder and rendered for
//! each variant with stand-in values ([`placeholder_values`], [`with_vars`]; the runner fills
//! real ones), every placeholder defined. The rendered configs' backends and servers go on to
//! the flow's checks ([`Rendered`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::haproxy::config::ConfigBackend;
use crate::scenario::check::Checker;
use crate::scenario::error::ScenarioError;
use crate::scenario::model::ScenarioFile;
use crate::scenario::plan::{Template, VariantPlan};
use crate::scenario::template;

/// A rendered config's backends, by name.
type ConfigServers = BTreeMap<String, ConfigBackend>;

/// One variant's rendered configs: each instance's backends, by instance.
pub(super) type Configs = BTreeMap<String, ConfigServers>;

/// The templates read, and each variant's rendered configs, in the order of the plans.
pub(super) struct Rendered {
    pub templates: Vec<Template>,
    pub configs: Vec<Configs>,
}

/// Reads each instance's template and renders it for each plan: a template that cannot be read
/// or rendered is reported, and missing from what is returned.
pub(super) fn render(
    c: &mut Checker,
    dir: &Path,
    raw: &ScenarioFile,
    roles: &BTreeSet<String>,
    plans: &[VariantPlan],
    read: &dyn Fn(&Path) -> std::io::Result<String>,
) -> Rendered {
    let values = placeholder_values(raw, roles);
    let placeholders: Vec<_> = plans
        .iter()
        .map(|plan| with_vars(values.clone(), &plan.vars))
        .collect();
    let mut templates = Vec::new();
    let mut configs = vec![Configs::new(); plans.len()];
    for instance in &raw.topology.haproxy.get_ref().0 {
        let path = match crate::scenario::contain::scenario_file(dir, instance.config.get_ref()) {
            Ok(path) => path,
            Err(e) => {
                c.error(instance.config.span(), "topology.haproxy.config", e);
                continue;
            }
        };
        let text = match read(&path) {
            Ok(text) => text,
            Err(e) => {
                c.error(
                    instance.config.span(),
                    "topology.haproxy.config",
                    format!("missing template {}: {e}", path.display()),
                );
                continue;
            }
        };
        for ((plan, values), config) in plans.iter().zip(&placeholders).zip(configs.iter_mut()) {
            if let Some(servers) = render_one(c, &path, &text, values, plan) {
                config.insert(instance.name.clone(), servers);
            }
        }
        templates.push(Template {
            instance: instance.name.clone(),
            path,
            text,
        });
    }
    Rendered { templates, configs }
}

/// One template rendered for one plan: its backends, or its errors at their line in the
/// template, with the variant named.
fn render_one(
    c: &mut Checker,
    path: &Path,
    text: &str,
    values: &BTreeMap<String, String>,
    plan: &VariantPlan,
) -> Option<ConfigServers> {
    match template::render(text, values) {
        Ok(rendered) => Some(crate::haproxy::config::backends(&rendered)),
        Err(errors) => {
            for e in errors {
                c.errors.push(ScenarioError {
                    file: path.to_path_buf(),
                    line: e.line,
                    column: e.column,
                    field: "template".into(),
                    message: format!(
                        "{}{}",
                        e.message,
                        plan.name
                            .as_ref()
                            .map(|v| format!(" (variant {v})"))
                            .unwrap_or_default(),
                    ),
                });
            }
            None
        }
    }
}

/// Every placeholder a template may use, with stand-in values; the runner fills real ones.
pub(crate) fn placeholder_values(
    raw: &ScenarioFile,
    roles: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    values.insert("sock.dir".into(), crate::scenario::case::SOCK_DIR.into());
    values.insert("files.dir".into(), crate::scenario::case::FILES_DIR.into());
    values.insert("spare.ip".into(), "192.0.2.250".to_string());
    for role in roles {
        values.insert(format!("{role}.ip"), "192.0.2.1".to_string());
    }
    for b in &raw.topology.backends {
        values.insert(format!("{}.port", b.name.get_ref()), b.port.to_string());
    }
    for instance in &raw.topology.haproxy.get_ref().0 {
        let name = &instance.name;
        values.insert(format!("{name}.api_port"), instance.api_port.to_string());
    }
    if let Some(first) = raw.topology.haproxy.get_ref().0.first() {
        values.insert("api.port".into(), first.api_port.to_string());
    }
    if let Some(dns) = &raw.topology.dns {
        values.insert("zone".into(), dns.zone.trim_end_matches('.').to_string());
        values.insert("dns.ip".into(), "192.0.2.53".into());
        values.insert("dns.port".into(), "53".into());
        values.insert("dns.addr".into(), "192.0.2.53:53".into());
    }
    values
}

/// Adds `vars.NAME` to the values; a var may itself use placeholders (`{{ hapA.ip }}`), filled
/// from the values given. Undefined names inside a var are left for the template check to report.
pub(crate) fn with_vars(
    mut values: BTreeMap<String, String>,
    vars: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let rendered: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| {
            let value = template::render(v, &values).unwrap_or_else(|_| v.clone());
            (format!("vars.{k}"), value)
        })
        .collect();
    values.extend(rendered);
    values
}
