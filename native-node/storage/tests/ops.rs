//! Each PersistOp on disk: group commit, segment roll-over, truncation, snapshots and their
//! cleanup, crash-atomic snapshot installs, and the directory lock.

mod common;

use common::*;
use std::fs;
use tempfile::TempDir;
use zabra_core::storage::PersistOp;
use zabra_core::Zxid;
use zabra_storage::{DiskStore, RecoveryEvent, StoreError, StoreOptions};

#[test]
fn group_commit_one_fsync_for_many_appends() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=1)]).unwrap();
    let before = s.stats();
    for c in 2..=101 {
        s.write(&[append(1, c..=c)]).unwrap();
    }
    assert_eq!(s.stats().fsyncs, before.fsyncs, "write never fsyncs");
    assert!(s.needs_sync());
    s.sync().unwrap();
    let after = s.stats();
    assert_eq!(after.fsyncs - before.fsyncs, 1, "one fsync covers 100 appends");
    assert_eq!(after.records_written - before.records_written, 100);
    assert!(!s.needs_sync());
    s.sync().unwrap();
    assert_eq!(s.stats().fsyncs, after.fsyncs, "nothing to sync, no fsync");
    assert_eq!((after.records, after.segments), (101, 1));
}

#[test]
fn segments_roll_over_at_the_size_limit() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), small()).unwrap();
    s.apply_and_sync(&[append(1, 1..=30)]).unwrap();
    let stats = s.stats();
    assert!(stats.segments >= 10, "{stats:?}");
    for seg in segments(dir.path()) {
        assert!(fs::metadata(seg).unwrap().len() <= 256);
    }
    drop(s);
    let (_, state, report) = DiskStore::open(dir.path(), small()).unwrap();
    assert_eq!(zxids(&state), entries(1, 1..=30).iter().map(|e| e.zxid).collect::<Vec<_>>());
    assert!(report.is_clean() && report.segments as u64 == stats.segments, "{report}");
}

#[test]
fn truncate_across_segments() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), small()).unwrap();
    s.apply_and_sync(&[append(1, 1..=30)]).unwrap();
    let before = segments(dir.path()).len();
    s.write(&[PersistOp::Truncate(Zxid::new(1, 8))]).unwrap();
    let after = segments(dir.path());
    assert!(after.len() < before && after.len() >= 2, "{after:?}");
    assert_eq!(s.last_zxid(), Zxid::new(1, 8));
    s.apply_and_sync(&[append(2, 1..=3)]).unwrap();
    drop(s);
    let (mut s, state, report) = DiskStore::open(dir.path(), small()).unwrap();
    let mut want: Vec<Zxid> = entries(1, 1..=8).iter().map(|e| e.zxid).collect();
    want.extend([Zxid::new(2, 1), Zxid::new(2, 2), Zxid::new(2, 3)]);
    assert_eq!(zxids(&state), want);
    assert!(report.is_clean(), "{report}");

    s.write(&[PersistOp::Truncate(Zxid::ZERO)]).unwrap();
    assert!(segments(dir.path()).is_empty());
    s.apply_and_sync(&[append(3, 1..=1)]).unwrap();
    drop(s);
    let (_, state, _) = DiskStore::open(dir.path(), small()).unwrap();
    assert_eq!(zxids(&state), vec![Zxid::new(3, 1)]);
}

#[test]
fn checkpoints_keep_the_last_snapshots_and_the_log_they_need() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    for k in 1..=4u32 {
        let (lo, hi) = (k * 10 - 9, k * 10);
        s.apply_and_sync(&[append(1, lo..=hi), PersistOp::Checkpoint(snapshot(1, hi - 2))]).unwrap();
    }
    s.apply_and_sync(&[append(1, 41..=42)]).unwrap();
    // Snapshots 28 and 38 are kept; the log from 28 on: segments starting at 21, 31 and 41.
    let files = [
        "log.0000000100000015",
        "log.000000010000001f",
        "log.0000000100000029",
        "snapshot.000000010000001c",
        "snapshot.0000000100000026",
    ];
    assert_eq!(names(dir.path()), files);
    assert_eq!((s.stats().snapshots, s.stats().segments), (2, 3));
    drop(s);
    let (_, state, report) = open(dir.path());
    assert_eq!(state.snapshot_zxid(), Zxid::new(1, 38));
    assert_eq!(zxids(&state), entries(1, 39..=42).iter().map(|e| e.zxid).collect::<Vec<_>>());
    assert!(report.is_clean(), "{report}");
}

#[test]
fn keep_one_snapshot_deletes_everything_it_covers() {
    let dir = TempDir::new().unwrap();
    let opts = StoreOptions { keep_snapshots: 1, ..StoreOptions::default() };
    let (mut s, _, _) = DiskStore::open(dir.path(), opts).unwrap();
    s.apply_and_sync(&[append(1, 1..=5), PersistOp::Checkpoint(snapshot(1, 5))]).unwrap();
    s.apply_and_sync(&[append(1, 6..=9), PersistOp::Checkpoint(snapshot(1, 9))]).unwrap();
    assert_eq!(names(dir.path()), ["snapshot.0000000100000009"]);
    s.apply_and_sync(&[append(1, 10..=10)]).unwrap();
    drop(s);
    let (_, state, _) = DiskStore::open(dir.path(), opts).unwrap();
    assert_eq!((state.snapshot_zxid(), state.last_zxid()), (Zxid::new(1, 9), Zxid::new(1, 10)));
}

#[test]
fn install_snapshot_replaces_history() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), small()).unwrap();
    s.apply_and_sync(&[append(1, 1..=20), PersistOp::Checkpoint(snapshot(1, 10))]).unwrap();
    s.write(&[PersistOp::InstallSnapshot(snapshot(2, 4), entries(2, 3..=6))]).unwrap();
    assert!(!s.needs_sync(), "an install is durable when write returns");
    assert_eq!(names(dir.path()), ["log.0000000200000005", "snapshot.0000000200000004"]);
    s.apply_and_sync(&[append(2, 7..=7)]).unwrap();
    drop(s);
    let (_, state, report) = DiskStore::open(dir.path(), small()).unwrap();
    assert_eq!(state.snapshot_zxid(), Zxid::new(2, 4));
    assert_eq!(zxids(&state), vec![Zxid::new(2, 5), Zxid::new(2, 6), Zxid::new(2, 7)]);
    assert!(report.is_clean(), "{report}");
}

#[test]
fn install_interrupted_before_its_commit_point_keeps_the_old_history() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=3)]).unwrap();
    drop(s);
    fs::write(dir.path().join("snapshot.0000000200000004.install"), b"a staged snapshot").unwrap();
    fs::write(dir.path().join("install.tmp"), b"ZBINST01, cut short").unwrap();
    let (_, state, report) = open(dir.path());
    assert_eq!(zxids(&state), entries(1, 1..=3).iter().map(|e| e.zxid).collect::<Vec<_>>());
    assert_eq!(report.events.len(), 2, "{report}");
    assert_eq!(names(dir.path()), ["log.0000000100000001"]);
}

#[test]
fn install_interrupted_after_its_commit_point_is_finished_at_open() {
    let (done, crashed) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (mut s, _, _) = open(done.path());
    s.write(&[PersistOp::InstallSnapshot(snapshot(2, 4), entries(2, 5..=6))]).unwrap();
    drop(s);
    // The crashed store: its old history, the staged snapshot and the committed marker.
    let (mut old, _, _) = open(crashed.path());
    old.apply_and_sync(&[append(1, 1..=9), PersistOp::Checkpoint(snapshot(1, 5))]).unwrap();
    drop(old);
    let snap = fs::read(done.path().join("snapshot.0000000200000004")).unwrap();
    fs::write(crashed.path().join("snapshot.0000000200000004.install"), snap).unwrap();
    write_marker(&crashed.path().join("install"));

    let (_, state, report) = open(crashed.path());
    assert_eq!(state.snapshot_zxid(), Zxid::new(2, 4));
    assert_eq!(zxids(&state), vec![Zxid::new(2, 5), Zxid::new(2, 6)]);
    assert!(matches!(&report.events[..], [RecoveryEvent::CompletedInstall { .. }]), "{report}");
    assert_eq!(names(crashed.path()), ["log.0000000200000005", "snapshot.0000000200000004"]);
}

/// Writes the commit marker of installing snapshot (2,4) with entries (2,5)..(2,6), framed as
/// the crate docs describe (so this also pins the file format).
fn write_marker(dest: &std::path::Path) {
    let marker = Marker { snapshot: Zxid::new(2, 4), entries: entries(2, 5..=6) };
    let json = serde_json::to_vec(&marker).unwrap();
    let mut bytes = b"ZBINST01".to_vec();
    bytes.extend_from_slice(&(json.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&marker.snapshot.as_u64().to_le_bytes());
    bytes.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
    let header_crc = crc32fast::hash(&bytes[8..24]);
    bytes.extend_from_slice(&header_crc.to_le_bytes());
    bytes.extend_from_slice(&json);
    fs::write(dest, bytes).unwrap();
}

#[derive(serde::Serialize)]
struct Marker {
    snapshot: Zxid,
    entries: Vec<zabra_core::log::Entry>,
}

#[test]
fn epochs_are_durable_and_coalesced() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    let before = s.stats().fsyncs;
    s.write(&[PersistOp::AcceptedEpoch(4), PersistOp::CurrentEpoch(4)]).unwrap();
    assert_eq!(s.stats().fsyncs - before, 2, "one atomic file write: the file and the directory");
    s.write(&[append(4, 1..=2), PersistOp::AcceptedEpoch(5)]).unwrap();
    assert!(!s.needs_sync(), "appends before an epoch write are synced first (ZOOKEEPER-4643)");
    drop(s);
    let (_, state, _) = open(dir.path());
    assert_eq!((state.accepted_epoch, state.current_epoch, state.last_zxid()), (5, 4, Zxid::new(4, 2)));
    assert!(fs::read_to_string(dir.path().join("epochs")).unwrap().contains("accepted 5\ncurrent 4\n"));
}

#[test]
fn a_second_open_of_the_same_dir_is_refused() {
    let dir = TempDir::new().unwrap();
    let (s, _, _) = open(dir.path());
    let err = DiskStore::open(dir.path(), Default::default()).unwrap_err();
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
    drop(s);
    assert!(DiskStore::open(dir.path(), Default::default()).is_ok());
}

#[test]
fn open_creates_the_directory() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("a/b");
    let (_, state, report) = open(&path);
    assert_eq!(state, Default::default());
    assert!(matches!(&report.events[..], [RecoveryEvent::CreatedDir(_)]) && report.is_clean());
}

/// A 100-byte create as a node logs it (a client session, an origin, the open ACL) takes one
/// record of under 200 bytes, header included, about what ZooKeeper's log takes; it took 509
/// in JSON (format 1), where data was an array of numbers.
#[test]
fn a_hundred_byte_create_is_one_small_record() {
    use zabra_core::log::{Entry, Origin};
    use zabra_core::txn::{CreateMode, Op, Txn};
    use zabra_core::{SessionId, Sid};
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    let session = SessionId(0x1000_0000_0000_0001);
    let op = Op::create("/bench/node-0000012345", &[7u8; 100], CreateMode::Persistent);
    let txn = Txn { session, time_ms: 1_733_000_000_000, auth: Vec::new(), op };
    let entry = |c| Entry {
        zxid: Zxid::new(3, c),
        txn: txn.clone().into(),
        origin: Some(Origin { sid: Sid(1), session, xid: 12_345 }),
    };
    s.apply_and_sync(&[PersistOp::Append(vec![entry(1)])]).unwrap();
    let one = s.stats().bytes_written;
    s.apply_and_sync(&[PersistOp::Append(vec![entry(2)])]).unwrap();
    let record = s.stats().bytes_written - one;
    println!("a 100-byte create: {record} bytes on disk");
    assert!(record < 200, "{record} bytes");
}
