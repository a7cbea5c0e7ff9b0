//! Browser members of a native cluster (issue 9, shapes 2 and 3), at the wire: a `zabra
//! cluster` of 3 native voters configured with one browser voter (sid 4) and one browser
//! observer (sid 5). An admin gets sid
//! 4's join token from `GET /join`; a peer holding it dials every native node's peer port,
//! passes the challenge–response keyed by the token, and each node talks to it over that
//! connection. A wrong token is refused with a clear reason and changes nothing, and never
//! displaces the authenticated connection. `GET /bus-keys` gives browser members 4 and 5 the
//! key of their pair, each through its own token only. Loopback only; every wait is bounded.

mod support;

use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use support::*;
use tokio_tungstenite::tungstenite::Message;
use zabra_core::message::{Envelope, Message as Zab, MsgId, ServerState, Vote};
use zabra_core::{Sid, Zxid};
use zabra_peerwire::{Dialer, Handshake, Hello, Role, PROTOCOL_VERSION};

const OFFSET: u16 = 1330;
const BROWSER: u64 = 4;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn hello(sid: u64, role: Role, nonce: u8) -> Hello {
    Hello { cluster: "zabra-local".into(), sid, role, protocol_version: PROTOCOL_VERSION, nonce: [nonce; 32] }
}

async fn next(ws: &mut Ws) -> Option<Message> {
    match tokio::time::timeout(Duration::from_secs(3), ws.next()).await {
        Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => None,
        Ok(Some(Ok(m))) => Some(m),
    }
}

async fn dial(target: u64) -> Ws {
    let url = format!("ws://127.0.0.1:{}/peer", 2890 + target as u16 + OFFSET);
    tokio_tungstenite::connect_async(url).await.expect("peer port").0
}

/// Dial `target` as the browser member with `token` (as the handshake key).
async fn join(target: u64, token: &str, nonce: u8) -> Result<Ws, String> {
    let mut ws = dial(target).await;
    let (dialer, h) = Dialer::new(hello(BROWSER, Role::Voter, nonce), target);
    ws.send(Message::Binary(h.to_bytes().into())).await.map_err(|e| e.to_string())?;
    let m = next(&mut ws).await.ok_or("no challenge")?;
    let challenge = Handshake::from_bytes(&m.into_data()).map_err(|e| e.to_string())?;
    let (_, proof) = dialer.on_challenge(challenge, token.as_bytes()).map_err(|e| e.to_string())?;
    ws.send(Message::Binary(proof.to_bytes().into())).await.map_err(|e| e.to_string())?;
    Ok(ws)
}

/// Dial `target` claiming the browser sid and answer its challenge with a made-up proof:
/// the node's refusal.
async fn forged_proof(target: u64, role: Role) -> String {
    let mut ws = dial(target).await;
    ws.send(Message::Binary(Handshake::Hello(hello(BROWSER, role, 9)).to_bytes().into())).await.unwrap();
    let first = Handshake::from_bytes(&next(&mut ws).await.expect("an answer").into_data()).unwrap();
    if let Handshake::Refused { reason } = first {
        return reason;
    }
    ws.send(Message::Binary(Handshake::Proof([0; 32]).to_bytes().into())).await.unwrap();
    match next(&mut ws).await.map(|m| Handshake::from_bytes(&m.into_data())) {
        Some(Ok(Handshake::Refused { reason })) => reason,
        other => panic!("no refusal after a forged proof: {other:?}"),
    }
}

fn peers_connected(c: &Cluster, id: u64) -> Vec<u64> {
    let st = c.status(id).expect("healthz");
    st["peers_connected"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect()
}

/// Wait (bounded) until `ok` holds of node `id`'s connected peers.
fn wait_peers(c: &Cluster, id: u64, ok: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let p = peers_connected(c, id);
        if ok(&p) || Instant::now() > until {
            return p;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A looking peer's vote for itself; a node in a settled cluster answers it with its own.
fn looking_vote() -> Message {
    let vote = Vote { leader: Sid(BROWSER), zxid: Zxid::ZERO, peer_epoch: 0 };
    let env = Envelope {
        id: MsgId { from: Sid(BROWSER), seq: 1 },
        msg: Zab::Notification { state: ServerState::Looking, vote, round: 1 },
    };
    let bytes = zabra_peerwire::encode(&env).unwrap();
    Message::Binary(zabra_peerwire::frames(&bytes).remove(0).into())
}

/// The first envelope the node sends within 5 s.
async fn first_envelope(ws: &mut Ws) -> Option<Envelope> {
    let mut chunks = zabra_peerwire::Reassembler::new(64 << 20);
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Some(Message::Binary(b)) = next(ws).await {
            if let Ok(Some(bytes)) = chunks.push(&b) {
                return zabra_peerwire::decode(&bytes).ok();
            }
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_member_joins_every_native_node_with_its_join_token() {
    let c = Cluster::start_with(3, OFFSET, &["--browser-voters", "1", "--browser-observers", "1"]);
    let leader = c.wait_leader(Duration::from_secs(20));
    let epoch = c.status(leader).unwrap()["status"]["current_epoch"].clone();

    // The admin gets the token; nobody else does.
    let http = c.http(2);
    let (code, body) = http_request(&http, "GET", "/join?sid=4").unwrap();
    assert_eq!(code, 401, "{body}");
    let (code, body) = http_request(&http, "GET", &format!("/join?sid=2&token={TOKEN}")).unwrap();
    assert!(code == 404 && body.contains("not a browser member"), "{code} {body}");
    let (code, body) = http_request(&http, "GET", &format!("/join?sid=4&token={TOKEN}")).unwrap();
    assert_eq!(code, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = answer["join_token"].as_str().unwrap().to_string();
    let secret = std::fs::read_to_string(c.dir.path().join("cluster.secret")).unwrap();
    assert!(!token.contains(secret.trim()) && !secret.contains(&token), "the token is not the secret");
    let (_, body1) = http_request(&c.http(1), "GET", &format!("/join?sid=4&token={TOKEN}")).unwrap();
    assert!(body1.contains(&token), "every node gives the same token");
    let (_, cluster) = http_request(&http, "GET", "/cluster").unwrap();
    assert!(cluster.contains("\"browser_members\":[{\"id\":4"), "{cluster}");

    // Bus keys (tab to tab): public, masked for each member; its join token unmasks the key
    // of its pair, the same key from both sides, and another member's token does not.
    let (code, body) = http_request(&http, "GET", "/bus-keys").unwrap();
    assert_eq!(code, 200, "{body}");
    let keys: serde_json::Value = serde_json::from_str(&body).unwrap();
    let name = answer["cluster"].as_str().unwrap();
    let (w45, w54) = (keys["keys"]["4"]["5"].as_str().unwrap(), keys["keys"]["5"]["4"].as_str().unwrap());
    let (_, body5) = http_request(&http, "GET", &format!("/join?sid=5&token={TOKEN}")).unwrap();
    let token5: serde_json::Value = serde_json::from_str(&body5).unwrap();
    let token5 = token5["join_token"].as_str().unwrap();
    let k45 = zabra_peerwire::unwrap_bus_key(&token, name, 4, 5, w45).unwrap();
    assert_eq!(zabra_peerwire::unwrap_bus_key(token5, name, 5, 4, w54), Some(k45), "both members get one key");
    assert_ne!(zabra_peerwire::unwrap_bus_key(token5, name, 4, 5, w45), Some(k45), "5 cannot unmask 4's copy");
    let k_hex: String = k45.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!body.contains(&k_hex) && !body.contains(secret.trim()), "neither key nor secret is published");

    // A wrong token (and a wrong role) is refused, saying why; nothing changes.
    let Err(wrong) = join(1, &"0".repeat(64), 1).await else { panic!("a wrong token is accepted") };
    assert!(wrong.contains("wrong proof"), "{wrong}");
    let reason = forged_proof(1, Role::Voter).await;
    assert!(reason.contains("wrong join token for sid 4"), "{reason}");
    let reason = forged_proof(1, Role::Observer).await;
    assert!(reason.contains("is a Voter here"), "{reason}");
    assert!(!peers_connected(&c, 1).contains(&BROWSER));

    // The right token: every native node accepts the browser member, whatever its sid, and
    // sends it messages over the connection it dialled.
    let mut links = Vec::new();
    for id in 1..=3u64 {
        let mut ws = join(id, &token, id as u8 + 10).await.unwrap_or_else(|e| panic!("node {id}: {e}"));
        ws.send(looking_vote()).await.unwrap();
        let env = first_envelope(&mut ws).await.unwrap_or_else(|| panic!("node {id} sent nothing"));
        assert_eq!(env.id.from, Sid(id));
        assert!(matches!(env.msg, Zab::Notification { .. }), "node {id} answered the vote: {env:?}");
        assert!(wait_peers(&c, id, |p| p.contains(&BROWSER)).contains(&BROWSER), "node {id} lists the link");
        links.push(ws);
    }

    // A forged connection for the same sid does not displace the authenticated one.
    let reason = forged_proof(2, Role::Voter).await;
    assert!(reason.contains("wrong join token"), "{reason}");
    links[1].send(looking_vote()).await.unwrap();
    let env = first_envelope(&mut links[1]).await.expect("the authenticated link still works");
    assert!(matches!(env.msg, Zab::Notification { .. }), "{env:?}");
    assert!(peers_connected(&c, 2).contains(&BROWSER));

    let st = c.status(leader).unwrap();
    assert_eq!(st["status"]["current_epoch"], epoch, "the leader kept its epoch throughout");
    assert_eq!(st["status"]["state"], "Leading");
}
