use std::collections::HashMap;
use std::sync::Mutex;

use clap::Subcommand;
use haprepro::images::{self, BuildEvent, Catalog};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{engine, exit, report_error, CliError, CliResult, Kind};

#[derive(Subcommand)]
pub enum ImagesCommand {
    /// What is built, what can be built, and from where.
    List,
    /// Build the catalog images (all, or the named versions or suites); current ones are kept.
    Build {
        /// Versions (3.0.11) or Debian suites (trixie); none means all.
        versions: Vec<String>,
        /// Rebuild even when the image is current.
        #[arg(long)]
        force: bool,
    },
    /// The nightly's columns, one CI job each: the catalog's Debian suites, the official
    /// images and the source build of images/nightly.toml, with the `haprepro matrix`
    /// arguments of each (no Docker needed).
    Catalog(CatalogArgs),
}

#[derive(clap::Args)]
pub struct CatalogArgs {
    /// Print JSON (an array of entries: id, kind, name, label, version, matrix_args, ...), for
    /// CI to make one job per entry.
    #[arg(long)]
    json: bool,
    /// A nightly list other than the one shipped (images/nightly.toml, compiled in).
    #[arg(long, value_name = "FILE")]
    nightly: Option<std::path::PathBuf>,
    /// A clone of the source entry's repository: its ref (`newest-tag`: the newest v* tag) is
    /// resolved there and the entry gets `--src DIR --versions TAG` as its arguments.
    #[arg(long, value_name = "DIR")]
    src: Option<String>,
}

pub async fn run(cmd: ImagesCommand) -> CliResult {
    if let ImagesCommand::Catalog(args) = &cmd {
        return catalog(args).await;
    }
    let engine = engine().await?;
    match cmd {
        ImagesCommand::List => list(&engine).await,
        ImagesCommand::Build { versions, force } => build(&engine, &versions, force).await,
        ImagesCommand::Catalog(args) => catalog(&args).await,
    }
}

/// `images catalog`: the nightly's plan, checked (an unknown branch is an error at its line,
/// exit 2), as a table or as JSON.
async fn catalog(args: &CatalogArgs) -> CliResult {
    let nightly = match &args.nightly {
        Some(path) => images::Nightly::read(path),
        None => Ok(images::Nightly::builtin()),
    };
    let nightly = nightly.map_err(|e| CliError::usage(format!("{e}\n  Nothing was started.")))?;
    let mut source_ref = None;
    if let (Some(dir), Some(source)) = (&args.src, &nightly.source) {
        let path = images::source::git::expand_home(dir);
        source_ref = Some(images::nightly::resolve_source_ref(source, &path).await?);
    }
    let entries = images::nightly::plan(
        &Catalog::builtin(),
        &nightly,
        args.src.as_deref(),
        source_ref.as_deref(),
    );
    if args.json {
        match serde_json::to_string_pretty(&entries) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                return Err(CliError::harness(format!(
                    "cannot write the plan as JSON: {e}"
                )))
            }
        }
        return Ok(exit::OK);
    }
    println!(
        "{:<22} {:<9} {:<44} haprepro matrix ...",
        "id", "kind", "column"
    );
    for e in &entries {
        let kind = serde_json::to_value(e.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let args = e
            .matrix_args
            .as_ref()
            .map(|a| a.join(" "))
            .unwrap_or_else(|| "(give --src CLONE to resolve the ref)".into());
        println!("{:<20} {kind:<9} {:<50} {args}", e.id, e.label);
    }
    Ok(exit::OK)
}

async fn list(engine: &haprepro::runtime::Engine) -> CliResult {
    let built = images::list_built(engine)
        .await
        .map_err(|e| CliError::of(Kind::Harness, e))?;
    let catalog = Catalog::builtin();
    println!(
        "{:<13} {:<22} {:<10} {:<30} source",
        "suite", "haproxy", "state", "image"
    );
    for suite in &catalog.suites {
        let image = built.iter().find(|b| b.suite == suite.name);
        let (version, state, reference) = match image {
            Some(b) if b.current => (b.version.clone(), "built", b.reference.clone()),
            Some(b) => (b.version.clone(), "outdated", b.reference.clone()),
            None => (
                format!("({}?)", suite.version_hint),
                "buildable",
                "-".to_string(),
            ),
        };
        let from = match (&suite.base, &suite.install_from) {
            (Some(base), Some(from)) => format!("Debian {base} + haproxy from {from}"),
            _ => format!("Debian {}", suite.name),
        };
        println!(
            "{:<13} {:<22} {:<10} {:<30} {from}",
            suite.name, version, state, reference
        );
    }
    let sources = images::source::list();
    if !sources.is_empty() {
        {
            println!(
                "\nbuilt from source ({}, binaries in {}):\n{:<46} {:<20} {:<8} {:<13} origin",
                sources.len(),
                images::source::binary_cache::dir().display(),
                "image",
                "haproxy",
                "profile",
                "commit"
            );
            for s in &sources {
                println!(
                    "{:<46} {:<20} {:<8} {:<13} {}{}",
                    s.reference,
                    s.version,
                    s.profile,
                    s.commit
                        .as_deref()
                        .map(|c| &c[..12.min(c.len())])
                        .unwrap_or("-"),
                    s.origin,
                    if s.patches.is_empty() {
                        String::new()
                    } else {
                        format!(" [patches {}]", s.patches)
                    }
                );
            }
        }
    }
    // Every kind but the catalog's own, from the kinds' flags: a new kind shows here too.
    println!("\nOther sources per run (see images/README.md):");
    for kind in images::ImageSource::KINDS {
        if !kind.is(&images::kind::version::KIND) {
            let flag = format!("--{} {}", kind.one.long, kind.one.value_name);
            println!("  {flag:<32} {}", kind.one.help);
        }
    }
    Ok(exit::OK)
}

/// The display of image builds: on a terminal a spinner per suite with its current step;
/// everywhere (CI logs too) a plain line when a suite starts its rootfs, imports, or is done.
pub struct BuildProgress {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    style: ProgressStyle,
}

impl BuildProgress {
    pub fn new() -> BuildProgress {
        let multi = MultiProgress::new();
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        BuildProgress {
            multi,
            bars: Mutex::new(HashMap::new()),
            style: ProgressStyle::with_template("{spinner} {prefix:<13} [{elapsed:>3}] {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        }
    }

    pub fn event(&self, event: BuildEvent) {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(event.suite.clone()).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new_spinner());
            bar.set_style(self.style.clone());
            bar.set_prefix(event.suite.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        bar.set_message(format!("{}: {}", event.step, event.detail));
        if matches!(event.step.as_str(), "done" | "cached" | "rootfs" | "import")
            && (event.step != "rootfs" || event.detail.starts_with("mmdebstrap"))
        {
            // Plain lines too, so logs (CI) show progress without a terminal.
            self.multi
                .println(format!(
                    "{:<13} {}: {}",
                    event.suite, event.step, event.detail
                ))
                .ok();
            if bar.is_hidden() {
                eprintln!("{:<13} {}: {}", event.suite, event.step, event.detail);
            }
        }
    }

    pub fn finish(&self) {
        for bar in self.bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
            bar.finish_and_clear();
        }
    }
}

/// Builds the catalog images `versions` need that are missing, saying so first; a no-op,
/// beyond one listing, when all are there. An unknown version is bad input (2), a failed build a harness failure (3).
pub async fn ensure(
    engine: &haprepro::runtime::Engine,
    versions: &[String],
) -> Result<images::Ensured, CliError> {
    let progress = BuildProgress::new();
    let announce = |missing: &[String]| {
        eprintln!(
            "images: no image yet for {}: building {} now, offline from Debian's mirror \
             (about a minute per suite, suites in parallel, once; `haprepro images build` \
             does this ahead of time)",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        );
    };
    let result = images::ensure(engine, versions, false, &announce, &|e| progress.event(e)).await;
    progress.finish();
    match result {
        Ok(ensured) => {
            for (suite, version) in &ensured.built {
                eprintln!("images: built {suite} (HAProxy {version})");
            }
            if !ensured.outdated.is_empty() {
                eprintln!(
                    "images: {} built from an older recipe; used as is (`haprepro images build` refreshes it)",
                    ensured.outdated.join(", ")
                );
            }
            Ok(ensured)
        }
        Err(e) => Err(catalog_error(e)),
    }
}

/// A catalog image that could not be had: an unknown version is bad input, anything else the
/// harness's.
fn catalog_error(e: images::ImageError) -> CliError {
    let kind = match e {
        images::ImageError::UnknownVersion { .. } => Kind::Usage,
        _ => Kind::Harness,
    };
    CliError::of(kind, e)
}

async fn build(engine: &haprepro::runtime::Engine, versions: &[String], force: bool) -> CliResult {
    let display = BuildProgress::new();
    let progress = |event: BuildEvent| display.event(event);
    let started = std::time::Instant::now();
    let results = images::build(engine, versions, force, &progress)
        .await
        .map_err(catalog_error)?;
    display.finish();
    let mut code = exit::OK;
    for (suite, result) in results {
        match result {
            Ok(version) => println!("{suite:<13} HAProxy {version}"),
            Err(e) => {
                code = exit::HARNESS;
                eprint!("{suite:<13} ");
                report_error(&e);
            }
        }
    }
    println!("({:.0?})", started.elapsed());
    // The verdict: 3 when a suite did not build (each said above, the others built).
    Ok(code)
}
