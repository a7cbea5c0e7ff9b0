//! Shared helpers for multi-process tests: start a `zabra cluster`, talk to nodes over the
//! JSON WebSocket API, and control node processes through the supervisor. Loopback only;
//! every wait is a bounded loop.

#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub const TOKEN: &str = "test-token";

/// The binary under test; `ZABRA_TEST_BIN` runs a test against another build (e.g. main's,
/// to see a test fail before its fix).
pub fn zabra_bin() -> String {
    std::env::var("ZABRA_TEST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_zabra").to_string())
}

pub struct Cluster {
    pub child: Child,
    pub offset: u16,
    pub nodes: u64,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    pub fn start(nodes: u64, offset: u16) -> Cluster {
        Cluster::start_with(nodes, offset, &[])
    }

    /// A cluster with more `zabra cluster` flags (relaxed timings, snapshot interval).
    pub fn start_with(nodes: u64, offset: u16, flags: &[&str]) -> Cluster {
        Cluster::start_bin(&zabra_bin(), nodes, offset, flags)
    }

    /// A cluster of the binary at `bin`.
    pub fn start_bin(bin: &str, nodes: u64, offset: u16, flags: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new(bin)
            .args(["cluster", "--nodes", &nodes.to_string(), "--port-offset", &offset.to_string()])
            .args(flags)
            .args(["--admin-token", TOKEN, "--data-dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("zabra cluster starts");
        Cluster { child, offset, nodes, dir }
    }

    pub fn http(&self, id: u64) -> String {
        format!("127.0.0.1:{}", 8080 + id as u16 + self.offset)
    }

    pub fn supervisor(&self) -> String {
        format!("127.0.0.1:{}", 8080 + self.offset)
    }

    /// POST to the supervisor: kill, restart, pause, resume.
    pub fn control(&self, id: u64, action: &str) {
        let path = format!("/nodes/{id}/{action}?token={TOKEN}");
        let (code, body) = http_request(&self.supervisor(), "POST", &path).expect("supervisor answers");
        assert_eq!(code, 200, "{action} {id}: {body}");
    }

    pub fn status(&self, id: u64) -> Option<Value> {
        let (_, body) = http_request(&self.http(id), "GET", "/healthz").ok()?;
        serde_json::from_str(&body).ok()
    }

    pub fn leader(&self) -> Option<u64> {
        (1..=self.nodes).find(|i| {
            self.status(*i).is_some_and(|s| s["status"]["state"] == "Leading" && s["status"]["serving"] == true)
        })
    }

    /// Wait (bounded) for a serving leader.
    pub fn wait_leader(&self, limit: Duration) -> u64 {
        let until = Instant::now() + limit;
        loop {
            if let Some(l) = self.leader() {
                return l;
            }
            assert!(Instant::now() < until, "no serving leader within {limit:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait (bounded) until node `id` has an authenticated link to every other member.
    pub fn wait_linked(&self, id: u64, limit: Duration) {
        let until = Instant::now() + limit;
        loop {
            let n = self.status(id).and_then(|s| s["peers_connected"].as_array().map(Vec::len));
            if n == Some(self.nodes as usize - 1) {
                return;
            }
            assert!(Instant::now() < until, "node {id} linked to {n:?} peers after {limit:?}, not {}", self.nodes - 1);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait (bounded) until every listed node serves at one committed zxid.
    pub fn wait_converged(&self, ids: &[u64], limit: Duration) -> Vec<Value> {
        let until = Instant::now() + limit;
        loop {
            let st: Vec<Value> = ids.iter().filter_map(|i| self.status(*i)).collect();
            let ok = st.len() == ids.len()
                && st.iter().all(|s| s["status"]["serving"] == true)
                && st.windows(2).all(|w| w[0]["status"]["last_committed"] == w[1]["status"]["last_committed"]);
            if ok || Instant::now() > until {
                return st;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The supervisor stops its nodes on SIGTERM.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// Sends a four-letter word to `127.0.0.1:port` and reads the answer to the end.
pub fn four_letter(port: u16, cmd: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("client port");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(cmd.as_bytes()).expect("sent");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("answer");
    out
}

/// A minimal HTTP/1.1 client for loopback tests.
pub fn http_request(addr: &str, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(3)))?;
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")?;
    let mut buf = String::new();
    s.read_to_string(&mut buf)?;
    let code = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = buf.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    Ok((code, body))
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A JSON-API client with one session on one node.
pub struct Client {
    ws: Ws,
    pub session: Value,
    next_xid: i64,
}

impl Client {
    pub async fn connect(addr: &str, reattach: Option<(Value, Value)>) -> Result<Client, String> {
        let url = format!("ws://{addr}/api");
        let (mut ws, _) = tokio::time::timeout(Duration::from_secs(3), tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| e.to_string())?;
        let session = reattach.map(|(s, p)| json!([s, p]));
        let req =
            json!({"connect": {"session": session, "timeout_ms": 10000, "last_zxid_seen": "0", "addr": "127.0.0.1"}});
        ws.send(Message::Text(req.to_string().into())).await.map_err(|e| e.to_string())?;
        let v = next_json(&mut ws, Duration::from_secs(5)).await?;
        let grant = v["connected"]["Ok"].clone();
        if grant.is_null() {
            return Err(format!("refused: {v}"));
        }
        Ok(Client { ws, session: grant, next_xid: 1 })
    }

    /// Send one op and wait (bounded) for its reply; watch events are skipped.
    pub async fn call(&mut self, op: Value) -> Result<Value, String> {
        self.call_within(op, Duration::from_secs(5)).await
    }

    /// `call`, waiting up to `limit` for the reply (a debug build writing a large snapshot
    /// holds commits for seconds).
    pub async fn call_within(&mut self, op: Value, limit: Duration) -> Result<Value, String> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let req = json!({"xid": xid, "op": op});
        self.ws.send(Message::Text(req.to_string().into())).await.map_err(|e| e.to_string())?;
        loop {
            let v = next_json(&mut self.ws, limit).await?;
            if v["reply"]["xid"] == xid {
                return Ok(v["reply"]["result"].clone());
            }
        }
    }
}

async fn next_json(ws: &mut Ws, limit: Duration) -> Result<Value, String> {
    loop {
        let m = tokio::time::timeout(limit, ws.next()).await.map_err(|_| format!("no answer in {limit:?}"))?;
        match m {
            Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).map_err(|e| e.to_string()),
            Some(Ok(_)) => continue,
            _ => return Err("connection closed".into()),
        }
    }
}

pub fn create(path: &str, data: &str) -> Value {
    json!({"Write": {"Create": {"path": path, "data": data.as_bytes(), "acl": [{"perms": 31, "id": {"scheme": "world", "id": "anyone"}}], "mode": "Persistent"}}})
}

pub fn get(path: &str) -> Value {
    json!({"GetData": {"path": path, "watch": false}})
}

pub fn sync() -> Value {
    json!("Sync")
}
