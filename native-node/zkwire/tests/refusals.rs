//! Requests ZooKeeper refuses or answers specially (§6, §7; `zk-wire/probe_ops.txt`), and
//! framing limits.

mod common;

use common::{hex, unhex};
use zabra_core::acl::{open_acl_unsafe, Id};
use zabra_core::datatree::{OpResult, Stat};
use zabra_core::peer::{ClientOp, ClientResult, SessionGrant};
use zabra_core::txn::{CreateMode, ErrorCode, Op};
use zabra_core::{SessionId, Zxid};
use zabra_zkwire::*;

/// A request payload: header, then raw body bytes.
fn rq(xid: i32, opcode: i32, body: &[u8]) -> Vec<u8> {
    let mut v = xid.to_be_bytes().to_vec();
    v.extend_from_slice(&opcode.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn s(x: &str) -> Vec<u8> {
    let mut v = (x.len() as i32).to_be_bytes().to_vec();
    v.extend_from_slice(x.as_bytes());
    v
}

fn i(x: i32) -> Vec<u8> {
    x.to_be_bytes().to_vec()
}

/// A CreateRequest body with the open ACL, data "d" and `flags` (+ ttl for op 21).
fn create_body(path: &str, flags: i32, ttl: Option<i64>) -> Vec<u8> {
    let mut v = s(path);
    v.extend(s("d"));
    v.extend(unhex("000000010000001f00000005776f726c6400000006616e796f6e65"));
    v.extend(i(flags));
    if let Some(t) = ttl {
        v.extend(t.to_be_bytes());
    }
    v
}

fn immediate(p: &[u8]) -> ClientResult {
    match decode_request(p).unwrap().body {
        RequestBody::Immediate(r) => r,
        other => panic!("not immediate: {other:?}"),
    }
}

#[test]
fn create_flags_and_ttl_checks() {
    let bad = ClientResult::Error(ErrorCode::BadArguments);
    assert_eq!(immediate(&rq(7, 1, &create_body("/x", 7, None))), bad);
    assert_eq!(immediate(&rq(7, 15, &create_body("/x", 5, None))), bad);
    assert_eq!(immediate(&rq(7, 21, &create_body("/x", 5, Some(0)))), bad);
    assert_eq!(immediate(&rq(7, 21, &create_body("/x", 0, Some(100)))), bad);
    assert_eq!(immediate(&rq(7, 19, &create_body("/x", 0, None))), bad);
    let r = decode_request(&rq(7, 21, &create_body("/x", 6, Some(100)))).unwrap();
    let mode = CreateMode::PersistentSequentialWithTtl { ttl_ms: 100 };
    let want = Op::Create { path: "/x".into(), data: "d".into(), acl: open_acl_unsafe(), mode };
    assert_eq!((r.body, r.kind), (RequestBody::Op(ClientOp::Write(want)), ReplyKind::Create2));
    let r = decode_request(&rq(7, 19, &create_body("/c", 4, None))).unwrap();
    assert!(matches!(r.body, RequestBody::Op(ClientOp::Write(Op::Create { mode: CreateMode::Container, .. }))));
}

#[test]
fn create2_reply_from_probe() {
    let st = Stat {
        czxid: Zxid::from_u64(0xc8),
        mzxid: Zxid::from_u64(0xc8),
        ctime: 0x1a211af0cc3,
        mtime: 0x1a211af0cc3,
        ephemeral_owner: 0x01000005f47a000b,
        pzxid: Zxid::from_u64(0xc8),
        ..Stat::default()
    };
    let res = ClientResult::Write(OpResult::Created { path: "/eph".into(), stat: st });
    let got = encode_reply(13, Zxid::from_u64(0xc8), &ReplyKind::Create2, &res);
    let want = "0000000d00000000000000c800000000000000042f65706800000000000000c800000000000000c8000001a211af0cc3000001a211af0cc300000000000000000000000001000005f47a000b000000000000000000000000000000c8";
    assert_eq!(hex(&got[4..]), want);
}

#[test]
fn multi_refusals() {
    // multi mixing create and getData; multiRead holding a create: MARSHALLINGERROR.
    let mut body = unhex("0000000100ffffffff");
    body.extend(create_body("/x", 0, None));
    body.extend(unhex("0000000400ffffffff"));
    body.extend(s("/x"));
    body.push(0);
    body.extend(unhex("ffffffff01ffffffff"));
    assert_eq!(immediate(&rq(29, 14, &body)), ClientResult::Error(ErrorCode::MarshallingError));
    assert_eq!(immediate(&rq(30, 22, &body)), ClientResult::Error(ErrorCode::MarshallingError));
    // A sub-op failing the flag check fails the whole multi with per-op results.
    let mut body = unhex("0000000200ffffffff");
    body.extend(s("/a"));
    body.extend(i(-1));
    body.extend(unhex("0000000100ffffffff"));
    body.extend(create_body("/x", 9, None));
    body.extend(unhex("0000000d00ffffffff"));
    body.extend(s("/a"));
    body.extend(i(1));
    body.extend(unhex("ffffffff01ffffffff"));
    let results = vec![
        OpResult::RolledBack,
        OpResult::Error(ErrorCode::BadArguments),
        OpResult::Error(ErrorCode::RuntimeInconsistency),
    ];
    let r = decode_request(&rq(3, 14, &body)).unwrap();
    assert_eq!(r.body, RequestBody::Immediate(ClientResult::Write(OpResult::Multi(results))));
    assert_eq!(r.kind, ReplyKind::Multi(vec![2, 1, 13]));
}

#[test]
fn empty_multi() {
    let r = decode_request(&rq(28, 14, &unhex("ffffffff01ffffffff"))).unwrap();
    assert_eq!(r.body, RequestBody::Op(ClientOp::Write(Op::Multi(vec![]))));
    let res = ClientResult::Write(OpResult::Multi(vec![]));
    let got = encode_reply(28, Zxid::from_u64(0xd4), &r.kind, &res);
    assert_eq!(hex(&got[4..]), "0000001c00000000000000d400000000ffffffff01ffffffff");
}

#[test]
fn unimplemented_ops_close() {
    for opcode in [99, 13, 20, 102, -10] {
        let r = decode_request(&rq(1, opcode, &unhex("000000022f6100000001"))).unwrap();
        assert_eq!(r.body, RequestBody::Unimplemented, "op {opcode}");
    }
    assert_eq!(hex(&encode_unimplemented(1)), "0000001000000001fffffffffffffffffffffffa");
    let r = decode_request(&rq(38, 16, &[])).unwrap();
    assert_eq!(r.body, RequestBody::Immediate(ClientResult::Error(ErrorCode::ReconfigDisabled)));
}

#[test]
fn watch_ops() {
    let mut body = s("/w");
    body.extend(i(7));
    assert_eq!(immediate(&rq(36, 106, &body)), ClientResult::Error(ErrorCode::MarshallingError));
    assert_eq!(immediate(&rq(36, 18, &body)), ClientResult::Error(ErrorCode::MarshallingError));
    let mut body = s("/w");
    body.extend(i(3));
    let r = decode_request(&rq(5, 17, &body)).unwrap();
    let kind = zabra_core::watch::WatcherType::Any;
    assert_eq!(r.body, RequestBody::Op(ClientOp::CheckWatches { path: "/w".into(), kind }));
    let nw = ClientResult::Error(ErrorCode::NoWatcher);
    assert_eq!(hex(&encode_reply(5, Zxid::from_u64(1), &r.kind, &nw)[4..]), "000000050000000000000001ffffff87");
    // C client setWatches with xid -8, empty lists.
    let r = decode_request(&rq(-8, 101, &unhex("00000000000000d5000000000000000000000000"))).unwrap();
    let got = encode_reply(r.xid, Zxid::from_u64(0xd5), &r.kind, &ClientResult::Ok);
    assert_eq!(hex(&got[4..]), "fffffff800000000000000d500000000");
}

#[test]
fn extras_from_probe() {
    // getEphemerals with a null prefix; the reply.
    let r = decode_request(&rq(34, 103, &i(-1))).unwrap();
    assert_eq!(r.body, RequestBody::Op(ClientOp::GetEphemerals { prefix: String::new() }));
    let res = ClientResult::Paths(vec!["/eph".into()]);
    let got = encode_reply(34, Zxid::from_u64(0xd5), &r.kind, &res);
    assert_eq!(hex(&got[4..]), "0000002200000000000000d50000000000000001000000042f657068");
    let r = decode_request(&rq(32, 104, &s("/"))).unwrap();
    let got = encode_reply(32, Zxid::from_u64(0xd5), &r.kind, &ClientResult::Count(6));
    assert_eq!(hex(&got[4..]), "0000002000000000000000d50000000000000006");
    let r = decode_request(&rq(35, 107, &[])).unwrap();
    let ids = vec![Id::new("ip", "127.0.0.1"), Id::new("digest", "u:hash=")];
    let got = encode_reply(35, Zxid::from_u64(0xd5), &r.kind, &ClientResult::Identities(ids[..1].to_vec()));
    assert_eq!(hex(&got[4..]), "0000002300000000000000d50000000000000001000000026970000000093132372e302e302e31");
    let got = encode_reply(35, Zxid::from_u64(0xd5), &r.kind, &ClientResult::Identities(ids));
    assert!(hex(&got).ends_with(&hex(&[s("digest"), s("u")].concat())));
    // sync echoes its path.
    let r = decode_request(&rq(22, 9, &s("/does/not/exist"))).unwrap();
    let got = encode_reply(22, Zxid::from_u64(0xcf), &r.kind, &ClientResult::Synced);
    assert_eq!(hex(&got[4..]), "0000001600000000000000cf000000000000000f2f646f65732f6e6f742f6578697374");
}

#[test]
fn connect_without_read_only_byte() {
    let mut p = unhex("00000000000000000000000000000fa00000000000000000");
    p.extend(unhex("00000010"));
    p.extend([0u8; 16]);
    let c = decode_connect(&p).unwrap();
    assert_eq!((c.read_only, c.timeout_ms), (None, 4000));
    let grant = SessionGrant {
        session: SessionId(0x01000005f47a0008),
        timeout_ms: 10000,
        password: unhex("6dbdf514d104177a7c1de0179fb5c9f3"),
    };
    let got = encode_connect_response(Some(&grant), &c, false);
    assert_eq!(hex(&got[4..]), "000000000000271001000005f47a0008000000106dbdf514d104177a7c1de0179fb5c9f3");
    // A read-only server says so to a client that accepts it.
    p.push(1);
    let c = decode_connect(&p).unwrap();
    assert!(c.accepts_read_only());
    assert_eq!(*encode_connect_response(Some(&grant), &c, true).last().unwrap(), 1);
}

#[test]
fn frame_limits() {
    let mut fr = FrameReader::new();
    fr.push(&(-1i32).to_be_bytes());
    assert!(fr.next_item().is_err());
    let mut fr = FrameReader::new();
    fr.push(&0x100000i32.to_be_bytes());
    assert_eq!(fr.next_item(), Err(FrameError::BadLength { len: 0x100000, max: DEFAULT_MAX_FRAME }));
    let mut fr = FrameReader::new();
    fr.push(&0xFFFFFi32.to_be_bytes());
    assert_eq!(fr.next_item(), Ok(None));
    let mut fr = FrameReader::with_max(10);
    fr.push(&11i32.to_be_bytes());
    assert!(fr.next_item().is_err());
    // An unknown word is a length, far above the limit (ZooKeeper closes: ✔wire with xxxx).
    let mut fr = FrameReader::new();
    fr.push(b"xxxx");
    assert!(fr.next_item().is_err());
    // A four-letter word only counts as the first bytes of a connection.
    let mut fr = FrameReader::new();
    fr.push(&[0, 0, 0, 1, 9]);
    fr.push(b"ruok");
    assert_eq!(fr.next_item(), Ok(Some(Incoming::Frame(vec![9]))));
    assert!(fr.next_item().is_err());
    // stmk carries an 8-byte mask.
    let mut fr = FrameReader::new();
    fr.push(b"stmk");
    assert_eq!(fr.next_item(), Ok(None));
    fr.push(&306i64.to_be_bytes());
    assert_eq!(fr.next_item(), Ok(Some(Incoming::FourLetter(FourLetter::Stmk, Some(306)))));
    // Empty frames are frames (a request decoder then refuses them).
    let mut fr = FrameReader::new();
    fr.push(&[0, 0, 0, 0]);
    assert_eq!(fr.next_item(), Ok(Some(Incoming::Frame(vec![]))));
    assert_eq!(decode_request(&[]), Err(DecodeError::ShortHeader { len: 0 }));
}
