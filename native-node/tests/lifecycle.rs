//! Nodes started with `zabra serve` and their own configs: SIGTERM stops a node gracefully
//! (exit 0, queued writes durable, a clean store on restart), the four-letter whitelist, and
//! the nodes of one cluster taking their snapshots at different zxids (then restarting from
//! them). Loopback only, bounded waits; run under the port lock.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};
use support::*;

/// `n` members on loopback, ports shifted by `offset`, each with `extra` TOML lines.
struct Nodes {
    dir: tempfile::TempDir,
    offset: u16,
    n: u64,
    children: Vec<Option<Child>>,
}

impl Nodes {
    fn start(n: u64, offset: u16, extra: &str) -> Nodes {
        let dir = tempfile::tempdir().expect("tempdir");
        let addr = |base: u64, i: u64| format!("\"127.0.0.1:{}\"", base + i + offset as u64);
        let members: String = (1..=n)
            .map(|i| {
                let (p, c, h) = (addr(2890, i), addr(2180, i), addr(8080, i));
                format!("[[members]]\nid = {i}\npeer = {p}\nclient = {c}\nhttp = {h}\n")
            })
            .collect();
        // Peers authenticate with a cluster secret: 32 random-looking bytes, owner-only.
        let secret = dir.path().join("cluster.secret");
        std::fs::write(&secret, format!("{:064x}", std::process::id() as u128 * 0x9e37_79b9_7f4a_7c15))
            .expect("secret");
        std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        for i in 1..=n {
            let data = dir.path().join(format!("data-{i}"));
            let text = format!("id = {i}\ndata_dir = {data:?}\nsecret_file = {secret:?}\n{extra}\n{members}");
            std::fs::write(dir.path().join(format!("node-{i}.toml")), text).expect("config written");
        }
        let mut nodes = Nodes { dir, offset, n, children: Vec::new() };
        nodes.children = (1..=n).map(|i| Some(nodes.spawn(i))).collect();
        nodes
    }

    fn spawn(&self, i: u64) -> Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.log(i)).expect("log file");
        Command::new(env!("CARGO_BIN_EXE_zabra"))
            .args(["serve", "--config"])
            .arg(self.dir.path().join(format!("node-{i}.toml")))
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("zabra serve starts")
    }

    fn log(&self, i: u64) -> PathBuf {
        self.dir.path().join(format!("node-{i}.log"))
    }

    fn data(&self, i: u64) -> PathBuf {
        self.dir.path().join(format!("data-{i}"))
    }

    fn http(&self, i: u64) -> String {
        format!("127.0.0.1:{}", 8080 + i as u16 + self.offset)
    }

    fn client_port(&self, i: u64) -> u16 {
        2180 + i as u16 + self.offset
    }

    fn serving(&self, i: u64) -> bool {
        http_request(&self.http(i), "GET", "/healthz").is_ok_and(|(c, _)| c == 200)
    }

    fn wait_serving(&self, ids: &[u64]) {
        let until = Instant::now() + Duration::from_secs(30);
        while !ids.iter().all(|i| self.serving(*i)) {
            assert!(Instant::now() < until, "nodes {ids:?} did not all serve within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM, then waits (bounded) for the exit.
    fn terminate(&mut self, i: u64) -> ExitStatus {
        let mut child = self.children[i as usize - 1].take().expect("running");
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("signal sent");
        let until = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = child.try_wait().expect("wait") {
                return st;
            }
            if Instant::now() > until {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {i} did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill9(&mut self, i: u64) {
        if let Some(mut c) = self.children[i as usize - 1].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for i in 1..=self.n {
            self.kill9(i);
        }
    }
}

fn snapshot_zxids(data: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(data)
        .expect("data dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_prefix("snapshot.").filter(|z| z.len() == 16).map(str::to_string))
        .collect();
    v.sort();
    v
}

/// SIGTERM: the node stops accepting, finishes what the storage thread has queued, logs that
/// it stopped and exits 0; the writes it acknowledged are there after a restart, and the store
/// needs no recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_node_gracefully() {
    let mut nodes = Nodes::start(1, 780, "");
    nodes.wait_serving(&[1]);
    let mut c = Client::connect(&nodes.http(1), None).await.expect("session");
    for i in 0..30 {
        let r = c.call(create(&format!("/t{i}"), "v")).await.expect("write");
        assert!(r["Write"]["Created"].is_object(), "{r}");
    }
    let status = nodes.terminate(1);
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status:?}");
    let log = std::fs::read_to_string(nodes.log(1)).expect("log");
    assert!(log.contains("SIGTERM: stopping") && log.contains("node 1 stopped"), "{log}");
    assert!(log.contains("every queued write is durable"), "{log}");
    assert!(c.call(get("/t0")).await.is_err(), "the client connection was closed");
    assert!(std::net::TcpStream::connect(("127.0.0.1", nodes.client_port(1))).is_err(), "nothing listens");

    nodes.children[0] = Some(nodes.spawn(1));
    nodes.wait_serving(&[1]);
    let mut c = Client::connect(&nodes.http(1), None).await.expect("session after restart");
    for i in 0..30 {
        let r = c.call(get(&format!("/t{i}"))).await.expect("read");
        assert!(r["GetData"].is_object() || r.to_string().contains("\"data\""), "/t{i} lost: {r}");
    }
    let log = std::fs::read_to_string(nodes.log(1)).expect("log");
    assert!(!log.contains("storage recovery"), "a graceful stop leaves nothing to repair:\n{log}");
}

/// `fourlw_whitelist` (ZooKeeper's `4lw.commands.whitelist`): a command outside it gets
/// ZooKeeper's refusal; one inside it is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_letter_words_outside_the_whitelist_are_refused() {
    let nodes = Nodes::start(1, 790, "fourlw_whitelist = [\"ruok\", \"mntr\"]");
    nodes.wait_serving(&[1]);
    let port = nodes.client_port(1);
    assert_eq!(four_letter(port, "ruok"), "imok");
    assert!(four_letter(port, "mntr").contains("zk_server_state\t"));
    assert_eq!(four_letter(port, "stat"), "stat is not executed because it is not in the whitelist.\n");
    assert_eq!(four_letter(port, "dump"), "dump is not executed because it is not in the whitelist.\n");
}

/// With a small snapshot interval, the three nodes snapshot at different zxids (each draws
/// its interval at random), and a node restarted from its snapshot agrees with the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_one_cluster_snapshot_at_different_zxids() {
    let mut nodes = Nodes::start(3, 800, "snapshot_every = 20");
    nodes.wait_serving(&[1, 2, 3]);
    let mut writers = Vec::new();
    for w in 0..3u64 {
        let addr = nodes.http(w + 1);
        writers.push(tokio::spawn(async move {
            let mut c = Client::connect(&addr, None).await.expect("session");
            for i in 0..60 {
                let r = c.call(create(&format!("/w{w}-{i}"), "some data")).await.expect("write");
                assert!(r["Write"]["Created"].is_object(), "{r}");
            }
        }));
    }
    for w in writers {
        w.await.expect("writer");
    }
    let until = Instant::now() + Duration::from_secs(20);
    let snaps = loop {
        let s: Vec<Vec<String>> = (1..=3).map(|i| snapshot_zxids(&nodes.data(i))).collect();
        if s.iter().all(|z| !z.is_empty()) || Instant::now() > until {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(snaps.iter().all(|z| !z.is_empty()), "every node took a snapshot: {snaps:?}");
    assert!(snaps.windows(2).any(|w| w[0] != w[1]), "all nodes snapshot at the same zxids: {snaps:?}");

    nodes.kill9(2);
    nodes.children[1] = Some(nodes.spawn(2));
    nodes.wait_serving(&[1, 2, 3]);
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let st: Vec<serde_json::Value> = (1..=3)
            .filter_map(|i| http_request(&nodes.http(i), "GET", "/healthz").ok())
            .filter_map(|(_, b)| serde_json::from_str(&b).ok())
            .collect();
        let key = |v: &serde_json::Value| (v["status"]["last_committed"].clone(), v["status"]["digest"].clone());
        if st.len() == 3 && st.windows(2).all(|w| key(&w[0]) == key(&w[1])) {
            break;
        }
        assert!(Instant::now() < until, "the restarted node did not converge: {st:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(nodes.log(2)).expect("log");
    assert!(log.contains("snapshot at zxid"), "snapshots are logged:\n{log}");
}
