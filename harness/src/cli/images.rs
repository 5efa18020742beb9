use std::collections::HashMap;
use std::sync::Mutex;

use clap::Subcommand;
use haprepro::images::{self, BuildEvent, Catalog};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{engine, exit, report_error};

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
}

pub async fn run(cmd: ImagesCommand) -> i32 {
    let engine = match engine().await {
        Ok(e) => e,
        Err(code) => return code,
    };
    match cmd {
        ImagesCommand::List => list(&engine).await,
        ImagesCommand::Build { versions, force } => build(&engine, &versions, force).await,
    }
}

async fn list(engine: &haprepro::runtime::Engine) -> i32 {
    let built = match images::list_built(engine).await {
        Ok(b) => b,
        Err(e) => {
            report_error(&e);
            return exit::HARNESS;
        }
    };
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
    match images::source::list(engine).await {
        Ok(sources) if !sources.is_empty() => {
            println!(
                "\nbuilt from source ({}):\n{:<46} {:<20} {:<8} {:<13} origin",
                sources.len(),
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
        Ok(_) => {}
        Err(e) => report_error(&e),
    }
    println!("\nOther sources per run: --official TAG (haproxy:TAG, needs a registry), --image REF, --haproxy-bin PATH,\n--src DIR --ref REF | --src FILE.tar.gz | --src debian:SUITE (built from source, see images/README.md).");
    exit::OK
}

async fn build(engine: &haprepro::runtime::Engine, versions: &[String], force: bool) -> i32 {
    let multi = MultiProgress::new();
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        multi.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let bars: Mutex<HashMap<String, ProgressBar>> = Mutex::new(HashMap::new());
    let style = ProgressStyle::with_template("{spinner} {prefix:<13} [{elapsed:>3}] {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let started = std::time::Instant::now();
    let progress = |event: BuildEvent| {
        let mut bars = bars.lock().unwrap_or_else(|e| e.into_inner());
        let bar = bars.entry(event.suite.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(style.clone());
            bar.set_prefix(event.suite.clone());
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        bar.set_message(format!("{}: {}", event.step, event.detail));
        if matches!(event.step.as_str(), "done" | "cached" | "rootfs" | "import")
            && (event.step != "rootfs" || event.detail.starts_with("mmdebstrap"))
        {
            // Plain lines too, so logs (CI) show progress without a terminal.
            multi
                .println(format!(
                    "{:<13} {}: {}",
                    event.suite, event.step, event.detail
                ))
                .ok();
            if bar.is_hidden() {
                eprintln!("{:<13} {}: {}", event.suite, event.step, event.detail);
            }
        }
    };
    let results = match images::build(engine, versions, force, &progress).await {
        Ok(r) => r,
        Err(e) => {
            report_error(&e);
            return exit::USAGE;
        }
    };
    for bar in bars.lock().unwrap_or_else(|e| e.into_inner()).values() {
        bar.finish_and_clear();
    }
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
    code
}
