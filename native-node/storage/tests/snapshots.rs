//! Checkpoints written in the background: group commit goes on while a large snapshot is
//! written, what a snapshot covers is deleted only once it is durable, a crash while it is
//! written keeps the old snapshot and the whole log, and the streamed file is the documented
//! framed record.

mod common;

use common::*;
use std::sync::mpsc;
use std::time::Duration;
use tempfile::TempDir;
use zabra_core::datatree::DataTree;
use zabra_core::message::Snapshot;
use zabra_core::storage::PersistOp;
use zabra_core::txn::{CreateMode, Op, Txn};
use zabra_core::{SessionId, Zxid};
use zabra_storage::{DiskStore, RecoveryEvent};

/// A tree of `n` znodes with a few hundred bytes each (`n` = 20k: a snapshot of several MB).
fn big_tree(n: u32) -> DataTree {
    let mut t = DataTree::new();
    let txn = |op| Txn { session: SessionId(0), time_ms: 1, auth: Vec::new(), op };
    t.apply(Zxid::new(1, 1), &txn(Op::create("/big", b"", CreateMode::Persistent)));
    for i in 0..n {
        let data = format!("{i:0>300}").into_bytes();
        t.apply(Zxid::new(1, 2 + i), &txn(Op::create(&format!("/big/n{i}"), &data, CreateMode::Persistent)));
    }
    t
}

fn file_exists(dir: &std::path::Path, name: &str) -> bool {
    names(dir).iter().any(|n| n == name)
}

const STEP: Duration = Duration::from_secs(60);

/// The storage thread's loop, in miniature: while the snapshot writer is held before its
/// rename, twenty appends are each made durable by their own group commit.
#[test]
fn group_commit_goes_on_while_a_large_snapshot_is_written() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().to_path_buf();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=10)]).unwrap();
    let hold = s.hold_snapshots();
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let snap = Snapshot { zxid: Zxid::new(1, 10), tree: big_tree(20_000) };
        s.write(&[PersistOp::Checkpoint(snap)]).unwrap();
        s.sync().unwrap();
        tx.send(0).unwrap();
        for c in 11..=30 {
            s.write(&[append(1, c..=c)]).unwrap();
            s.sync().unwrap();
            tx.send(c).unwrap();
        }
        s
    });
    for want in [0].into_iter().chain(11..=30) {
        let got = rx.recv_timeout(STEP).expect("a group commit did not complete while the snapshot was written");
        assert_eq!(got, want);
    }
    assert!(!file_exists(&path, "snapshot.000000010000000a"), "the held snapshot is not in place yet");
    // The writer thread may not have been scheduled yet on a loaded machine (the commits above
    // did not wait for it, which is the point): wait, bounded, for its file to appear.
    let until = std::time::Instant::now() + STEP;
    while !file_exists(&path, "snapshot.000000010000000a.tmp") && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(file_exists(&path, "snapshot.000000010000000a.tmp"), "it is being written");
    assert!(!file_exists(&path, "snapshot.000000010000000a"), "and held before its rename");
    let mut s = worker.join().unwrap();
    assert!(s.snapshot_in_progress());
    assert_eq!(segments(&path).len(), 2, "the checkpoint rolled the log; nothing is deleted yet");
    drop(hold);
    s.settle_snapshots().unwrap();
    let outcomes = s.take_snapshot_outcomes();
    assert!(matches!(&outcomes[..], [o] if o.zxid == Zxid::new(1, 10) && o.result.is_ok()), "{outcomes:?}");
    assert_eq!(names(&path), ["log.000000010000000b", "snapshot.000000010000000a"], "covered segment deleted");
    drop(s);
    let (_, state, report) = open(&path);
    assert!(report.is_clean(), "{report}");
    assert_eq!(state.snapshot.as_ref().map(|s| s.tree.node_count()), Some(20_005));
    assert_eq!(zxids(&state), entries(1, 11..=30).iter().map(|e| e.zxid).collect::<Vec<_>>());
}

/// kill -9 between writing the snapshot and renaming it: the old snapshot and the whole log
/// are loaded, and the unfinished file is removed.
#[test]
fn a_crash_while_a_snapshot_is_written_keeps_the_old_snapshot_and_the_log() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=10), PersistOp::Checkpoint(snapshot(1, 10))]).unwrap();
    let hold = s.hold_snapshots();
    let snap = Snapshot { zxid: Zxid::new(1, 30), tree: big_tree(2_000) };
    s.write(&[append(1, 11..=30), PersistOp::Checkpoint(snap), append(1, 31..=35)]).unwrap();
    s.sync().unwrap();
    assert!(s.snapshot_in_progress());
    hold.abandon();
    s.simulate_power_loss(0).unwrap();
    let (_, state, report) = open(dir.path());
    assert_eq!(state.snapshot_zxid(), Zxid::new(1, 10));
    assert_eq!(zxids(&state), entries(1, 11..=35).iter().map(|e| e.zxid).collect::<Vec<_>>());
    let tmp = dir.path().join("snapshot.000000010000001e.tmp");
    assert!(report.events.contains(&RecoveryEvent::RemovedTemp(tmp)), "{report}");
    assert!(!names(dir.path()).iter().any(|n| n.starts_with("snapshot.000000010000001e")));
}

/// One writer at a time: a checkpoint arriving meanwhile waits, and a newer one replaces it.
#[test]
fn checkpoints_queue_behind_the_writer_and_the_newest_wins() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    let hold = s.hold_snapshots();
    for k in 1..=3u32 {
        s.write(&[append(1, k * 5 - 4..=k * 5), PersistOp::Checkpoint(snapshot(1, k * 5))]).unwrap();
        s.sync().unwrap();
    }
    assert_eq!(s.stats().snapshots_skipped, 1, "the checkpoint at 10 was replaced by the one at 15");
    drop(hold);
    s.settle_snapshots().unwrap();
    let zs: Vec<Zxid> = s.take_snapshot_outcomes().iter().map(|o| o.zxid).collect();
    assert_eq!(zs, [Zxid::new(1, 5), Zxid::new(1, 15)]);
    assert_eq!(s.stats().snapshots_written, 2);
    assert!(!s.snapshot_in_progress());
    drop(s);
    let (_, state, _) = open(dir.path());
    assert_eq!((state.snapshot_zxid(), state.last_zxid()), (Zxid::new(1, 15), Zxid::new(1, 15)));
}

/// The streamed file is exactly the framed record the crate docs describe (magic, header with
/// length and CRCs, the postcard of the snapshot, as a SNAP carries it), so streaming changed
/// nothing on disk.
#[test]
fn a_streamed_snapshot_is_one_framed_record() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    let snap = Snapshot { zxid: Zxid::new(1, 3), tree: big_tree(50) };
    s.apply_and_sync(&[append(1, 1..=3), PersistOp::Checkpoint(snap.clone())]).unwrap();
    let json = postcard::to_allocvec(&snap).unwrap();
    let mut want = b"ZBSNAP02".to_vec();
    want.extend_from_slice(&(json.len() as u32).to_le_bytes());
    want.extend_from_slice(&snap.zxid.as_u64().to_le_bytes());
    want.extend_from_slice(&crc32fast::hash(&json).to_le_bytes());
    let header_crc = crc32fast::hash(&want[8..24]);
    want.extend_from_slice(&header_crc.to_le_bytes());
    want.extend_from_slice(&json);
    assert_eq!(std::fs::read(dir.path().join("snapshot.0000000100000003")).unwrap(), want);
    drop(s);
    let (_, state, _) = DiskStore::open(dir.path(), Default::default()).unwrap();
    assert_eq!(state.snapshot, Some(snap));
}

/// kill -9 after the snapshot is in place but before the storage thread deleted what it
/// covers: open loads the new snapshot and the log after it; the next checkpoint cleans up.
#[test]
fn a_crash_between_the_durable_snapshot_and_its_cleanup_loads_the_new_snapshot() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=10), PersistOp::Checkpoint(snapshot(1, 10))]).unwrap();
    let hold = s.hold_snapshots();
    s.write(&[append(1, 11..=20), PersistOp::Checkpoint(snapshot(1, 20)), append(1, 21..=25)]).unwrap();
    s.sync().unwrap();
    drop(hold);
    s.simulate_power_loss(0).unwrap();
    let before = names(dir.path());
    assert!(before.contains(&"snapshot.0000000100000014".to_string()), "{before:?}");
    assert!(before.contains(&"log.000000010000000b".to_string()), "the covered segment is still there: {before:?}");
    let (mut s, state, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!(state.snapshot_zxid(), Zxid::new(1, 20));
    assert_eq!(zxids(&state), entries(1, 21..=25).iter().map(|e| e.zxid).collect::<Vec<_>>());
    s.apply_and_sync(&[append(1, 26..=30), PersistOp::Checkpoint(snapshot(1, 30))]).unwrap();
    assert_eq!(names(dir.path()), ["log.0000000100000015", "snapshot.0000000100000014", "snapshot.000000010000001e"]);
}

/// A snapshot that cannot be written (here its file name is taken by a directory) is
/// reported and counted; the store goes on, and nothing it covered is deleted.
#[test]
fn a_failed_background_snapshot_loses_nothing() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    let blocker = dir.path().join("snapshot.0000000100000005.tmp");
    std::fs::create_dir(&blocker).unwrap();
    s.apply_and_sync(&[append(1, 1..=5), PersistOp::Checkpoint(snapshot(1, 5)), append(1, 6..=8)]).unwrap();
    let outcomes = s.take_snapshot_outcomes();
    assert!(matches!(&outcomes[..], [o] if o.result.is_err()), "{outcomes:?}");
    assert_eq!((s.stats().snapshot_failures, s.stats().snapshots), (1, 0));
    s.apply_and_sync(&[append(1, 9..=9)]).unwrap();
    drop(s);
    std::fs::remove_dir(&blocker).unwrap();
    let (_, state, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!((state.snapshot_zxid(), state.last_zxid()), (Zxid::ZERO, Zxid::new(1, 9)));
    assert_eq!(state.log.len(), 9);
}
