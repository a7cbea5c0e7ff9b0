//! The write path of the disk store and its recovery, for 100-byte creates as a node logs
//! them: `cargo bench -p zabra-storage`.
//!
//! - `encode`: one entry, postcard (the log and the wire, format 2) against serde_json (the
//!   log's format 1).
//! - `append`: a group commit of N creates (write, then one fdatasync), and the write alone.
//! - `recovery`: opening a data directory that holds a log of 10,000 creates.
//!
//! fsync figures depend on the disk: compare runs on one machine only.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use tempfile::TempDir;
use zabra_core::log::{Entry, Origin};
use zabra_core::storage::PersistOp;
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Sid, Zxid};
use zabra_storage::{DiskStore, StoreOptions};

fn create(counter: u32) -> Entry {
    let session = SessionId(0x1000_0000_0000_0001);
    let op = Op::create(&format!("/bench/node-{counter:010}"), &[7; 100], CreateMode::Persistent);
    let txn = Txn { session, time_ms: 1_733_000_000_000, auth: Vec::new(), op };
    Entry {
        zxid: Zxid::new(1, counter),
        txn: txn.into(),
        origin: Some(Origin { sid: Sid(1), session, xid: counter.into() }),
    }
}

fn encode(c: &mut Criterion) {
    let e = create(12_345);
    let mut g = c.benchmark_group("encode");
    g.bench_function("postcard", |b| b.iter(|| zabra_peerwire::encode_entry(black_box(&e))));
    g.bench_function("json", |b| b.iter(|| serde_json::to_vec(black_box(&e)).unwrap()));
    g.finish();
}

/// Appends `batch` creates per iteration to one store, from a zxid counter that only grows.
fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    for batch in [1u32, 64] {
        g.throughput(Throughput::Elements(batch.into()));
        for sync in [true, false] {
            let dir = TempDir::new().unwrap();
            let (mut store, _, _) = DiskStore::open(dir.path(), StoreOptions::default()).unwrap();
            let mut next = 1;
            let name = format!("{}_{batch}", if sync { "group_commit" } else { "write_only" });
            g.bench_function(name, |b| {
                b.iter_batched(
                    || {
                        let op = PersistOp::Append((next..next + batch).map(create).collect());
                        next += batch;
                        op
                    },
                    |op| {
                        store.write(std::slice::from_ref(&op)).unwrap();
                        if sync {
                            store.sync().unwrap();
                        }
                    },
                    BatchSize::SmallInput,
                )
            });
            store.close().unwrap();
        }
    }
    g.finish();
}

fn recovery(c: &mut Criterion) {
    let dir = TempDir::new().unwrap();
    let (mut store, _, _) = DiskStore::open(dir.path(), StoreOptions::default()).unwrap();
    for chunk in (1..=10_000u32).collect::<Vec<_>>().chunks(500) {
        store.write(&[PersistOp::Append(chunk.iter().map(|&c| create(c)).collect())]).unwrap();
    }
    store.close().unwrap();
    let mut g = c.benchmark_group("recovery");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("open_10k_creates", |b| {
        b.iter(|| {
            let (store, state, _) = DiskStore::open(dir.path(), StoreOptions::default()).unwrap();
            assert_eq!(state.log.len(), 10_000);
            drop(store);
        })
    });
    g.finish();
}

criterion_group!(benches, encode, append, recovery);
criterion_main!(benches);
