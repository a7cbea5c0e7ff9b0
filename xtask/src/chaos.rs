//! `cargo xtask chaos`: a Jepsen-style campaign against real `zabra serve` processes, each in
//! its own network namespace, under a seeded nemesis (partitions, kill -9, SIGSTOP), with the
//! history checked for linearizable writes, lost acknowledged writes, per-session order and
//! sync-then-read (the `zabra-chaos` crate). Needs root (`ip netns`).
//!
//! A failure prints the seed, the nemesis schedule and the smallest failing window; the whole
//! history is in `target/chaos/history-<seed>.jsonl`, the schedule in `nemesis-<seed>.txt` and
//! the node logs in `run-<seed>/`. `zabra-chaos check FILE` re-checks a saved history.

use crate::util::{self, Ctx, Shown};
use crate::Result;
use std::path::PathBuf;

/// Faults in the bounded campaign of `cargo xtask test` (healing and checks add ~20 s).
const STAGE_SECONDS: u64 = 90;

#[derive(clap::Args, Debug)]
pub struct ChaosArgs {
    /// Minutes of faults.
    #[arg(long, default_value_t = 2)]
    pub minutes: u64,
    /// Seconds of faults instead (short runs).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// The nemesis and workload seed (default: from the clock, printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Nodes (3 or 5).
    #[arg(long, default_value_t = 3)]
    pub nodes: u64,
    /// Concurrent client sessions.
    #[arg(long, default_value_t = 6)]
    pub workers: usize,
    /// Optimized builds of the node and the harness (for long campaigns).
    #[arg(long)]
    pub release: bool,
}

pub fn run(args: &ChaosArgs) -> Result {
    run_with(&Ctx::new()?, args)
}

/// The bounded campaign of `cargo xtask test` (seed from `ZABRA_CHAOS_SEED`, else the clock).
pub fn stage(ctx: &Ctx) -> Result {
    let seed = std::env::var("ZABRA_CHAOS_SEED").ok().and_then(|s| s.parse().ok());
    let args = ChaosArgs { minutes: 0, seconds: Some(STAGE_SECONDS), seed, nodes: 3, workers: 6, release: false };
    run_with(ctx, &args)
}

fn clock_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs() % 1_000_000)
}

pub fn run_with(ctx: &Ctx, args: &ChaosArgs) -> Result {
    if !nix::unistd::geteuid().is_root() {
        return Err("chaos needs root: it makes network namespaces, veth pairs and a bridge".into());
    }
    let profile = if args.release { "release" } else { "debug" };
    let mut build = ctx.cargo(["build", "--quiet", "-p", "zabra-node", "-p", "zabra-chaos"]);
    if args.release {
        build.arg("--release");
    }
    util::run(&mut build)?;
    let bin: PathBuf = ctx.target_dir()?.join(profile);
    let seed = args.seed.unwrap_or_else(clock_seed);
    let seconds = args.seconds.unwrap_or(args.minutes * 60);
    let out = ctx.target_dir()?.join("chaos");
    println!("chaos: seed {seed}, {} nodes, {seconds} s of faults ({profile} build)", args.nodes);
    let mut cmd = std::process::Command::new(bin.join("zabra-chaos"));
    cmd.arg("run")
        .arg("--zabra")
        .arg(bin.join("zabra"))
        .args(["--nodes", &args.nodes.to_string(), "--seconds", &seconds.to_string(), "--seed", &seed.to_string()])
        .args(["--workers", &args.workers.to_string()])
        .arg("--out")
        .arg(&out)
        .current_dir(&ctx.root);
    let status = cmd.status().map_err(|e| format!("cannot start zabra-chaos: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(Shown(format!("chaos seed {seed} failed ({status}); history in {}", out.display())).into())
    }
}
