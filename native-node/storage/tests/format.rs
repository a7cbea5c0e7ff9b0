//! Data formats: a directory written in format 1 (JSON payloads, by the store before postcard)
//! opens with the same history and goes on in format 2; a format this build does not know is
//! refused with a clear error, never cut as a torn tail or skipped as a damaged snapshot.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use zabra_core::message::Snapshot;
use zabra_core::storage::PersistOp;
use zabra_core::Zxid;
use zabra_storage::{DiskStore, StoreError};

/// A copy of `tests/fixtures/format1`: epochs 2/2, a snapshot at 1:3 of a tree holding the
/// creates 1:1..=1:3, and a log segment with 2:1 and 2:2 (written by the JSON store).
fn format1() -> TempDir {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format1");
    let dir = TempDir::new().unwrap();
    for f in fs::read_dir(&fixture).unwrap() {
        let f = f.unwrap();
        fs::copy(f.path(), dir.path().join(f.file_name())).unwrap();
    }
    dir
}

fn magic(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap()[..8].to_vec()
}

#[test]
fn a_format1_directory_opens_with_its_history_and_goes_on_in_format2() {
    let dir = format1();
    let (mut s, state, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!((state.accepted_epoch, state.current_epoch), (2, 2));
    let snap = state.snapshot.as_ref().expect("the format-1 snapshot");
    assert_eq!(snap.zxid, Zxid::new(1, 3));
    for e in entries(1, 1..=3) {
        let zabra_core::txn::Op::Create { path, .. } = &e.txn.op else { unreachable!() };
        assert!(snap.tree.exists(path).unwrap().is_some(), "{path} in the snapshot");
    }
    assert_eq!(state.log, entries(2, 1..=2), "the format-1 log, decoded as JSON");

    s.apply_and_sync(&[append(2, 3..=4)]).unwrap();
    let segs = segments(dir.path());
    assert_eq!(segs.len(), 2, "appends start a new segment: {segs:?}");
    assert_eq!(magic(&segs[0]), b"ZBLOG001", "the old segment is left as it was");
    assert_eq!(magic(&segs[1]), b"ZBLOG002");
    drop(s);

    let (mut s, state, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!(zxids(&state), entries(2, 1..=4).iter().map(|e| e.zxid).collect::<Vec<_>>());
    // A checkpoint retires the format-1 files once it covers them.
    let tree = state.snapshot.unwrap().tree;
    let checkpoint = |c| PersistOp::Checkpoint(Snapshot { zxid: Zxid::new(2, c), tree: tree.clone() });
    s.apply_and_sync(&[checkpoint(4)]).unwrap();
    s.apply_and_sync(&[append(2, 5..=5), checkpoint(5)]).unwrap();
    drop(s);
    for f in names(dir.path()).iter().filter(|n| n.starts_with("log.") || n.starts_with("snapshot.")) {
        let m = magic(&dir.path().join(f));
        assert!(m == b"ZBLOG002" || m == b"ZBSNAP02", "{f}: {}", String::from_utf8_lossy(&m));
    }
    let (_, state, _) = open(dir.path());
    assert_eq!(state.last_zxid(), Zxid::new(2, 5));
}

#[test]
fn a_format1_log_is_not_reopened_for_appends_after_a_truncate() {
    let dir = format1();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[PersistOp::Truncate(Zxid::new(2, 1)), append(2, 2..=3)]).unwrap();
    drop(s);
    let (_, state, report) = open(dir.path());
    assert!(report.is_clean(), "{report}");
    assert_eq!(zxids(&state), entries(2, 1..=3).iter().map(|e| e.zxid).collect::<Vec<_>>());
    let magics: Vec<_> = segments(dir.path()).iter().map(|p| magic(p)).collect();
    assert_eq!(magics, [b"ZBLOG001".to_vec(), b"ZBLOG002".to_vec()]);
}

/// Renames the format version of `file`'s magic to 9, keeping everything else.
fn to_format9(file: &PathBuf) {
    let mut bytes = fs::read(file).unwrap();
    bytes[7] = b'9';
    fs::write(file, bytes).unwrap();
}

fn refused(dir: &Path, file: &Path) {
    let before = names(dir);
    let err = DiskStore::open(dir, Default::default()).unwrap_err();
    assert!(matches!(&err, StoreError::Format { file: f, .. } if f == file), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&file.display().to_string()) && msg.contains("cannot read"), "{msg}");
    assert!(msg.contains("move that directory away"), "{msg}");
    assert!(msg.contains(&dir.display().to_string()), "names the directory: {msg}");
    assert_eq!(names(dir), before, "nothing was cut or removed");
}

#[test]
fn an_unknown_format_is_refused_not_cut_as_a_torn_tail() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=3)]).unwrap();
    drop(s);
    let seg = segments(dir.path()).remove(0);
    to_format9(&seg);
    refused(dir.path(), &seg);
}

#[test]
fn an_unknown_snapshot_format_is_refused_not_skipped() {
    let dir = TempDir::new().unwrap();
    let (mut s, _, _) = open(dir.path());
    s.apply_and_sync(&[append(1, 1..=3), PersistOp::Checkpoint(snapshot(1, 3)), append(1, 4..=4)]).unwrap();
    drop(s);
    let snap = dir.path().join("snapshot.0000000100000003");
    to_format9(&snap);
    refused(dir.path(), &snap);
}
