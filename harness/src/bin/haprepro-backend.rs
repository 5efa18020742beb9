//! The backend program haprepro runs in containers; see `haprepro::backend`. It is also the
//! client that client containers run (`http-client`), so requests carry their own address.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use haprepro::backend::{serve, Mode};

/// A server that names itself: HTTP answers with its name, TCP sends its name then echoes.
#[derive(Parser)]
#[command(
    name = "haprepro-backend",
    version,
    args_conflicts_with_subcommands = true
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// The name to answer with.
    #[arg(long)]
    name: Option<String>,
    /// http or tcp.
    #[arg(long, default_value = "http")]
    mode: Mode,
    /// Address to listen on; repeat for several.
    #[arg(long)]
    listen: Vec<SocketAddr>,
}

#[derive(Subcommand)]
enum Command {
    /// Sends HTTP requests one after another and prints the exchanges as JSON.
    HttpClient {
        #[arg(long)]
        to: SocketAddr,
        #[arg(long, default_value = "/")]
        path: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = Args::parse();
    match args.command {
        Some(Command::HttpClient {
            to,
            path,
            count,
            timeout_ms,
        }) => {
            let exchanges = haprepro::load::http_requests(
                to,
                &path,
                count,
                Duration::from_millis(timeout_ms),
                Instant::now(),
            )
            .await;
            match serde_json::to_string(&exchanges) {
                Ok(json) => println!("{json}"),
                Err(e) => {
                    eprintln!("haprepro-backend: {e}");
                    std::process::exit(1);
                }
            }
        }
        None => {
            let (Some(name), false) = (args.name, args.listen.is_empty()) else {
                eprintln!("haprepro-backend: --name and --listen are required to serve");
                std::process::exit(2);
            };
            if let Err(e) = serve(name, args.mode, args.listen).await {
                eprintln!("haprepro-backend: {e}");
                std::process::exit(1);
            }
        }
    }
}
