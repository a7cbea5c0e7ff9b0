//! A 3-node Zabra cluster (`zabra cluster`, release build, durable writes: every write is
//! fsynced before it is acknowledged, there is no switch to turn that off), shifted to port
//! offset 3000 (client 5181-3, peer 5891-3, HTTP 11081-3, supervisor 11080), away from the
//! test suite's offsets. The supervisor owns the node processes; PIDs come from its
//! `GET /nodes`, restart and resume go through its control port.

use super::Servers;
use crate::util::Supervisor;
use crate::Result;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

const OFFSET: u16 = 3000;
const TOKEN: &str = "vs-zk-bench";

pub struct Cluster {
    _sup: Supervisor,
}

impl Cluster {
    pub fn start(zabra: &Path, dir: &Path) -> Result<Cluster> {
        // No per-IP connection limit, as the ZooKeeper ensemble runs (maxClientCnxns=0):
        // `--scale` holds 10k sessions from this one address.
        let flags = ["--max-client-cnxns", "0", "--max-connections", "20000"];
        let sup = crate::clients::start_cluster(zabra, dir, OFFSET, TOKEN, &flags)?;
        Ok(Cluster { _sup: sup })
    }
}

/// One HTTP/1.1 request to the supervisor; the whole answer (headers and body).
fn http(method: &str, path: &str) -> Result<String> {
    let port = 8080 + OFFSET;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    if !out.starts_with("HTTP/1.1 200") {
        return Err(format!("supervisor {method} {path}: {}", out.lines().next().unwrap_or("no answer")).into());
    }
    Ok(out)
}

impl Servers for Cluster {
    fn name(&self) -> String {
        "Zabra".into()
    }

    fn servers(&self) -> Vec<String> {
        (1..=3u16).map(|i| format!("127.0.0.1:{}", 2180 + i + OFFSET)).collect()
    }

    /// From the supervisor's list: `{"1":"running pid 123",...}`.
    fn pids(&mut self) -> Result<Vec<i32>> {
        let answer = http("GET", "/nodes")?;
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let list: serde_json::Value = serde_json::from_str(body.trim())?;
        (1..=3)
            .map(|i| {
                let state = list[i.to_string()].as_str().unwrap_or_default();
                let pid = state.strip_prefix("running pid ").and_then(|p| p.trim().parse().ok());
                pid.ok_or_else(|| format!("node {i} is not running ({state})").into())
            })
            .collect()
    }

    fn restart(&mut self, i: usize) -> Result {
        http("POST", &format!("/nodes/{}/restart?token={TOKEN}", i + 1)).map(drop)
    }

    fn resume(&mut self, i: usize) -> Result {
        http("POST", &format!("/nodes/{}/resume?token={TOKEN}", i + 1)).map(drop)
    }

    /// The cluster runs Zabra's defaults, which the scaled ZooKeeper timing copies.
    fn silence_limit_ms(&self) -> u64 {
        super::zk::SCALED.tick_ms * super::zk::SCALED.sync_limit
    }
}
