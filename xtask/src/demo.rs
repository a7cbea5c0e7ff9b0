//! `cargo xtask demo`: the project's main job, shown to a person.
//!
//! It builds the UI (release wasm) and serves it on http://127.0.0.1:8000/ from a static
//! server thread, builds the `zabra` binary and starts a local 3-node cluster with
//! `zabra cluster` (each node a real process, talking WebSocket to its peers, serving
//! ZooKeeper clients), prints how to use it and how to kill the leader, and runs until Ctrl-C.
//! `--smoke` serves the UI on a free port and checks that it answers index.html (and its
//! wasm), starts the same cluster on other ports, checks that a leader serves, and stops both.
//! `--sim` prints the simulated walkthrough (`core/testdata/demo.txt`).

use crate::e2e::{self, StaticServer};
use crate::util::{secs, Ctx};
use crate::Result;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEMO_SCRIPT: &str = "core/testdata/demo.txt";
/// The smoke test's port shift, so it never meets a demo a person left running.
const SMOKE_OFFSET: u16 = 700;
/// Where the demo serves the UI (loopback only).
pub const UI_PORT: u16 = 8000;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Start the cluster, check that it answers, stop; exit 0 or 1.
    #[arg(long)]
    pub smoke: bool,
    /// Print the simulated walkthrough instead of starting real processes.
    #[arg(long)]
    pub sim: bool,
    /// The loopback port the UI is served on (`--smoke` takes any free port).
    #[arg(long, default_value_t = UI_PORT)]
    pub ui_port: u16,
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
        let ui = StaticServer::start(&dist, 0)?;
        e2e::check_ui_server(&ui, &dist)?;
        return smoke(ctx, &zabra);
    }
    // The UI server thread lives as long as this process (the cluster runs in the foreground).
    let ui = StaticServer::start(&dist, args.ui_port)
        .map_err(|e| format!("{e} (is a demo running already? pick another port with --ui-port)"))?;
    let data = ctx.root.join("target").join("demo-data");
    // A fresh admin token for every demo: anyone who can reach loopback ports could kill a
    // cluster whose token they could guess.
    let token = fresh_token()?;
    println!("Zabra demo: a local 3-node cluster and the UI (Ctrl-C stops both)");
    println!("  the UI:           {}", ui.url());
    println!("  admin token:      {token}");
    println!("  kill the leader:  curl -X POST 'http://127.0.0.1:8080/nodes/<id>/kill?token={token}'");
    println!("  bring it back:    curl -X POST 'http://127.0.0.1:8080/nodes/<id>/restart?token={token}'");
    println!("  who leads:        curl -s http://127.0.0.1:8081/healthz");
    println!("  trace stream:     ws://127.0.0.1:8081/observe?token={token}\n");
    let status = Command::new(&zabra)
        .args(["cluster", "--nodes", "3", "--admin-token", &token, "--data-dir"])
        .arg(&data)
        .status()?;
    drop(ui);
    if !status.success() {
        return Err(format!("zabra cluster ended with {status}").into());
    }
    Ok(())
}

/// 128 bits from the OS random source, as 32 hex digits.
fn fresh_token() -> Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn build(ctx: &Ctx) -> Result<PathBuf> {
    let status = ctx.cargo(["build", "--quiet", "-p", "zabra-node"]).status()?;
    if !status.success() {
        return Err("building zabra failed".into());
    }
    Ok(ctx.target_dir()?.join("debug").join("zabra"))
}

fn smoke(ctx: &Ctx, zabra: &PathBuf) -> Result {
    let data = ctx.root.join("target").join("demo-smoke-data");
    let _ = std::fs::remove_dir_all(&data);
    let started = Instant::now();
    let child = Command::new(zabra)
        .args(["cluster", "--nodes", "3", "--admin-token", "smoke", "--port-offset", &SMOKE_OFFSET.to_string()])
        .arg("--data-dir")
        .arg(&data)
        .stdout(Stdio::null())
        .spawn()?;
    let _running = crate::util::Supervisor(child);
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let leaders = (1..=3u16).filter(|i| leading(8080 + i + SMOKE_OFFSET)).count();
        if leaders == 1 {
            break;
        }
        if Instant::now() > until {
            return Err("demo smoke: no serving leader within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("demo smoke: ok (3 processes, a serving leader after {})", secs(started.elapsed()));
    Ok(())
}

/// True when the node on this HTTP port reports itself leading and serving.
fn leading(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.contains("\"state\":\"Leading\"") && body.contains("\"serving\":true")
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
