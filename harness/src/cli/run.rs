use std::path::PathBuf;

use clap::Args;
use haprepro::report::CaseRecord;
use haprepro::scenario::{self, CaseEvent, RunOptions, Verdict};

use super::source_args::{check_requires, One, SourceArgs};
use super::{engine, exit, CliError, CliResult, Kind};

/// Options every command that runs cases shares.
#[derive(Args, Debug, Clone)]
pub struct CaseArgs {
    /// Where scenario folders are.
    #[arg(long, default_value = "scenarios", global = true)]
    pub scenarios_dir: PathBuf,
    /// Where results go (results/<run-id>/<case>/).
    #[arg(long, default_value = "results", global = true)]
    pub results_dir: PathBuf,
    /// Keep containers and networks after the case, for debugging (`haprepro clean` removes them).
    #[arg(long, global = true)]
    pub keep: bool,
}

impl CaseArgs {
    /// `--scenarios-dir`; when left at its default and there is no `scenarios/` here, the
    /// workspace's own, so `haprepro` works from any folder of a checkout.
    pub fn scenarios_dir(&self) -> PathBuf {
        let default = std::path::Path::new("scenarios");
        if self.scenarios_dir == default && !default.is_dir() {
            let builtin = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios"));
            if builtin.is_dir() {
                return builtin;
            }
        }
        self.scenarios_dir.clone()
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// The scenario: a folder name under --scenarios-dir, or a path to a scenario folder.
    scenario: String,
    /// Only this variant of the scenario (all of them by default).
    #[arg(long)]
    variant: Option<String>,
    // Where the case's HAProxy comes from: one of the kinds' flags, with `--src`'s build options.
    #[command(flatten)]
    source: SourceArgs<One>,
    #[command(flatten)]
    case: CaseArgs,
}

/// Loads a scenario or prints why it cannot be, as `file:line:column: field: message` lines.
pub fn load_scenario(name: &str, dir: &std::path::Path) -> Result<scenario::Scenario, CliError> {
    let Some(path) = scenario::find(name, dir) else {
        let known = scenario::list(dir);
        return Err(CliError::usage(format!(
            "unknown scenario {name:?}; in {}: {}",
            dir.display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    scenario::load(&path).map_err(|errors| CliError::lines(Kind::Usage, errors))
}

pub async fn run(args: RunArgs) -> CliResult {
    let scenario = load_scenario(&args.scenario, &args.case.scenarios_dir())?;
    let source = args.source.source()?;
    check_requires(&scenario, &source)?;
    let engine = engine().await?;
    if let haprepro::images::ImageSource::Catalog(v) = &source {
        super::images::ensure(&engine, std::slice::from_ref(v)).await?;
    }
    eprintln!("resolving HAProxy image for {source} ...");
    let image = super::resolve_image(&engine, &source).await?;
    let opts = begin(&scenario, &image, &args.case);
    let variants: Vec<_> = match &args.variant {
        None => scenario.variants.iter().collect(),
        Some(name) => vec![pick_variant(&scenario, Some(name))?],
    };
    let mut code = exit::OK;
    for variant in variants {
        let record =
            scenario::run_variant(&engine, &scenario, variant, &image, &opts, &print_event).await;
        if let Some(problem) = &record.harness_error {
            return Err(CliError::harness(problem));
        }
        code = code.max(verdict_exit(&record));
    }
    Ok(code)
}

/// The options of a new run, announced on stdout.
pub fn begin(
    scenario: &scenario::Scenario,
    image: &haprepro::images::ResolvedImage,
    case: &CaseArgs,
) -> RunOptions {
    let opts = RunOptions {
        run_id: haprepro::runtime::new_run_id(),
        results_dir: case.results_dir.clone(),
        keep: case.keep,
        column: None,
        planned: None,
    };
    println!(
        "{} on HAProxy {} ({}), run {}",
        scenario.name, image.version, image.source, opts.run_id
    );
    opts
}

/// The variant a command names (the first when none is named), or a message listing them.
pub fn pick_variant<'a>(
    scenario: &'a scenario::Scenario,
    name: Option<&str>,
) -> Result<&'a scenario::VariantPlan, CliError> {
    scenario.variant(name).ok_or_else(|| {
        let known: Vec<_> = scenario
            .variants
            .iter()
            .filter_map(|v| v.name.clone())
            .collect();
        CliError::usage(format!(
            "scenario {} has no variant {:?}; it has: {}",
            scenario.name,
            name.unwrap_or_default(),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// Prints a timeline line per step and the verdict at the end.
pub fn print_event(event: CaseEvent) {
    match event {
        CaseEvent::Step { step, .. } => {
            let mark = if step.ok { "ok " } else { "ERR" };
            println!(
                "  {:>6.2}s {mark} #{:<2} {:<44} {:>5}ms  {}",
                step.at_ms as f64 / 1000.0,
                step.index,
                truncate(&step.action, 44),
                step.elapsed_ms,
                step.detail
            );
        }
        CaseEvent::Done(record) => print_verdict(record),
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

pub fn print_verdict(record: &CaseRecord) {
    for (name, value) in &record.measures {
        println!("  measure {name} = {value}");
    }
    let expected = match (&record.expected, &record.expected_range) {
        (Some(o), Some(r)) => format!("expected {o} (range {r})"),
        _ => "no [expect] range covers this version".to_string(),
    };
    println!(
        "{}: measured {} ({}); {expected} => {}  [{:.1}s, setup {:.1}s]",
        record.case,
        record.outcome,
        record.reason,
        record.verdict.to_string().to_uppercase(),
        record.wall_ms as f64 / 1000.0,
        record.setup_ms as f64 / 1000.0
    );
    println!("  evidence: {}", record.evidence_dir.display());
}

/// 0 for a pass, 1 for any other verdict, 3 when the case could not run for a harness problem.
pub fn verdict_exit(record: &CaseRecord) -> i32 {
    if record.harness_error.is_some() {
        return exit::HARNESS;
    }
    match record.verdict {
        Verdict::Pass => exit::OK,
        _ => exit::FAILED,
    }
}
