//! The peer port as an attacker meets it: on a 3-node `zabra cluster`, a few loops dial the
//! peer ports claiming a member's sid without the cluster secret, in the old JSON form and in
//! the binary handshake with a made-up proof, while one client writes. Every write succeeds,
//! the leader keeps its epoch, and every forged connection is refused (and counted).
//! Loopback only; every loop is bounded in count and time.

mod support;

use futures_util::{SinkExt, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use tokio_tungstenite::tungstenite::Message;
use zabra_peerwire::{Handshake, Hello, Role, PROTOCOL_VERSION};

const OFFSET: u16 = 400;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The node answered as to a member (a hello back, or no refusal after our proof).
    Accepted(String),
    /// Refused: told so, or closed without a hello.
    Refused,
    /// Could not even connect (not a refusal of the forgery; ignored).
    NoConnection,
}

fn peer_addr(id: u64) -> String {
    format!("127.0.0.1:{}", 2890 + id as u16 + OFFSET)
}

/// The hello `main` accepted: JSON text, no proof.
fn legacy_hello(claim: u64) -> Message {
    let h = serde_json::json!({"cluster": "zabra-local", "sid": claim, "role": "voter", "protocol_version": 1});
    Message::Text(h.to_string().into())
}

fn binary_hello(claim: u64, nonce: u8) -> Message {
    let h = Hello {
        cluster: "zabra-local".into(),
        sid: claim,
        role: Role::Voter,
        protocol_version: PROTOCOL_VERSION,
        nonce: [nonce; 32],
    };
    Message::Binary(Handshake::Hello(h).to_bytes().into())
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next message, or `None` when the node closed the connection (or said nothing in 2 s).
async fn next(ws: &mut Ws) -> Option<Message> {
    match tokio::time::timeout(Duration::from_secs(2), ws.next()).await {
        Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => None,
        Ok(Some(Ok(m))) => Some(m),
    }
}

/// One forged connection to `target` claiming `claim`, held open briefly.
async fn forge(target: u64, claim: u64, legacy: bool, nonce: u8) -> Outcome {
    let url = format!("ws://{}/peer", peer_addr(target));
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(Duration::from_secs(2), tokio_tungstenite::connect_async(url)).await
    else {
        return Outcome::NoConnection;
    };
    let hello = if legacy { legacy_hello(claim) } else { binary_hello(claim, nonce) };
    if ws.send(hello).await.is_err() {
        return Outcome::Refused;
    }
    let outcome = match next(&mut ws).await {
        None => Outcome::Refused,
        Some(Message::Text(t)) => Outcome::Accepted(format!("a hello back: {t}")),
        Some(Message::Binary(b)) => match Handshake::from_bytes(&b) {
            Ok(Handshake::Challenge { .. }) => {
                // Without the secret, a made-up proof is all a forger has.
                let _ = ws.send(Message::Binary(Handshake::Proof([nonce; 32]).to_bytes().into())).await;
                match next(&mut ws).await.map(|m| Handshake::from_bytes(&m.into_data())) {
                    Some(Ok(Handshake::Refused { .. })) | None => Outcome::Refused,
                    Some(other) => Outcome::Accepted(format!("after a made-up proof: {other:?}")),
                }
            }
            Ok(Handshake::Refused { .. }) => Outcome::Refused,
            other => Outcome::Accepted(format!("{other:?}")),
        },
        Some(m) => Outcome::Accepted(format!("{m:?}")),
    };
    // Hold the connection a little, as a forger taking a member's place would.
    tokio::time::sleep(Duration::from_millis(50)).await;
    outcome
}

/// Forge connections to `target` claiming `claim` until `stop` (at most 60 s); the outcomes.
async fn forger(target: u64, claim: u64, stop: Arc<AtomicBool>) -> Vec<Outcome> {
    let until = Instant::now() + Duration::from_secs(60);
    let mut outcomes = Vec::new();
    let mut n: u8 = 0;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        n = n.wrapping_add(1);
        outcomes.push(forge(target, claim, n.is_multiple_of(2), n).await);
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_hellos_never_displace_members() {
    let c = Cluster::start(3, OFFSET);
    let leader = c.wait_leader(Duration::from_secs(30));
    let epoch = c.status(leader).expect("leader status")["status"]["current_epoch"].clone();
    let mut client = Client::connect(&c.http(leader), None).await.expect("a session on the leader");
    let stop = Arc::new(AtomicBool::new(false));
    // Each claims a sid higher than its target's: the only dials a member accepts.
    let forgers: Vec<_> =
        [(1, 3), (1, 2), (2, 3)].into_iter().map(|(t, s)| tokio::spawn(forger(t, s, stop.clone()))).collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // At least 60 writes and 3 s of them, so every forger gets many tries.
    let (started, mut failed, mut writes) = (Instant::now(), Vec::new(), 0);
    while (writes < 60 || started.elapsed() < Duration::from_secs(3)) && writes < 3000 && failed.len() < 3 {
        match client.call(create(&format!("/forged-{writes}"), "v")).await {
            Ok(r) if r["Write"]["Created"].is_object() => {}
            other => failed.push(format!("write {writes}: {other:?}")),
        }
        writes += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for f in forgers {
        outcomes.extend(f.await.expect("forger task"));
    }
    assert!(
        failed.is_empty(),
        "writes failed under forged hellos ({} of the first {writes}): {failed:?}",
        failed.len()
    );
    let refused = outcomes.iter().filter(|o| **o == Outcome::Refused).count();
    let accepted: Vec<_> = outcomes.iter().filter(|o| matches!(o, Outcome::Accepted(_))).collect();
    assert!(accepted.is_empty(), "forged connections accepted: {accepted:?}");
    assert!(refused >= 6, "only {refused} forged connections were tried: {outcomes:?}");
    let st = c.status(leader).expect("leader status");
    assert_eq!(st["status"]["state"], "Leading", "{st}");
    assert_eq!(st["status"]["current_epoch"], epoch, "the leader kept its epoch: {st}");
    let errors: u64 = [1, 2].iter().filter_map(|i| c.status(*i)).map(|s| s["link_errors"].as_u64().unwrap_or(0)).sum();
    assert!(errors as usize >= refused, "refusals are counted: {errors} link errors for {refused} refusals");
    for i in 1..=3 {
        let s = c.status(i).expect("status");
        assert_eq!(s["peers_connected"].as_array().map(Vec::len), Some(2), "node {i} kept its members' links: {s}");
    }
}

const OFFSET2: u16 = 450;

/// Dial node `target`'s peer port as member `claim`, authenticated with the cluster's secret.
async fn authenticated(target: u64, claim: u64, secret: &[u8]) -> Ws {
    use zabra_peerwire::Dialer;
    let url = format!("ws://127.0.0.1:{}/peer", 2890 + target as u16 + OFFSET2);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("peer port");
    let me = Hello {
        cluster: "zabra-local".into(),
        sid: claim,
        role: Role::Voter,
        protocol_version: PROTOCOL_VERSION,
        nonce: [7; 32],
    };
    let (dialer, hello) = Dialer::new(me, target);
    ws.send(Message::Binary(hello.to_bytes().into())).await.expect("hello");
    let challenge = Handshake::from_bytes(&next(&mut ws).await.expect("a challenge").into_data()).expect("decodes");
    let (_, proof) = dialer.on_challenge(challenge, secret).expect("the node proves it holds the secret");
    ws.send(Message::Binary(proof.to_bytes().into())).await.expect("proof");
    ws
}

/// Whether the node closes `ws` within 5 s (what it sends meanwhile is skipped).
async fn closed_soon(ws: &mut Ws) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if next(ws).await.is_none() {
            return true;
        }
    }
    false
}

fn link_errors(c: &Cluster, id: u64) -> u64 {
    c.status(id).and_then(|s| s["link_errors"].as_u64()).expect("link_errors in /healthz")
}

/// A connection that never completes the handshake is closed after the handshake timeout;
/// an authenticated peer that sends a malformed message, or announces one above the size
/// cap, loses that link and nothing else. Each is logged and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_malformed_and_oversize_peers_lose_only_their_connection() {
    use std::io::Read;
    let c = Cluster::start(3, OFFSET2);
    let leader = c.wait_leader(Duration::from_secs(30));
    // Our links below replace a member's real one. Were that member's first link still on its
    // way, it would replace ours instead, before node 1 read what ours sent.
    c.wait_linked(1, Duration::from_secs(30));
    let secret = std::fs::read(c.dir.path().join("cluster.secret")).expect("zabra cluster wrote a secret");
    let secret = secret.trim_ascii();
    let before = link_errors(&c, 1);
    let mut idle = std::net::TcpStream::connect(format!("127.0.0.1:{}", 2891 + OFFSET2)).expect("peer port");
    idle.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    // A member's real link to node 1 is replaced by ours (both authenticated), then ours
    // breaks. Not node 1's leader's link: node 1 would drop that one itself, going LOOKING.
    let claim = if leader == 3 { 2 } else { 3 };
    let mut garbage = authenticated(1, claim, secret).await;
    garbage.send(Message::Binary(vec![0, 0xff, 0xff, 0xff].into())).await.expect("sent");
    assert!(closed_soon(&mut garbage).await, "a malformed envelope closes the link");
    let mut oversize = authenticated(1, claim, secret).await;
    let mut first = vec![1u8];
    first.extend_from_slice(&(1u64 << 40).to_le_bytes());
    first.extend_from_slice(&[0; 100]);
    oversize.send(Message::Binary(first.into())).await.expect("sent");
    assert!(closed_soon(&mut oversize).await, "an oversize message closes the link");
    let t = Instant::now();
    let n = idle.read(&mut [0; 16]).expect("closed, not timed out");
    assert_eq!(n, 0, "the node closed the silent connection");
    assert!(t.elapsed() < Duration::from_secs(10), "after the handshake timeout: {:?}", t.elapsed());
    // The node closes the socket, then logs and counts: wait (bounded) for both.
    let causes = ["malformed", "oversize", "handshake not finished"];
    let until = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(c.dir.path().join("node-1.log")).expect("node 1 log");
        let done = link_errors(&c, 1) >= before + 3 && causes.iter().all(|w| log.contains(w));
        if done || Instant::now() > until {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(link_errors(&c, 1) >= before + 3, "{} link errors, {before} before:\n{log}", link_errors(&c, 1));
    for cause in causes {
        assert!(log.contains(cause), "the log names {cause:?}:\n{log}");
    }
    // The cluster still commits, and node 3 is linked to node 1 again.
    let mut client = Client::connect(&c.http(leader), None).await.expect("a session");
    let r = client.call(create("/after", "v")).await.expect("a write");
    assert!(r["Write"]["Created"].is_object(), "{r}");
    let st = c.wait_converged(&[1, 2, 3], Duration::from_secs(20));
    assert!(st.iter().all(|s| s["status"]["serving"] == true), "{st:?}");
}

/// `zabra serve` refuses a cluster secret file that is missing, too short or open to others,
/// and says why (before it opens any port).
#[test]
fn serve_refuses_a_bad_secret_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = dir.path().join("secret");
    let serve = |why: &str| {
        let out = std::process::Command::new(zabra_bin())
            .args(["serve", "--nodes", "3", "--id", "1", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg("--secret-file")
            .arg(&secret)
            .output()
            .expect("zabra runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(why), "expected {why:?}: {err}");
    };
    serve("No such file");
    std::fs::write(&secret, "too short\n").expect("written");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    serve("at least 32");
    std::fs::write(&secret, "k".repeat(64)).expect("written");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    serve("chmod 600");
    let out = std::process::Command::new(zabra_bin())
        .args(["serve", "--nodes", "3", "--id", "1", "--data-dir"])
        .arg(dir.path().join("data"))
        .output()
        .expect("zabra runs");
    assert!(String::from_utf8_lossy(&out.stderr).contains("secret_file"), "no secret at all is refused too");
}
