//! `cargo xtask`: the project's commands, so that the README needs only two of them.
//!
//! - `demo`: the main job. Until the native node and the UI exist it runs the demo scenario
//!   (`core/testdata/demo.txt`) in the simulator and prints its readable trace; `--smoke`
//!   starts what the demo starts, checks that it answers, and stops.
//! - `test`: every check CI runs, stage by stage, with the time each took.
//! - `sim`: a seeded chaos sweep of the simulator, in parallel.
//! - `mutants`: every mutant must be caught by the sweep alone, at 3 to 9 voters.
//! - `bench`: benchmarks (`bench sim`, `bench node`, `bench ui`, `bench vs-zk`).
//! - `chaos`: real nodes in network namespaces under a seeded nemesis, the history checked.
//! - `recipes`: every Rust recipes example against a running cluster (`--connect`).
//! - `fuzz`: the cargo-fuzz targets of `fuzz/` (nightly, installed by the command), each for
//!   a bounded time.
//!
//! `sim`, `mutants` and `bench sim` re-run themselves from an optimized build of xtask.
//!
//! Each command installs what it needs by itself (e.g. the wasm32 target), and every cargo
//! it starts is the one in `$CARGO`, i.e. the toolchain that runs xtask.

mod bench;
mod chaos;
mod clients;
mod coverage;
mod curator;
mod demo;
mod e2e;
mod fuzz;
mod kazoo;
mod mutants;
mod recipes;
mod sim;
mod stages;
mod ui;
mod util;
mod vszk;
mod wasm;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Errors end the command with a message and a non-zero exit; nothing here is recoverable.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Zabra's project commands", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the demo: for now a simulated 3-peer cluster through an election, writes, a leader
    /// crash and the recovery, printed as a readable trace.
    Demo(demo::DemoArgs),
    /// Run every check CI runs: fmt, clippy, tests, the wasm builds and checks, a seed sweep,
    /// the demo smoke test.
    Test(stages::TestArgs),
    /// Run a seeded chaos sweep of the simulator.
    Sim(sim::SimArgs),
    /// Check that the sweep alone catches every mutant at each cluster size.
    Mutants(mutants::MutantsArgs),
    /// Run a benchmark.
    Bench(bench::BenchArgs),
    /// Run real nodes in network namespaces under a seeded nemesis and check the history
    /// (linearizable writes, no lost acknowledged write, per-session order); needs root.
    Chaos(chaos::ChaosArgs),
    /// Run the fuzz targets of fuzz/ (decoders, parsers, Peer::step) for N seconds each with
    /// cargo-fuzz on nightly Rust (both installed if missing); fails on a crash.
    Fuzz(fuzz::FuzzArgs),
    /// Run one seed in the wasm simulator under Node.js and compare it with a native run
    /// (one stage of `test`, on its own).
    WasmSim(wasm::WasmSimArgs),
    /// Run every Rust recipes example (`recipes/examples`) at once against a running cluster,
    /// as the `clients` stage of `test` does.
    Recipes(recipes::RecipesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `sim` and `bench` grind the simulator, about 5x faster optimized: hand them to an
    // optimized build of xtask (the other commands mostly wait for cargo and Node).
    let grinds = match &cli.command {
        Command::Sim(_) | Command::Mutants(_) => true,
        Command::Bench(args) => args.grinds_simulator(),
        _ => false,
    };
    if cfg!(debug_assertions) && grinds {
        return finish(util::rerun_optimized());
    }
    finish(match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Test(args) => stages::run(&args),
        Command::Sim(args) => sim::run(&args),
        Command::Mutants(args) => mutants::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::WasmSim(args) => wasm::run_sim(&args),
        Command::Chaos(args) => chaos::run(&args),
        Command::Recipes(args) => recipes::run_args(&args),
        Command::Fuzz(args) => fuzz::run(&args),
    })
}

fn finish(result: Result) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.is::<util::Shown>() {
                eprintln!("xtask: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
