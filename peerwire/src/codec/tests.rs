use super::*;
use crate::chunk::{frames, Reassembler};
use std::collections::BTreeSet;
use zabra_core::acl::{open_acl_unsafe, Id};
use zabra_core::datatree::DataTree;
use zabra_core::log::{Entry, Origin};
use zabra_core::message::{Message, MsgId, MsgKind, ServerState, Snapshot, Vote};
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Sid, Zxid};

const OWNER: SessionId = SessionId(0xdead_beef_0000_0001);

fn txn(op: Op) -> Txn {
    Txn { session: OWNER, time_ms: 1_700_000_000_123, auth: vec![Id::new("digest", "u:x")], op }
}

fn entry(counter: u32, op: Op) -> Entry {
    let origin = Some(Origin { sid: Sid(2), session: OWNER, xid: -7 });
    Entry { zxid: Zxid::new(0xffff_fffe, counter), txn: txn(op).into(), origin }
}

/// A tree with a session, an ephemeral, binary data and a sequential child.
fn tree() -> DataTree {
    let mut t = DataTree::new();
    t.apply(Zxid::new(1, 1), &txn(Op::CreateSession { timeout_ms: 30_000, password: vec![0, 255, 7] }));
    t.apply(Zxid::new(1, 2), &txn(Op::create("/a", &[0, 1, 2, 255], CreateMode::Persistent)));
    t.apply(Zxid::new(1, 3), &txn(Op::create("/a/e", b"eph", CreateMode::Ephemeral)));
    t.apply(Zxid::new(1, 4), &txn(Op::create("/a/s-", b"", CreateMode::PersistentSequential)));
    assert_eq!(t.node_count(), 7);
    t
}

fn one_of_each() -> Vec<Message> {
    let z = Zxid::new(3, 9);
    let vote = Vote { leader: Sid(3), zxid: z, peer_epoch: 3 };
    let create = Op::create("/x", &[1; 300], CreateMode::PersistentWithTtl { ttl_ms: 5_000 });
    let multi = Op::Multi(vec![
        Op::Check { path: "/x".into(), version: -1 },
        Op::SetData { path: "/x".into(), data: zabra_core::datatree::Data::empty(), version: 2 },
        Op::SetData { path: "/x".into(), data: zabra_core::datatree::Data::NULL, version: 3 },
        Op::Delete { path: "/y".into(), version: 0 },
    ]);
    let entries = vec![entry(1, create.clone()), entry(2, multi.clone()), entry(3, Op::CloseSession)];
    vec![
        Message::Notification { state: ServerState::Looking, vote, round: u64::MAX },
        Message::FollowerInfo { accepted_epoch: 3, last_zxid: z },
        Message::ObserverInfo { accepted_epoch: 0, last_zxid: Zxid::ZERO },
        Message::LeaderInfo { epoch: u32::MAX },
        Message::AckEpoch { epoch: 3, current_epoch: 2, last_zxid: z, counted: false },
        Message::Diff { epoch: 3, entries: entries.clone() },
        Message::Trunc { epoch: 3, to: z, entries: entries.clone() },
        Message::Snap { epoch: 3, snapshot: Box::new(Snapshot { zxid: Zxid::new(1, 4), tree: tree() }), entries },
        Message::NewLeader { epoch: 3, zxid: z },
        Message::AckNewLeader { epoch: 3 },
        Message::UpToDate { epoch: 3, committed: z },
        Message::Proposal { epoch: 3, entry: entry(4, Op::DeleteContainer { path: "/c".into() }) },
        Message::Ack { epoch: 3, zxid: z },
        Message::Commit { epoch: 3, zxid: z },
        Message::Inform {
            epoch: 3,
            entry: entry(5, Op::SetAcl { path: "/x".into(), acl: open_acl_unsafe(), version: 1 }),
        },
        Message::Ping { epoch: u32::MAX, round: 17 },
        Message::PingAck { epoch: 3, round: 17, sessions: vec![OWNER, SessionId(u64::MAX)] },
        Message::Request { epoch: 3, session: OWNER, xid: i64::MIN, op: multi, auth: vec![Id::new("ip", "127.0.0.1")] },
        Message::Sync { epoch: 3, session: OWNER, xid: 1 },
        Message::SyncReply { epoch: 3, session: OWNER, xid: 1, zxid: z },
    ]
}

#[test]
fn every_message_variant_round_trips() {
    let msgs = one_of_each();
    let kinds: BTreeSet<MsgKind> = msgs.iter().map(Message::kind).collect();
    assert_eq!(kinds, MsgKind::ALL.into_iter().collect(), "one of each kind");
    for (seq, msg) in msgs.into_iter().enumerate() {
        let env = Envelope { id: MsgId { from: Sid(254), seq: seq as u64 * 1_000_003 }, msg };
        let bytes = encode(&env).unwrap();
        assert_eq!(decode(&bytes).unwrap(), env, "{:?}", env.msg.kind());
        // And through the chunker, one message per reassembly.
        let mut r = Reassembler::new(usize::MAX);
        let out: Vec<Vec<u8>> = frames(&bytes).iter().filter_map(|f| r.push(f).unwrap()).collect();
        assert_eq!(out, vec![bytes]);
    }
}

#[test]
fn znode_data_travels_as_bytes() {
    let data = vec![0xabu8; 100_000];
    let op = Op::create("/big", &data, CreateMode::Persistent);
    let env = Envelope { id: MsgId { from: Sid(1), seq: 1 }, msg: Message::Proposal { epoch: 1, entry: entry(1, op) } };
    let n = encode(&env).unwrap().len();
    assert!(n < data.len() + 200, "{n} bytes for {} bytes of data", data.len());
}

#[test]
fn large_snapshot_crosses_many_chunks() {
    let mut t = tree();
    for i in 0..3_000u32 {
        let op = Op::create(&format!("/a/n{i:05}"), &[i as u8; 1000], CreateMode::Persistent);
        t.apply(Zxid::new(2, i + 1), &txn(op));
    }
    let snap = Snapshot { zxid: Zxid::new(2, 3_000), tree: t };
    let env = Envelope {
        id: MsgId { from: Sid(1), seq: 2 },
        msg: Message::Snap { epoch: 1, snapshot: Box::new(snap), entries: vec![] },
    };
    let bytes = encode(&env).unwrap();
    let chunks = frames(&bytes);
    assert!(chunks.len() >= 3, "{} bytes in {} chunks", bytes.len(), chunks.len());
    let mut r = Reassembler::new(bytes.len());
    let whole: Vec<Vec<u8>> = chunks.iter().filter_map(|f| r.push(f).unwrap()).collect();
    assert_eq!(decode(&whole[0]).unwrap(), env);
    assert!(matches!(Reassembler::new(bytes.len() - 1).push(&chunks[0]), Err(WireError::Oversize { .. })));
}

#[test]
fn malformed_bytes_are_refused() {
    let env = Envelope { id: MsgId { from: Sid(1), seq: 1 }, msg: Message::Ping { epoch: 1, round: 1 } };
    let mut bytes = encode(&env).unwrap();
    assert!(matches!(decode(&bytes[..bytes.len() - 1]), Err(WireError::Malformed(_))), "truncated");
    bytes.push(0);
    assert!(matches!(decode(&bytes), Err(WireError::Malformed(_))), "trailing byte");
    assert!(matches!(decode(&[0x01, 0x01, 0xff]), Err(WireError::Malformed(_))), "unknown variant");
    assert!(matches!(decode(&[]), Err(WireError::Malformed(_))), "empty");
    // JSON, as an old peer would send it, is not an envelope here.
    let json = serde_json::to_vec(&env).unwrap();
    assert!(decode(&json).is_err());
}

#[test]
fn a_snapshot_whose_digest_disagrees_is_refused() {
    let snap = Snapshot { zxid: Zxid::new(1, 4), tree: tree() };
    let env = Envelope {
        id: MsgId { from: Sid(1), seq: 1 },
        msg: Message::Snap { epoch: 1, snapshot: Box::new(snap), entries: vec![] },
    };
    let mut bytes = encode(&env).unwrap();
    // Flip a byte of the binary data of `/a` (0, 1, 2, 255), keeping every length intact.
    let at = bytes.windows(4).position(|w| w == [0, 1, 2, 255]).expect("the data is in the bytes");
    bytes[at + 1] = 9;
    // (postcard keeps no text of a custom serde error, so the cause reads as "malformed".)
    assert!(matches!(decode(&bytes), Err(WireError::Malformed(_))));
}

#[test]
fn ids_are_integers_in_binary_and_hex_strings_in_json() {
    let z = Zxid::new(0x10, 2);
    assert_eq!(crate::codec::to_bytes(&z).unwrap(), postcard::to_allocvec(&z.as_u64()).unwrap());
    assert_eq!(crate::codec::to_bytes(&OWNER).unwrap(), postcard::to_allocvec(&OWNER.0).unwrap());
    assert_eq!(serde_json::to_string(&z).unwrap(), "\"1000000002\"");
    assert_eq!(serde_json::to_string(&OWNER).unwrap(), "\"deadbeef00000001\"");
    let op = Op::create("/d", &[1, 2], CreateMode::Persistent);
    assert!(serde_json::to_string(&op).unwrap().contains("\"data\":[1,2]"), "JSON keeps number arrays");
}

/// The envelope of a Request whose op is `depth` Multis, each holding the next (built as bytes:
/// building the value itself would recurse as deep to drop it).
fn nested_multi_request(depth: usize) -> Vec<u8> {
    let msg = Message::Request { epoch: 1, session: OWNER, xid: 1, op: Op::Multi(Vec::new()), auth: Vec::new() };
    let flat = encode(&Envelope { id: MsgId { from: Sid(2), seq: 1 }, msg }).unwrap();
    // ... ‖ Multi's tag ‖ 0 (no ops) ‖ 0 (no auth ids)
    let tag = flat[flat.len() - 3];
    let mut out = flat[..flat.len() - 3].to_vec();
    for _ in 0..depth {
        out.extend_from_slice(&[tag, 1]);
    }
    out.extend_from_slice(&[tag, 0, 0]);
    out
}

/// Found while fuzzing the peer wire (by a directed input: the fuzz target's 4 KB inputs do
/// not nest deep enough): serde recursion has no depth limit in postcard, so an envelope
/// nesting Multi inside Multi 200000 times (400 KB, well under the 512 MiB message cap)
/// overflowed the stack of the thread decoding it, aborting the whole node. It must be
/// refused as malformed, on a thread with the 2 MiB stack of a tokio worker.
#[test]
fn deeply_nested_multis_are_refused_not_a_stack_overflow() {
    let shallow = nested_multi_request(3);
    let env = decode(&shallow).expect("a multi in a multi decodes");
    assert!(matches!(env.msg, Message::Request { op: Op::Multi(_), .. }));
    let deep = nested_multi_request(200_000);
    let result = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || decode(&deep).map(|_| ()))
        .unwrap()
        .join()
        .expect("no stack overflow");
    assert!(matches!(result, Err(WireError::Malformed(_))), "{result:?}");
}
