//! The real captures of `zk-wire/` (kazoo 2.11, zkCli and the Java client against
//! ZooKeeper 3.8.0): every client frame decodes, and every server frame is re-encoded byte
//! for byte from its decoded content and the request it answers.

mod common;

use common::{decode_reply, hex, Rec, R};
use std::collections::{BTreeMap, HashMap};
use zabra_core::peer::SessionGrant;
use zabra_core::watch::{EventType, WatchedEvent};
use zabra_core::{SessionId, Zxid};
use zabra_zkwire::*;

fn event_type(t: i32) -> EventType {
    match t {
        1 => EventType::NodeCreated,
        2 => EventType::NodeDeleted,
        3 => EventType::NodeDataChanged,
        _ => EventType::NodeChildrenChanged,
    }
}

/// Frames per connection and direction, re-read through a FrameReader fed in odd chunks.
fn reframe(frames: &[&Rec]) -> Vec<Vec<u8>> {
    let all: Vec<u8> = frames.iter().flat_map(|r| r.bytes.clone()).collect();
    let mut fr = FrameReader::new();
    let mut out = Vec::new();
    for (i, chunk) in all.chunks(7).enumerate() {
        fr.push(chunk);
        while let Some(item) = fr.next_item().expect("frames within limits") {
            match item {
                Incoming::Frame(p) => out.push(p),
                other => panic!("chunk {i}: unexpected {other:?}"),
            }
        }
    }
    assert_eq!(fr.buffered(), 0);
    out
}

struct Conn {
    connect: Option<WireConnect>,
    pending: HashMap<i32, Request>,
    checked: usize,
}

fn check_server_frame(c: &mut Conn, p: &[u8], first: bool) -> bool {
    let framed = frame(p);
    if first {
        let mut r = R(p);
        let (_pv, timeout, session, pw) = (r.i32(), r.i32(), r.i64(), r.buf());
        let req = c.connect.as_ref().expect("connect first");
        let grant = SessionGrant { session: SessionId(session as u64), timeout_ms: timeout as u32, password: pw };
        let got = encode_connect_response((timeout > 0).then_some(&grant), req, false);
        assert_eq!(hex(&got), hex(&framed), "connect response");
        return true;
    }
    let mut r = R(p);
    let (xid, zxid) = (r.i32(), r.i64());
    let got = match xid {
        -1 => {
            r.i32();
            let (t, _state, path) = (r.i32(), r.i32(), r.s());
            encode_watch_event(&WatchedEvent { kind: event_type(t), path }, None)
        }
        _ => {
            let Some(req) = c.pending.remove(&xid) else { return false };
            let (xid, zxid, result) = decode_reply(p, req.opcode, &req.kind);
            encode_reply(req.xid.max(xid), Zxid::from_u64(zxid as u64), &req.kind, &result)
        }
    };
    let _ = zxid;
    assert_eq!(hex(&got), hex(&framed), "reply xid {xid}");
    true
}

fn replay(name: &str) -> Option<(usize, usize)> {
    let recs = common::capture(name)?;
    let mut by_conn: BTreeMap<u64, Vec<&Rec>> = BTreeMap::new();
    for r in &recs {
        by_conn.entry(r.conn).or_default().push(r);
    }
    let (mut requests, mut replies) = (0, 0);
    for frames in by_conn.values() {
        let c2s: Vec<&Rec> = frames.iter().copied().filter(|r| r.c2s).collect();
        let mut conn = Conn { connect: None, pending: HashMap::new(), checked: 0 };
        // Replay in recorded order so that requests precede their replies.
        let (mut seen_c, mut seen_s) = (false, false);
        let reframed = reframe(&c2s);
        let mut next_c = reframed.into_iter();
        for rec in frames {
            if rec.c2s {
                let p = next_c.next().expect("reframed");
                assert_eq!(p, rec.bytes[4..]);
                if !seen_c {
                    conn.connect = Some(decode_connect(&p).expect("connect decodes"));
                    seen_c = true;
                    continue;
                }
                let req = decode_request(&p).unwrap_or_else(|e| panic!("{name}: {e}: {}", hex(&p)));
                assert!(matches!(req.body, RequestBody::Op(_)), "{name}: {req:?}");
                requests += 1;
                conn.pending.insert(req.xid, req);
            } else {
                let first = !seen_s;
                seen_s = true;
                if check_server_frame(&mut conn, &rec.bytes[4..], first) {
                    conn.checked += 1;
                }
            }
        }
        replies += conn.checked;
    }
    Some((requests, replies))
}

#[test]
fn kazoo_and_zkcli_capture() {
    let Some((req, rep)) = replay("real.jsonl") else {
        eprintln!("zk-wire/real.jsonl not found: skipped (set ZK_WIRE_DIR)");
        return;
    };
    eprintln!("real.jsonl: {req} requests decoded, {rep} server frames re-encoded");
    assert!(req > 300 && rep > 300, "{req} {rep}");
}

#[test]
fn java_client_capture() {
    let Some((req, rep)) = replay("java.jsonl") else {
        eprintln!("zk-wire/java.jsonl not found: skipped (set ZK_WIRE_DIR)");
        return;
    };
    eprintln!("java.jsonl: {req} requests decoded, {rep} server frames re-encoded");
    assert!(req > 200 && rep > 200, "{req} {rep}");
}
