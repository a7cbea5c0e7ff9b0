//! The HTTP port as browsers and hostile pages meet it (issue 8, findings 4 and 5, and the
//! `/api` side of findings 2 and 7), against real `zabra serve` / `zabra cluster` processes:
//! `ip` ACLs see the socket's address, foreign `Origin`s are refused on `/api`, `/observe`
//! and the control endpoints (node and supervisor), `/observe` needs a viewer token, viewers
//! are capped and a slow one gets a `Dropped` marker, `/api` has the client port's limits,
//! and a 5 MB `/api` create is refused without disturbing the cluster. Loopback only.

mod solo;
mod support;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use solo::*;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

/// A WebSocket to `addr` + `path` from the source address `from`, with an `Origin` header
/// when given (as a browser page would send).
async fn ws(from: &str, addr: &str, path: &str, origin: Option<&str>) -> Result<Ws, String> {
    let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let stream = connect_from(from, port).await.map_err(|e| e.to_string())?;
    let mut req = format!("ws://{addr}{path}").into_client_request().expect("request");
    if let Some(o) = origin {
        req.headers_mut().insert("Origin", o.parse().expect("header"));
    }
    let (ws, _) = tokio::time::timeout(Duration::from_secs(5), tokio_tungstenite::client_async(req, stream))
        .await
        .map_err(|_| "handshake timed out".to_string())?
        .map_err(|e| e.to_string())?;
    Ok(ws)
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.expect("sent");
}

/// The next JSON message, or `None` when the socket closes or `wait` passes.
async fn next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, ws.next()).await.ok()?? {
            Ok(Message::Text(t)) => return serde_json::from_str(&t).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// A session on `/api` from `from`, claiming the address `claim`.
async fn session(from: &str, addr: &str, claim: &str) -> Ws {
    let mut w = ws(from, addr, "/api", None).await.expect("/api opens");
    send(&mut w, json!({"connect": {"session": null, "timeout_ms": 10000, "last_zxid_seen": "0", "addr": claim}}))
        .await;
    let v = next(&mut w, Duration::from_secs(5)).await.expect("connected");
    assert!(v["connected"]["Ok"].is_object(), "{v}");
    w
}

async fn call(w: &mut Ws, xid: i64, op: Value) -> Value {
    send(w, json!({"xid": xid, "op": op})).await;
    loop {
        let v = next(w, Duration::from_secs(10)).await.expect("a reply");
        if v["reply"]["xid"] == xid {
            return v["reply"]["result"].clone();
        }
    }
}

/// A raw HTTP/1.1 request with extra header lines; the status code.
fn http_status(addr: &str, method: &str, path: &str, headers: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    write!(s, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\nContent-Length: 0\r\n\r\n")
        .expect("sent");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_ip_acls_see_the_socket_address_not_the_claimed_one() {
    let node = Solo::start(1610, "", "", None);
    let mut owner = session("127.0.0.1", &node.http(), "127.0.0.1").await;
    let acl = json!([{"perms": 31, "id": {"scheme": "ip", "id": "127.0.0.1"}}]);
    let op = json!({"Write": {"Create": {"path": "/ip", "data": [1], "acl": acl, "mode": "Persistent"}}});
    assert!(call(&mut owner, 1, op).await["Write"]["Created"].is_object());
    let get = json!({"GetData": {"path": "/ip", "watch": false}});
    assert!(call(&mut owner, 2, get.clone()).await["Data"].is_object(), "127.0.0.1 may read");
    let mut liar = session("127.0.0.2", &node.http(), "127.0.0.1").await;
    let r = call(&mut liar, 1, get).await;
    assert_eq!(r, json!({"Error": "NoAuth"}), "127.0.0.2 claiming 127.0.0.1 may not read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_are_refused_on_api_observe_and_control() {
    let node = Solo::start(1620, "", "", None);
    let (http, own) = (node.http(), format!("http://{}", node.http()));
    let evil = Some("http://evil.example");
    let err = ws("127.0.0.1", &http, "/api", evil).await.expect_err("refused");
    assert!(err.contains("403"), "{err}");
    let err = ws("127.0.0.1", &http, &format!("/observe?token={ADMIN}"), evil).await.expect_err("refused");
    assert!(err.contains("403"), "{err}");
    let heal = format!("/control/heal?token={ADMIN}");
    assert_eq!(http_status(&http, "POST", &heal, "Origin: http://evil.example\r\n"), 403);
    // The node's own origin, its localhost form, and clients without an Origin pass.
    ws("127.0.0.1", &http, "/api", Some(&own)).await.expect("own origin");
    let port = node.offset + 8081;
    ws("127.0.0.1", &http, "/api", Some(&format!("http://localhost:{port}"))).await.expect("localhost form");
    ws("127.0.0.1", &http, "/api", None).await.expect("no origin");
    assert_eq!(http_status(&http, "POST", &heal, &format!("Origin: {own}\r\n")), 200);
    assert_eq!(http_status(&http, "POST", &heal, ""), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_needs_a_viewer_token() {
    let node = Solo::start(1630, "", "", None);
    let http = node.http();
    let mut writer = session("127.0.0.1", &http, "").await;
    // Without a token: the first message must be one, or the viewer is closed unserved.
    let mut anon = ws("127.0.0.1", &http, "/observe", None).await.expect("upgrade");
    send(&mut anon, json!({"hello": 1})).await;
    call(&mut writer, 1, support::create("/seen-by-nobody", "x")).await;
    assert_eq!(next(&mut anon, Duration::from_secs(3)).await, None, "no event without a token");
    let err = ws("127.0.0.1", &http, "/observe?token=guess", None).await.expect_err("refused");
    assert!(err.contains("401"), "{err}");
    // The admin token works, in the query or as the first message.
    let mut by_query = ws("127.0.0.1", &http, &format!("/observe?token={ADMIN}"), None).await.expect("viewer");
    let mut by_message = ws("127.0.0.1", &http, "/observe", None).await.expect("viewer");
    send(&mut by_message, json!({"token": ADMIN})).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    call(&mut writer, 2, support::create("/seen", "x")).await;
    for v in [&mut by_query, &mut by_message] {
        assert!(next(v, Duration::from_secs(5)).await.is_some_and(|e| e["type"].is_string()), "events flow");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_are_capped_and_a_viewer_token_works() {
    let node = Solo::start(1635, "viewer_token = \"just-looking\"", "max_viewers = 2", None);
    let http = node.http();
    let _a = ws("127.0.0.1", &http, "/observe?token=just-looking", None).await.expect("first viewer");
    let _b = ws("127.0.0.1", &http, &format!("/observe?token={ADMIN}"), None).await.expect("second viewer");
    let err = ws("127.0.0.1", &http, "/observe?token=just-looking", None).await.expect_err("third refused");
    assert!(err.contains("503"), "{err}");
    // A token in the first message gets no place either (it is closed after the token).
    let mut late = ws("127.0.0.1", &http, "/observe", None).await.expect("upgrade");
    send(&mut late, json!({"token": "just-looking"})).await;
    assert_eq!(next(&mut late, Duration::from_secs(5)).await, None, "closed: no place");
    // Strangers without a token hold no place.
    let _stranger = ws("127.0.0.1", &http, "/observe", None).await.expect("upgrade");
    drop(_a);
    tokio::time::sleep(Duration::from_millis(300)).await;
    ws("127.0.0.1", &http, "/observe?token=just-looking", None).await.expect("a place came free");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_viewer_is_told_how_many_events_it_missed() {
    let node = Solo::start(1640, "", "", None);
    let http = node.http();
    // A viewer with a tiny receive buffer that reads nothing while thousands of writes commit.
    let port = node.offset + 8081;
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = sock.connect(([127, 0, 0, 1], port).into()).await.expect("connects");
    let req = format!("ws://{http}/observe?token={ADMIN}").into_client_request().expect("request");
    let (mut viewer, _) = tokio_tungstenite::client_async(req, stream).await.expect("viewer");
    let (mut tx, mut rx) = session("127.0.0.1", &http, "").await.split();
    // Batches of pipelined creates until the node reports skipped events (bounded).
    let mut xid = 0;
    for _batch in 0..30 {
        let sender = tokio::spawn(async move {
            for i in xid..xid + 1000 {
                let op = support::create(&format!("/n{i}"), "payload");
                tx.send(Message::Text(json!({"xid": i + 1, "op": op}).to_string().into())).await.expect("sent");
            }
            tx
        });
        let mut replies = 0;
        while replies < 1000 {
            match tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
                Ok(Some(Ok(Message::Text(t)))) if t.contains("\"reply\"") => replies += 1,
                Ok(Some(Ok(_))) => {}
                other => panic!("writes stalled after {replies} replies: {other:?}"),
            }
        }
        tx = sender.await.expect("sender");
        xid += 1000;
        if node.view()["skipped_trace_events"].as_u64().is_some_and(|n| n > 0) {
            break;
        }
    }
    // Now read: somewhere there is a marker, and the viewer was not cut off.
    let mut marker = None;
    for _ in 0..200_000 {
        let Some(v) = next(&mut viewer, Duration::from_secs(5)).await else { break };
        if v["type"] == "Dropped" {
            marker = Some(v);
            break;
        }
    }
    let marker = marker.expect("a Dropped marker before the stream ends");
    assert!(marker["count"].as_u64().is_some_and(|c| c > 0), "{marker}");
    let (mut w, _) = (session("127.0.0.1", &http, "").await, ());
    call(&mut w, 1, support::create("/after", "x")).await;
    assert!(next(&mut viewer, Duration::from_secs(5)).await.is_some(), "the viewer still gets events");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_has_the_client_port_limits() {
    let node = Solo::start(1650, "", "", None);
    let http = node.http();
    let port = node.offset + 8081;
    let mut held = Vec::new();
    for _ in 0..60 {
        held.push(connect_from("127.0.0.3", port).await.expect("connects"));
    }
    let mut extra = connect_from("127.0.0.3", port).await.expect("TCP connect");
    assert!(closed_within(&mut extra, Duration::from_secs(5)).await, "the 61st HTTP connection is refused");
    ws("127.0.0.4", &http, "/api", None).await.expect("another address is served");
    // A WebSocket that never asks for a session is told so and closed.
    let mut idle = ws("127.0.0.1", &http, "/api", None).await.expect("/api opens");
    let v = next(&mut idle, Duration::from_secs(25)).await.expect("an error before the close");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("no session")), "{v}");
    assert_eq!(next(&mut idle, Duration::from_secs(5)).await, None, "then closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5_mb_api_create_is_refused_without_an_election() {
    let c = support::Cluster::start(3, 1700);
    let st = c.wait_converged(&[1, 2, 3], Duration::from_secs(30));
    assert_eq!(st.len(), 3, "the cluster serves");
    let leader = c.wait_leader(Duration::from_secs(10));
    let epoch = st[0]["status"]["current_epoch"].clone();
    let mut w = session("127.0.0.1", &c.http(leader), "").await;
    let big = vec![7u8; 5_000_000];
    let op = json!({"Write": {"Create": {"path": "/big", "data": big, "acl": [{"perms": 31, "id": {"scheme": "world", "id": "anyone"}}], "mode": "Persistent"}}});
    send(&mut w, json!({"xid": 1, "op": op})).await;
    let v = next(&mut w, Duration::from_secs(10)).await.expect("an answer");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("max_frame")), "{v}");
    assert_eq!(next(&mut w, Duration::from_secs(5)).await, None, "then the connection is closed");
    // The cluster carries on in the same epoch under the same leader.
    let mut ok = session("127.0.0.1", &c.http(leader), "").await;
    assert!(call(&mut ok, 1, support::create("/small", "x")).await["Write"]["Created"].is_object());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let st = c.wait_converged(&[1, 2, 3], Duration::from_secs(10));
    for s in &st {
        assert_eq!(s["status"]["current_epoch"], epoch, "no election: {s}");
        assert_eq!(s["status"]["leader"], json!(leader), "same leader: {s}");
    }
    // The supervisor refuses a foreign page too (and serves clients without an Origin).
    let resume = format!("/nodes/1/resume?token={}", support::TOKEN);
    assert_eq!(http_status(&c.supervisor(), "POST", &resume, "Origin: http://evil.example\r\n"), 403);
    assert_eq!(http_status(&c.supervisor(), "POST", &resume, ""), 200);
}
