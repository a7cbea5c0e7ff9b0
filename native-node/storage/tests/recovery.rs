//! Start-up recovery: torn tails are cut and reported, corruption elsewhere stops the store
//! with the file and byte offset, and nothing synced is ever lost.

mod common;

use common::*;
use std::fs::{self, OpenOptions};
use std::io::Write;
use tempfile::TempDir;
use zabra_core::storage::PersistOp;
use zabra_core::Zxid;
use zabra_storage::{DiskStore, RecoveryEvent, StoreError};

fn flip(path: &std::path::Path, at: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at] ^= 0x20;
    fs::write(path, bytes).unwrap();
}

#[test]
fn cut_last_record_is_truncated_and_store_works_after() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=5)]).unwrap();
    drop(s);
    let seg = &segments(dir.path())[0];
    let full = fs::metadata(seg).unwrap().len();
    OpenOptions::new().write(true).open(seg).unwrap().set_len(full - 7).unwrap();

    let (mut s, state, report) = open(dir.path());
    assert_eq!(zxids(&state), entries(1, 1..=4).iter().map(|e| e.zxid).collect::<Vec<_>>());
    let line = report.to_string();
    assert!(line.contains("torn tail: truncated") && line.contains("log.0000000100000001"), "{line}");
    assert!(matches!(&report.events[..], [RecoveryEvent::TornTail { .. }]), "{report:?}");

    s.apply_and_sync(&[append(1, 5..=6)]).unwrap();
    drop(s);
    let (_, state, report) = open(dir.path());
    assert_eq!(state.last_zxid(), Zxid::new(1, 6));
    assert!(report.is_clean(), "{report}");
}

#[test]
fn garbage_after_last_record_is_truncated() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(2, 1..=3)]).unwrap();
    drop(s);
    let seg = &segments(dir.path())[0];
    let len = fs::metadata(seg).unwrap().len();
    OpenOptions::new().append(true).open(seg).unwrap().write_all(&[0xab; 17]).unwrap();

    let (_, state, report) = open(dir.path());
    assert_eq!(state.last_zxid(), Zxid::new(2, 3));
    let expected = format!("truncated {} at offset {len} (17 bytes", seg.display());
    assert!(report.to_string().contains(&expected), "{report}");
    assert_eq!(fs::metadata(seg).unwrap().len(), len);
}

#[test]
fn flipped_byte_in_the_middle_stops_with_file_and_offset() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=10)]).unwrap();
    drop(s);
    let seg = &segments(dir.path())[0];
    let len = fs::metadata(seg).unwrap().len() as usize;
    let record = (len - 20) / 10;
    let third = 20 + 2 * record;
    flip(seg, third + 30);

    let err = DiskStore::open(dir.path(), Default::default()).unwrap_err();
    let StoreError::Corrupt { file, offset, .. } = &err else { panic!("{err}") };
    assert_eq!((file, *offset), (seg, third as u64));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("corrupt record in {} at byte {third}: checksum mismatch", seg.display())),
        "{msg}"
    );
    assert!(msg.contains("refusing to start"), "{msg}");
    assert_eq!(fs::metadata(seg).unwrap().len() as usize, len, "nothing was cut");
}

#[test]
fn damage_in_a_segment_that_is_not_the_last_stops() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), small()).unwrap();
    s.apply_and_sync(&[append(1, 1..=20)]).unwrap();
    drop(s);
    let segs = segments(dir.path());
    assert!(segs.len() > 2);
    let len = fs::metadata(&segs[0]).unwrap().len();
    OpenOptions::new().write(true).open(&segs[0]).unwrap().set_len(len - 3).unwrap();
    let err = DiskStore::open(dir.path(), small()).unwrap_err();
    assert!(err.to_string().contains("not the last"), "{err}");
    fs::remove_file(&segs[1]).unwrap();
    fs::write(&segs[0], b"").unwrap();
    assert!(DiskStore::open(dir.path(), small()).is_err());
}

#[test]
fn a_missing_middle_segment_is_a_detected_hole() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), small()).unwrap();
    s.apply_and_sync(&[append(1, 1..=20)]).unwrap();
    drop(s);
    let segs = segments(dir.path());
    fs::remove_file(&segs[1]).unwrap();
    let err = DiskStore::open(dir.path(), small()).unwrap_err();
    assert!(err.to_string().contains("hole"), "{err}");
}

#[test]
fn crash_keeps_everything_synced() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = DiskStore::open(dir.path(), small()).unwrap();
    for c in 1..=200 {
        s.write(&[append(3, c..=c)]).unwrap();
        if c % 7 == 0 {
            s.sync().unwrap();
        }
    }
    assert!(s.needs_sync());
    s.simulate_power_loss(25).unwrap();

    let (_, state, report) = DiskStore::open(dir.path(), small()).unwrap();
    let synced = Zxid::new(3, 196);
    assert!(state.last_zxid() >= synced, "lost synced entries: {:?}", state.last_zxid());
    assert_eq!(zxids(&state), entries(3, 1..=state.last_zxid().counter).iter().map(|e| e.zxid).collect::<Vec<_>>());
    let torn =
        matches!(&report.events[..], [RecoveryEvent::TornTail { .. } | RecoveryEvent::RemovedEmptySegment { .. }]);
    assert!(torn, "{report}");
}

#[test]
fn unsynced_appends_a_killed_process_left_are_kept() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.write(&[append(1, 1..=3)]).unwrap();
    drop(s);
    let (_, state, report) = open(dir.path());
    assert_eq!(state.last_zxid(), Zxid::new(1, 3), "the page cache survives a process crash");
    assert!(report.is_clean());
}

#[test]
fn corrupt_epochs_file_is_detected() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.write(&[PersistOp::AcceptedEpoch(7), PersistOp::CurrentEpoch(6)]).unwrap();
    drop(s);
    let path = dir.path().join("epochs");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("accepted 7", "accepted 9")).unwrap();
    let err = DiskStore::open(dir.path(), Default::default()).unwrap_err();
    assert!(err.to_string().starts_with(&format!("corrupt epochs file in {}", path.display())), "{err}");
    fs::write(&path, &text[..text.len() - 5]).unwrap();
    assert!(matches!(DiskStore::open(dir.path(), Default::default()), Err(StoreError::Corrupt { .. })));
}

#[test]
fn accepted_below_current_refuses_to_start() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.write(&[PersistOp::AcceptedEpoch(3), PersistOp::CurrentEpoch(4)]).unwrap();
    drop(s);
    let err = DiskStore::open(dir.path(), Default::default()).unwrap_err();
    assert!(matches!(err, StoreError::Inconsistent { .. }), "{err}");
}

#[test]
fn damaged_newest_snapshot_falls_back_to_an_older_one() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=4), PersistOp::Checkpoint(snapshot(1, 4))]).unwrap();
    s.apply_and_sync(&[append(1, 5..=8), PersistOp::Checkpoint(snapshot(1, 8)), append(1, 9..=9)]).unwrap();
    drop(s);
    let files =
        ["log.0000000100000005", "log.0000000100000009", "snapshot.0000000100000004", "snapshot.0000000100000008"];
    assert_eq!(names(dir.path()), files);
    let newest = dir.path().join("snapshot.0000000100000008");
    flip(&newest, 40);
    let (_, state, report) = open(dir.path());
    assert_eq!(state.snapshot_zxid(), Zxid::new(1, 4));
    assert_eq!(zxids(&state), entries(1, 5..=9).iter().map(|e| e.zxid).collect::<Vec<_>>());
    assert!(matches!(&report.events[..], [RecoveryEvent::SkippedSnapshot { .. }]), "{report}");
    assert!(report.to_string().contains("checksum mismatch"), "{report}");
}

#[test]
fn damaged_snapshot_with_nothing_to_fall_back_on_stops() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=4), PersistOp::Checkpoint(snapshot(1, 4)), append(1, 5..=6)]).unwrap();
    drop(s);
    let only = dir.path().join("snapshot.0000000100000004");
    flip(&only, 40);
    let err = DiskStore::open(dir.path(), Default::default()).unwrap_err();
    assert!(err.to_string().starts_with(&format!("corrupt snapshot in {} at byte 8", only.display())), "{err}");
}

#[test]
fn torn_new_segment_is_removed() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=2)]).unwrap();
    drop(s);
    let stray = dir.path().join("log.0000000100000003");
    fs::write(&stray, b"ZBLOG0").unwrap();
    let (_, state, report) = open(dir.path());
    assert_eq!(state.last_zxid(), Zxid::new(1, 2));
    assert!(matches!(&report.events[..], [RecoveryEvent::RemovedEmptySegment { .. }]), "{report}");
    assert!(!stray.exists());
}

/// A data directory the store creates is its owner's only (0700): the log holds every
/// znode's data and ACL identities.
#[test]
fn a_new_data_directory_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let parent = TempDir::new().unwrap();
    let dir = parent.path().join("node-1");
    let (mut s, _, _) = open(&dir);
    s.apply_and_sync(&[append(1, 1..=2)]).unwrap();
    let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "data directory mode {mode:o}");
}
