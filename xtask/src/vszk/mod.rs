//! `cargo xtask bench vs-zk`: Apache ZooKeeper and Zabra side by side, in one run, driven by
//! one load generator (`zabra-loadgen`, on the `zookeeper-client` crate).
//!
//! In order: a 3-node ZooKeeper ensemble with its default timing (workloads, memory, leader
//! failover by SIGKILL and by SIGSTOP) and a 3-node Zabra cluster (everything), then the
//! ZooKeeper ensemble with its timing scaled to Zabra's (failover only: the workloads do not
//! depend on the timing). ZooKeeper and Zabra run at once and take turns: a warm-up round
//! each (not counted), then three rounds of the workloads, alternating, each row the median
//! of its rounds, so a change in the machine's load reaches both; memory, growth and
//! failovers run against one system at a time while the other idles. Data is in a temporary
//! folder whose fsync latency is measured first; the load average is read before and after.
//! The result is a table (ratio per row, oriented so that > 1 means Zabra is better), JSON
//! (`target/bench/vs-zk.json`) and a chart (`target/bench/vs-zk.png`).
//!
//! `--quick` runs every part briefly (about a tenth of the requests, one failover round),
//! for development and as a smoke test; `--scale` adds 1M znodes and 100k watches.

mod chart;
mod probe;
mod report;
mod run;
mod zabra;
mod zk;

use crate::util::{secs, Ctx};
use crate::Result;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::time::Instant;

/// A 3-server cluster under test: which addresses serve clients, which processes are the
/// servers, and how to bring back one that a failover round killed or paused.
pub trait Servers {
    fn name(&self) -> String;
    /// Client addresses (host:port), server 0 first.
    fn servers(&self) -> Vec<String>;
    /// Current PID of each server.
    fn pids(&mut self) -> Result<Vec<i32>>;
    /// Start server `i` again after SIGKILL.
    fn restart(&mut self, i: usize) -> Result;
    /// SIGCONT to server `i` after SIGSTOP.
    fn resume(&mut self, i: usize) -> Result;
    /// How long a follower waits without a word from its leader before it gives up on it
    /// (ZooKeeper: syncLimit x tickTime; Zabra: sync_limit x tick_ms), in ms.
    fn silence_limit_ms(&self) -> u64;
}

/// Signal one process we started (or our cluster supervisor started), by PID.
pub fn signal(pid: i32, sig: nix::sys::signal::Signal) -> Result {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).map_err(|e| format!("signal {pid}: {e}").into())
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub quick: bool,
    pub scale: bool,
}

/// What every part of the run needs: the binaries, the data folder, the stage timer.
pub struct Bench {
    pub opts: Options,
    pub loadgen: PathBuf,
    pub data: PathBuf,
    pub stages: Map<String, Value>,
}

impl Bench {
    /// Runs `f` as a named stage: prints its duration and records it.
    pub fn stage<T>(&mut self, name: &str, f: impl FnOnce(&mut Bench) -> Result<T>) -> Result<T> {
        println!("vs-zk: {name} ...");
        let t = Instant::now();
        let out = f(self);
        let took = t.elapsed();
        println!("vs-zk: {name}: {}{}", secs(took), if out.is_err() { " (failed)" } else { "" });
        self.stages.insert(name.to_string(), json!(took.as_secs_f64()));
        out
    }
}

fn build(ctx: &Ctx) -> Result<(PathBuf, PathBuf)> {
    // Both in the `dist` profile (whole-program optimization), as a deployment builds zabra.
    let status =
        ctx.cargo(["build", "--profile", "dist", "--quiet", "-p", "zabra-node", "-p", "zabra-loadgen"]).status()?;
    if !status.success() {
        return Err("building zabra and zabra-loadgen (dist profile) failed".into());
    }
    let dist = ctx.target_dir()?.join("dist");
    Ok((dist.join("zabra"), dist.join("zabra-loadgen")))
}

/// Debian's zookeeper package (and with it a Java runtime), as the `clients` stage does.
fn install_zookeeper() -> Result {
    if zk::installed() {
        return Ok(());
    }
    println!("vs-zk: Debian's zookeeper package is missing; installing it with apt-get ...");
    let env = [("DEBIAN_FRONTEND", "noninteractive")];
    crate::clients::run_checked(
        std::process::Command::new("apt-get").args(["update", "-qq"]).envs(env),
        "apt-get update",
    )?;
    crate::clients::run_checked(
        std::process::Command::new("apt-get")
            .args(["install", "-y", "-qq", "zookeeper", "default-jre-headless"])
            .envs(env),
        "apt-get install zookeeper",
    )?;
    if !zk::installed() {
        return Err("Debian's zookeeper package is installed but its jars are not where expected".into());
    }
    println!("vs-zk: installed Debian's zookeeper package");
    Ok(())
}

fn machine(b: &Bench) -> Result<Value> {
    let fsync = probe::fsync_latency(&b.data, if b.opts.quick { 50 } else { 200 })?;
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string()))
        .unwrap_or_default();
    Ok(json!({
        "cpus": probe::cpus(),
        "cpu_model": cpu,
        "kernel": kernel.trim(),
        "loadavg_before": probe::loadavg(),
        "data_dir": b.data.display().to_string(),
        "filesystem": probe::filesystem(&b.data),
        "fsync_4k": fsync,
    }))
}

pub fn run(opts: Options) -> Result {
    let ctx = Ctx::new()?;
    let started = Instant::now();
    let (zabra_bin, loadgen) = build(&ctx)?;
    install_zookeeper()?;
    let data = std::env::temp_dir().join(format!("zabra-vs-zk-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let mut b = Bench { opts, loadgen, data: data.clone(), stages: Map::new() };
    let result = run_all(&mut b, &zabra_bin);
    let _ = std::fs::remove_dir_all(&data);
    let (mut machine, systems) = result?;
    machine["loadavg_after"] = json!(probe::loadavg());
    let out_dir = ctx.target_dir()?.join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let rows = report::rows(&systems);
    let doc = json!({
        "date": report::utc_now(),
        "mode": if opts.quick { "quick" } else { "full" },
        "workloads_method": method(&b),
        "scale": opts.scale,
        "machine": machine,
        "stages_secs": b.stages,
        "total_secs": started.elapsed().as_secs_f64(),
        "rows": report::rows_json(&rows),
        "systems": systems,
    });
    report::print(&doc, &rows);
    std::fs::write(out_dir.join("vs-zk.json"), serde_json::to_string_pretty(&doc)? + "\n")?;
    chart::draw(&out_dir.join("vs-zk.png"), &doc, &rows)?;
    println!("vs-zk: wrote {} and {}", out_dir.join("vs-zk.json").display(), out_dir.join("vs-zk.png").display());
    println!("vs-zk: total {}", secs(started.elapsed()));
    Ok(())
}

/// How the workload figures were taken, for the table and the chart.
fn method(b: &Bench) -> String {
    match (b.opts.quick, run::rounds(b)) {
        (true, n) => format!("{n} round, no warm-up (cold JVM)"),
        (false, n) => format!("median of {n} alternating rounds after warm-up"),
    }
}

fn run_all(b: &mut Bench, zabra_bin: &std::path::Path) -> Result<(Value, Value)> {
    let machine = b.stage("machine: load and fsync latency", |b| machine(b))?;
    let mut systems = Map::new();
    // Both run at once (the idle one costs a few ms of CPU per second) so that their
    // workload rounds can alternate; everything else runs against one at a time.
    let dir = b.data.join("zookeeper");
    let mut zk = b.stage("ZooKeeper: start", |_| zk::Ensemble::start(&dir, zk::DEFAULT))?;
    let dir = b.data.join("zabra");
    let mut za = b.stage("Zabra: start", |_| zabra::Cluster::start(zabra_bin, &dir))?;
    let mut zk_out = run::idle(b, &mut zk, "ZooKeeper")?;
    let mut za_out = run::idle(b, &mut za, "Zabra")?;
    // A JVM compiles its hot code while it runs: ZooKeeper's first round after a start was
    // up to 5x slower than its third (create 1x1: 283, 1091, 1420 ops/s). One round each,
    // not counted, so that both are compared as a long-running server runs.
    if !b.opts.quick {
        zk_out.insert("warmup".into(), run::workloads(b, &mut zk, "ZooKeeper", None)?);
        za_out.insert("warmup".into(), run::workloads(b, &mut za, "Zabra", None)?);
    }
    let (mut zk_rounds, mut za_rounds) = (Vec::new(), Vec::new());
    for r in 0..run::rounds(b) {
        zk_rounds.push(run::workloads(b, &mut zk, "ZooKeeper", Some(r))?);
        za_rounds.push(run::workloads(b, &mut za, "Zabra", Some(r))?);
    }
    zk_out.insert("workloads".into(), run::median_of_rounds(&zk_rounds));
    za_out.insert("workloads".into(), run::median_of_rounds(&za_rounds));
    run::after_workloads(b, &mut zk, "ZooKeeper", &mut zk_out)?;
    stop(b, "ZooKeeper", zk)?;
    systems.insert("zookeeper".into(), Value::Object(zk_out));
    run::after_workloads(b, &mut za, "Zabra", &mut za_out)?;
    stop(b, "Zabra", za)?;
    systems.insert("zabra".into(), Value::Object(za_out));
    let dir = b.data.join("zookeeper-scaled");
    let mut zs = b.stage("ZooKeeper scaled: start", |_| zk::Ensemble::start(&dir, zk::SCALED))?;
    let scaled = run::failovers(b, &mut zs, "ZooKeeper scaled");
    stop(b, "ZooKeeper scaled", zs)?;
    systems.insert("zookeeper_scaled".into(), scaled?);
    Ok((machine, Value::Object(systems)))
}

/// Stops a system (its `Drop` ends the processes it started), as a timed stage.
fn stop<S>(b: &mut Bench, label: &str, sys: S) -> Result {
    b.stage(&format!("{label}: stop"), |_| {
        drop(sys);
        Ok(())
    })
}
