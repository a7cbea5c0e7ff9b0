//! The parts of the run against one system: the workloads, memory idle and with many znodes,
//! leader failovers, and (with `--scale`) growth. Each part calls `zabra-loadgen` and keeps
//! its JSON answer as it is.

use super::{probe, Bench, Servers};
use crate::Result;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// One workload: operation, connections, requests outstanding per connection, and requests
/// in a full run (a tenth with `--quick`).
pub struct Workload {
    pub name: &'static str,
    pub op: &'static str,
    pub conns: usize,
    pub outstanding: usize,
    pub ops: u64,
}

const fn w(name: &'static str, op: &'static str, conns: usize, outstanding: usize, ops: u64) -> Workload {
    Workload { name, op, conns, outstanding, ops }
}

/// Latency with 1 outstanding; throughput with 64 outstanding on 1 and on 3 connections
/// (one per server); reads spread over all servers.
pub const WORKLOADS: [Workload; 11] = [
    w("create 1x1", "create", 1, 1, 2_000),
    w("setData 1x1", "set", 1, 1, 2_000),
    w("delete 1x1", "delete", 1, 1, 2_000),
    w("getData 1x1", "get", 1, 1, 5_000),
    w("create 1x64", "create", 1, 64, 20_000),
    w("create 3x64", "create", 3, 64, 30_000),
    w("setData 1x64", "set", 1, 64, 20_000),
    w("setData 3x64", "set", 3, 64, 30_000),
    w("delete 1x64", "delete", 1, 64, 20_000),
    w("delete 3x64", "delete", 3, 64, 30_000),
    w("getData 3x64", "get", 3, 64, 300_000),
];

const READY: Duration = Duration::from_secs(120);

/// Runs `zabra-loadgen` with `args`; its JSON answer.
pub fn loadgen(b: &Bench, args: &[String]) -> Result<Value> {
    let out = Command::new(&b.loadgen).args(args).stdin(Stdio::null()).output()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("zabra-loadgen {}: {}", args.join(" "), err.trim()).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(serde_json::from_str(text.lines().last().unwrap_or_default())?)
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn workload(b: &Bench, sys: &mut dyn Servers, w: &Workload, tag: &str, cleanup: bool) -> Result<Value> {
    let pids = sys.pids()?;
    let ops = if b.opts.quick { w.ops / 10 } else { w.ops };
    let cap = if b.opts.quick { 5 } else { 60 };
    let args = [
        "run",
        "--servers",
        &sys.servers().join(","),
        "--op",
        w.op,
        "--conns",
        &s(w.conns),
        "--outstanding",
        &s(w.outstanding),
        "--ops",
        &s(ops),
        "--seconds",
        &s(cap),
        "--prefix",
        &format!("/bench/{tag}"),
        "--pids",
        &pids.iter().map(s).collect::<Vec<_>>().join(","),
    ];
    let mut args: Vec<String> = args.map(String::from).into();
    if cleanup {
        args.push("--cleanup".into());
    }
    let out = loadgen(b, &args)?;
    let ms = |k: &str| out[k].as_f64().unwrap_or(f64::NAN) / 1e3;
    println!(
        "  {:<13} {:>9.0} ops/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  errors {}  generator CPU {:.0}%",
        w.name,
        out["ops_per_sec"].as_f64().unwrap_or(f64::NAN),
        ms("p50_us"),
        ms("p99_us"),
        ms("p999_us"),
        out["errors"],
        out["loadgen_cpu_share"].as_f64().unwrap_or(f64::NAN) * 100.0
    );
    if out["errors"].as_u64().unwrap_or(0) > 0 {
        println!("    first error: {}", out["first_error"]);
    }
    Ok(out)
}

fn rss(sys: &mut dyn Servers) -> Result<Value> {
    let kib: Vec<Option<u64>> = sys.pids()?.into_iter().map(probe::rss_kib).collect();
    Ok(json!(kib))
}

/// Rounds of the workloads in a full run (one with `--quick`). The systems take turns round
/// by round, so that a change in the machine's load reaches both; each row is the median of
/// its rounds.
pub fn rounds(b: &Bench) -> usize {
    if b.opts.quick {
        1
    } else {
        3
    }
}

/// The system at rest: ready, RSS of each server, and the CPU the three burn doing nothing
/// (ticks, pings, a JVM's housekeeping), part of every "server CPU/op" figure.
pub fn idle(b: &mut Bench, sys: &mut dyn Servers, label: &str) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    out.insert("name".into(), json!(sys.name()));
    b.stage(&format!("{label}: ready"), |_| probe::wait_ready(&sys.servers(), READY))?;
    std::thread::sleep(Duration::from_secs(2));
    out.insert("rss_idle_kib".into(), rss(sys)?);
    let pids = sys.pids()?;
    let cpu0 = probe::cpu_seconds(&pids);
    std::thread::sleep(Duration::from_secs(5));
    out.insert("idle_cpu_ms_per_s".into(), json!((probe::cpu_seconds(&pids) - cpu0) * 1e3 / 5.0));
    Ok(out)
}

/// One round of every workload (`round` None: the warm-up round); each deletes what it made
/// afterwards (untimed), so every round starts from the same tree.
pub fn workloads(b: &mut Bench, sys: &mut dyn Servers, label: &str, round: Option<usize>) -> Result<Value> {
    let mut results = Map::new();
    let (name, tag) = match round {
        Some(r) => (format!("round {}", r + 1), format!("r{r}")),
        None => ("warm-up round (not counted)".to_string(), "warm".to_string()),
    };
    b.stage(&format!("{label}: workloads, {name}"), |b| {
        for (i, w) in WORKLOADS.iter().enumerate() {
            results.insert(w.name.into(), workload(b, sys, w, &format!("w{i}-{tag}"), true)?);
        }
        Ok(())
    })?;
    Ok(Value::Object(results))
}

/// Per workload, the median of each figure over the rounds (each figure on its own), with
/// the rounds' answers under "rounds".
pub fn median_of_rounds(rounds: &[Value]) -> Value {
    let mut out = Map::new();
    for w in &WORKLOADS {
        let each: Vec<&Value> = rounds.iter().map(|r| &r[w.name]).collect();
        let mut m = Map::new();
        if let Some(first) = each.first().and_then(|v| v.as_object()) {
            for (key, v) in first {
                if v.is_number() {
                    let xs: Vec<f64> = each.iter().filter_map(|r| r[key].as_f64()).collect();
                    m.insert(key.clone(), json!(median(xs)));
                } else {
                    m.insert(key.clone(), v.clone());
                }
            }
        }
        m.insert("rounds".into(), json!(each));
        out.insert(w.name.into(), Value::Object(m));
    }
    Value::Object(out)
}

/// The median of `xs` (NaN for none).
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    match xs.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => xs[n / 2],
        n => (xs[n / 2 - 1] + xs[n / 2]) / 2.0,
    }
}

/// After the workloads: memory with 100k znodes, growth (with `--scale`), failovers.
pub fn after_workloads(b: &mut Bench, sys: &mut dyn Servers, label: &str, out: &mut Map<String, Value>) -> Result {
    let n: u64 = if b.opts.quick { 10_000 } else { 100_000 };
    // The workloads cleaned up after themselves; the tree is filled up to n in all, as the
    // server counts them, so the row is n znodes.
    let have = probe::znode_count(&sys.servers()[0]).ok_or("mntr: no zk_znode_count")?;
    out.insert("znodes_before_populate".into(), json!(have));
    let populated =
        b.stage(&format!("{label}: {n} znodes"), |b| populate(b, sys, n.saturating_sub(have), "/bench/pop"))?;
    out.insert("populate".into(), populated);
    out.insert("znodes_populated".into(), json!(probe::znode_count(&sys.servers()[0])));
    out.insert("rss_populated_kib".into(), rss(sys)?);
    if b.opts.scale {
        out.insert("scale".into(), b.stage(&format!("{label}: scale"), |b| scale(b, sys, n.max(have)))?);
    }
    if let Value::Object(f) = failovers(b, sys, label)? {
        out.extend(f);
    }
    Ok(())
}

/// Creates `n` znodes (100 bytes each) under `prefix`, 3 connections x 64 outstanding.
fn populate(b: &Bench, sys: &mut dyn Servers, n: u64, prefix: &str) -> Result<Value> {
    if n == 0 {
        return Ok(json!({ "ops": 0 }));
    }
    let pids = sys.pids()?.iter().map(s).collect::<Vec<_>>().join(",");
    let args = [
        "run",
        "--servers",
        &sys.servers().join(","),
        "--op",
        "create",
        "--conns",
        "3",
        "--outstanding",
        "64",
        "--ops",
        &s(n),
        "--seconds",
        "1800",
        "--prefix",
        prefix,
        "--pids",
        &pids,
    ];
    let out = loadgen(b, &args.map(String::from))?;
    if out["ops"].as_u64() != Some(n) {
        return Err(format!("populating {n} znodes: {out}").into());
    }
    Ok(out)
}

/// Leader failover by SIGKILL and by SIGSTOP, 3 rounds each (1 with `--quick`).
pub fn failovers(b: &mut Bench, sys: &mut dyn Servers, label: &str) -> Result<Value> {
    let rounds = if b.opts.quick { 1 } else { 3 };
    let mut out = Map::new();
    out.insert("silence_limit_ms".into(), json!(sys.silence_limit_ms()));
    for (signal, key) in [("kill", "failover_kill_ms"), ("stop", "failover_stop_ms")] {
        let times = b.stage(&format!("{label}: failover by SIG{}", signal.to_uppercase()), |b| {
            (0..rounds).map(|r| failover(b, sys, signal, r)).collect::<Result<Vec<f64>>>()
        })?;
        out.insert(key.into(), json!(times));
    }
    Ok(Value::Object(out))
}

/// One round: signal the leader, time the first write through the followers, bring the
/// leader back, wait until all three serve again.
fn failover(b: &Bench, sys: &mut dyn Servers, signal: &str, round: usize) -> Result<f64> {
    let servers = sys.servers();
    let leader = probe::wait_ready(&servers, READY)?;
    let pid = sys.pids()?[leader];
    let followers: Vec<String> = (0..servers.len()).filter(|i| *i != leader).map(|i| servers[i].clone()).collect();
    let args = [
        "failover",
        "--servers",
        &followers.join(","),
        "--pid",
        &s(pid),
        "--signal",
        signal,
        "--path",
        &format!("/bench/failover-{signal}-{round}"),
    ];
    let result = loadgen(b, &args.map(String::from));
    let back = if signal == "kill" { sys.restart(leader) } else { sys.resume(leader) };
    let out = result?;
    back?;
    probe::wait_ready(&servers, READY)?;
    let ms = out["first_write_ms"].as_f64().ok_or("failover: no time")?;
    println!("  SIG{} of leader {} (pid {pid}): first write after {ms:.0} ms", signal.to_uppercase(), leader + 1);
    Ok(ms)
}

/// With `--scale`: memory and read latency at 1M znodes, memory holding 100k watches, and
/// memory and read latency holding 10k sessions (a tenth of each with `--quick`).
fn scale(b: &mut Bench, sys: &mut dyn Servers, have: u64) -> Result<Value> {
    let mut out = Map::new();
    let t = std::time::Instant::now();
    let (znodes, watches) = if b.opts.quick { (100_000, 10_000) } else { (1_000_000, 100_000) };
    out.insert("znodes".into(), json!(znodes));
    out.insert("populate_1m".into(), populate(b, sys, znodes - have, "/bench/pop1m")?);
    out.insert("populate_1m_secs".into(), json!(t.elapsed().as_secs_f64()));
    out.insert("rss_1m_kib".into(), rss(sys)?);
    let get = Workload { name: "getData 3x64, many znodes", op: "get", conns: 3, outstanding: 64, ops: 300_000 };
    out.insert("get_1m".into(), workload(b, sys, &get, "w-get1m", false)?);
    let before = rss(sys)?;
    let (held, during) = hold(b, sys, &["--sessions", "30", "--watches", &watches.to_string()])?;
    out.insert("watches_100k".into(), json!({ "rss_before_kib": before, "rss_kib": during, "hold": held }));
    let sessions = if b.opts.quick { 1_000 } else { 10_000 };
    out.insert("sessions".into(), json!(sessions));
    let before = rss(sys)?;
    let (held, during) = hold(b, sys, &["--sessions", &sessions.to_string()])?;
    out.insert("sessions_10k".into(), json!({ "rss_before_kib": before, "rss_kib": during, "hold": held }));
    Ok(Value::Object(out))
}

/// Runs `zabra-loadgen hold`, reads the servers' RSS while it holds, then lets it go.
fn hold(b: &Bench, sys: &mut dyn Servers, extra: &[&str]) -> Result<(Value, Value)> {
    let mut child = Command::new(&b.loadgen)
        .args(["hold", "--servers", &sys.servers().join(",")])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().ok_or("no stdout")?).lines();
    let ready = lines.next().transpose()?;
    let during = if ready.as_deref() == Some("ready") { rss(sys) } else { Err("hold did not get ready".into()) };
    drop(child.stdin.take());
    let answer = lines.next().transpose()?.unwrap_or_default();
    let _ = child.wait();
    Ok((serde_json::from_str(&answer).unwrap_or(Value::Null), during?))
}
