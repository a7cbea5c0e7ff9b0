//! Applying committed transactions to the data tree: create, setData and delete of 100-byte
//! values, as every peer does for every write.

use criterion::{BatchSize, Criterion, Throughput};
use zabra_core::datatree::DataTree;
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Zxid};

/// Nodes per measured batch.
const N: u32 = 1_000;
const VALUE: [u8; 100] = [7; 100];

fn txn(op: Op) -> Txn {
    Txn { session: SessionId(0), time_ms: 1_700_000_000_000, auth: Vec::new(), op }
}

fn path(i: u32) -> String {
    format!("/bench/n{i:06}")
}

/// A tree with `/bench` and `N` children of 100 bytes, and the next zxid counter.
fn filled() -> (DataTree, u32) {
    let mut t = DataTree::new();
    t.apply(Zxid::new(1, 1), &txn(Op::create("/bench", b"", CreateMode::Persistent)));
    for i in 0..N {
        t.apply(Zxid::new(1, i + 2), &txn(Op::create(&path(i), &VALUE, CreateMode::Persistent)));
    }
    (t, N + 2)
}

pub fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("tree");
    g.sample_size(50);
    g.throughput(Throughput::Elements(u64::from(N)));
    let creates: Vec<Txn> = (0..N).map(|i| txn(Op::create(&path(i), &VALUE, CreateMode::Persistent))).collect();
    let sets: Vec<Txn> =
        (0..N).map(|i| txn(Op::SetData { path: path(i), data: VALUE[..].into(), version: -1 })).collect();
    let deletes: Vec<Txn> = (0..N).map(|i| txn(Op::Delete { path: path(i), version: -1 })).collect();
    let (base, next) = filled();
    let mut empty = DataTree::new();
    empty.apply(Zxid::new(1, 1), &txn(Op::create("/bench", b"", CreateMode::Persistent)));
    // The tree's maps share structure, so a clone per batch costs little next to N applies.
    let run = |tree: &DataTree, txns: &[Txn]| {
        let mut t = tree.clone();
        for (i, x) in txns.iter().enumerate() {
            std::hint::black_box(t.apply(Zxid::new(2, next + i as u32), x));
        }
        t
    };
    g.bench_function("create_100B", |b| b.iter_batched(|| (), |()| run(&empty, &creates), BatchSize::LargeInput));
    g.bench_function("set_data_100B", |b| b.iter_batched(|| (), |()| run(&base, &sets), BatchSize::LargeInput));
    g.bench_function("delete", |b| b.iter_batched(|| (), |()| run(&base, &deletes), BatchSize::LargeInput));
    g.finish();
}
