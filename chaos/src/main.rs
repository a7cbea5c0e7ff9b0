//! `zabra-chaos`: run a campaign (`run`), re-check a saved history (`check`), or remove what
//! killed runs left behind (`cleanup`). `cargo xtask chaos` builds and runs this.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use zabra_chaos::campaign::{self, Plan};
use zabra_chaos::nemesis::{Log, World};
use zabra_chaos::{check, history, net, nodes};

#[derive(Parser)]
#[command(name = "zabra-chaos", about = "Real zabra nodes in network namespaces under a seeded nemesis, checked")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one campaign (needs root: network namespaces).
    Run(RunArgs),
    /// Check a saved history (the linearizability and per-session checks; no final state).
    Check { file: PathBuf },
    /// Remove namespaces and bridges left by runs that were killed (their process is gone).
    Cleanup,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The `zabra` binary.
    #[arg(long, default_value = "target/debug/zabra")]
    zabra: PathBuf,
    #[arg(long, default_value_t = 3)]
    nodes: u64,
    /// Seconds of faults (healing and checking come after).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent client sessions.
    #[arg(long, default_value_t = 6)]
    workers: usize,
    /// Compare-and-set registers (znodes).
    #[arg(long, default_value_t = 4)]
    registers: usize,
    /// Sessions watching a register.
    #[arg(long, default_value_t = 2)]
    watchers: usize,
    /// Sessions that make ephemeral nodes and are abandoned to expire.
    #[arg(long, default_value_t = 1)]
    ephemeral_owners: usize,
    /// Only these faults (comma-separated, e.g. torn-tail,disk-full); default: all.
    #[arg(long, default_value = "")]
    faults: String,
    /// History, nemesis log and node folders go here.
    #[arg(long, default_value = "target/chaos")]
    out: PathBuf,
    /// Node tick in milliseconds.
    #[arg(long, default_value_t = 100)]
    tick_ms: u64,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(a) => run(a),
        Command::Check { file } => recheck(&file),
        Command::Cleanup => {
            for name in net::cleanup_dead_runs() {
                println!("removed {name}");
            }
            ExitCode::SUCCESS
        }
    }
}

fn recheck(file: &std::path::Path) -> ExitCode {
    let ops = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| history::from_jsonl(&t).map_err(|e| e.to_string()))
    {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("zabra-chaos: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let r = check::check(&ops, &[], zabra_chaos::linear::DEFAULT_BUDGET);
    print!("{}", check::describe(&r, &ops));
    if r.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(a: RunArgs) -> ExitCode {
    let left = net::cleanup_dead_runs();
    if !left.is_empty() {
        println!("removed what killed runs left: {left:?}");
    }
    let plan = Plan {
        nodes: a.nodes,
        seconds: a.seconds,
        seed: a.seed,
        workers: a.workers,
        registers: a.registers,
        watchers: a.watchers,
        ephemeral_owners: a.ephemeral_owners,
        faults: match zabra_chaos::nemesis::parse_kinds(&a.faults) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("zabra-chaos: {e}");
                return ExitCode::from(2);
            }
        },
        out: a.out.clone(),
    };
    let start = Instant::now();
    let world = match make_world(&a) {
        Ok(w) => Arc::new(Mutex::new(w)),
        Err(e) => {
            eprintln!("zabra-chaos: {e}");
            return ExitCode::from(2);
        }
    };
    let log = Arc::new(Log::new(start));
    log.say(format!(
        "seed {}: {} nodes, {} s of faults, {} workers, {} registers",
        a.seed, a.nodes, a.seconds, a.workers, a.registers
    ));
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a tokio runtime");
    let result = rt.block_on(async {
        tokio::select! {
            r = campaign::run(&plan, world.clone(), start, log.clone()) => Some(r),
            s = stop_signal() => { eprintln!("zabra-chaos: {s}: stopping and cleaning up"); None }
        }
    });
    // Ends every task (their handles on the world go), then the world: nodes, then network.
    rt.shutdown_timeout(std::time::Duration::from_secs(3));
    drop(world);
    match result {
        None => ExitCode::from(130),
        Some(Err(e)) => {
            eprintln!("zabra-chaos: seed {}: {e}", a.seed);
            ExitCode::from(2)
        }
        Some(Ok(f)) => report(&a, &f, &log),
    }
}

fn make_world(a: &RunArgs) -> Result<World, String> {
    let net = net::Net::create(a.nodes, a.seed)?;
    let dir = a.out.join(format!("run-{}", a.seed));
    let dir = std::path::absolute(&dir).map_err(|e| e.to_string())?;
    let nodes = nodes::Nodes::start(&a.zabra, &dir, &net, a.tick_ms)?;
    Ok(World { nodes, net })
}

fn report(a: &RunArgs, f: &campaign::Finished, log: &Log) -> ExitCode {
    let ok = f.report.anomalies.is_empty() && f.report.undecided.is_empty();
    println!("\nchaos seed {}: {} ops, faults {:?}", a.seed, f.ops, f.faults);
    println!("ops by kind: {:?}", f.tally);
    println!("{}", check::describe(&f.report, &[]).lines().next().unwrap_or_default());
    println!("history: {}", f.history_file.display());
    if ok {
        println!("chaos seed {}: no anomalies", a.seed);
        return ExitCode::SUCCESS;
    }
    println!("\nCHAOS FAILED, seed {} (rerun: cargo xtask chaos --seed {} --minutes ...)", a.seed, a.seed);
    println!("nemesis schedule:");
    for l in log.lines.lock().expect("log lock").iter() {
        println!("  {l}");
    }
    let ops = history::from_jsonl(&std::fs::read_to_string(&f.history_file).unwrap_or_default()).unwrap_or_default();
    print!("{}", check::describe(&f.report, &ops));
    ExitCode::FAILURE
}

async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
