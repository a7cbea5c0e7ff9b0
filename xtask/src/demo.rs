//! `cargo xtask demo`: the project's main job, shown to a person.
//!
//! It builds the UI (release wasm) and the `zabra` binary, starts a local 3-node cluster with
//! `zabra cluster` (each node a real process, talking WebSocket to its peers, serving
//! ZooKeeper clients and the UI itself), with control enabled and a fresh admin token, and
//! prints one URL: Live mode on that cluster (Classroom and Tabs are a click away there).
//! Runs until Ctrl-C. `--smoke` starts the same cluster on other ports, checks that a leader
//! serves and that node 1 serves the UI (index.html, its JS and wasm, `/cluster`), and stops.
//! `--sim` prints the simulated walkthrough (`core/testdata/demo.txt`).

use crate::e2e::{self, UiCluster};
use crate::util::{secs, Ctx};
use crate::Result;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

const DEMO_SCRIPT: &str = "core/testdata/demo.txt";
/// The smoke test's port shift, so it never meets a demo a person left running.
const SMOKE_OFFSET: u16 = 700;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Start the cluster, check that it answers, stop; exit 0 or 1.
    #[arg(long)]
    pub smoke: bool,
    /// Print the simulated walkthrough instead of starting real processes.
    #[arg(long)]
    pub sim: bool,
    /// Shift every port (to run beside another demo): node i's HTTP port is 8080+i+offset.
    #[arg(long, default_value_t = 0)]
    pub port_offset: u16,
}

pub fn run(args: &DemoArgs) -> Result {
    run_with(&Ctx::new()?, args)
}

pub fn run_with(ctx: &Ctx, args: &DemoArgs) -> Result {
    if args.sim {
        return simulated(ctx);
    }
    let dist = e2e::dist(ctx)?;
    let zabra = build(ctx)?;
    if args.smoke {
        return smoke(ctx, &zabra, &dist);
    }
    let data = ctx.root.join("target").join("demo-data");
    // A fresh admin token for every demo: anyone who can reach loopback ports could kill a
    // cluster whose token they could guess.
    let token = fresh_token()?;
    let (ui, sup) = (8081 + args.port_offset, 8080 + args.port_offset);
    println!("Zabra demo: a local 3-node cluster serving the UI (Ctrl-C stops it)\n");
    println!("  open:  http://127.0.0.1:{ui}/#live&token={token}\n");
    println!("  (Live mode: keys K kill the leader, R restart, P pause, U resume, S split, H heal, W writes;");
    println!("   Classroom and Tabs are in the page's top bar. The token in the URL is the admin token;");
    println!("   the page forgets the URL's copy once read.)");
    println!("  kill the leader by hand:  curl -X POST 'http://127.0.0.1:{sup}/nodes/<id>/kill?token={token}'\n");
    let status = Command::new(&zabra)
        .args(["cluster", "--nodes", "3", "--admin-token", &token, "--port-offset", &args.port_offset.to_string()])
        .arg("--ui-dir")
        .arg(&dist)
        .arg("--data-dir")
        .arg(&data)
        .status()?;
    if !status.success() {
        return Err(format!("zabra cluster ended with {status}").into());
    }
    Ok(())
}

/// 128 bits from the OS random source, as 32 hex digits.
pub fn fresh_token() -> Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

pub fn build(ctx: &Ctx) -> Result<PathBuf> {
    let status = ctx.cargo(["build", "--quiet", "-p", "zabra-node"]).status()?;
    if !status.success() {
        return Err("building zabra failed".into());
    }
    Ok(ctx.target_dir()?.join("debug").join("zabra"))
}

fn smoke(ctx: &Ctx, zabra: &std::path::Path, dist: &std::path::Path) -> Result {
    let data = ctx.root.join("target").join("demo-smoke-data");
    let started = Instant::now();
    let cluster = UiCluster::start(zabra, dist, &data, SMOKE_OFFSET, "smoke")?;
    println!("demo smoke: 3 processes, a serving leader after {}", secs(started.elapsed()));
    e2e::check_ui_served(cluster.http_port(1), dist)?;
    println!("demo smoke: ok");
    Ok(())
}

fn simulated(ctx: &Ctx) -> Result {
    let script = ctx.root.join(DEMO_SCRIPT);
    let text = std::fs::read_to_string(&script).map_err(|e| format!("cannot read {}: {e}", script.display()))?;
    let start = Instant::now();
    let transcript = zabra_core::sim::script::run_script(&text).map_err(|e| format!("{DEMO_SCRIPT} failed: {e}"))?;
    println!("Zabra, simulated: {DEMO_SCRIPT} (an election, writes, a leader crash, the recovery)\n");
    print!("{transcript}");
    println!("\nsimulated in {}", secs(start.elapsed()));
    Ok(())
}
