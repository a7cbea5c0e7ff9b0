//! Every test vector of §20 of the wire reference, byte for byte, both directions.

mod common;

use common::{hex, payload, stat, unhex};
use zabra_core::acl::open_acl_unsafe;
use zabra_core::datatree::{Data, OpResult, Stat};
use zabra_core::peer::{ClientOp, ClientResult, SessionGrant};
use zabra_core::txn::{CreateMode, ErrorCode, Op};
use zabra_core::watch::{AddWatchMode, EventType, WatchedEvent};
use zabra_core::{SessionId, Zxid};
use zabra_zkwire::*;

const CONNECT_REQ: &str =
    "0000002d000000000000000000000000000027100000000000000000000000100000000000000000000000000000000000";
const CONNECT_RESP: &str = "00000025000000000000271001000005f47a000000000010d4b42415d1a71c53d205a6bc026f258b00";
const RECONNECT_REQ: &str =
    "0000002d0000000000000000000000af0000271001000005f47a0007000000100d181315b18aba21b2cedb3e7d0963f200";
const EXPIRED_RESP: &str = "0000002500000000000000000000000000000000000000100000000000000000000000000000000000";
const CREATE_REQ: &str =
    "000000320000000100000001000000022f610000000178000000010000001f00000005776f726c6400000006616e796f6e6500000000";
const GETDATA_RESP: &str = "0000005900000003000000000000000300000000000000017800000000000000020000000000000002000001a211ab1987000001a211ab1987000000000000000000000000000000000000000000000001000000000000000000000002";
const MULTI_REQ: &str = "00000086000000140000000e0000000100ffffffff000000032f74310000000131000000010000001f00000005776f726c6400000006616e796f6e65000000000000000d00ffffffff000000022f61000000020000000500ffffffff000000022f61000000027478ffffffff0000000200ffffffff000000042f612f63ffffffffffffffff01ffffffff";
const MULTI_OK_RESP: &str = "0000008800000014000000000000000c00000000000000010000000000000000032f74310000000d00000000000000000500000000000000000000000002000000000000000c000001a211ab1987000001a211ab19bb000000030000000300000000000000000000000000000002000000030000000000000008000000020000000000ffffffff01ffffffff";
const MULTI_FAIL_RESP: &str = "0000004000000015000000000000000d00000000ffffffff000000000000000000ffffffff00ffffff99ffffff99ffffffff00fffffffefffffffeffffffff01ffffffff";
const SETWATCHES2_REQ: &str = "000000500000000a0000006900000000000000af00000001000000032f6a77000000010000000b2f6a772d6d697373696e6700000001000000032f6a7700000001000000032f6a7700000001000000042f6a7772";

fn z(v: u64) -> Zxid {
    Zxid::from_u64(v)
}

fn req(framed: &str) -> Request {
    // Through the frame reader too, in two pieces.
    let bytes = unhex(framed);
    let mut fr = FrameReader::new();
    let (a, b) = bytes.split_at(bytes.len() / 2);
    fr.push(a);
    assert_eq!(fr.next_item().unwrap(), None);
    fr.push(b);
    let Some(Incoming::Frame(p)) = fr.next_item().unwrap() else { panic!("no frame") };
    assert_eq!(p, payload(framed));
    decode_request(&p).expect("decodes")
}

fn op(r: &Request) -> &ClientOp {
    match &r.body {
        RequestBody::Op(o) => o,
        other => panic!("not an op: {other:?}"),
    }
}

#[test]
fn handshake_new_session() {
    let c = decode_connect(&payload(CONNECT_REQ)).unwrap();
    let want = WireConnect {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 10000,
        session_id: 0,
        password: vec![0; 16],
        read_only: Some(false),
    };
    assert_eq!(c, want);
    let core = c.to_core(Some("127.0.0.1".into()));
    assert_eq!((core.session, core.timeout_ms, core.last_zxid_seen), (None, 10000, Zxid::ZERO));
    let grant = SessionGrant {
        session: SessionId(0x01000005f47a0000),
        timeout_ms: 10000,
        password: unhex("d4b42415d1a71c53d205a6bc026f258b"),
    };
    assert_eq!(hex(&encode_connect_response(Some(&grant), &c, false)), CONNECT_RESP);
}

#[test]
fn handshake_reattach_and_expired() {
    let c = decode_connect(&payload(RECONNECT_REQ)).unwrap();
    assert_eq!((c.last_zxid_seen, c.timeout_ms, c.session_id), (0xaf, 10000, 0x01000005f47a0007));
    let core = c.to_core(None);
    let pw = unhex("0d181315b18aba21b2cedb3e7d0963f2");
    assert_eq!(core.session, Some((SessionId(0x01000005f47a0007), pw)));
    assert_eq!(core.last_zxid_seen, z(0xaf));
    assert_eq!(hex(&encode_connect_response(None, &c, false)), EXPIRED_RESP);
}

#[test]
fn create_and_its_replies() {
    let r = req(CREATE_REQ);
    assert_eq!((r.xid, r.opcode, &r.kind), (1, 1, &ReplyKind::Create));
    let want = Op::Create { path: "/a".into(), data: "x".into(), acl: open_acl_unsafe(), mode: CreateMode::Persistent };
    assert_eq!(op(&r), &ClientOp::Write(want));
    let created = ClientResult::Write(OpResult::Created { path: "/a".into(), stat: Stat::default() });
    assert_eq!(hex(&encode_reply(1, z(2), &r.kind, &created)), "0000001600000001000000000000000200000000000000022f61");
    let exists = ClientResult::Write(OpResult::Error(ErrorCode::NodeExists));
    assert_eq!(hex(&encode_reply(2, z(3), &r.kind, &exists)), "00000010000000020000000000000003ffffff92");
}

#[test]
fn sequential_ephemeral_create() {
    let r = req("000000340000000900000001000000052f612f732d00000000000000010000001f00000005776f726c6400000006616e796f6e6500000003");
    let want = Op::Create {
        path: "/a/s-".into(),
        data: Data::empty(),
        acl: open_acl_unsafe(),
        mode: CreateMode::EphemeralSequential,
    };
    assert_eq!(op(&r), &ClientOp::Write(want));
    let res = ClientResult::Write(OpResult::Created { path: "/a/s-0000000000".into(), stat: Stat::default() });
    let want = "00000023000000090000000000000006000000000000000f2f612f732d30303030303030303030";
    assert_eq!(hex(&encode_reply(9, z(6), &r.kind, &res)), want);
}

#[test]
fn get_data_with_stat() {
    let r = req("0000000f0000000300000004000000022f6100");
    assert_eq!(op(&r), &ClientOp::GetData { path: "/a".into(), watch: false });
    let st = stat([2, 2, 0x1a211ab1987, 0x1a211ab1987, 0, 0, 0, 0, 1, 0, 2]);
    let res = ClientResult::Data { data: "x".into(), stat: st };
    assert_eq!(hex(&encode_reply(3, z(3), &r.kind, &res)), GETDATA_RESP);
}

#[test]
fn exists_watch_on_missing_node() {
    let r = req("000000120000000600000003000000052f6e6f706501");
    assert_eq!(op(&r), &ClientOp::Exists { path: "/nope".into(), watch: true });
    let want = "00000010000000060000000000000003ffffff9b";
    assert_eq!(hex(&encode_reply(6, z(3), &r.kind, &ClientResult::Exists(None))), want);
    assert_eq!(hex(&encode_reply(6, z(3), &r.kind, &ClientResult::Error(ErrorCode::NoNode))), want);
}

#[test]
fn get_children_with_watch() {
    let r = req("0000000f0000000b00000008000000022f6101");
    assert_eq!(op(&r), &ClientOp::GetChildren { path: "/a".into(), watch: true });
    assert_eq!(r.kind, ReplyKind::GetChildren);
    let children = vec!["s-0000000001".to_string(), "s-0000000000".to_string()];
    let res = ClientResult::Children { children, stat: Stat::default() };
    let want = "000000340000000b000000000000000700000000000000020000000c732d303030303030303030310000000c732d30303030303030303030";
    assert_eq!(hex(&encode_reply(11, z(7), &r.kind, &res)), want);
}

#[test]
fn ping() {
    let r = req("00000008fffffffe0000000b");
    assert_eq!((r.xid, op(&r)), (-2, &ClientOp::Ping));
    let want = "00000010fffffffe000000000000001000000000";
    assert_eq!(hex(&encode_reply(-2, z(0x10), &r.kind, &ClientResult::Ok)), want);
    // ZooKeeper answers -2 whatever xid the ping had (probe: "ping with xid 77").
    assert_eq!(hex(&encode_reply(77, z(0x10), &r.kind, &ClientResult::Ok)), want);
}

#[test]
fn watch_notification() {
    let ev = WatchedEvent { kind: EventType::NodeChildrenChanged, path: "/a".into() };
    let want = "0000001effffffffffffffffffffffff000000000000000400000003000000022f61";
    assert_eq!(hex(&encode_watch_event(&ev, None)), want);
    let with_zxid = encode_watch_event(&ev, Some(z(0x1f)));
    assert_eq!(hex(&with_zxid[8..16]), "000000000000001f");
}

#[test]
fn digest_auth() {
    let r = req("00000023fffffffc00000064000000000000000664696765737400000009757365723a70617373");
    assert_eq!(op(&r), &ClientOp::AddAuth { scheme: "digest".into(), auth: b"user:pass".to_vec() });
    assert_eq!(r.kind, ReplyKind::Auth);
    let ok = encode_reply(-4, z(0x55), &r.kind, &ClientResult::Ok);
    assert_eq!(hex(&ok), "00000010fffffffc000000000000000000000000");
    let failed = ClientResult::Error(ErrorCode::AuthFailed);
    assert_eq!(hex(&encode_reply(-4, z(0x55), &r.kind, &failed)), "00000010fffffffc0000000000000000ffffff8d");
    assert_eq!(r.kind.disposition(&failed), Disposition::SendAndClose);
    assert_eq!(r.kind.disposition(&ClientResult::Ok), Disposition::Send);
    let moved = ClientResult::Error(ErrorCode::SessionMoved);
    assert_eq!(ReplyKind::GetData.disposition(&moved), Disposition::CloseSilently);
}

#[test]
fn multi_request_and_success() {
    let r = req(MULTI_REQ);
    let want = vec![
        Op::Create { path: "/t1".into(), data: "1".into(), acl: open_acl_unsafe(), mode: CreateMode::Persistent },
        Op::Check { path: "/a".into(), version: 2 },
        Op::SetData { path: "/a".into(), data: "tx".into(), version: -1 },
        Op::Delete { path: "/a/c".into(), version: -1 },
    ];
    assert_eq!(op(&r), &ClientOp::Write(Op::Multi(want)));
    assert_eq!(r.kind, ReplyKind::Multi(vec![1, 13, 5, 2]));
    let st = stat([2, 0xc, 0x1a211ab1987, 0x1a211ab19bb, 3, 3, 0, 0, 2, 3, 8]);
    let results = vec![
        OpResult::Created { path: "/t1".into(), stat: Stat::default() },
        OpResult::Checked,
        OpResult::SetData { stat: st },
        OpResult::Deleted,
    ];
    let res = ClientResult::Write(OpResult::Multi(results));
    assert_eq!(hex(&encode_reply(20, z(0xc), &r.kind, &res)), MULTI_OK_RESP);
}

#[test]
fn failed_multi() {
    let kind = ReplyKind::Multi(vec![1, 13, 1]);
    let results = vec![
        OpResult::RolledBack,
        OpResult::Error(ErrorCode::BadVersion),
        OpResult::Error(ErrorCode::RuntimeInconsistency),
    ];
    let res = ClientResult::Write(OpResult::Multi(results));
    assert_eq!(hex(&encode_reply(21, z(0xd), &kind, &res)), MULTI_FAIL_RESP);
}

#[test]
fn close_session() {
    let r = req("0000000800000029fffffff5");
    assert_eq!((r.xid, op(&r)), (41, &ClientOp::Write(Op::CloseSession)));
    let res = ClientResult::Write(OpResult::SessionClosed);
    assert_eq!(hex(&encode_reply(41, z(0x1d), &r.kind, &res)), "0000001000000029000000000000001d00000000");
    assert_eq!(r.kind.disposition(&res), Disposition::SendAndClose);
}

#[test]
fn add_watch_has_a_body() {
    let r = req("00000013000000060000006a000000032f6a7700000000");
    assert_eq!(op(&r), &ClientOp::AddWatch { path: "/jw".into(), mode: AddWatchMode::Persistent });
    let want = "000000140000000600000000000000af0000000000000000";
    assert_eq!(hex(&encode_reply(6, z(0xaf), &r.kind, &ClientResult::Ok)), want);
}

#[test]
fn set_watches2() {
    let r = req(SETWATCHES2_REQ);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let want = ClientOp::SetWatches {
        relative_zxid: z(0xaf),
        data: s(&["/jw"]),
        exist: s(&["/jw-missing"]),
        child: s(&["/jw"]),
        persistent: s(&["/jw"]),
        recursive: s(&["/jwr"]),
    };
    assert_eq!((r.xid, op(&r)), (10, &want));
    assert_eq!(hex(&encode_reply(10, z(0xaf), &r.kind, &ClientResult::Ok)), "000000100000000a00000000000000af00000000");
}

#[test]
fn four_letter_word() {
    let mut fr = FrameReader::new();
    fr.push(b"ruok");
    assert_eq!(fr.next_item().unwrap(), Some(Incoming::FourLetter(FourLetter::Ruok, None)));
    let info = FourLetterInfo::default();
    assert_eq!(render_four_letter(FourLetter::Ruok, &info), "imok");
}

/// Null data (a -1 buffer, as kazoo sends `create(path, None)`) stays null: create and
/// setData decode it as null, and getData answers with a -1 buffer and dataLength 0, as
/// ZooKeeper does (kazoo's `test_create_null_data`, `test_set_null_data`). Empty data stays
/// a 0-length buffer.
#[test]
fn null_data_round_trips() {
    let create = req(
        "000000310000000100000001000000022f6effffffff000000010000001f00000005776f726c6400000006616e796f6e6500000000",
    );
    let want = Op::Create { path: "/n".into(), data: Data::NULL, acl: open_acl_unsafe(), mode: CreateMode::Persistent };
    assert_eq!(op(&create), &ClientOp::Write(want));
    let set = req("000000160000000200000005000000022f6effffffffffffffff");
    assert_eq!(op(&set), &ClientOp::Write(Op::SetData { path: "/n".into(), data: Data::NULL, version: -1 }));

    let get = req("0000000f0000000300000004000000022f6e00");
    let null = ClientResult::Data { data: Data::NULL, stat: Stat::default() };
    let want = format!("00000058000000030000000000000003{}ffffffff{}", "00000000", "00".repeat(68));
    assert_eq!(hex(&encode_reply(3, z(3), &get.kind, &null)), want);
    let empty = ClientResult::Data { data: Data::empty(), stat: Stat::default() };
    let want = format!("00000058000000030000000000000003{}00000000{}", "00000000", "00".repeat(68));
    assert_eq!(hex(&encode_reply(3, z(3), &get.kind, &empty)), want);
}
