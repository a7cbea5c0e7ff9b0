//! The node and its disk, as a user meets them: a single-node cluster is written to, killed
//! with SIGKILL and restarted; a torn last record is truncated at start-up with a log line;
//! a flipped byte in the middle of the log stops the node with a message naming the file and
//! the byte offset. Loopback only, bounded waits.

mod support;

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use support::*;

const OFFSET: u16 = 300;

fn config(dir: &Path) -> std::path::PathBuf {
    let p = |base: u16| format!("127.0.0.1:{}", base + 1 + OFFSET);
    let text = format!(
        "id = 1\ndata_dir = {:?}\n[[members]]\nid = 1\npeer = {:?}\nclient = {:?}\nhttp = {:?}\n",
        dir.join("data"),
        p(2890),
        p(2180),
        p(8080)
    );
    let path = dir.join("node.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

fn start(cfg: &Path, log: &Path) -> Child {
    let out = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_zabra"))
        .args(["serve", "--config"])
        .arg(cfg)
        .stdout(out.try_clone().expect("dup"))
        .stderr(out)
        .spawn()
        .expect("zabra serve starts")
}

fn http() -> String {
    format!("127.0.0.1:{}", 8081 + OFFSET)
}

async fn wait_serving() {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until {
        if http_request(&http(), "GET", "/healthz").is_ok_and(|(c, _)| c == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the node did not serve within 20 s");
}

fn kill9(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn log_segment(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let mut logs: Vec<_> = std::fs::read_dir(&data)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("log.")))
        .collect();
    logs.sort();
    logs.pop().expect("a log segment")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_then_torn_tail_then_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = config(dir.path());
    let node = start(&cfg, &dir.path().join("run1.log"));
    wait_serving().await;
    let mut c = Client::connect(&http(), None).await.expect("session");
    for i in 0..50 {
        let r = c.call(create(&format!("/n{i}"), "v")).await.expect("write");
        assert!(r["Write"]["Created"].is_object(), "{r}");
    }
    kill9(node);

    // 1. After SIGKILL every acknowledged write is back.
    let node = start(&cfg, &dir.path().join("run2.log"));
    wait_serving().await;
    let mut c = Client::connect(&http(), None).await.expect("session");
    for i in 0..50 {
        assert!(c.call(get(&format!("/n{i}"))).await.expect("read")["Data"].is_object(), "/n{i} lost");
    }
    kill9(node);

    // 2. A torn last record is cut off at start-up, and the start-up says so.
    let seg = log_segment(dir.path());
    let mut bytes = std::fs::read(&seg).expect("segment");
    bytes.extend_from_slice(&[0, 0, 0, 40, 1, 2, 3]);
    std::fs::write(&seg, &bytes).expect("torn tail written");
    let log = dir.path().join("run3.log");
    let node = start(&cfg, &log);
    wait_serving().await;
    kill9(node);
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(text.contains("torn tail"), "the truncation is logged:\n{text}");

    // 3. A flipped byte in the middle of the log stops the node with file and offset.
    let mut bytes = std::fs::read(&seg).expect("segment");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&seg, &bytes).expect("corrupted");
    let log = dir.path().join("run4.log");
    let mut node = start(&cfg, &log);
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = node.try_wait().expect("wait") {
            break st;
        }
        assert!(Instant::now() < until, "a corrupt log must stop the node");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    let text = std::fs::read_to_string(&log).expect("log");
    let name = seg.file_name().expect("name").to_string_lossy().to_string();
    assert!(text.contains(&name) && text.contains("byte"), "the message names the file and offset:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_frame_closes_only_its_connection() {
    use std::io::{Read, Write};
    let c = Cluster::start(3, 400);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3);
    let mut good = Client::connect(&c.http(1), None).await.expect("session");
    let client_port = 2181 + c.offset;
    for garbage in [vec![0x7f, 0xff, 0xff, 0xff, 1, 2, 3], vec![0, 0, 0, 8, 9, 9, 9, 9, 9, 9, 9, 9]] {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", client_port)).expect("client port");
        s.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
        s.write_all(&garbage).expect("sent");
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).unwrap_or(0);
        assert_eq!(n, 0, "the bad connection is closed without an answer");
    }
    let r = good.call(create("/still-here", "v")).await.expect("the other session carries on");
    assert!(r["Write"]["Created"].is_object(), "{r}");
    assert!(c.status(1).is_some(), "the node is still up");
}
