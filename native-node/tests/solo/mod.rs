//! One `zabra serve` process on its own ports, for tests about a node's limits (and the
//! abuse figures): its config, its PID, its memory (VmRSS) and CPU time from `/proc`; raw
//! ZooKeeper-wire clients from chosen loopback addresses (127.0.0.0/8); and the abuse
//! scenarios of issue 8 finding 7. Loopback only; every wait is bounded.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub const ADMIN: &str = "solo-admin-token";

/// The binary under test: `ZABRA_BIN` (e.g. an old release, for before/after figures) or
/// the one cargo built.
pub fn binary() -> PathBuf {
    std::env::var_os("ZABRA_BIN").map_or_else(|| env!("CARGO_BIN_EXE_zabra").into(), PathBuf::from)
}

pub struct Solo {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub offset: u16,
}

impl Solo {
    /// A single-node cluster with ports shifted by `offset`. `top` holds extra top-level
    /// config lines, `limits` lines of the `[limits]` table (none: every default), and
    /// `nofile` an `RLIMIT_NOFILE` for the process.
    pub fn start(offset: u16, top: &str, limits: &str, nofile: Option<u32>) -> Solo {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = |base: u16| format!("127.0.0.1:{}", base + 1 + offset);
        let limits = if limits.is_empty() { String::new() } else { format!("[limits]\n{limits}\n") };
        let text = format!(
            "id = 1\ndata_dir = {:?}\nadmin_token = {ADMIN:?}\ncontrol = true\n{top}\n{limits}[[members]]\nid = 1\npeer = {:?}\nclient = {:?}\nhttp = {:?}\n",
            dir.path().join("data"),
            p(2890),
            p(2180),
            p(8080)
        );
        let cfg = dir.path().join("node.toml");
        std::fs::write(&cfg, text).expect("config written");
        let log = std::fs::File::create(dir.path().join("node.log")).expect("log file");
        let mut cmd = match nofile {
            // `exec` keeps the PID: the shell becomes the node.
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(format!("ulimit -n {n} && exec \"$0\" serve --config \"$1\"")).arg(binary()).arg(&cfg);
                c
            }
            None => {
                let mut c = Command::new(binary());
                c.args(["serve", "--config"]).arg(&cfg);
                c
            }
        };
        let child = cmd.stdout(log.try_clone().expect("dup")).stderr(log).stdin(Stdio::null()).spawn().expect("starts");
        let s = Solo { child, dir, offset };
        s.wait_serving();
        s
    }

    pub fn client_port(&self) -> u16 {
        2181 + self.offset
    }

    pub fn http(&self) -> String {
        format!("127.0.0.1:{}", 8081 + self.offset)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    fn wait_serving(&self) {
        let until = Instant::now() + Duration::from_secs(20);
        while Instant::now() < until {
            if crate::support::http_request(&self.http(), "GET", "/healthz").is_ok_and(|(c, _)| c == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the node did not serve within 20 s:\n{}", self.log());
    }

    /// The node's view (`/healthz`), which `cons` and `mntr` are drawn from.
    pub fn view(&self) -> serde_json::Value {
        let (_, body) = crate::support::http_request(&self.http(), "GET", "/healthz").expect("healthz answers");
        serde_json::from_str(&body).expect("json")
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.pid())
    }

    /// CPU time used so far (user + system), in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).expect("stat");
        // Fields after the command name (which may hold spaces) start at field 3.
        let rest = &stat[stat.rfind(')').expect("comm") + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
    }

    /// The highest RSS seen while sampling for `span`.
    pub async fn peak_rss_kib(&self, span: Duration) -> u64 {
        let until = Instant::now() + span;
        let mut peak = self.rss_kib();
        while Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
            peak = peak.max(self.rss_kib());
        }
        peak
    }
}

pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

impl Drop for Solo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP connection to loopback `port` from the address `from` (any of 127.0.0.0/8).
pub async fn connect_from(from: &str, port: u16) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    s.bind(format!("{from}:0").parse().expect("address"))?;
    tokio::time::timeout(Duration::from_secs(5), s.connect(([127, 0, 0, 1], port).into()))
        .await
        .map_err(|_| std::io::Error::other("connect timed out"))?
}

/// Whether the server closed the connection within `wait` (EOF or reset); false if it is
/// still open (nothing to read).
pub async fn closed_within(s: &mut TcpStream, wait: Duration) -> bool {
    let mut b = [0u8; 256];
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, s.read(&mut b)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// ZooKeeper wire records, written by hand (the test speaks the protocol as a client would).
pub mod zk {
    fn framed(body: Vec<u8>) -> Vec<u8> {
        let mut f = (body.len() as i32).to_be_bytes().to_vec();
        f.extend(body);
        f
    }

    fn string(b: &mut Vec<u8>, s: &[u8]) {
        b.extend((s.len() as i32).to_be_bytes());
        b.extend(s);
    }

    /// ConnectRequest: a new session (`session` 0) or a reattach.
    pub fn connect(session: i64, password: &[u8], last_zxid: i64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(0i32.to_be_bytes());
        b.extend(last_zxid.to_be_bytes());
        b.extend(10_000i32.to_be_bytes());
        b.extend(session.to_be_bytes());
        string(&mut b, password);
        b.push(0);
        framed(b)
    }

    pub fn get_data(xid: i32, path: &str) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(xid.to_be_bytes());
        b.extend(4i32.to_be_bytes());
        string(&mut b, path.as_bytes());
        b.push(0);
        framed(b)
    }

    /// create with `world:anyone` all permissions, persistent.
    pub fn create(xid: i32, path: &str, data: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(xid.to_be_bytes());
        b.extend(1i32.to_be_bytes());
        string(&mut b, path.as_bytes());
        string(&mut b, data);
        b.extend(1i32.to_be_bytes());
        b.extend(31i32.to_be_bytes());
        string(&mut b, b"world");
        string(&mut b, b"anyone");
        b.extend(0i32.to_be_bytes());
        framed(b)
    }
}

/// Read one frame's payload (bounded wait).
pub async fn read_frame(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    tokio::time::timeout(Duration::from_secs(10), async {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await?;
        let mut p = vec![0u8; i32::from_be_bytes(len) as usize];
        s.read_exact(&mut p).await?;
        Ok(p)
    })
    .await
    .map_err(|_| std::io::Error::other("no frame in 10 s"))?
}

/// A connection with a fresh session, from `from`.
pub async fn session_from(from: &str, port: u16) -> std::io::Result<TcpStream> {
    let mut s = connect_from(from, port).await?;
    s.write_all(&zk::connect(0, &[0; 16], 0)).await?;
    let resp = read_frame(&mut s).await?;
    let session = i64::from_be_bytes(resp[8..16].try_into().expect("8 bytes"));
    if session == 0 {
        return Err(std::io::Error::other("session refused"));
    }
    Ok(s)
}

/// Send one request and return the reply's error code.
pub async fn call(s: &mut TcpStream, frame: &[u8]) -> std::io::Result<i32> {
    s.write_all(frame).await?;
    let r = read_frame(s).await?;
    Ok(i32::from_be_bytes(r[12..16].try_into().expect("4 bytes")))
}

/// Loopback source addresses 127.0.0.`first`.. for spreading connections past the per-address limit.
pub fn sources(first: u8, n: u8) -> Vec<String> {
    (first..first + n).map(|i| format!("127.0.0.{i}")).collect()
}

// ---- The abuse of finding 7, shared by the tests (bounds) and `abuse_figures` (numbers). ----

/// `n` connections (spread over `from`, 50 each) that each announce a ~1 MB ConnectRequest
/// and send all of it but the last byte. Returns the sockets once the writes are done or
/// `within` has passed (a node that reads no more leaves writes pending).
pub async fn half_sent_frames(port: u16, n: usize, from: &[String], within: Duration) -> Vec<TcpStream> {
    const LEN: usize = 1_000_000;
    let mut frame = (LEN as i32).to_be_bytes().to_vec();
    frame.resize(4 + LEN - 1, 7);
    let frame = Arc::new(frame);
    let until = tokio::time::Instant::now() + within;
    let mut tasks = Vec::new();
    for i in 0..n {
        let (frame, from) = (frame.clone(), from[(i / 50) % from.len()].clone());
        tasks.push(tokio::spawn(async move {
            let mut s = connect_from(&from, port).await.ok()?;
            let _ = tokio::time::timeout_at(until, s.write_all(&frame)).await;
            Some(s)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        if let Ok(Some(s)) = t.await {
            out.push(s);
        }
    }
    out
}

/// A session that creates `/big` (1 MB) and then sends `n` getData for it without ever
/// reading a reply. Returns the socket (still unread).
pub async fn pipeline_unread(port: u16, n: i32) -> TcpStream {
    let mut s = session_from("127.0.0.1", port).await.expect("a session");
    let err = call(&mut s, &zk::create(1, "/big", &vec![1u8; 1_000_000])).await.expect("create answered");
    assert!(err == 0 || err == -110, "create /big: error {err}");
    let mut all = Vec::new();
    for xid in 0..n {
        all.extend(zk::get_data(xid + 2, "/big"));
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), s.write_all(&all)).await;
    s
}

/// `n` connections that send nothing, spread over `from` (60 each). Returns them and how
/// many are still open a moment later.
pub async fn idle_connections(port: u16, n: usize, from: &[String]) -> (Vec<TcpStream>, usize) {
    let mut conns = Vec::new();
    for i in 0..n {
        if let Ok(s) = connect_from(&from[(i / 60) % from.len()], port).await {
            conns.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut open = 0;
    for s in conns.iter_mut() {
        if !closed_within(s, Duration::from_millis(1)).await {
            open += 1;
        }
    }
    (conns, open)
}

/// Where a test node keeps its files.
pub fn dir(s: &Solo) -> &Path {
    s.dir.path()
}
