//! `zabra-loadgen run`: one workload over N connections with K requests outstanding on each.
//!
//! Connection `c` talks to server `c mod len(servers)` only, so sessions spread over every
//! server (writes that reach a follower are forwarded to the leader, as in any deployment).
//! Its znodes are `<prefix>/c<c>-<i>`. A workload that needs znodes first (setData, getData,
//! delete) creates them in an untimed setup phase, pipelined; the timed phase then runs on
//! every connection at once, until each has done its share of `--ops` or `--seconds` pass.
//! Latency is from the moment a request is handed to the client to its reply.

use crate::Result;
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use hdrhistogram::Histogram;
use serde_json::json;
use std::time::{Duration, Instant};
use zookeeper_client::{Acls, Client, CreateMode};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Set,
    Delete,
    Get,
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Comma-separated servers (host:port); connection c uses server c mod their count.
    #[arg(long)]
    pub servers: String,
    #[arg(long, value_enum)]
    pub op: Op,
    /// Connections (sessions).
    #[arg(long, default_value_t = 1)]
    pub conns: usize,
    /// Requests outstanding on each connection.
    #[arg(long, default_value_t = 1)]
    pub outstanding: usize,
    /// Requests in the timed phase, over all connections.
    #[arg(long, default_value_t = 1000)]
    pub ops: u64,
    /// Longest timed phase, in seconds (the run stops at `--ops` or here, whichever comes first).
    #[arg(long, default_value_t = 30.0)]
    pub seconds: f64,
    /// Bytes of data per znode (create, setData).
    #[arg(long, default_value_t = 100)]
    pub value_size: usize,
    /// Parent znode of this run's znodes (created if missing); use a fresh one per run.
    #[arg(long)]
    pub prefix: String,
    /// setData and getData cycle over this many znodes per connection.
    #[arg(long, default_value_t = 1000)]
    pub keys: u64,
    /// PIDs of the servers (comma-separated): their CPU time over the timed phase is reported.
    #[arg(long, value_delimiter = ',')]
    pub pids: Vec<i32>,
    /// After the timed phase, delete every znode this run made and its prefix (untimed), so
    /// that repeated rounds leave the tree as they found it.
    #[arg(long)]
    pub cleanup: bool,
}

/// What one connection measured.
struct Tally {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Tally {
        let hist = Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds");
        Tally { hist, ok: 0, errors: 0, first_error: None }
    }

    fn merge(&mut self, other: Tally) {
        self.hist.add(&other.hist).expect("histograms of the same bounds");
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

fn path(prefix: &str, conn: usize, i: u64) -> String {
    format!("{prefix}/c{conn}-{i}")
}

/// One request, sent when first polled (at once: the driver polls right after queueing).
fn issue<'a>(
    client: &'a Client,
    op: Op,
    path: String,
    value: &'a [u8],
) -> BoxFuture<'a, std::result::Result<(), String>> {
    match op {
        Op::Create => Box::pin(async move {
            let opts = CreateMode::Persistent.with_acls(Acls::anyone_all());
            client.create(&path, value, &opts).await.map(|_| ()).map_err(|e| e.to_string())
        }),
        Op::Set => {
            Box::pin(async move { client.set_data(&path, value, None).await.map(|_| ()).map_err(|e| e.to_string()) })
        }
        Op::Delete => Box::pin(async move { client.delete(&path, None).await.map_err(|e| e.to_string()) }),
        Op::Get => Box::pin(async move { client.get_data(&path).await.map(|_| ()).map_err(|e| e.to_string()) }),
    }
}

/// Keeps `k` requests outstanding on `client` over `paths`, until they run out or `until`.
async fn drive(
    client: &Client,
    op: Op,
    paths: impl Iterator<Item = String>,
    k: usize,
    until: Instant,
    value: &[u8],
) -> Tally {
    let mut tally = Tally::new();
    let mut inflight = FuturesUnordered::new();
    let mut paths = paths.fuse();
    loop {
        while inflight.len() < k && Instant::now() < until {
            let Some(p) = paths.next() else { break };
            let fut = issue(client, op, p, value);
            let t0 = Instant::now();
            inflight.push(async move { (t0, fut.await) });
        }
        let Some((t0, res)) = inflight.next().await else { break };
        match res {
            Ok(()) => {
                tally.hist.saturating_record(t0.elapsed().as_micros() as u64);
                tally.ok += 1;
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert(e);
            }
        }
    }
    tally
}

/// This connection's share of `total` requests.
fn share(total: u64, conns: usize, conn: usize) -> u64 {
    let conns = conns as u64;
    total / conns + u64::from((conn as u64) < total % conns)
}

/// The paths connection `conn` works on in the timed phase.
fn timed_paths(a: &RunArgs, conn: usize) -> Box<dyn Iterator<Item = String> + Send> {
    let n = share(a.ops, a.conns, conn);
    let prefix = a.prefix.clone();
    match a.op {
        Op::Create | Op::Delete => Box::new((0..n).map(move |i| path(&prefix, conn, i))),
        Op::Set | Op::Get => {
            let keys = a.keys.clamp(1, n.max(1));
            Box::new((0..n).map(move |i| path(&prefix, conn, i % keys)))
        }
    }
}

/// How many znodes connection `conn` creates before the timed phase.
fn setup_count(a: &RunArgs, conn: usize) -> u64 {
    let n = share(a.ops, a.conns, conn);
    match a.op {
        Op::Create => 0,
        Op::Delete => n,
        Op::Set | Op::Get => a.keys.clamp(1, n.max(1)),
    }
}

pub async fn run(a: RunArgs) -> Result<serde_json::Value> {
    let servers = crate::split_servers(&a.servers);
    if servers.is_empty() || a.conns == 0 || a.outstanding == 0 {
        return Err("need at least one server, one connection and one outstanding request".into());
    }
    let mut clients = Vec::new();
    for c in 0..a.conns {
        clients.push(crate::connect(&servers[c % servers.len()]).await?);
    }
    crate::ensure_path(&clients[0], &a.prefix).await?;
    let value = vec![b'z'; a.value_size];
    let setup_start = Instant::now();
    let far = Instant::now() + Duration::from_secs(600);
    let setups = clients.iter().enumerate().map(|(c, client)| {
        let prefix = a.prefix.clone();
        let paths = (0..setup_count(&a, c)).map(move |i| path(&prefix, c, i));
        drive(client, Op::Create, paths, 64, far, &value)
    });
    let setup = futures::future::join_all(setups).await;
    if let Some(e) = setup.iter().find_map(|t| t.first_error.clone()) {
        return Err(format!("setup: {e}").into());
    }
    let setup_secs = setup_start.elapsed().as_secs_f64();

    let cpu0 = crate::cpu_seconds();
    let server0 = crate::server_cpu_seconds(&a.pids);
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(a.seconds);
    let runs = clients
        .iter()
        .enumerate()
        .map(|(c, client)| drive(client, a.op, timed_paths(&a, c), a.outstanding, until, &value));
    let tallies = futures::future::join_all(runs).await;
    let secs = start.elapsed().as_secs_f64();
    let cpu = crate::cpu_seconds() - cpu0;
    let server_cpu = crate::server_cpu_seconds(&a.pids) - server0;
    let mut all = Tally::new();
    // Per connection (connection c talks to server c mod n): a tail that comes from one path
    // (the leader's own clients, or a follower's) shows here.
    let mut per_conn = Vec::new();
    for (c, t) in tallies.into_iter().enumerate() {
        let h = &t.hist;
        per_conn.push(json!({
            "conn": c, "server": servers[c % servers.len()], "ops": t.ok,
            "p50_us": h.value_at_quantile(0.5), "p99_us": h.value_at_quantile(0.99),
        }));
        all.merge(t);
    }
    // A delete run that did all its requests left no znode behind but the prefix.
    let all_deleted = a.op == Op::Delete && all.ok == a.ops;
    let cleanup_secs = if a.cleanup { Some(cleanup(&a, &clients, !all_deleted).await?) } else { None };
    let h = &all.hist;
    Ok(json!({
        "op": format!("{:?}", a.op).to_lowercase(),
        "conns": a.conns,
        "outstanding": a.outstanding,
        "ops": all.ok,
        "errors": all.errors,
        "first_error": all.first_error,
        "secs": secs,
        "ops_per_sec": all.ok as f64 / secs.max(1e-9),
        "p50_us": h.value_at_quantile(0.5),
        "p99_us": h.value_at_quantile(0.99),
        "p999_us": h.value_at_quantile(0.999),
        "max_us": h.max(),
        "mean_us": h.mean(),
        "setup_secs": setup_secs,
        "loadgen_cpu_secs": cpu,
        "loadgen_cpu_share": cpu / secs.max(1e-9),
        "server_cpu_secs": server_cpu,
        "server_cpu_us_per_op": server_cpu * 1e6 / (all.ok.max(1) as f64),
        "cleanup_secs": cleanup_secs,
        "per_conn": per_conn,
    }))
}

/// Deletes every znode the run may have made (with `children`; a missing one is fine: a
/// delete run removed its own), 64 at a time on every connection, then the prefix; its duration in seconds.
async fn cleanup(a: &RunArgs, clients: &[Client], children: bool) -> Result<f64> {
    use zookeeper_client::Error;
    let t = Instant::now();
    let deletes = clients.iter().enumerate().map(|(c, client)| {
        let n = if children { setup_count(a, c).max(share(a.ops, a.conns, c)) } else { 0 };
        let prefix = a.prefix.clone();
        futures::stream::iter(0..n)
            .map(move |i| {
                let p = path(&prefix, c, i);
                async move {
                    match client.delete(&p, None).await {
                        Ok(()) | Err(Error::NoNode) => Ok(()),
                        Err(e) => Err(format!("cleanup: deleting {p}: {e}")),
                    }
                }
            })
            .buffer_unordered(64)
            .collect::<Vec<_>>()
    });
    for r in futures::future::join_all(deletes).await.into_iter().flatten() {
        r?;
    }
    clients[0].delete(&a.prefix, None).await.map_err(|e| format!("cleanup: deleting {}: {e}", a.prefix))?;
    Ok(t.elapsed().as_secs_f64())
}
