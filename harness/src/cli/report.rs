//! `haprepro report`: views of results already on disk. `merge` joins the result folders of
//! several runs (CI shards) into one matrix; `map` draws one map from a sharded map's folders.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use haprepro::report::{self, merge};

use super::{exit, CliError, CliResult, Kind};

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Reads every case.json under the folders and writes one matrix.json, matrix.md,
    /// matrix.html and junit.xml.
    Merge(MergeArgs),
    /// Draws one map (map.md, map.html, map.json) from the folders of a sharded
    /// `haprepro map --shard K/N` (each shard's map folder, or folders holding them).
    Map(MapArgs),
}

#[derive(Args)]
pub struct MapArgs {
    /// The shards' map folders, searched recursively for map-plan.json.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where the map goes; results/map-merged-<id> by default.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
pub struct MergeArgs {
    /// Result folders (results/<run-id>/, or folders holding several), searched recursively.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where the merged views go; results/merged-<id> by default. Evidence links in
    /// matrix.html are relative to it, so keep the shard folders where they are (or under it).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub async fn run(cmd: ReportCommand) -> CliResult {
    match cmd {
        ReportCommand::Merge(args) => merge_cmd(args),
        ReportCommand::Map(args) => {
            let out = args.out.unwrap_or_else(|| {
                PathBuf::from("results")
                    .join(format!("map-merged-{}", haprepro::runtime::new_run_id()))
            });
            super::map::draw_from(&args.dirs, &out)
        }
    }
}

fn merge_cmd(args: MergeArgs) -> CliResult {
    let started = std::time::Instant::now();
    let merged = merge::collect_all(&args.dirs).map_err(|e| CliError::of(Kind::Usage, e))?;
    let records = &merged.records;
    let problems = merged.problems();
    for p in &problems {
        eprintln!("warning: {p}");
    }
    let out = args.out.unwrap_or_else(|| {
        PathBuf::from("results").join(format!("merged-{}", haprepro::runtime::new_run_id()))
    });
    if let Err(e) = report::write_all(&out, records) {
        return Err(CliError::harness(format!(
            "cannot write the merged reports into {}: {e}",
            out.display()
        )));
    }
    let took = started.elapsed();
    let html_kb = std::fs::metadata(out.join("matrix.html")).map_or(0, |m| m.len() / 1024);
    println!("{}", report::matrix::markdown(records));
    let (passed, total) = report::passed_cells(records);
    println!(
        "{} case.json file(s) from {} folder(s): {passed} case(s) passed, {} not passing; \
         merged into {} (matrix.html, matrix.md, matrix.json, junit.xml) in {} ms; \
         matrix.html {html_kb} KiB",
        records.len(),
        args.dirs.len(),
        total - passed,
        out.display(),
        took.as_millis()
    );
    if !problems.is_empty() {
        Err(CliError::failed(format!(
            "the merge is not whole: {} file(s) left out, {} duplicate(s), {} planned \
             case(s) missing, {} scenario(s) from mixed texts (named above)",
            merged.unreadable.len(),
            merged.duplicates.len(),
            merged.missing.len(),
            merged.mixed.len()
        )))
    } else if passed == total {
        Ok(exit::OK)
    } else {
        Ok(exit::FAILED)
    }
}
