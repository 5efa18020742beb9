//! Subcommands of `haprepro`, one file each, over the library.

mod bench;
mod bisect;
mod bisect_commits;
mod build_ahead;
mod build_progress;
mod check;
mod clean;
mod error;
mod images;
mod map;
mod matrix;
mod new;
mod preflight;
mod reference;
mod report;
mod run;
mod scenarios;
mod source_args;

use clap::{Parser, Subcommand};

/// Exit codes, documented in docs/verdicts.md ("Exit codes").
pub mod exit {
    /// Every case passed (its measured outcome matched the expectation).
    pub const OK: i32 = 0;
    /// A case failed: measured and expected outcomes differ (or a case could not run).
    pub const FAILED: i32 = 1;
    /// Bad usage or input: nothing was started.
    pub const USAGE: i32 = 2;
    /// The harness itself could not work (no Docker, no image, ...).
    pub const HARNESS: i32 = 3;
    // Interrupted (Ctrl-C) is 130, from the runtime's signal watchdog after its cleanup.
}

/// Reproduces HAProxy regressions against real HAProxy containers, a DNS server it controls and
/// packet capture, and says which versions have the bug.
#[derive(Parser)]
#[command(name = "haprepro", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List, build and inspect HAProxy images.
    #[command(subcommand)]
    Images(images::ImagesCommand),
    /// Run one scenario against one HAProxy and print its timeline and verdict.
    Run(run::RunArgs),
    /// Run scenarios x versions, in parallel, and write the matrix.
    Matrix(matrix::MatrixArgs),
    /// Find the first version (or image) whose outcome differs from the first one's.
    Bisect(bisect::BisectArgs),
    /// Every version of a set of tags built and run, each change of outcome marked and, with
    /// --explain, bisected to its commit.
    Map(map::MapArgs),
    /// Run one case and exit 0 (not reproduced), 1 (reproduced) or 125 (could not run), for
    /// `git bisect run`.
    Check(check::CheckArgs),
    /// Views of results on disk: merge shard results into one matrix.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Time the per-case overhead and the full matrix at several --jobs values.
    Bench(bench::BenchArgs),
    /// List the scenarios, their cases and expectations, checking every file (no Docker needed).
    Scenarios(scenarios::ScenariosArgs),
    /// Print the step and measure reference (Markdown, from the code's own word registries:
    /// docs/reference.md is this output).
    Reference(reference::ReferenceArgs),
    /// Write a new scenario folder to start from (scenario.toml, haproxy.cfg, README.md).
    New(new::NewArgs),
    /// Remove containers and networks that earlier runs left behind (and, with --images, the
    /// images haprepro built).
    Clean(clean::CleanArgs),
}

pub use error::{report_error, CliError, CliResult, Kind};

/// Runs the command, then, in this one place, prints why it stopped (if it did) and turns that
/// into the exit code: `check`'s in `git bisect run`'s terms, every other command's as in
/// docs/verdicts.md.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let check = matches!(cli.command, Command::Check(_));
    let code = match execute(cli) {
        Ok(verdict) => verdict,
        Err(e) => {
            e.display_to_stderr();
            if check {
                check::stop_code(&e)
            } else {
                e.exit_code()
            }
        }
    };
    // After Ctrl-C the case fails fast (its containers are going away): let the watchdog finish
    // removing them and exit with 130 instead of exiting first with the case's code.
    haprepro::runtime::wait_if_interrupted();
    code
}

fn execute(cli: Cli) -> CliResult {
    // Commands that start cases need a subnet for each: a bad HAPREPRO_SUBNETS (2), or ranges
    // this host's routes cover entirely (3), stop them before anything starts (`check` in
    // `git bisect run`'s codes: 128 and 129).
    if matches!(
        cli.command,
        Command::Run(_)
            | Command::Matrix(_)
            | Command::Bisect(_)
            | Command::Map(_)
            | Command::Bench(_)
            | Command::Check(_)
    ) {
        preflight::case_subnets()?;
    }
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::harness(format!("cannot start the async runtime: {e}")))?;
    rt.block_on(async {
        let result = match cli.command {
            Command::Images(cmd) => images::run(cmd).await,
            Command::Run(args) => run::run(args).await,
            Command::Matrix(args) => matrix::run(args).await,
            Command::Bisect(args) => bisect::run(args).await,
            Command::Map(args) => map::run(args).await,
            Command::Check(args) => check::run(args).await,
            Command::Report(cmd) => report::run(cmd).await,
            Command::Bench(args) => bench::run(args).await,
            Command::Scenarios(args) => scenarios::run(args),
            Command::Reference(args) => reference::run(args),
            Command::New(args) => new::run(args),
            Command::Clean(args) => clean::run(args).await,
        };
        if haprepro::runtime::session::current().is_some() {
            if let Ok(engine) = haprepro::runtime::Engine::connect().await {
                haprepro::runtime::session::release(&engine).await;
            }
        }
        result
    })
}

/// Resolves an image source (building it when it is a source build, with progress on
/// stderr): bad input (an unknown version, a ref that does not exist, a patch that does not
/// apply) is a usage error, anything else a harness problem.
pub async fn resolve_image(
    engine: &haprepro::runtime::Engine,
    source: &haprepro::images::ImageSource,
) -> Result<haprepro::images::ResolvedImage, CliError> {
    let progress = build_progress::BuildProgress::new();
    let resolved =
        haprepro::images::resolve_with(engine, source, &|event| progress.event(event)).await;
    progress.finish();
    Ok(resolved?)
}

/// Connects to Docker.
pub async fn engine() -> Result<haprepro::runtime::Engine, CliError> {
    Ok(haprepro::runtime::Engine::connect().await?)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command's flags (ids, groups, `requires`), made of the kinds'
    /// flags too.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
