//! The Rust recipes' examples (`recipes/examples/*.rs`, on `zookeeper-client`) in the
//! `clients` stage: each one runs its use case against the stage's cluster, with its own
//! participants crashing where the use case is about failure, and exits non-zero on a wrong
//! outcome. They use distinct znode roots (`/examples/<name>`), so they run all at once:
//! the stage waits for the slowest (a crashed session's 4 s expiry) rather than their sum.

use crate::util::Ctx;
use crate::Result;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct RecipesArgs {
    /// The cluster's client addresses, `host:port,host:port,...`.
    #[arg(long, default_value = "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183")]
    pub connect: String,
}

pub const EXAMPLES: [&str; 9] =
    ["configuration", "naming", "discovery", "membership", "election", "lock", "rwlock", "queue", "barrier"];
/// Each takes under 10 s; their own waits are bounded too.
const LIMIT: Duration = Duration::from_secs(120);

/// `cargo xtask recipes --connect HOSTS`.
pub fn run_args(args: &RecipesArgs) -> Result {
    run(&Ctx::new()?, &args.connect)
}

pub fn run(ctx: &Ctx, hosts: &str) -> Result {
    let build = ["build", "--quiet", "-p", "zabra-recipes", "--features", "zk", "--examples"];
    if !ctx.cargo(build).status()?.success() {
        return Err("building the recipes' examples failed".into());
    }
    let dir = ctx.target_dir()?.join("debug").join("examples");
    let began = Instant::now();
    let mut running: Vec<(&str, Child)> = Vec::new();
    for name in EXAMPLES {
        let child = Command::new(dir.join(name))
            .args(["--connect", hosts])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("example {name}: {e}"))?;
        running.push((name, child));
    }
    let mut failed = Vec::new();
    for (name, child) in running {
        let (ok, out) = finish(child, began + LIMIT)?;
        if !ok {
            eprintln!("--- example {name} failed:\n{out}");
            failed.push(name);
        }
    }
    if !failed.is_empty() {
        return Err(format!("recipes examples failed: {failed:?}").into());
    }
    println!("Rust recipes examples ({}): ok in {}", EXAMPLES.len(), crate::util::secs(began.elapsed()));
    Ok(())
}

/// Waits for `child` until `until`, killing it then; returns success and its output.
fn finish(mut child: Child, until: Instant) -> Result<(bool, String)> {
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if Instant::now() > until {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    match status {
        Some(s) => Ok((s.success(), text)),
        None => Ok((false, format!("{text}\n(killed after {})", crate::util::secs(LIMIT)))),
    }
}
