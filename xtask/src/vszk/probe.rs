//! What the side-by-side benchmark reads from the machine and the servers: four-letter words
//! (which server leads), RSS from `/proc/PID/status`, the load average, and the data disk's
//! fsync latency. Every wait is bounded.

use crate::Result;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// A four-letter word's answer from `addr` (empty if the server does not answer).
pub fn fourlw(addr: &str, word: &str) -> String {
    let Ok(sock) = addr.parse::<std::net::SocketAddr>() else { return String::new() };
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(1)) else { return String::new() };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(word.as_bytes());
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

/// The server's mode from `srvr` ("leader", "follower", ...), if it serves.
pub fn mode(addr: &str) -> Option<String> {
    let text = fourlw(addr, "srvr");
    text.lines().find_map(|l| l.strip_prefix("Mode: ")).map(|m| m.trim().to_string())
}

/// The server's znode count from `mntr` (`zk_znode_count`), if it answers.
pub fn znode_count(addr: &str) -> Option<u64> {
    let text = fourlw(addr, "mntr");
    text.lines().find_map(|l| l.strip_prefix("zk_znode_count")).and_then(|v| v.trim().parse().ok())
}

/// Waits (bounded) until every server is leader or follower, exactly one leads, and that
/// holds for 2 s of polls (a resumed old leader may still call itself leader for a moment,
/// and an election may follow a rejoin); returns the leader's index.
pub fn wait_ready(servers: &[String], limit: Duration) -> Result<usize> {
    let until = Instant::now() + limit;
    let mut modes = Vec::new();
    let mut stable: Option<(usize, Instant)> = None;
    while Instant::now() < until {
        modes = servers.iter().map(|s| mode(s)).collect::<Vec<_>>();
        let leaders: Vec<usize> = (0..modes.len()).filter(|i| modes[*i].as_deref() == Some("leader")).collect();
        let followers = modes.iter().filter(|m| m.as_deref() == Some("follower")).count();
        let now = if leaders.len() == 1 && followers + 1 == servers.len() { Some(leaders[0]) } else { None };
        stable = match (stable, now) {
            (Some((l, since)), Some(n)) if l == n => Some((l, since)),
            (_, Some(n)) => Some((n, Instant::now())),
            (_, None) => None,
        };
        if let Some((l, since)) = stable {
            if since.elapsed() >= Duration::from_secs(2) {
                return Ok(l);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("servers {servers:?} not all serving within {limit:?} (modes {modes:?})").into())
}

/// Resident memory of a process in KiB (`VmRSS`).
pub fn rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `/proc/loadavg`'s first three figures.
pub fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The latency a durable write pays under `dir`: 4 KiB written then fdatasync, `n` times,
/// once appending (each write allocates a block and grows the file) and once rewriting the
/// first 4 KiB in place (a data flush only). p50, p99 and mean in µs for each.
pub fn fsync_latency(dir: &Path, n: usize) -> Result<Value> {
    Ok(json!({
        "writes": n,
        "bytes": 4096,
        "append": fsync_probe(dir, n, true)?,
        "rewrite": fsync_probe(dir, n, false)?,
    }))
}

fn fsync_probe(dir: &Path, n: usize, append: bool) -> Result<Value> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("fsync-probe");
    let mut f = std::fs::OpenOptions::new().create(true).truncate(true).write(true).open(&path)?;
    let block = [0x5au8; 4096];
    f.write_all(&block)?;
    f.sync_all()?;
    let mut us = Vec::with_capacity(n);
    for _ in 0..n {
        if !append {
            f.seek(SeekFrom::Start(0))?;
        }
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_data()?;
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(f);
    let _ = std::fs::remove_file(&path);
    us.sort_by(f64::total_cmp);
    let at = |q: f64| us[((us.len() as f64 * q) as usize).min(us.len() - 1)];
    let mean = us.iter().sum::<f64>() / us.len().max(1) as f64;
    Ok(json!({ "p50_us": at(0.5), "p99_us": at(0.99), "mean_us": mean }))
}

/// User + system CPU time of the processes `pids` so far, in seconds (`/proc/PID/stat`
/// fields 14 and 15, in ticks of 1/100 s: Linux's USER_HZ on every architecture it runs).
pub fn cpu_seconds(pids: &[i32]) -> f64 {
    let one = |pid: i32| -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
    };
    pids.iter().map(|p| one(*p).unwrap_or(f64::NAN)).sum()
}

/// The filesystem type under `dir` (from `/proc/mounts`, longest matching mount point).
pub fn filesystem(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let best = mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && dir.starts_with(f[1])).then(|| (f[1].len(), format!("{} on {} ({})", f[0], f[1], f[2])))
        })
        .max();
    best.map(|b| b.1).unwrap_or_default()
}
