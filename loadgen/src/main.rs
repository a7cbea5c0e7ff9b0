//! `zabra-loadgen`: a load generator for any server that speaks ZooKeeper's client protocol
//! (Apache ZooKeeper or Zabra), on the async, pipelined `zookeeper-client` crate.
//!
//! `cargo xtask bench vs-zk` runs it against both systems, so both are measured by the same
//! client. Each subcommand prints one JSON object on stdout (a line of text after `ready`
//! for the holding ones):
//! - `run`: one workload (create, setData, delete, getData), N connections × K outstanding
//!   requests, latency percentiles from an HDR histogram, and the generator's own CPU time
//!   (getrusage) over the timed phase, so a reader sees whether it was the bottleneck.
//! - `failover`: connects, signals the leader's PID (SIGKILL or SIGSTOP) and times the first
//!   successful write issued after the signal.
//! - `hold`: opens sessions and/or sets watches, prints `ready`, holds them until its
//!   standard input closes (the caller measures the servers meanwhile).
//! - `smoke`: create, read, set, watch, list, delete against every server: proves a Rust
//!   client works (a stage of `cargo xtask test` runs it against Zabra).

mod failover;
mod hold;
mod smoke;
mod workload;

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use std::time::Duration;
use zookeeper_client::Client;

/// Errors end the run with a message; the caller sees a non-zero exit.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Parser)]
#[command(name = "zabra-loadgen", about = "ZooKeeper-protocol load generator (zookeeper-client)", version)]
struct Cli {
    /// Threads of the generator. 1 (the default): tokio's current-thread runtime, so a request,
    /// its connection's socket and its reply never cross threads inside the generator (a
    /// multi-thread runtime with one worker still hands each request from the thread that
    /// drives the workload to the worker's, and back: on 2 cores that cost up to 30% of the
    /// measured getData rate and added its latency to both systems' figures).
    #[arg(long, default_value_t = 1, global = true)]
    threads: usize,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// One workload; prints throughput, latency percentiles and the generator's CPU.
    Run(workload::RunArgs),
    /// Signal the leader and time the first successful write after it.
    Failover(failover::FailoverArgs),
    /// Hold sessions and watches until standard input closes.
    Hold(hold::HoldArgs),
    /// A short functional check: create, get, set, watch, children, delete.
    Smoke(smoke::SmokeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut builder = match cli.threads {
        0 | 1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zabra-loadgen: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Cmd::Run(a) => workload::run(a).await,
            Cmd::Failover(a) => failover::run(a).await,
            Cmd::Hold(a) => hold::run(a).await,
            Cmd::Smoke(a) => smoke::run(a).await,
        }
    });
    match result {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("zabra-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A session on `servers` (a connect string), with a 10 s session timeout (within both
/// systems' default bounds, 4 s to 40 s) and a short connection timeout so that a dead
/// server is skipped quickly.
pub async fn connect(servers: &str) -> Result<Client> {
    let connector = Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .with_connection_timeout(Duration::from_millis(1000));
    Ok(tokio::time::timeout(Duration::from_secs(30), connector.connect(servers))
        .await
        .map_err(|_| format!("no session with {servers} within 30 s"))??)
}

/// The servers of a comma-separated list, each on its own.
pub fn split_servers(servers: &str) -> Vec<String> {
    servers.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
}

/// Creates `path` and its missing ancestors (persistent, open ACL).
pub async fn ensure_path(client: &Client, path: &str) -> Result {
    use zookeeper_client::{Acls, CreateMode, Error};
    match client.mkdir(path, &CreateMode::Persistent.with_acls(Acls::anyone_all())).await {
        Ok(()) | Err(Error::NodeExists) => Ok(()),
        Err(e) => Err(format!("creating {path}: {e}").into()),
    }
}

/// User + system CPU time of this process so far, in seconds (getrusage).
pub fn cpu_seconds() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            tv(u.user_time()) + tv(u.system_time())
        }
        Err(_) => f64::NAN,
    }
}

/// User + system CPU time of the processes `pids` so far, in seconds (`/proc/PID/stat`,
/// fields 14 and 15, in clock ticks); NaN if one cannot be read.
pub fn server_cpu_seconds(pids: &[i32]) -> f64 {
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    let one = |pid: i32| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name (field 2) may hold spaces: count fields after its closing ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (utime, stime) = (f.get(11)?.parse::<f64>().ok()?, f.get(12)?.parse::<f64>().ok()?);
        Some((utime + stime) / tick)
    };
    pids.iter().map(|p| one(*p).unwrap_or(f64::NAN)).sum()
}
