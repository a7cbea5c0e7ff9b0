//! InstallSnapshot (a SNAP from the leader), atomic with respect to a crash (ZK-3642/5094).
//!
//! ```text
//!  1. snapshot.<z>.install   written atomically      crash here: old history (staged file removed)
//!  2. install                written atomically      ── commit point ──
//!  3. delete log.*, other snapshots; rename staged → snapshot.<z>; write the new segment
//!  4. remove install                                  crash in 3–4: open redoes 3–4
//! ```
//!
//! The marker holds the entries after the snapshot, so step 3 can always be redone from it.

use crate::error::StoreError;
use crate::fsutil::{self, INSTALL};
use crate::record;
use crate::segment::{self, SegmentInfo};
use crate::snapfile::{self, InstallMarker, INSTALL_KIND, MAGIC_LEN};
use crate::Stats;
use std::fs::{self, File};
use std::path::Path;
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::Zxid;

/// Performs the whole install; returns the new log's segment, if it has entries.
pub fn install(
    dir: &Path,
    s: &Snapshot,
    entries: &[Entry],
    stats: &mut Stats,
) -> Result<Option<SegmentInfo>, StoreError> {
    let staged = fsutil::staged_snapshot_name(s.zxid);
    snapfile::write_snapshot(dir, &staged, s, stats)?;
    let mut kept: Vec<Entry> = Vec::with_capacity(entries.len());
    for e in entries.iter().filter(|e| e.zxid > s.zxid) {
        // Out-of-order entries would make the new segment unreadable at open.
        match kept.last() {
            Some(k) if k.zxid >= e.zxid => {}
            _ => kept.push(e.clone()),
        }
    }
    let marker = InstallMarker { snapshot: s.zxid, entries: kept };
    let payload = postcard::to_allocvec(&marker).expect("entries serialize");
    fsutil::atomic_write(dir, INSTALL, &snapfile::frame(INSTALL_KIND, s.zxid, &payload), stats)?;
    finish(dir, marker, stats)
}

/// Finishes an install whose marker is on disk (at open, after a crash in steps 3–4).
pub fn resume(dir: &Path, stats: &mut Stats) -> Result<(Zxid, Option<SegmentInfo>), StoreError> {
    let path = dir.join(INSTALL);
    let (zxid, marker) = parse_marker(&path, &fsutil::read(&path)?)?;
    Ok((zxid, finish(dir, marker, stats)?))
}

/// The install marker in `bytes` (read from `path`, which names the file in errors) and the
/// snapshot it installs.
pub fn parse_marker(path: &Path, bytes: &[u8]) -> Result<(Zxid, InstallMarker), StoreError> {
    let zxid = match record::decode(bytes, MAGIC_LEN) {
        Ok(raw) => raw.zxid,
        Err(d) => return Err(StoreError::corrupt(path, MAGIC_LEN as u64, d.to_string())),
    };
    let marker: InstallMarker = snapfile::decode_framed(path, bytes, INSTALL_KIND, zxid)?;
    if marker.snapshot != zxid {
        return Err(StoreError::corrupt(path, 0, "marker names two different snapshots"));
    }
    Ok((zxid, marker))
}

fn finish(dir: &Path, marker: InstallMarker, stats: &mut Stats) -> Result<Option<SegmentInfo>, StoreError> {
    let z = marker.snapshot;
    let listing = fsutil::list(dir)?;
    for path in listing.segments.values().rev() {
        fsutil::remove(path)?;
    }
    for (_, path) in listing.snapshots.iter().filter(|(sz, _)| **sz != z) {
        fsutil::remove(path)?;
    }
    let staged = dir.join(fsutil::staged_snapshot_name(z));
    let snapshot = dir.join(fsutil::snapshot_name(z));
    if staged.exists() {
        crate::crash::step("rename", &staged)?;
        fs::rename(&staged, &snapshot).map_err(StoreError::io("rename", &staged))?;
    } else if !snapshot.exists() {
        let why = format!("the snapshot it installs ({}) is missing", snapshot.display());
        return Err(StoreError::corrupt(&dir.join(INSTALL), 0, why));
    }
    let seg = write_segment(dir, z, &marker.entries, stats)?;
    fsutil::fsync_dir(dir, stats)?;
    fsutil::remove(&dir.join(INSTALL))?;
    fsutil::fsync_dir(dir, stats)?;
    Ok(seg)
}

/// Writes a whole segment holding `entries` (all after `prev`), durably.
fn write_segment(
    dir: &Path,
    prev: Zxid,
    entries: &[Entry],
    stats: &mut Stats,
) -> Result<Option<SegmentInfo>, StoreError> {
    let (Some(first), Some(last)) = (entries.first(), entries.last()) else { return Ok(None) };
    let path = dir.join(fsutil::segment_name(first.zxid));
    let mut bytes = segment::header(prev);
    for e in entries {
        record::encode(e.zxid, &zabra_peerwire::encode_entry(e), &mut bytes);
    }
    crate::crash::step("create", &path)?;
    let f = File::create(&path).map_err(StoreError::io("create", &path))?;
    crate::crash::write_all(&f, &bytes, &path)?;
    stats.bytes_written += bytes.len() as u64;
    stats.records_written += entries.len() as u64;
    fsutil::fsync_file(&f, &path, stats)?;
    let len = bytes.len() as u64;
    let (first, last, records, format) = (first.zxid, last.zxid, entries.len() as u64, crate::format::CURRENT);
    Ok(Some(SegmentInfo { path, prev, first, last, records, len, format }))
}
