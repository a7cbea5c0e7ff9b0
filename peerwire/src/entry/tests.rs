use super::*;
use crate::codec::{decode, encode};
use zabra_core::acl::Id;
use zabra_core::log::Origin;
use zabra_core::message::Envelope;
use zabra_core::txn::CreateMode;
use zabra_core::Sid;

fn entry(data: usize) -> Entry {
    let op = Op::create("/bench/node-0000012345", &vec![7; data], CreateMode::Persistent);
    let session = SessionId(0x1000_0000_0000_0001);
    let txn = Txn { session, time_ms: 1_733_000_000_000, auth: vec![Id::new("digest", "u:x")], op };
    Entry { zxid: Zxid::new(3, 77), txn: txn.into(), origin: Some(Origin { sid: Sid(1), session, xid: 12_345 }) }
}

/// The leader encodes an entry once and wraps those bytes for each follower: what a follower
/// receives must be byte for byte the envelope it would have got encoded whole.
#[test]
fn envelopes_around_an_encoded_entry_equal_whole_encodings() {
    for data in [0, 100, 300, 70_000] {
        let e = entry(data);
        let bytes = encode_entry(&e);
        assert_eq!(decode_entry(&bytes).unwrap(), e);
        for epoch in [0, 1, 127, 128, 300, u32::MAX] {
            for seq in [1, 127, 128, u64::MAX] {
                let id = MsgId { from: Sid(200), seq };
                for msg in [Message::Proposal { epoch, entry: e.clone() }, Message::Inform { epoch, entry: e.clone() }]
                {
                    let wrapped = encode_with_entry(id, &msg, &bytes).expect("an entry message");
                    let env = Envelope { id, msg };
                    assert_eq!(wrapped, encode(&env).unwrap(), "epoch {epoch} seq {seq} data {data}");
                    assert_eq!(decode(&wrapped).unwrap(), env);
                }
            }
        }
    }
    let commit = Message::Commit { epoch: 3, zxid: Zxid::new(3, 1) };
    assert_eq!(encode_with_entry(MsgId { from: Sid(1), seq: 1 }, &commit, &[]), None);
}

/// A 100-byte create (with an auth id and an origin) is under 200 bytes, as in ZooKeeper's log,
/// not the ~500 of JSON, where data is an array of numbers.
#[test]
fn a_hundred_byte_create_is_compact() {
    let e = entry(100);
    let n = encode_entry(&e).len();
    assert!(n < 200, "{n} bytes");
    let json = serde_json::to_vec(&e).unwrap().len();
    assert!(json > 2 * n, "json {json} vs {n}");
}

#[test]
fn damaged_entries_are_refused() {
    let bytes = encode_entry(&entry(10));
    assert!(decode_entry(&bytes[..bytes.len() - 1]).is_err(), "cut short");
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(decode_entry(&longer).is_err(), "trailing bytes");
}
