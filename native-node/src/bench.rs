//! `zabra bench`: start a local cluster, then measure the latency of sequential writes (one
//! client, one outstanding create: the path a lock or a leader election takes), write and
//! read throughput with concurrent clients, latency percentiles, and leader failover time
//! (kill -9 of the leader until the first successful write). Figures are printed, never
//! asserted.

use crate::apiclient::ApiClient;
use std::process::Stdio;
use std::time::{Duration, Instant};
use zabra_core::peer::{ClientOp, ClientResult};
use zabra_core::txn::{CreateMode, Op};

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    #[arg(long, default_value_t = 3)]
    pub nodes: u64,
    /// Concurrent clients (each a session, closed loop).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Writes in total (creates), then as many reads.
    #[arg(long, default_value_t = 4000)]
    pub ops: usize,
    /// Bytes of data per write.
    #[arg(long, default_value_t = 100)]
    pub size: usize,
    /// Sequential creates on the leader (one client, one outstanding request).
    #[arg(long, default_value_t = 500)]
    pub sequential: usize,
    /// Leader failovers to measure.
    #[arg(long, default_value_t = 3)]
    pub failovers: usize,
    /// Port shift of the cluster the benchmark starts.
    #[arg(long, default_value_t = 900)]
    pub port_offset: u16,
    /// Start the cluster with this `zabra` binary instead of this one (to compare builds).
    #[arg(long)]
    pub cluster_bin: Option<std::path::PathBuf>,
}

struct Cluster {
    child: tokio::process::Child,
    offset: u16,
    nodes: u64,
}

impl Cluster {
    fn http(&self, id: u64) -> String {
        format!("127.0.0.1:{}", 8080 + id as u16 + self.offset)
    }
    fn all(&self) -> String {
        (1..=self.nodes).map(|i| self.http(i)).collect::<Vec<_>>().join(",")
    }
}

async fn get(addr: &str, path: &str, method: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await.ok()?.ok()?;
    let req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    s.write_all(req.as_bytes()).await.ok()?;
    let mut buf = String::new();
    tokio::time::timeout(Duration::from_secs(2), s.read_to_string(&mut buf)).await.ok()?.ok()?;
    Some(buf)
}

async fn leader(c: &Cluster) -> Option<u64> {
    for i in 1..=c.nodes {
        if let Some(b) = get(&c.http(i), "/healthz", "GET").await {
            if b.contains("\"state\":\"Leading\"") && b.contains("\"serving\":true") {
                return Some(i);
            }
        }
    }
    None
}

async fn start(a: &BenchArgs, dir: &std::path::Path) -> Result<Cluster, String> {
    let exe = match &a.cluster_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().map_err(|e| e.to_string())?,
    };
    let child = tokio::process::Command::new(exe)
        .args(["cluster", "--nodes", &a.nodes.to_string(), "--port-offset", &a.port_offset.to_string()])
        .args(["--admin-token", "bench", "--data-dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| e.to_string())?;
    let c = Cluster { child, offset: a.port_offset, nodes: a.nodes };
    let until = Instant::now() + Duration::from_secs(30);
    while leader(&c).await.is_none() {
        if Instant::now() > until {
            return Err("no leader within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(c)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
}

fn report(what: &str, lat: &mut [Duration], took: Duration) {
    lat.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: {} ops in {:.2}s = {:.0} ops/s; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}",
        lat.len(),
        took.as_secs_f64(),
        lat.len() as f64 / took.as_secs_f64(),
        ms(percentile(lat, 0.5)),
        ms(percentile(lat, 0.9)),
        ms(percentile(lat, 0.99)),
        ms(lat.last().copied().unwrap_or_default())
    );
}

/// Run `make(client, i)` ops on `n` concurrent clients; the latencies and the wall time.
async fn phase(
    c: &Cluster,
    clients: usize,
    per: usize,
    write: bool,
    size: usize,
) -> Result<(Vec<Duration>, Duration), String> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for k in 0..clients {
        let server = c.http(1 + (k as u64 % c.nodes));
        tasks.push(tokio::spawn(async move {
            let mut cl = ApiClient::connect(&server, 30_000).await?;
            let mut lat = Vec::with_capacity(per);
            for i in 0..per {
                let path = format!("/bench/w-{k}-{i}");
                let op = if write {
                    ClientOp::Write(Op::create(&path, &vec![b'x'; size], CreateMode::Persistent))
                } else {
                    ClientOp::GetData { path, watch: false }
                };
                let t = Instant::now();
                match cl.result(&op).await? {
                    ClientResult::Error(e) => return Err(format!("{e:?}")),
                    _ => lat.push(t.elapsed()),
                }
            }
            Ok::<_, String>(lat)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| e.to_string())??);
    }
    Ok((all, started.elapsed()))
}

/// One client on the leader, one create outstanding at a time.
async fn sequential(c: &Cluster, n: usize, size: usize) -> Result<(Vec<Duration>, Duration), String> {
    let l = leader(c).await.ok_or("no leader")?;
    let mut cl = ApiClient::connect(&c.http(l), 30_000).await?;
    let mut lat = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let op = ClientOp::Write(Op::create(&format!("/bench/seq-{i}"), &vec![b'x'; size], CreateMode::Persistent));
        let t = Instant::now();
        match cl.result(&op).await? {
            ClientResult::Error(e) => return Err(format!("{e:?}")),
            _ => lat.push(t.elapsed()),
        }
    }
    Ok((lat, started.elapsed()))
}

/// Kill -9 the leader; time until a write succeeds through a surviving node.
async fn failover(c: &Cluster, k: usize) -> Result<Duration, String> {
    let l = leader(c).await.ok_or("no leader")?;
    let sup = format!("127.0.0.1:{}", 8080 + c.offset);
    let t0 = Instant::now();
    get(&sup, &format!("/nodes/{l}/kill?token=bench"), "POST").await.ok_or("supervisor did not answer")?;
    let others: Vec<String> = (1..=c.nodes).filter(|i| *i != l).map(|i| c.http(i)).collect();
    let until = t0 + Duration::from_secs(30);
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        if let Ok(mut cl) = ApiClient::connect(&others.join(","), 10_000).await {
            let op = ClientOp::Write(Op::create(&format!("/bench/failover-{k}-{n}"), b"x", CreateMode::Persistent));
            if matches!(cl.result(&op).await, Ok(ClientResult::Write(_))) {
                let took = t0.elapsed();
                get(&sup, &format!("/nodes/{l}/restart?token=bench"), "POST").await;
                return Ok(took);
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Err("no write succeeded within 30 s of the kill".into())
}

pub async fn run(a: BenchArgs) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("zabra-bench-{}", std::process::id()));
    let mut c = start(&a, &dir).await?;
    println!(
        "zabra bench: {} nodes on loopback, {} clients, {} writes of {} bytes, then {} reads",
        a.nodes, a.clients, a.ops, a.size, a.ops
    );
    let mut setup = ApiClient::connect(&c.all(), 30_000).await?;
    setup.result(&ClientOp::Write(Op::create("/bench", b"", CreateMode::Persistent))).await?;
    if a.sequential > 0 {
        let (mut s, st) = sequential(&c, a.sequential, a.size).await?;
        report("sequential writes (1 client on the leader)", &mut s, st);
    }
    let per = a.ops / a.clients.max(1);
    let (mut w, wt) = phase(&c, a.clients, per, true, a.size).await?;
    report("writes", &mut w, wt);
    let (mut r, rt) = phase(&c, a.clients, per, false, a.size).await?;
    report("reads ", &mut r, rt);
    for k in 0..a.failovers {
        match failover(&c, k).await {
            Ok(d) => println!(
                "failover {}: kill -9 of the leader to the first successful write: {:.0} ms",
                k + 1,
                d.as_secs_f64() * 1000.0
            ),
            Err(e) => println!("failover {}: {e}", k + 1),
        }
        // Let the restarted node rejoin before the next kill.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    // SIGTERM: the supervisor stops its nodes (SIGKILL would orphan them).
    if let Some(pid) = c.child.id() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), c.child.wait()).await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
