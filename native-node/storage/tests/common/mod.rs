//! Shared test helpers: entries, snapshots and stores in temporary directories.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use zabra_core::datatree::DataTree;
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::storage::{PersistOp, PersistedState};
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Zxid};
use zabra_storage::{DiskStore, OpenReport, StoreOptions};

pub fn entry(e: u32, c: u32) -> Entry {
    let op = Op::create(&format!("/n{e}-{c}"), b"some data", CreateMode::Persistent);
    Entry {
        zxid: Zxid::new(e, c),
        txn: Txn { session: SessionId(1), time_ms: 5, auth: Vec::new(), op }.into(),
        origin: None,
    }
}

pub fn entries(e: u32, counters: std::ops::RangeInclusive<u32>) -> Vec<Entry> {
    counters.map(|c| entry(e, c)).collect()
}

pub fn append(e: u32, counters: std::ops::RangeInclusive<u32>) -> PersistOp {
    PersistOp::Append(entries(e, counters))
}

pub fn snapshot(e: u32, c: u32) -> Snapshot {
    Snapshot { zxid: Zxid::new(e, c), tree: DataTree::new() }
}

pub fn open(dir: &Path) -> (DiskStore, PersistedState, OpenReport) {
    DiskStore::open(dir, StoreOptions::default()).expect("open")
}

/// Small segments, so a few entries span several files.
pub fn small() -> StoreOptions {
    StoreOptions { segment_bytes: 256, ..StoreOptions::default() }
}

pub fn zxids(s: &PersistedState) -> Vec<Zxid> {
    s.log.iter().map(|e| e.zxid).collect()
}

/// File names in `dir`, sorted, without the lock file.
pub fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "lock")
        .collect();
    v.sort();
    v
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    names(dir).into_iter().filter(|n| n.starts_with("log.")).map(|n| dir.join(n)).collect()
}
