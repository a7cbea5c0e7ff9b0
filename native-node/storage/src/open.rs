//! Start-up: clear unfinished writes, finish a committed install, read epochs, segments and
//! snapshots, repair a torn tail, refuse anything else.

use crate::epochs::{self, Epochs};
use crate::error::StoreError;
use crate::fsutil::{self, Listing, EPOCHS};
use crate::report::{OpenReport, RecoveryEvent};
use crate::segment::{self, Loaded};
use crate::store::{Active, DiskStore};
use crate::{install, snapfile, Stats, StoreOptions};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use zabra_core::message::Snapshot;
use zabra_core::storage::PersistedState;
use zabra_core::Zxid;

pub fn open(dir: &Path, opts: StoreOptions) -> Result<(DiskStore, PersistedState, OpenReport), StoreError> {
    let mut report = OpenReport::default();
    let mut stats = Stats::default();
    if !dir.exists() {
        // Owner only: the log and snapshots hold every znode's data and the digest
        // identities of ACLs, as sensitive as the cluster secret (0600) beside them.
        std::os::unix::fs::DirBuilderExt::mode(fs::DirBuilder::new().recursive(true), 0o700)
            .create(dir)
            .map_err(StoreError::io("create directory", dir))?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fsutil::fsync_dir(parent, &mut stats)?;
        }
        report.events.push(RecoveryEvent::CreatedDir(dir.to_path_buf()));
    }
    let lock = fsutil::lock(dir)?;
    let listing = clear_unfinished(dir, &mut report, &mut stats)?;
    let epochs = epochs::load(&dir.join(EPOCHS))?.unwrap_or_default();
    let loaded = load_segments(&listing, &mut report, &mut stats)?;
    let gap = highest_gap(&loaded)?;
    let log_last = loaded.last().map_or(Zxid::ZERO, |l| l.info.last);
    let (snapshot, skipped) = choose_snapshot(&listing, gap, log_last, &mut report)?;
    let state = state_of(epochs, snapshot, &loaded);
    state.validate().map_err(|reason| StoreError::Inconsistent { file: dir.join(EPOCHS), reason })?;
    let mut store = DiskStore {
        dir: dir.to_path_buf(),
        opts,
        lock: Some(lock),
        epochs,
        epochs_dirty: false,
        segments: loaded.into_iter().map(|l| l.info).collect(),
        active: None,
        buf: Vec::new(),
        snapshots: listing.snapshots.keys().filter(|z| !skipped.contains(z)).copied().collect(),
        snapshot_zxid: state.snapshot_zxid(),
        last_zxid: state.snapshot_zxid().max(log_last),
        stats,
        failed: None,
        bg: Default::default(),
    };
    open_active(&mut store)?;
    report.snapshot = state.snapshot.as_ref().map(|s| s.zxid);
    report.entries = state.log.len();
    report.last_zxid = state.last_zxid();
    report.segments = store.segments.len();
    Ok((store, state, report))
}

/// Removes `*.tmp` files, then either finishes a committed install or drops its staged
/// snapshot; returns the directory's listing afterwards.
fn clear_unfinished(dir: &Path, report: &mut OpenReport, stats: &mut Stats) -> Result<Listing, StoreError> {
    let listing = fsutil::list(dir)?;
    for t in &listing.temps {
        fsutil::remove(t)?;
        report.events.push(RecoveryEvent::RemovedTemp(t.clone()));
    }
    if listing.install.is_some() {
        let (snapshot, _) = install::resume(dir, stats)?;
        report.events.push(RecoveryEvent::CompletedInstall { snapshot });
        return fsutil::list(dir);
    }
    for staged in listing.staged.values() {
        fsutil::remove(staged)?;
        report.events.push(RecoveryEvent::RemovedStagedSnapshot(staged.clone()));
    }
    Ok(listing)
}

/// Reads every segment; only the last may have a torn tail, which is cut here (or the whole
/// file removed when no record in it is intact).
fn load_segments(listing: &Listing, report: &mut OpenReport, stats: &mut Stats) -> Result<Vec<Loaded>, StoreError> {
    let n = listing.segments.len();
    let mut loaded = Vec::with_capacity(n);
    for (i, (first, path)) in listing.segments.iter().enumerate() {
        let last = i + 1 == n;
        let seg = segment::load(path, *first, last)?;
        if last && seg.entries.is_empty() {
            let bytes = fs::metadata(path).map_err(StoreError::io("stat", path))?.len();
            fsutil::remove(path)?;
            fsutil::fsync_dir(path.parent().unwrap_or(Path::new(".")), stats)?;
            report.events.push(RecoveryEvent::RemovedEmptySegment { file: path.clone(), bytes });
            continue;
        }
        if let Some(t) = &seg.torn {
            segment::cut(path, seg.info.len, stats)?;
            let (offset, bytes, reason) = (t.offset, t.bytes, t.reason.clone());
            report.events.push(RecoveryEvent::TornTail { file: path.clone(), offset, bytes, reason });
        }
        loaded.push(seg);
    }
    Ok(loaded)
}

/// The highest zxid after which the log has a hole (ZERO when it is complete from the start):
/// only a snapshot at or above it can be the base. Overlapping segments are corruption.
fn highest_gap(loaded: &[Loaded]) -> Result<Zxid, StoreError> {
    let mut before = Zxid::ZERO;
    let mut gap = Zxid::ZERO;
    for seg in loaded {
        let i = &seg.info;
        if i.prev < before {
            let why = format!("segment starts after zxid {} but the one before it ends at {}", i.prev, before);
            return Err(StoreError::corrupt(&i.path, 8, why));
        }
        if i.prev > before {
            gap = i.prev;
        }
        before = i.last;
    }
    Ok(gap)
}

/// Picks the newest intact snapshot at or above `gap`. A damaged snapshot is passed over only
/// when the log reaches its zxid, so nothing it held is lost.
fn choose_snapshot(
    listing: &Listing,
    gap: Zxid,
    log_last: Zxid,
    report: &mut OpenReport,
) -> Result<(Option<Snapshot>, BTreeSet<Zxid>), StoreError> {
    let mut skipped = BTreeSet::new();
    let mut first_damage = None;
    for (z, path) in listing.snapshots.iter().rev().filter(|(z, _)| **z >= gap) {
        match snapfile::read_snapshot(path, *z) {
            Ok(s) => return Ok((Some(s), skipped)),
            Err(StoreError::Corrupt { file, offset, reason }) if *z <= log_last => {
                let why = format!("at byte {offset}: {reason}");
                report.events.push(RecoveryEvent::SkippedSnapshot { file: path.clone(), reason: why });
                let e = StoreError::Corrupt { file, offset, reason };
                skipped.insert(*z);
                first_damage.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    if gap == Zxid::ZERO {
        return Ok((None, skipped));
    }
    Err(first_damage.unwrap_or_else(|| {
        let file = listing.segments.values().next().cloned().unwrap_or_default();
        StoreError::corrupt(&file, 8, format!("the log has a hole before zxid {gap} and no snapshot covers it"))
    }))
}

fn state_of(epochs: Epochs, snapshot: Option<Snapshot>, loaded: &[Loaded]) -> PersistedState {
    let base = snapshot.as_ref().map_or(Zxid::ZERO, |s| s.zxid);
    let log = loaded.iter().flat_map(|l| &l.entries).filter(|e| e.zxid > base).cloned().collect();
    PersistedState { accepted_epoch: epochs.accepted, current_epoch: epochs.current, snapshot, log }
}

/// Opens the last segment for appends and fsyncs it: records a killed process left in the page
/// cache were loaded, so they must be durable before the peer acts on them. A segment of an
/// older format takes no appends: the next one starts a new segment.
fn open_active(store: &mut DiskStore) -> Result<(), StoreError> {
    let Some(seg) = store.segments.last() else { return Ok(()) };
    let active = Active::open(&seg.path, seg.len)?;
    fsutil::fsync_file(&active.file, &seg.path, &mut store.stats)?;
    if seg.format == crate::format::CURRENT {
        store.active = Some(active);
    }
    Ok(())
}
