//! `cargo xtask bench`: benchmarks. Speed is measured here, never asserted in tests.
//!
//! `bench sim` runs a fixed set of seeds on one thread, so its figures compare across
//! machines and commits: simulator events per second and seeds per second. `bench ui` opens
//! the release UI in headless Chromium with 7 peers and times `window.zabraBench(steps)`
//! (simulator steps, each rendered): rendered events per second and frame time per event.
//! `bench vs-zk` runs Apache ZooKeeper and Zabra side by side (`vszk/`).

use crate::sim::per_sec;
use crate::util::secs;
use crate::Result;
use std::time::Instant;
use zabra_core::sim::{run_seed, SimOptions};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Target {
    /// The deterministic simulator (single thread).
    Sim,
    /// A native cluster (arrives with the native node).
    Node,
    /// The browser UI: rendered events per second with 7 peers, in headless Chromium.
    Ui,
    /// Apache ZooKeeper and Zabra side by side (3 servers each, same load generator).
    VsZk,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// What to benchmark.
    #[arg(value_enum, default_value_t = Target::Sim)]
    target: Target,
    /// Seeds to run (`sim`), from seed 0.
    #[arg(long, default_value_t = 200)]
    seeds: u64,
    /// Voting peers per cluster (default: 3 for `sim`, 7 for `ui`).
    #[arg(long)]
    nodes: Option<usize>,
    /// Simulator steps to run and render (`ui`).
    #[arg(long, default_value_t = 2000)]
    steps: u64,
    /// `vs-zk`: every part briefly (seconds each), for development and as a smoke test.
    #[arg(long)]
    quick: bool,
    /// `vs-zk`: also growth at 1M znodes and 100k watches (several minutes more).
    #[arg(long)]
    scale: bool,
}

impl BenchArgs {
    /// Whether this benchmark runs the simulator (and so wants an optimized build).
    pub fn grinds_simulator(&self) -> bool {
        matches!(self.target, Target::Sim)
    }
}

pub fn run(args: &BenchArgs) -> Result {
    match args.target {
        Target::Sim => bench_sim(args.seeds, args.nodes.unwrap_or(3)),
        Target::Node => bench_node(),
        Target::Ui => crate::e2e::bench_ui(args.steps, args.nodes.unwrap_or(7)),
        Target::VsZk => crate::vszk::run(crate::vszk::Options { quick: args.quick, scale: args.scale }),
    }
}

/// `zabra bench` from an optimized build, against a local 3-node cluster it starts itself.
fn bench_node() -> Result {
    let ctx = crate::util::Ctx::new()?;
    let status = ctx.cargo(["build", "--release", "--quiet", "-p", "zabra-node"]).status()?;
    if !status.success() {
        return Err("building zabra failed".into());
    }
    let zabra = ctx.target_dir()?.join("release").join("zabra");
    let status = std::process::Command::new(zabra).args(["bench", "--ops", "8000", "--failovers", "5"]).status()?;
    if !status.success() {
        return Err("zabra bench failed".into());
    }
    Ok(())
}

/// Seeds `0..seeds` with `nodes` voters, one after another on this thread.
fn bench_sim(seeds: u64, nodes: usize) -> Result {
    if cfg!(debug_assertions) {
        eprintln!("note: xtask was built without optimizations; these figures understate the simulator");
    }
    let start = Instant::now();
    let (mut events, mut failed) = (0u64, 0u64);
    for seed in 0..seeds {
        let report = run_seed(&SimOptions::new(seed, nodes));
        events += report.events;
        failed += u64::from(!report.passed());
    }
    let elapsed = start.elapsed();
    println!("bench sim: {seeds} seeds x {nodes} nodes, 1 thread, {events} events in {}", secs(elapsed));
    println!(
        "bench sim: {} events/s, {:.1} seeds/s",
        per_sec(events, elapsed),
        seeds as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    if failed > 0 {
        return Err(format!("{failed} of the benchmark's seeds had violations").into());
    }
    Ok(())
}
