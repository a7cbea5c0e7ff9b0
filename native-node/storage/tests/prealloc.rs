//! Preallocated segments: the active segment grows in steps of allocated zeros, so appends do
//! not change its size (an fdatasync has no size change to persist). After a crash the zeros
//! are still there: open reads them as the end of the log, not as damage, and appends go on
//! right after the last record, not after the zeros.

mod common;

use common::*;
use std::fs;
use tempfile::TempDir;
use zabra_core::Zxid;
use zabra_storage::{DiskStore, RecoveryEvent, StoreOptions};

/// 4 KiB segments preallocated 1 KiB at a time.
fn stepped() -> StoreOptions {
    StoreOptions { segment_bytes: 4096, preallocate: 1024, ..StoreOptions::default() }
}

fn len(dir: &std::path::Path) -> u64 {
    fs::metadata(segments(dir).last().unwrap()).unwrap().len()
}

fn counters(s: &zabra_core::storage::PersistedState) -> Vec<u32> {
    s.log.iter().map(|e| e.zxid.counter).collect()
}

#[test]
fn appends_do_not_change_the_segment_size_until_a_step_is_full() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=1)]).unwrap();
    assert_eq!(len(dir.path()), 64 << 20, "one 64 MiB step, as ZooKeeper pads its logs");
    for c in 2..=50 {
        s.apply_and_sync(&[append(1, c..=c)]).unwrap();
        assert_eq!(len(dir.path()), 64 << 20, "append {c} changed the size");
    }
    drop(s);
    assert!(len(dir.path()) < 4096, "a closed segment gives its zeros back");

    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), stepped()).unwrap();
    let mut sizes = std::collections::BTreeSet::new();
    for c in 1..=40 {
        s.apply_and_sync(&[append(1, c..=c)]).unwrap();
        sizes.insert(len(dir.path()));
    }
    assert!(sizes.iter().all(|n| n % 1024 == 0 && *n <= 4096), "whole steps up to the segment size: {sizes:?}");
}

/// kill -9 (or a power loss) leaves the zeros after the last record: a clean open, and the
/// next append goes right after the last record.
#[test]
fn a_zero_filled_tail_is_the_end_of_the_log() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), stepped()).unwrap();
    s.apply_and_sync(&[append(1, 1..=5)]).unwrap();
    s.simulate_power_loss(0).unwrap();
    assert_eq!(len(dir.path()) % 1024, 0, "the preallocated length survives");

    let (mut s, state, report) = DiskStore::open(dir.path(), stepped()).unwrap();
    assert!(report.is_clean(), "zeros are not damage: {report}");
    assert_eq!(counters(&state), [1, 2, 3, 4, 5]);
    s.apply_and_sync(&[append(1, 6..=8)]).unwrap();
    s.simulate_power_loss(0).unwrap();
    let (_, state, report) = DiskStore::open(dir.path(), stepped()).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(counters(&state), [1, 2, 3, 4, 5, 6, 7, 8], "appends went after the last record");
}

/// A record cut part-way, then the preallocated zeros: a torn tail, cut at the last intact
/// record, reporting only the bytes that were not zero.
#[test]
fn a_torn_record_before_a_zero_filled_tail_is_cut() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), stepped()).unwrap();
    s.apply_and_sync(&[append(2, 1..=4)]).unwrap();
    let seg = segments(dir.path()).remove(0);
    s.write(&[append(2, 5..=5)]).unwrap();
    s.simulate_power_loss(30).unwrap();
    let good = {
        let bytes = fs::read(&seg).unwrap();
        assert!(bytes.len() >= 1024 && bytes.ends_with(&[0; 64]), "a zero-filled tail");
        bytes.len()
    };

    let (mut s, state, report) = DiskStore::open(dir.path(), stepped()).unwrap();
    assert_eq!(counters(&state), [1, 2, 3, 4]);
    let [RecoveryEvent::TornTail { file, offset, bytes, .. }] = &report.events[..] else { panic!("{report}") };
    assert_eq!(file, &seg);
    assert!(*bytes > 0 && *bytes <= 30, "{bytes} torn bytes reported, not the {good}-byte file");
    assert_eq!(fs::metadata(&seg).unwrap().len(), *offset, "cut at the last intact record");
    s.apply_and_sync(&[append(2, 5..=6)]).unwrap();
    drop(s);
    let (_, state, report) = DiskStore::open(dir.path(), stepped()).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(state.last_zxid(), Zxid::new(2, 6));
}

/// Zeros are the end only after the last intact record: an intact record after a zeroed
/// stretch is corruption (a lost write in the middle), as any intact record after damage is.
#[test]
fn zeros_with_a_record_after_them_are_corruption() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), stepped()).unwrap();
    s.apply_and_sync(&[append(1, 1..=6)]).unwrap();
    drop(s);
    let seg = segments(dir.path()).remove(0);
    let mut bytes = fs::read(&seg).unwrap();
    let record = (bytes.len() - 20) / 6;
    bytes[20 + record..20 + 2 * record].fill(0);
    fs::write(&seg, &bytes).unwrap();
    let err = DiskStore::open(dir.path(), stepped()).unwrap_err();
    assert!(err.to_string().contains("an intact record follows"), "{err}");
}
