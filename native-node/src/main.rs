//! `zabra`: the native Zabra node, its local cluster supervisor, a zkCli-like shell and a
//! benchmark (DESIGN.md, "Native node").

mod api;
mod apiclient;
mod bench;
mod cli;
mod clients;
mod cluster;
mod config;
mod http;
mod node;
mod serve;
mod transport;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "zabra", version, about = "A ZooKeeper-style coordination service (ZAB in Rust)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one node.
    Serve {
        /// The node's TOML config file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Start a local cluster under one folder and supervise it (Ctrl-C stops it).
    Cluster(cluster::ClusterArgs),
    /// A zkCli-like shell, or one command.
    Cli(cli::CliArgs),
    /// Measure write and read throughput, latency and leader failover on a local cluster.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZABRA_LOG").unwrap_or_else(|_| "info".into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_ansi(ansi).init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve { config } => {
                let cfg = config::NodeConfig::load(&config).map_err(|e| e.to_string())?;
                serve::serve(cfg).await
            }
            Command::Cluster(a) => cluster::run(a).await,
            Command::Cli(a) => cli::run(a).await,
            Command::Bench(a) => bench::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zabra: {e}");
            ExitCode::FAILURE
        }
    }
}
