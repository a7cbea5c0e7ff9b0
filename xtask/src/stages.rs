//! `cargo xtask test`: every check CI runs, as named stages.
//!
//! Each stage prints `==> stage NAME` and then `<== NAME ok in 12.3s` (or `failed`); the run
//! stops at the first failure, and always ends with a table of stage times. `.ci/run` is
//! this command. Stages can be picked with `--only` / `--skip` while working on one of them.

use crate::demo::{self, DemoArgs};
use crate::e2e;
use crate::sim::{self, SimArgs};
use crate::util::{self, secs, Ctx};
use crate::wasm::{self, WASM_TARGET};
use crate::Result;
use std::process::Command;
use std::time::{Duration, Instant};

/// The seed (and cluster size) run natively and in wasm for the determinism check.
const WASM_SIM_SEED: u64 = 42;
const WASM_SIM_NODES: u32 = 3;
/// The bounded sweep: seeds per cluster size, and the sizes.
const SWEEP_SEEDS: u64 = 300;
const SWEEP_NODES: [usize; 2] = [3, 5];

struct Stage {
    name: &'static str,
    run: fn(&Ctx) -> Result,
}

/// In order: cheap checks first, so a formatting slip fails in seconds.
const STAGES: [Stage; 17] = [
    Stage { name: "toolchain", run: toolchain },
    Stage { name: "fmt", run: fmt },
    Stage { name: "clippy", run: clippy },
    Stage { name: "test", run: test },
    Stage { name: "wasm-build", run: wasm::build },
    Stage { name: "wasm-imports", run: wasm::check_imports },
    Stage { name: "wasm-sim", run: wasm_sim },
    Stage { name: "sweep", run: sweep },
    Stage { name: "mutants", run: mutants },
    Stage { name: "demo-smoke", run: demo_smoke },
    Stage { name: "clients", run: crate::clients::run },
    Stage { name: "chaos", run: crate::chaos::stage },
    Stage { name: "fuzz", run: crate::fuzz::stage },
    Stage { name: "ui-build", run: e2e::ui_build },
    Stage { name: "ui-wasm-test", run: e2e::ui_wasm_test },
    Stage { name: "ui-e2e", run: e2e::ui_e2e },
    Stage { name: "edge", run: e2e::edge },
];

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// Run only these stages (comma-separated): toolchain, fmt, clippy, test, wasm-build,
    /// wasm-imports, wasm-sim, sweep, mutants, demo-smoke, clients, chaos, fuzz, ui-build,
    /// ui-wasm-test, ui-e2e, edge.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Skip these stages (comma-separated).
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
}

impl TestArgs {
    fn selects(&self, name: &str) -> bool {
        let named = |list: &[String]| list.iter().any(|n| n == name);
        (self.only.is_empty() || named(&self.only)) && !named(&self.skip)
    }

    fn check_names(&self) -> Result {
        for name in self.only.iter().chain(&self.skip) {
            if !STAGES.iter().any(|s| s.name == name) {
                return Err(format!("no stage named {name:?}").into());
            }
        }
        Ok(())
    }
}

pub fn run(args: &TestArgs) -> Result {
    args.check_names()?;
    let ctx = Ctx::new()?;
    let start = Instant::now();
    let mut done: Vec<(&str, Duration, bool)> = Vec::new();
    for stage in STAGES.iter().filter(|s| args.selects(s.name)) {
        println!("==> stage {}", stage.name);
        let began = Instant::now();
        let result = (stage.run)(&ctx);
        let took = began.elapsed();
        let verdict = if result.is_ok() { "ok" } else { "failed" };
        println!("<== {} {verdict} in {}", stage.name, secs(took));
        done.push((stage.name, took, result.is_ok()));
        if let Err(e) = result {
            print_table(&done, start.elapsed());
            return Err(format!("stage {} failed: {e}", stage.name).into());
        }
    }
    print_table(&done, start.elapsed());
    Ok(())
}

fn print_table(done: &[(&str, Duration, bool)], total: Duration) {
    println!("\n{:<12} {:>7}  result", "stage", "time");
    for (name, took, ok) in done {
        let verdict = if *ok { "ok" } else { "FAILED" };
        println!("{name:<12} {:>7}  {verdict}", secs(*took));
    }
    println!("{:<12} {:>7}", "total", secs(total));
    let passed = done.iter().filter(|(_, _, ok)| *ok).count();
    println!("stages: {passed} passed, {} failed", done.len() - passed);
}

/// Installs what the other stages need (the wasm target, rustfmt, clippy) and shows the
/// versions in use, Node.js included.
fn toolchain(ctx: &Ctx) -> Result {
    ensure_wasm_target()?;
    let components = util::output(Command::new("rustup").args(["component", "list", "--installed"]))?;
    for component in ["rustfmt", "clippy"] {
        if !components.lines().any(|l| l.starts_with(component)) {
            util::run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    println!("{}", util::output(&mut ctx.cargo(["--version"]))?.trim());
    let node = util::output(Command::new("node").arg("--version"))
        .map_err(|e| format!("{e}\nNode.js runs the wasm simulator: apt-get install nodejs"))?;
    println!("node {}", node.trim());
    Ok(())
}

/// `rustup target add wasm32-unknown-unknown`, unless it is there already.
pub fn ensure_wasm_target() -> Result {
    let installed = util::output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        println!("target {WASM_TARGET}: installed");
        return Ok(());
    }
    util::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

fn fmt(ctx: &Ctx) -> Result {
    util::run(&mut ctx.cargo(["fmt", "--all", "--", "--check"]))
}

fn clippy(ctx: &Ctx) -> Result {
    util::run(&mut ctx.cargo(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))
}

fn test(ctx: &Ctx) -> Result {
    util::run(&mut ctx.cargo(["test", "--workspace", "--no-fail-fast"]))
}

fn wasm_sim(ctx: &Ctx) -> Result {
    wasm::compare_with_native(ctx, WASM_SIM_SEED, WASM_SIM_NODES)
}

/// The same code path as `cargo xtask sim --seeds 300 --nodes 3,5 --floors` (and 100 seeds of
/// 3 nodes with an observer), in this process.
fn sweep(ctx: &Ctx) -> Result {
    let mut plain = SimArgs::sweep(SWEEP_SEEDS, &SWEEP_NODES);
    plain.floors = true;
    sim::run_with(ctx, &plain)?;
    // Observers take their own paths (ObserverInfo, Inform): sweep them too.
    let mut with_observer = SimArgs::sweep(SWEEP_SEEDS / 3, &[3]);
    with_observer.observers = 1;
    sim::run_with(ctx, &with_observer)
}

/// `cargo xtask mutants`: the sweep alone catches every mutant at 3, 5, 7 and 9 voters.
fn mutants(_ctx: &Ctx) -> Result {
    crate::mutants::run(&crate::mutants::MutantsArgs::default())
}

fn demo_smoke(ctx: &Ctx) -> Result {
    demo::run_with(ctx, &DemoArgs { smoke: true, sim: false, port_offset: 0 })
}
