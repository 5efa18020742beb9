use clap::Args;

use super::{engine, exit, report_error};

#[derive(Args)]
pub struct CleanArgs {
    /// Only the leftovers of this run id.
    #[arg(long)]
    run: Option<String>,
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
            exit::OK
        }
        Err(e) => {
            report_error(&e);
            exit::HARNESS
        }
    }
}
