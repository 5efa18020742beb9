use clap::Args;

use super::{engine, exit, report_error};

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
}

pub async fn run(args: CleanArgs) -> i32 {
    let engine = match engine().await {
        Ok(e) => e,
        Err(code) => return code,
    };
    match haprepro::runtime::clean(&engine, args.run.as_deref()).await {
        Ok(report) => {
            println!(
                "removed {} container(s) and {} network(s)",
                report.containers, report.networks
            );
        }
        Err(e) => {
            report_error(&e);
            return exit::HARNESS;
        }
    }
    if !args.images {
        return exit::OK;
    }
    match haprepro::images::remove_built(&engine).await {
        Ok(tags) => {
            for tag in &tags {
                println!("removed image {tag}");
            }
            println!("removed {} image(s)", tags.len());
            exit::OK
        }
        Err(e) => {
            report_error(&e);
            exit::HARNESS
        }
    }
}
