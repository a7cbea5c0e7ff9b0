//! Serving the UI from the nodes (issue 9, "Serving"): `zabra cluster --ui-dir` makes every
//! node serve the built UI from its HTTP port, the pages of the members reach each other's
//! `/observe` and the supervisor's controls (CORS for those origins only), and foreign pages
//! are refused everywhere.

mod support;

use std::io::{Read, Write};
use std::time::Duration;
use support::*;

/// Port offset of this file's cluster (HTTP 9581-9583, supervisor 9580).
const OFFSET: u16 = 1500;

/// One request with an optional `Origin`; the status, the headers (lower-cased) and the body.
fn request(addr: &str, method: &str, path: &str, origin: Option<&str>, extra: &str) -> (u16, String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(3))).expect("timeout");
    let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{origin}{extra}Connection: close\r\nContent-Length: 0\r\n\r\n"
    )
    .expect("sent");
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    // A WebSocket upgrade stays open (and /observe streams): stop at its 101 header.
    while let Ok(n @ 1..) = s.read(&mut buf) {
        raw.extend_from_slice(&buf[..n]);
        if raw.starts_with(b"HTTP/1.1 101") && raw.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, head, raw.get(split + 4..).unwrap_or_default().to_vec())
}

const WS_UPGRADE: &str =
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

#[test]
fn nodes_serve_the_ui_and_member_pages_reach_observe_and_the_supervisor() {
    let ui = tempfile::tempdir().expect("tempdir");
    std::fs::write(ui.path().join("index.html"), "<!doctype html><p>zabra ui</p>").unwrap();
    std::fs::write(ui.path().join("zabra_www_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let c = Cluster::start_with(3, OFFSET, &["--ui-dir", ui.path().to_str().unwrap()]);
    c.wait_leader(Duration::from_secs(30));
    let page = format!("http://127.0.0.1:{}", 8081 + OFFSET);
    for id in 1..=3 {
        let (code, head, body) = request(&c.http(id), "GET", "/", None, "");
        assert_eq!(code, 200, "node {id} serves index.html at /");
        assert!(head.contains("content-type: text/html") && body.starts_with(b"<!doctype html>"), "{head}");
    }
    let (code, head, body) = request(&c.http(2), "GET", "/zabra_www_bg.wasm", None, "");
    assert!(code == 200 && head.contains("content-type: application/wasm") && body.starts_with(b"\0asm"), "{head}");
    assert_eq!(request(&c.http(1), "GET", "/missing.js", None, "").0, 404);
    assert_ne!(request(&c.http(1), "GET", "/../Cargo.toml", None, "").0, 200, "nothing outside the folder");
    let (_, _, cluster) = request(&c.http(3), "GET", "/cluster", None, "");
    let cluster: serde_json::Value = serde_json::from_slice(&cluster).expect("json");
    assert_eq!(cluster["supervisor"], format!("http://{}", c.supervisor()), "{cluster}");

    // A page served by node 1 watches node 3; a foreign page cannot.
    let observe = format!("/observe?token={TOKEN}");
    assert_eq!(request(&c.http(3), "GET", &observe, Some(&page), WS_UPGRADE).0, 101);
    assert_eq!(request(&c.http(3), "GET", &observe, Some("http://evil.example"), WS_UPGRADE).0, 403);

    // The supervisor: CORS for the members' pages, refused for others, the token still needed.
    let pause = format!("/nodes/3/pause?token={TOKEN}");
    let (code, head, _) = request(&c.supervisor(), "POST", &pause, Some(&page), "");
    assert_eq!(code, 200, "{head}");
    assert!(head.contains(&format!("access-control-allow-origin: {page}")), "{head}");
    let (_, _, nodes) = request(&c.supervisor(), "GET", "/nodes", Some(&page), "");
    assert!(String::from_utf8_lossy(&nodes).contains("\"3\":\"paused pid"), "{}", String::from_utf8_lossy(&nodes));
    let resume = format!("/nodes/3/resume?token={TOKEN}");
    assert_eq!(request(&c.supervisor(), "POST", &resume, Some("http://evil.example"), "").0, 403);
    assert_eq!(request(&c.supervisor(), "POST", "/nodes/3/resume?token=wrong", Some(&page), "").0, 401);
    assert_eq!(request(&c.supervisor(), "POST", &resume, Some(&page), "").0, 200);
    let (_, _, nodes) = request(&c.supervisor(), "GET", "/nodes", None, "");
    assert!(String::from_utf8_lossy(&nodes).contains("\"3\":\"running pid"));
}
