//! Sessions and ZooKeeper parity as a client meets them, on real `zabra` processes over
//! loopback: session passwords an attacker cannot predict, a reattach that does not inherit
//! the old connection's auth (issue 8, finding 6). Every wait is bounded.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::*;

/// SplitMix64's increment and output function, as the core's PRNG has them (`core/src/rng.rs`).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
const M1: u64 = 0xbf58_476d_1ce4_e5b9;
const M2: u64 = 0x94d0_49bb_1331_11eb;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(M1);
    z = (z ^ (z >> 27)).wrapping_mul(M2);
    z ^ (z >> 31)
}

/// The inverse of `x ^ (x >> s)`.
fn unshift(y: u64, s: u32) -> u64 {
    let mut x = y;
    for _ in 0..(64 / s + 1) {
        x = y ^ (x >> s);
    }
    x
}

/// The multiplicative inverse of an odd number modulo 2^64 (Newton's iteration).
fn inverse(a: u64) -> u64 {
    let mut x = a;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

/// The generator state that produced `out`: SplitMix64's output function is a bijection.
fn unmix(out: u64) -> u64 {
    let z = unshift(out, 31).wrapping_mul(inverse(M2));
    let z = unshift(z, 27).wrapping_mul(inverse(M1));
    unshift(z, 30)
}

/// The attack of finding 6: a session password made of two SplitMix64 outputs gives the
/// generator's state, hence the next session's password.
fn predict_next(password: &[u8]) -> Vec<u8> {
    let second = u64::from_le_bytes(password[8..16].try_into().expect("16-byte password"));
    let state = unmix(second);
    [state.wrapping_add(GOLDEN), state.wrapping_add(GOLDEN.wrapping_mul(2))]
        .into_iter()
        .flat_map(|s| mix(s).to_le_bytes())
        .collect()
}

fn password(grant: &Value) -> Vec<u8> {
    grant["password"].as_array().expect("password bytes").iter().map(|b| b.as_u64().expect("byte") as u8).collect()
}

#[test]
fn the_predictor_inverts_splitmix64() {
    // The reference outputs for seed 1234567 (as in core's rng test): the first predicts the
    // second, and a password made of outputs 1 and 2 predicts outputs 3 and 4.
    let (a, b) = (6457827717110365317u64, 3203168211198807973u64);
    assert_eq!(mix(unmix(a).wrapping_add(GOLDEN)), b);
    let mut state = 1234567u64;
    let mut next = || {
        state = state.wrapping_add(GOLDEN);
        mix(state)
    };
    let outs: Vec<u64> = (0..4).map(|_| next()).collect();
    let pw: Vec<u8> = outs[..2].iter().flat_map(|o| o.to_le_bytes()).collect();
    let want: Vec<u8> = outs[2..].iter().flat_map(|o| o.to_le_bytes()).collect();
    assert_eq!(predict_next(&pw), want);
}

/// Finding 6: one session's password must not give away the next one's. On a node whose
/// passwords came from the core's SplitMix64 the prediction was exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_session_password_is_not_predictable() {
    let c = Cluster::start(3, 510);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3);
    for node in 1..=3 {
        let first = Client::connect(&c.http(node), None).await.expect("session");
        let second = Client::connect(&c.http(node), None).await.expect("session");
        let (p1, p2) = (password(&first.session), password(&second.session));
        assert_eq!((p1.len(), p2.len()), (16, 16), "ZooKeeper clients expect 16-byte passwords");
        assert_ne!(p1, p2);
        assert_ne!(predict_next(&p1), p2, "node {node}: the next password follows from the previous one");
    }
}

fn add_digest(user_password: &str) -> Value {
    json!({"AddAuth": {"scheme": "digest", "auth": user_password.as_bytes()}})
}

/// Finding 6: auth belongs to the connection, as in ZooKeeper. A session reattached on a new
/// connection (to the same node, which still held the old one) has only the new
/// connection's `ip` identity, and a digest-protected node answers NoAuth until the client
/// sends addauth again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reattach_does_not_inherit_auth() {
    let c = Cluster::start(3, 520);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3);
    let node = c.http(2);
    let mut first = Client::connect(&node, None).await.expect("session");
    assert_eq!(first.call(add_digest("alice:secret")).await.expect("addauth"), json!("Ok"));
    let acl = json!([{"perms": 31, "id": {"scheme": "auth", "id": ""}}]);
    let mk = json!({"Write": {"Create": {"path": "/alice", "data": b"x", "acl": acl, "mode": "Persistent"}}});
    let r = first.call(mk).await.expect("create");
    assert!(r["Write"]["Created"].is_object(), "{r}");
    let who = first.call(json!("WhoAmI")).await.expect("whoami");
    assert_eq!(who["Identities"].as_array().map(Vec::len), Some(2), "ip and digest: {who}");

    let id = first.session["session"].clone();
    let pw = first.session["password"].clone();
    let mut second = Client::connect(&node, Some((id.clone(), pw))).await.expect("reattach");
    assert_eq!(second.session["session"], id);
    let who = second.call(json!("WhoAmI")).await.expect("whoami");
    let ids = who["Identities"].as_array().cloned().unwrap_or_default();
    assert_eq!(ids.len(), 1, "only the new connection's identity: {who}");
    assert_eq!(ids[0]["scheme"], "ip", "{who}");
    let r = second.call(get("/alice")).await.expect("getData");
    assert_eq!(r, json!({"Error": "NoAuth"}), "the digest identity did not carry over");

    assert_eq!(second.call(add_digest("alice:secret")).await.expect("addauth"), json!("Ok"));
    let r = second.call(get("/alice")).await.expect("getData");
    assert!(r["Data"].is_object(), "after addauth again: {r}");
}

/// A minimal ZooKeeper wire client (jute over TCP, wire reference §2–§7), enough for the
/// parity checks below without kazoo.
struct Zk {
    s: std::net::TcpStream,
    xid: i32,
}

fn jute_buffer(b: Option<&[u8]>) -> Vec<u8> {
    match b {
        None => (-1i32).to_be_bytes().to_vec(),
        Some(b) => [&(b.len() as i32).to_be_bytes()[..], b].concat(),
    }
}

fn jute_string(s: &str) -> Vec<u8> {
    jute_buffer(Some(s.as_bytes()))
}

/// A create body (path, data, one `world:anyone` ACL entry with `perms`, persistent).
fn create_body(path: &str, data: Option<&[u8]>, perms: i32) -> Vec<u8> {
    let acl = [&1i32.to_be_bytes()[..], &perms.to_be_bytes(), &jute_string("world"), &jute_string("anyone")].concat();
    [jute_string(path), jute_buffer(data), acl, 0i32.to_be_bytes().to_vec()].concat()
}

fn path_watch(path: &str) -> Vec<u8> {
    [jute_string(path), vec![0]].concat()
}

impl Zk {
    fn connect(port: u16) -> Zk {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("client port");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let req =
            [&0i32.to_be_bytes()[..], &0i64.to_be_bytes(), &10_000i32.to_be_bytes(), &0i64.to_be_bytes()].concat();
        let req = [req, jute_buffer(Some(&[0; 16])), vec![0]].concat();
        s.write_all(&[&(req.len() as i32).to_be_bytes()[..], &req].concat()).expect("sent");
        let mut zk = Zk { s, xid: 0 };
        let resp = zk.frame();
        assert!(resp.len() >= 36 && resp[8..16] != [0; 8], "a session: {resp:?}");
        zk
    }

    fn frame(&mut self) -> Vec<u8> {
        use std::io::Read;
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).expect("a frame");
        let mut p = vec![0u8; i32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut p).expect("the frame's payload");
        p
    }

    /// One request; its error code and reply body (watch notifications are skipped).
    fn call(&mut self, opcode: i32, body: &[u8]) -> (i32, Vec<u8>) {
        use std::io::Write;
        self.xid += 1;
        let req = [&self.xid.to_be_bytes()[..], &opcode.to_be_bytes(), body].concat();
        self.s.write_all(&[&(req.len() as i32).to_be_bytes()[..], &req].concat()).expect("sent");
        for _ in 0..100 {
            let p = self.frame();
            if i32::from_be_bytes(p[0..4].try_into().expect("xid")) == self.xid {
                return (i32::from_be_bytes(p[12..16].try_into().expect("err")), p[16..].to_vec());
            }
        }
        panic!("no reply to xid {}", self.xid);
    }

    /// getData: the data's jute length (-1 for null) and the Stat's dataLength.
    fn data_lengths(&mut self, path: &str) -> (i32, i32) {
        let (err, body) = self.call(4, &path_watch(path));
        assert_eq!(err, 0, "getData {path}");
        let len = i32::from_be_bytes(body[0..4].try_into().expect("length"));
        let stat = &body[4 + len.max(0) as usize..];
        (len, i32::from_be_bytes(stat[52..56].try_into().expect("dataLength")))
    }
}

/// Finding 9: over the ZooKeeper wire, null data reads back as null (a -1 buffer, dataLength
/// 0) after create and after setData, as kazoo's `test_create_null_data` and
/// `test_set_null_data` expect; empty data stays empty; and exists answers with the stat of a
/// node the caller may not READ (ZooKeeper 3.6–3.8 checks no ACL for exists), while getData
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_data_and_exists_over_the_zookeeper_wire() {
    let c = Cluster::start(1, 530);
    assert_eq!(c.wait_converged(&[1], Duration::from_secs(30)).len(), 1);
    let port = 2181 + c.offset;
    tokio::task::spawn_blocking(move || {
        let mut zk = Zk::connect(port);
        assert_eq!(zk.call(1, &create_body("/null", None, 31)).0, 0, "create with null data");
        assert_eq!(zk.data_lengths("/null"), (-1, 0), "null reads back as null");
        assert_eq!(zk.call(1, &create_body("/empty", Some(b""), 31)).0, 0);
        assert_eq!(zk.data_lengths("/empty"), (0, 0), "empty stays empty");
        assert_eq!(
            zk.call(5, &[jute_string("/empty"), jute_buffer(Some(b"x")), (-1i32).to_be_bytes().to_vec()].concat()).0,
            0
        );
        assert_eq!(zk.data_lengths("/empty"), (1, 1));
        let set_null = [jute_string("/empty"), jute_buffer(None), (-1i32).to_be_bytes().to_vec()].concat();
        assert_eq!(zk.call(5, &set_null).0, 0, "setData with null data");
        assert_eq!(zk.data_lengths("/empty"), (-1, 0), "null after setData too");

        assert_eq!(zk.call(1, &create_body("/noread", Some(b"x"), 31 & !1)).0, 0, "every permission but READ");
        let (err, stat) = zk.call(3, &path_watch("/noread"));
        assert_eq!((err, stat.len()), (0, 68), "exists answers without READ");
        assert_eq!(i32::from_be_bytes(stat[52..56].try_into().unwrap()), 1);
        assert_eq!(zk.call(4, &path_watch("/noread")).0, -102, "getData still needs READ (NoAuth)");
    })
    .await
    .expect("the wire checks pass");

    // The JSON API says `null` both ways.
    let mut api = Client::connect(&c.http(1), None).await.expect("session");
    let r = api.call(get("/null")).await.expect("getData");
    assert_eq!(r["Data"]["data"], Value::Null, "{r}");
    let mk = json!({"Write": {"Create": {"path": "/api-null", "data": null, "acl": [{"perms": 31, "id": {"scheme": "world", "id": "anyone"}}], "mode": "Persistent"}}});
    assert!(api.call(mk).await.expect("create")["Write"]["Created"].is_object());
    assert_eq!(api.call(get("/api-null")).await.expect("getData")["Data"]["data"], Value::Null);
}

/// The `/observe` URL of node `id`. (A viewer token joins it when `/observe` requires one:
/// this is the one place to add it.)
fn observe_url(c: &Cluster, id: u64) -> String {
    format!("ws://{}/observe?token={TOKEN}", c.http(id))
}

/// Finding 5: what `/observe` streams never carries the data, child names or ACL ids of a
/// node whose ACL does not grant world READ, while a world-readable node's data still shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_shows_no_contents_of_protected_nodes() {
    use futures_util::StreamExt;
    let c = Cluster::start(1, 540);
    assert_eq!(c.wait_converged(&[1], Duration::from_secs(30)).len(), 1);
    let (mut observe, _) = tokio_tungstenite::connect_async(observe_url(&c, 1)).await.expect("observe");
    let mut cl = Client::connect(&c.http(1), None).await.expect("session");
    assert_eq!(cl.call(add_digest("alice:secret")).await.expect("addauth"), json!("Ok"));
    let alice = json!([{"perms": 31, "id": {"scheme": "auth", "id": ""}}]);
    let private = |path: &str, data: &str| json!({"Write": {"Create": {"path": path, "data": data.as_bytes(), "acl": alice, "mode": "Persistent"}}});
    for op in [
        create("/public", "shown-data"),
        private("/vault", "hidden-one"),
        private("/vault/hidden-child", "x"),
        json!({"Write": {"SetData": {"path": "/vault", "data": b"hidden-two", "version": -1}}}),
        get("/vault"),
        json!({"GetChildren": {"path": "/vault", "watch": false}}),
        json!({"GetAcl": {"path": "/vault"}}),
        get("/public"),
    ] {
        let r = cl.call(op.clone()).await.expect("answered");
        assert!(r.get("Error").is_none(), "{op} → {r}");
    }
    let mut seen = String::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    // The last request's reply (xid 9) is the last event we need.
    let last_reply = |line: &str| line.contains("ClientReply") && line.contains(r#""xid":9,"#);
    while !seen.lines().any(last_reply) {
        let msg = tokio::time::timeout_at(until, observe.next()).await.expect("trace events in 10 s");
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) = msg else { panic!("observe closed") };
        seen.push_str(&t);
        seen.push('\n');
    }
    for secret in ["hidden-one", "hidden-two", "[hidden-child]", "aYXlLOpEooaV1cRAvUL1fp9Qt7E"] {
        assert!(!seen.contains(secret), "{secret:?} reached /observe:\n{seen}");
    }
    assert!(seen.contains("shown-data"), "a world-readable node's data still shows:\n{seen}");
    assert!(seen.contains("not world-readable"), "{seen}");
}

/// Finding 9: every move to LOOKING is logged at info level with its reason. Killing the
/// leader shows in each follower's log as the closed connection to that leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_to_looking_are_logged_with_their_reason() {
    let c = Cluster::start(3, 550);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3);
    let leader = c.wait_leader(Duration::from_secs(30));
    let log = |id: u64| std::fs::read_to_string(c.dir.path().join(format!("node-{id}.log"))).unwrap_or_default();
    for id in 1..=3 {
        assert!(log(id).contains("INFO now LOOKING: started"), "node {id}:\n{}", log(id));
    }
    c.control(leader, "kill");
    let want = format!("now LOOKING: connection to leader {leader} closed");
    let followers: Vec<u64> = (1..=3).filter(|i| *i != leader).collect();
    let until = std::time::Instant::now() + Duration::from_secs(20);
    while !followers.iter().all(|f| log(*f).contains(&want)) {
        assert!(std::time::Instant::now() < until, "{want:?} not in every follower's log:\n{}", log(followers[0]));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
