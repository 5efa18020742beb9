use clap::Args;

use super::{engine, exit, CliError, CliResult, Kind};

#[derive(Args)]
pub struct CleanArgs {
    /// Only the leftovers of this run id.
    #[arg(long)]
    run: Option<String>,
    /// Also remove every image haprepro built (source and --haproxy-bin images first, then
    /// catalog and builder images) and the compiler cache's volume; `haprepro images build`
    /// makes the catalog ones again.
    #[arg(long, conflicts_with = "run")]
    images: bool,
    /// Also remove what a running haprepro owns (its cases fail as `error`, a build fails), and
    /// what cannot be proved gone (another host's, another namespace's): says what it stops.
    #[arg(long)]
    force: bool,
}

pub async fn run(args: CleanArgs) -> CliResult {
    let engine = engine().await?;
    if args.force {
        // Say what is about to be stopped: what a dry run would have kept.
        if let Ok(r) = haprepro::runtime::clean_plan(&engine, args.run.as_deref()).await {
            if r.kept_containers + r.kept_networks > 0 {
                println!(
                    "--force: removing {} container(s) and {} network(s) of {}",
                    r.kept_containers,
                    r.kept_networks,
                    r.kept_owners.join(", ")
                );
            }
        }
    }
    let report = haprepro::runtime::clean(&engine, args.run.as_deref(), args.force)
        .await
        .map_err(|e| CliError::of(Kind::Harness, e))?;
    println!(
        "removed {} container(s) and {} network(s)",
        report.containers, report.networks
    );
    if report.kept_containers + report.kept_networks > 0 {
        println!(
            "kept {} container(s) and {} network(s) of {}: a running haprepro's \
             cases, builds and probes are never removed (--force removes them)",
            report.kept_containers,
            report.kept_networks,
            report.kept_owners.join(", ")
        );
    }
    if !args.images {
        return Ok(exit::OK);
    }
    let tags = haprepro::images::remove_built(&engine)
        .await
        .map_err(|e| CliError::of(Kind::Harness, e))?;
    for tag in &tags {
        println!("removed image {tag}");
    }
    println!("removed {} image(s)", tags.len());
    Ok(exit::OK)
}
