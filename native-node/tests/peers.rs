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
