//! What the peer wire costs for the two large syncs of the multi-process sync test: a DIFF of
//! 20 creates of 1 MB and a SNAP of a tree of 200k small znodes (made by multis of 1000
//! creates). `cargo run --release -p zabra-peerwire --example measure` (or without
//! `--release` for a debug build). Figures are printed, never asserted.

use std::time::{Duration, Instant};
use zabra_core::datatree::DataTree;
use zabra_core::log::Entry;
use zabra_core::message::{Envelope, Message, MsgId, Snapshot};
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Sid, Zxid};

fn txn(op: Op) -> Txn {
    Txn { session: SessionId(1), time_ms: 1, auth: vec![], op }
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed())
}

fn measure(what: &str, msg: Message) {
    let env = Envelope { id: MsgId { from: Sid(1), seq: 1 }, msg };
    let (bytes, enc) = timed(|| zabra_peerwire::encode(&env).expect("encodes"));
    let (chunks, _) = timed(|| zabra_peerwire::frames(&bytes));
    let (_, dec) = timed(|| zabra_peerwire::decode(&bytes).expect("decodes"));
    let (json, js) = timed(|| serde_json::to_vec(&env).expect("serializes"));
    println!(
        "{what}: {} bytes in {} chunks, encode {enc:.2?}, decode {dec:.2?} (JSON: {} bytes, {js:.2?})",
        bytes.len(),
        chunks.len(),
        json.len()
    );
}

fn main() {
    let big = (0..20u32).map(|i| {
        let op = Op::create(&format!("/big/n{i:02}"), &vec![b'a'; 1_000_000], CreateMode::Persistent);
        Entry { zxid: Zxid::new(1, i + 1), txn: txn(op).into(), origin: None }
    });
    measure("DIFF of 20 x 1 MB", Message::Diff { epoch: 1, entries: big.collect() });

    let mut tree = DataTree::new();
    tree.apply(Zxid::new(1, 1), &txn(Op::create("/small", b"", CreateMode::Persistent)));
    for k in 0..200u32 {
        let ops = (0..1000).map(|j| Op::create(&format!("/small/{k:03}-{j:04}"), b"x", CreateMode::Persistent));
        tree.apply(Zxid::new(1, k + 2), &txn(Op::Multi(ops.collect())));
    }
    let (tree, clone) = timed(|| tree.clone());
    println!("tree of {} znodes: clone {clone:.2?}", tree.node_count());
    let snapshot = Box::new(Snapshot { zxid: Zxid::new(1, 201), tree });
    measure("SNAP of 200k znodes", Message::Snap { epoch: 1, snapshot, entries: vec![] });
}
