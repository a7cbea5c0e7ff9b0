//! Finding 1 of issue 8 (Nagle): every TCP connection a node opens or accepts (peer links
//! both ways, the ZooKeeper client port, the HTTP port's `/api`) has TCP_NODELAY set. Without
//! it a follower's delayed ACK held each Proposal back and sequential writes waited ~44 ms.
//!
//! The test looks at the node processes' own sockets: it copies each descriptor out of the
//! process (`pidfd_getfd`, which root may do), keeps the connected TCP ones, and asks the
//! kernel for their TCP_NODELAY. Loopback only; run under the port lock.

mod support;

use rustix::net::sockopt;
use std::io::Write;
use std::os::fd::AsFd;
use std::time::Duration;
use support::*;

/// Port offset of this file's cluster.
const OFFSET: u16 = 1200;

/// The PIDs of the cluster's node processes, from the supervisor (`running pid N`).
fn node_pids(c: &Cluster) -> Vec<i32> {
    let (_, body) = http_request(&c.supervisor(), "GET", "/nodes").expect("supervisor answers");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    let pids: Vec<i32> = v
        .as_object()
        .expect("a map of nodes")
        .values()
        .filter_map(|s| s.as_str()?.strip_prefix("running pid ")?.parse().ok())
        .collect();
    assert_eq!(pids.len(), c.nodes as usize, "every node runs: {v}");
    pids
}

/// (connected TCP sockets, those without TCP_NODELAY) of one process.
fn tcp_sockets(pid: i32) -> (usize, Vec<String>) {
    let pidfd = rustix::process::pidfd_open(
        rustix::process::Pid::from_raw(pid).expect("a pid"),
        rustix::process::PidfdFlags::empty(),
    )
    .expect("pidfd_open");
    let (mut connected, mut without) = (0, Vec::new());
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("fd list") {
        let entry = entry.expect("fd entry");
        let Ok(target) = std::fs::read_link(entry.path()) else { continue };
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        let Ok(n) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        // The descriptor may have closed meanwhile: skip what cannot be copied.
        let Ok(fd) = rustix::process::pidfd_getfd(&pidfd, n, rustix::process::PidfdGetfdFlags::empty()) else {
            continue;
        };
        let inet = matches!(
            sockopt::socket_domain(fd.as_fd()),
            Ok(d) if d == rustix::net::AddressFamily::INET || d == rustix::net::AddressFamily::INET6
        );
        let stream = sockopt::socket_type(fd.as_fd()).is_ok_and(|t| t == rustix::net::SocketType::STREAM);
        let listening = sockopt::socket_acceptconn(fd.as_fd()).unwrap_or(true);
        if !inet || !stream || listening || rustix::net::getpeername(fd.as_fd()).ok().flatten().is_none() {
            continue;
        }
        connected += 1;
        if !sockopt::tcp_nodelay(fd.as_fd()).expect("getsockopt TCP_NODELAY") {
            without.push(format!("fd {n} ({target:?})"));
        }
    }
    (connected, without)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_of_a_node_has_tcp_nodelay() {
    let c = Cluster::start(3, OFFSET);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3, "cluster up");
    // A client on each port of each node: the JSON API (HTTP port) and the ZooKeeper port.
    let mut api = Vec::new();
    let mut zk = Vec::new();
    for id in 1..=3u64 {
        let mut cl = Client::connect(&c.http(id), None).await.expect("an /api session");
        cl.call(create(&format!("/n{id}"), "x")).await.expect("a write");
        api.push(cl);
        let mut s = std::net::TcpStream::connect(("127.0.0.1", 2180 + id as u16 + OFFSET)).expect("client port");
        s.write_all(&connect_request()).expect("ConnectRequest");
        zk.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut total = 0;
    for pid in node_pids(&c) {
        let (connected, without) = tcp_sockets(pid);
        // Two peer links, one /api and one ZooKeeper client connection at least.
        assert!(connected >= 4, "node pid {pid}: only {connected} connected TCP sockets found");
        assert!(without.is_empty(), "node pid {pid}: sockets without TCP_NODELAY: {without:?}");
        total += connected;
    }
    assert!(total >= 12, "{total} connections checked");
    drop((api, zk));
}

/// A ZooKeeper ConnectRequest (a new session, 10 s), length-prefixed.
fn connect_request() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0i32.to_be_bytes()); // protocol version
    body.extend_from_slice(&0i64.to_be_bytes()); // last zxid seen
    body.extend_from_slice(&10_000i32.to_be_bytes()); // timeout
    body.extend_from_slice(&0i64.to_be_bytes()); // session id
    body.extend_from_slice(&16i32.to_be_bytes());
    body.extend_from_slice(&[0; 16]); // password
    body.push(0); // read-only
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    frame
}
