//! `zabra`: the native Zabra node, its local cluster supervisor, a zkCli-like shell and a
//! benchmark (DESIGN.md, "Native node").

mod api;
mod apiclient;
mod bench;
mod budget;
mod cli;
mod clicmd;
mod clientq;
mod clients;
mod cluster;
mod connstats;
mod entrybytes;
mod http;
mod join;
mod metrics;
mod monitor;
mod node;
mod origin;
mod persist;
mod prometheus;
mod record;
mod secrets;
mod serve;
mod transport;
mod viewers;

/// mimalloc, not glibc's malloc: a node allocates and frees small objects all the time
/// (decoded messages, frames, entries), and its storage thread frees what the node task
/// allocated. On a 3-node cluster, 3 connections x 64 outstanding writes, it cut server CPU
/// per write by 7-23% and raised throughput by 6-18% (create, setData, delete; A/B on the
/// `dist` build). It costs an idle node about 0.4 MB of RSS, and saves 7% at 100k znodes.
/// Built without transparent huge pages (`no_thp`, and [`main`] turns them off for the
/// process): with them, a 2 MiB page backs each of its first regions and an idle node's RSS
/// doubles.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use zabra_node::{config, limits};

#[derive(Parser)]
#[command(name = "zabra", version, about = "A ZooKeeper-style coordination service (ZAB in Rust)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one node.
    Serve(ServeArgs),
    /// Start a local cluster under one folder and supervise it (Ctrl-C stops it).
    Cluster(cluster::ClusterArgs),
    /// A zkCli-like shell, or one command.
    Cli(cli::CliArgs),
    /// Measure write and read throughput, latency and leader failover on a local cluster.
    Bench(bench::BenchArgs),
}

/// A node from a config file, from flags (a local cluster's member `id` of `nodes`), or a
/// file with flags overriding it.
#[derive(clap::Args)]
struct ServeArgs {
    /// The node's TOML config file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// This node's id (overrides the file).
    #[arg(long)]
    id: Option<u64>,
    /// Without a file: members 1..=NODES on the local ports (client 2180+i, peer 2890+i, HTTP 8080+i).
    #[arg(long)]
    nodes: Option<u64>,
    /// Where this node keeps its data (overrides the file).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Tick in milliseconds (overrides the file).
    #[arg(long)]
    tick_ms: Option<u64>,
    /// The cluster secret peers authenticate with (overrides the file; mode 0600).
    #[arg(long)]
    secret_file: Option<PathBuf>,
    /// Serve the built UI (a folder with index.html) from the HTTP port (overrides the file).
    #[arg(long)]
    ui_dir: Option<PathBuf>,
}

fn serve_config(a: ServeArgs) -> Result<config::NodeConfig, String> {
    let mut cfg = match (&a.config, a.nodes) {
        (Some(path), _) => config::NodeConfig::load(path).map_err(|e| e.to_string())?,
        (None, Some(n)) => config::NodeConfig::local(a.id.unwrap_or(1), n),
        (None, None) => return Err("give --config FILE, or --nodes N --id I --data-dir DIR".into()),
    };
    if let Some(id) = a.id {
        cfg.id = id;
    }
    if let Some(d) = a.data_dir {
        cfg.data_dir = d;
    }
    if let Some(t) = a.tick_ms {
        cfg.tick_ms = t;
    }
    if let Some(s) = a.secret_file {
        cfg.secret_file = Some(s);
    }
    if let Some(d) = a.ui_dir {
        cfg.ui_dir = Some(d);
    }
    cfg.validate().map_err(|e| e.to_string())?;
    Ok(cfg)
}

/// One thread: tokio's current-thread runtime. `None`: its default, one worker per core (the
/// shell needs workers: it reads lines with `block_in_place`).
fn runtime(threads: Option<usize>) -> tokio::runtime::Runtime {
    let mut b = match threads {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    b.enable_all().build().expect("a tokio runtime")
}

fn main() -> ExitCode {
    // Where the kernel backs every large enough region with huge pages (THP "always"), not
    // only those asked for (see `ALLOC`). A failure changes only memory use, not behaviour.
    let _ = nix::sys::prctl::set_thp_disable(true);
    let cli = Cli::parse();
    // The shell prints only what zkCli would; the ZooKeeper client's own log stays quiet.
    let default = if matches!(cli.command, Command::Cli(_)) { "warn" } else { "info" };
    // `Targets` takes `level` or `target=level,...` (what ZABRA_LOG is documented to take)
    // without the regex engine `EnvFilter` brings: less code resident in every node.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let spec = std::env::var("ZABRA_LOG").unwrap_or_default();
    let filter = spec.parse::<tracing_subscriber::filter::Targets>().unwrap_or_else(|e| {
        eprintln!("zabra: ZABRA_LOG={spec:?}: {e}; using {default}");
        default.parse().expect("a valid default")
    });
    let filter = if spec.trim().is_empty() { default.parse().expect("a valid default") } else { filter };
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_target(false).with_ansi(ansi);
    tracing_subscriber::registry().with(fmt).with(filter).init();
    let result = match cli.command {
        // A node runs on as many threads as its config says (`threads`, default 1).
        Command::Serve(a) => serve_config(a).and_then(|cfg| runtime(Some(cfg.threads)).block_on(serve::serve(cfg))),
        Command::Cluster(a) => runtime(None).block_on(cluster::run(a)),
        Command::Cli(a) => runtime(None).block_on(cli::run(a)),
        Command::Bench(a) => runtime(None).block_on(bench::run(a)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zabra: {e}");
            ExitCode::FAILURE
        }
    }
}
