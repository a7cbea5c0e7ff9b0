//! One campaign: start the nodes, run the workload under the nemesis for the time asked,
//! heal, let the cluster converge, read what every node holds, and check the history.

use crate::check::{self, Report};
use crate::checks::{Anomaly, FinalView};
use crate::history::{self, Call};
use crate::nemesis::{self, Log, Shared};
use crate::nodes::{CLIENT_PORT, HTTP_PORT};
use crate::status::{self, NodeStatus};
use crate::watchers::{self, EPH_PARENT};
use crate::workload::{self, Recorder, Tally, Workload, ROOT, SEQ_PARENT};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zookeeper_client as zk;

#[derive(Clone, Debug)]
pub struct Plan {
    pub nodes: u64,
    pub seconds: u64,
    pub seed: u64,
    pub workers: usize,
    pub registers: usize,
    /// Sessions that watch a register (one-shot watches, set again after each firing).
    pub watchers: usize,
    /// Sessions that make ephemeral nodes and are abandoned to expire.
    pub ephemeral_owners: usize,
    /// The fault kinds the nemesis draws from.
    pub faults: Vec<nemesis::Fault>,
    /// Where the history and the nemesis log go.
    pub out: PathBuf,
}

pub struct Finished {
    pub report: Report,
    pub ops: usize,
    pub faults: BTreeMap<String, u64>,
    pub tally: Tally,
    pub history_file: PathBuf,
}

fn http(world: &Shared, i: u64) -> SocketAddr {
    SocketAddr::from((world.lock().expect("world lock").net.addr(i), HTTP_PORT))
}

fn client_addr(world: &Shared, i: u64) -> String {
    format!("{}:{CLIENT_PORT}", world.lock().expect("world lock").net.addr(i))
}

async fn statuses(world: &Shared, n: u64) -> Vec<Option<NodeStatus>> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(status::get(http(world, i)).await);
    }
    out
}

/// Polls until every node serves and all agree on the last committed zxid and the digest,
/// or `limit` passes; the last statuses seen and whether they agreed.
async fn converge(world: &Shared, n: u64, limit: Duration) -> (bool, Vec<Option<NodeStatus>>) {
    let until = Instant::now() + limit;
    loop {
        let s = statuses(world, n).await;
        let first = s[0].clone();
        let agree = first.as_ref().is_some_and(|f| {
            s.iter().all(|x| {
                x.as_ref().is_some_and(|x| x.serving && x.last_committed == f.last_committed && x.digest == f.digest)
            })
        });
        if agree || Instant::now() >= until {
            return (agree, s);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Creates the registers (value 0, version 0) and the parent of sequential creates.
async fn setup(hosts: &str, registers: usize) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while Instant::now() < until {
        match try_setup(hosts, registers).await {
            Ok(()) => return Ok(()),
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("cannot create the registers: {last}"))
}

async fn try_setup(hosts: &str, registers: usize) -> Result<(), String> {
    let c = workload::connect(hosts).await?;
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    let mut paths = vec![ROOT.to_string(), SEQ_PARENT.to_string(), EPH_PARENT.to_string()];
    paths.extend((0..registers).map(workload::register));
    for p in paths {
        match tokio::time::timeout(Duration::from_secs(4), c.create(&p, b"0", &opts)).await {
            Ok(Ok(_)) | Ok(Err(zk::Error::NodeExists)) => {}
            Ok(Err(e)) => return Err(format!("create {p}: {e}")),
            Err(_) => return Err(format!("create {p}: timeout")),
        }
    }
    Ok(())
}

/// What node `i` alone holds, recorded as reads of a session of its own.
async fn final_view(world: &Shared, i: u64, registers: usize, rec: &Recorder) -> Result<FinalView, String> {
    let c = workload::connect(&client_addr(world, i)).await?;
    let session = rec.new_session();
    let mut view = FinalView { node: i, ..FinalView::default() };
    for k in 0..registers {
        let path = workload::register(k);
        let id = rec.invoke(session, &path, Call::Read);
        let outcome = workload::read(&c, &path).await;
        rec.complete(id, outcome.clone());
        match outcome {
            history::Outcome::Ok { value, version, .. } => view.registers.insert(path, (value, version)),
            other => return Err(format!("node {i}: final read of {path}: {other:?}")),
        };
    }
    let children = tokio::time::timeout(Duration::from_secs(10), c.list_children(SEQ_PARENT))
        .await
        .map_err(|_| format!("node {i}: listing {SEQ_PARENT} timed out"))?
        .map_err(|e| format!("node {i}: listing {SEQ_PARENT}: {e}"))?;
    let seqs = children.iter().filter_map(|name| name.strip_prefix("n-")?.parse().ok()).collect();
    view.children.insert(SEQ_PARENT.to_string(), seqs);
    let eph = ephemerals(&c).await.map_err(|e| format!("node {i}: {e}"))?;
    view.children
        .insert(EPH_PARENT.to_string(), eph.iter().filter_map(|n| n.strip_prefix("e-")?.parse().ok()).collect());
    Ok(view)
}

async fn ephemerals(c: &zk::Client) -> Result<Vec<String>, String> {
    match tokio::time::timeout(Duration::from_secs(5), c.list_children(EPH_PARENT)).await {
        Ok(Ok(list)) => Ok(list),
        Ok(Err(e)) => Err(format!("listing {EPH_PARENT}: {e}")),
        Err(_) => Err(format!("listing {EPH_PARENT} timed out")),
    }
}

/// Waits (30 s at most) until no node holds an ephemeral: every owner session was abandoned
/// and must have expired (3 s timeouts). What remains is reported by the final check.
async fn await_expiry(world: &Shared, n: u64, log: &Log) {
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until {
        let mut left = 0;
        for i in 1..=n {
            match workload::connect(&client_addr(world, i)).await {
                Ok(c) => left += ephemerals(&c).await.map_or(1, |l| l.len()),
                Err(_) => left += 1,
            }
        }
        if left == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    log.say("ephemerals still there 30 s after their sessions were abandoned".into());
}

fn extra(kind: &str, message: String) -> Anomaly {
    Anomaly { kind: kind.into(), key: String::new(), message, window: Vec::new() }
}

/// The client tasks of a campaign and what stops them.
struct Clients {
    rec: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<Tally>>,
    others: Vec<tokio::task::JoinHandle<()>>,
}

fn start_clients(plan: &Plan, hosts: String, start: Instant) -> Clients {
    let rec = Arc::new(Recorder::new(start));
    let stop = Arc::new(AtomicBool::new(false));
    let wl =
        Arc::new(Workload { rec: rec.clone(), hosts: hosts.clone(), registers: plan.registers, stop: stop.clone() });
    let workers =
        (0..plan.workers).map(|w| tokio::spawn(wl.clone().worker(plan.seed.wrapping_mul(1000) + w as u64))).collect();
    let mut others = Vec::new();
    for k in 0..plan.watchers {
        let path = workload::register(k % plan.registers);
        others.push(tokio::spawn(watchers::watcher(rec.clone(), hosts.clone(), path, stop.clone())));
    }
    for k in 0..plan.watchers {
        let path = workload::register(k % plan.registers);
        let seed = plan.seed.wrapping_mul(31) + k as u64;
        others.push(tokio::spawn(watchers::persistent_watcher(rec.clone(), hosts.clone(), path, seed, stop.clone())));
    }
    for k in 0..plan.ephemeral_owners {
        let seed = plan.seed.wrapping_mul(7919) + k as u64;
        others.push(tokio::spawn(watchers::ephemeral_owner(rec.clone(), hosts.clone(), seed, stop.clone())));
    }
    Clients { rec, stop, workers, others }
}

impl Clients {
    /// Stops every client (each within its own bound) and sums the workers' tallies.
    async fn stop(self, log: &Log) -> Tally {
        self.stop.store(true, Ordering::Relaxed);
        let mut tally = Tally::new();
        for w in self.workers {
            // An op waits 4 s at most, a connect 5 s.
            match tokio::time::timeout(Duration::from_secs(20), w).await {
                Ok(Ok(t)) => t.into_iter().for_each(|(k, v)| *tally.entry(k).or_default() += v),
                _ => log.say("a worker did not stop in 20 s".into()),
            }
        }
        for o in self.others {
            // A watcher may wait 10 s for a last firing after a read of 4 s.
            if tokio::time::timeout(Duration::from_secs(30), o).await.is_err() {
                log.say("a watcher or ephemeral owner did not stop in 30 s".into());
            }
        }
        log.say(format!("workload stopped after {} ops", self.rec.count()));
        tally
    }
}

/// After healing: the nodes agree (zxid and digest), the abandoned sessions' ephemerals go,
/// and what each node holds is read. Anomalies found on the way.
async fn final_state(world: &Shared, plan: &Plan, rec: &Recorder, log: &Log) -> (Vec<FinalView>, Vec<Anomaly>) {
    let n = plan.nodes;
    let mut anomalies = Vec::new();
    let (agree, s) = converge(world, n, Duration::from_secs(60)).await;
    let shown: Vec<String> = s
        .iter()
        .enumerate()
        .map(|(i, x)| match x {
            Some(x) => {
                format!("node {}: serving {} zxid {} digest {:016x}", i + 1, x.serving, x.last_committed, x.digest)
            }
            None => format!("node {}: no answer", i + 1),
        })
        .collect();
    log.say(format!("after healing: {}", shown.join("; ")));
    if !agree {
        anomalies
            .push(extra("no-convergence", format!("60 s after healing the nodes still differ: {}", shown.join("; "))));
    }
    await_expiry(world, n, log).await;
    let mut finals = Vec::new();
    for i in 1..=n {
        match final_view(world, i, plan.registers, rec).await {
            Ok(v) => finals.push(v),
            Err(e) => anomalies.push(extra("final-read", e)),
        }
    }
    if let Some(c) = log.counts.lock().expect("log lock").get("crash") {
        anomalies.push(extra("crash", format!("{c} node crash(es) not caused by the nemesis (see the log)")));
    }
    (finals, anomalies)
}

/// Ops by call and outcome, from the history itself, with the workers' session counts.
fn tally(ops: &[crate::history::Op], workers: Tally) -> Tally {
    let name = |v: serde_json::Result<serde_json::Value>, field: &str| {
        v.ok().and_then(|v| v[field].as_str().map(String::from)).unwrap_or_default()
    };
    let mut t: Tally = workers.into_iter().filter(|(k, _)| !k.contains(' ')).collect();
    for op in ops {
        let key = format!(
            "{} {}",
            name(serde_json::to_value(op.call), "call"),
            name(serde_json::to_value(&op.outcome), "outcome")
        );
        *t.entry(key).or_default() += 1;
    }
    t
}

/// The history and the nemesis log, as files under `plan.out`.
fn write_outputs(plan: &Plan, ops: &[crate::history::Op], log: &Log) -> Result<PathBuf, String> {
    std::fs::create_dir_all(&plan.out).map_err(|e| format!("{}: {e}", plan.out.display()))?;
    let history_file = plan.out.join(format!("history-{}.jsonl", plan.seed));
    std::fs::write(&history_file, history::to_jsonl(ops)).map_err(|e| format!("{}: {e}", history_file.display()))?;
    let nemesis_file = plan.out.join(format!("nemesis-{}.txt", plan.seed));
    std::fs::write(&nemesis_file, log.lines.lock().expect("log lock").join("\n") + "\n")
        .map_err(|e| format!("{}: {e}", nemesis_file.display()))?;
    Ok(history_file)
}

pub async fn run(plan: &Plan, world: Shared, start: Instant, log: Arc<Log>) -> Result<Finished, String> {
    let n = plan.nodes;
    let hosts: Vec<String> = (1..=n).map(|i| client_addr(&world, i)).collect();
    let (up, s) = converge(&world, n, Duration::from_secs(60)).await;
    if !up {
        let logs = world.lock().expect("world lock").nodes.log_path(1);
        return Err(format!("the cluster did not come up in 60 s: {s:?} (node logs beside {})", logs.display()));
    }
    setup(&hosts.join(","), plan.registers).await?;
    log.say(format!("cluster up, registers made; {} workers for {} s", plan.workers, plan.seconds));
    let clients = start_clients(plan, hosts.join(","), start);
    let rec = clients.rec.clone();
    let stop_nemesis = Arc::new(AtomicBool::new(false));
    let nem = nemesis::run(world.clone(), n, plan.seed, plan.faults.clone(), log.clone(), stop_nemesis.clone());
    let nem = tokio::spawn(nem);
    tokio::time::sleep(Duration::from_secs(plan.seconds)).await;
    stop_nemesis.store(true, Ordering::Relaxed);
    // A fault holds at most 8 s (a flap a little more): then the nemesis has healed and ended.
    if tokio::time::timeout(Duration::from_secs(30), nem).await.is_err() {
        log.say("the nemesis did not end in 30 s".into());
    }
    nemesis::heal(&world, &log);
    // Some work on the healed cluster, then stop the clients.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let workers = clients.stop(&log).await;
    let (finals, anomalies) = final_state(&world, plan, &rec, &log).await;
    let ops = rec.ops();
    let mut report = check::check(&ops, &finals, crate::linear::DEFAULT_BUDGET);
    report.anomalies.extend(anomalies);
    let history_file = write_outputs(plan, &ops, &log)?;
    let faults = log.counts.lock().expect("log lock").clone();
    Ok(Finished { report, ops: ops.len(), faults, tally: tally(&ops, workers), history_file })
}
