//! `DiskStore`: performs the core's `PersistOp`s on disk, in order, with group commit.
//!
//! Only `Append` is buffered: it goes to the page cache and waits for [`DiskStore::sync`], so
//! one fsync covers every proposal that arrived while the previous one ran. Epochs, TRUNC and
//! installs are rare and durable when `write` returns; each first syncs the appends written
//! before it, because an epoch or snapshot must never be durable ahead of history it follows
//! (ZOOKEEPER-4643: a current_epoch persisted before the synced txns let a peer win with a
//! short log). A checkpoint goes to the snapshot-writer thread (`snapwriter`): it adds no
//! history, and what it covers is deleted only once it is durable.

use crate::epochs::{self, Epochs};
use crate::error::StoreError;
use crate::fsutil::{self, EPOCHS};
use crate::segment::{self, SegmentInfo};
use crate::snapwriter::{Background, Gate, SnapshotHold, SnapshotOutcome};
use crate::{install, record, OpenReport, Stats, StoreOptions};
use bytes::Bytes;
use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::storage::{Backend, PersistOp, PersistedState};
use zabra_core::{Epoch, Zxid};

/// The open handle on the last segment, which takes appends.
#[derive(Debug)]
pub(crate) struct Active {
    pub file: File,
    /// The end of the records written (the next write goes here).
    pub written: u64,
    pub synced: u64,
    /// The file's length: records, then zeros preallocated for the next ones.
    pub allocated: u64,
}

impl Active {
    /// The segment at `path`, whose records end at `len`, opened for appends.
    pub(crate) fn open(path: &Path, len: u64) -> Result<Active, StoreError> {
        let (file, allocated) = fsutil::open_log(path)?;
        Ok(Active { file, written: len, synced: len, allocated: allocated.max(len) })
    }

    /// Gives the zeros after the records back (a closed segment grows no more). Not fsynced:
    /// after a crash the zeros are still there, which open reads as the end of the log.
    fn trim(&mut self, path: &Path) -> Result<(), StoreError> {
        if self.allocated > self.written {
            self.file.set_len(self.written).map_err(StoreError::io("truncate", path))?;
            self.allocated = self.written;
        }
        Ok(())
    }
}

/// A `PersistOp` with the bytes of its appended entries, if the caller encoded them already
/// (`zabra_peerwire::encode_entry`, one per entry of an Append, in order; empty otherwise).
#[derive(Clone, Debug)]
pub struct Prepared {
    pub op: PersistOp,
    pub encoded: Vec<Bytes>,
}

impl From<PersistOp> for Prepared {
    fn from(op: PersistOp) -> Self {
        Prepared { op, encoded: Vec::new() }
    }
}

/// The disk backend of a native node. Dropping it without [`DiskStore::sync`] is a crash:
/// appends written since the last sync may be lost.
#[derive(Debug)]
pub struct DiskStore {
    pub(crate) dir: PathBuf,
    pub(crate) opts: StoreOptions,
    /// Held for the store's life; `None` only while `Backend::reopen` swaps stores.
    pub(crate) lock: Option<File>,
    pub(crate) epochs: Epochs,
    pub(crate) epochs_dirty: bool,
    /// Oldest first; the last one is `active` when it is open for appends.
    pub(crate) segments: Vec<SegmentInfo>,
    pub(crate) active: Option<Active>,
    /// Records encoded by the current `write` call, written to `active` before it returns.
    pub(crate) buf: Vec<u8>,
    pub(crate) snapshots: BTreeSet<Zxid>,
    pub(crate) snapshot_zxid: Zxid,
    pub(crate) last_zxid: Zxid,
    pub(crate) stats: Stats,
    pub(crate) failed: Option<String>,
    /// The checkpoint being written by the snapshot-writer thread, and the one waiting.
    pub(crate) bg: Background,
}

impl DiskStore {
    /// Opens (or creates) the store in `dir` and loads what a peer starts from; see the crate
    /// docs for the recovery rules and `OpenReport` for what was repaired.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<(DiskStore, PersistedState, OpenReport), StoreError> {
        crate::open::open(dir, opts)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Performs `ops` in order. Appends are written but not fsynced (call [`Self::sync`]);
    /// epoch writes, truncations and installs are durable on return, as is everything written
    /// before them. A checkpoint is handed to the snapshot-writer thread and becomes durable
    /// later (see `snapwriter`): it adds no history, so nothing waits for it. After an error
    /// the store refuses further work (see `StoreError::Failed`).
    pub fn write(&mut self, ops: &[PersistOp]) -> Result<(), StoreError> {
        self.write_ops(ops.iter().map(|op| (op, &[][..])))
    }

    /// [`Self::write`], with the bytes of appended entries the caller already encoded (the
    /// leader encodes an entry once for its followers and its disk), so none is encoded twice.
    pub fn write_prepared(&mut self, ops: &[Prepared]) -> Result<(), StoreError> {
        self.write_ops(ops.iter().map(|p| (&p.op, &p.encoded[..])))
    }

    fn write_ops<'a>(&mut self, ops: impl Iterator<Item = (&'a PersistOp, &'a [Bytes])>) -> Result<(), StoreError> {
        self.guard(|s| {
            s.reap_snapshots(false)?;
            for (op, encoded) in ops {
                s.on_op(op, encoded)?;
            }
            s.flush_epochs()?;
            s.flush_buf()
        })
    }

    /// Group commit: makes every op written so far durable with one fsync for all appends
    /// since the last sync. It does not wait for a snapshot being written in the background.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.guard(|s| {
            s.sync_log()?;
            s.reap_snapshots(false)
        })
    }

    /// `write`, `sync`, and waits for background snapshots: everything is durable on return.
    pub fn apply_and_sync(&mut self, ops: &[PersistOp]) -> Result<(), StoreError> {
        self.write(ops)?;
        self.sync()?;
        self.settle_snapshots()
    }

    /// Registers a background snapshot that has finished (and deletes what it covers) without
    /// waiting; the storage thread calls it while idle.
    pub fn poll_snapshots(&mut self) -> Result<(), StoreError> {
        self.guard(|s| s.reap_snapshots(false))
    }

    /// Waits until no snapshot is being written or waiting.
    pub fn settle_snapshots(&mut self) -> Result<(), StoreError> {
        self.guard(|s| s.reap_snapshots(true))
    }

    /// True while a checkpoint is being written in the background or waits to be.
    pub fn snapshot_in_progress(&self) -> bool {
        self.bg.running.is_some() || self.bg.queued.is_some()
    }

    /// How the background snapshots finished since the last call.
    pub fn take_snapshot_outcomes(&mut self) -> Vec<SnapshotOutcome> {
        std::mem::take(&mut self.bg.outcomes)
    }

    /// A clean shutdown: syncs, waits for a snapshot being written, then releases the directory.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.sync()?;
        self.settle_snapshots()
    }

    /// Test hook: snapshots written from now on stop after their `.tmp` file is fsynced and
    /// before the rename, until the returned hold is dropped (or abandoned: a crash there).
    #[doc(hidden)]
    pub fn hold_snapshots(&mut self) -> SnapshotHold {
        let gate = Arc::new(Gate::default());
        self.bg.gate = Some(gate.clone());
        SnapshotHold(gate)
    }

    /// True when appends were written since the last sync.
    pub fn needs_sync(&self) -> bool {
        !self.buf.is_empty() || self.active.as_ref().is_some_and(|a| a.written > a.synced)
    }

    pub fn stats(&self) -> Stats {
        Stats {
            records: self.segments.iter().map(|s| s.records).sum(),
            segments: self.segments.len() as u64,
            snapshots: self.snapshots.len() as u64,
            ..self.stats
        }
    }

    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// Simulates power loss for tests: drops the store after cutting the active segment back
    /// to its last synced length, plus `torn_bytes` of what followed (a partly written record).
    /// A background snapshot is let finish first (a crash during one is tested with
    /// [`Self::hold_snapshots`]).
    #[doc(hidden)]
    pub fn simulate_power_loss(mut self, torn_bytes: u64) -> Result<(), StoreError> {
        self.finish_background(true);
        self.cut_unsynced(torn_bytes)?;
        self.active = None;
        Ok(())
    }

    /// Lets the writer thread finish its snapshot, and the queued one when `queued`, without
    /// registering them (no cleanup runs): the store is about to be dropped.
    fn finish_background(&mut self, queued: bool) {
        if !queued {
            self.bg.queued = None;
        }
        while self.bg.reap(&self.dir, true).is_some() {}
    }

    /// What a power loss leaves of the active segment: the synced records, `torn_bytes` of
    /// what followed, then zeros up to the preallocated length.
    fn cut_unsynced(&mut self, torn_bytes: u64) -> Result<(), StoreError> {
        self.flush_buf()?;
        if let (Some(a), Some(seg)) = (&self.active, self.segments.last()) {
            let keep = a.synced + torn_bytes.min(a.written - a.synced);
            let zeros = vec![0; (a.written - keep) as usize];
            crate::crash::write_all_at(&a.file, &zeros, keep, &seg.path)?;
        }
        Ok(())
    }

    fn guard(&mut self, f: impl FnOnce(&mut Self) -> Result<(), StoreError>) -> Result<(), StoreError> {
        if let Some(why) = &self.failed {
            return Err(StoreError::Failed(why.clone()));
        }
        let r = f(self);
        if let Err(e) = &r {
            self.failed = Some(e.to_string());
        }
        r
    }

    fn on_op(&mut self, op: &PersistOp, encoded: &[Bytes]) -> Result<(), StoreError> {
        if !matches!(op, PersistOp::AcceptedEpoch(_) | PersistOp::CurrentEpoch(_)) {
            self.flush_epochs()?;
        }
        match op {
            PersistOp::AcceptedEpoch(e) => self.on_epoch(|ep| ep.accepted = *e),
            PersistOp::CurrentEpoch(e) => self.on_epoch(|ep| ep.current = *e),
            PersistOp::Append(entries) => {
                let mut encoded = encoded.iter();
                entries.iter().try_for_each(|e| self.on_append(e, encoded.next()))
            }
            PersistOp::Truncate(z) => self.on_truncate(*z),
            PersistOp::InstallSnapshot(s, entries) => self.on_install(s, entries),
            PersistOp::Checkpoint(s) => self.on_checkpoint(s),
        }
    }

    /// Consecutive epoch ops (AcceptedEpoch then CurrentEpoch in one batch) share one file write.
    fn on_epoch(&mut self, set: impl FnOnce(&mut Epochs)) -> Result<(), StoreError> {
        self.sync_log()?;
        set(&mut self.epochs);
        self.epochs_dirty = true;
        Ok(())
    }

    fn flush_epochs(&mut self) -> Result<(), StoreError> {
        if self.epochs_dirty {
            fsutil::atomic_write(&self.dir, EPOCHS, epochs::encode(self.epochs).as_bytes(), &mut self.stats)?;
            self.epochs_dirty = false;
        }
        Ok(())
    }

    /// Skips entries at or below the last zxid, as `PersistedState::apply` does. The record's
    /// payload is `encoded` when the caller has it, else the entry is encoded here.
    fn on_append(&mut self, e: &Entry, encoded: Option<&Bytes>) -> Result<(), StoreError> {
        if e.zxid <= self.last_zxid {
            return Ok(());
        }
        let payload = match encoded {
            Some(b) => {
                debug_assert_eq!(b[..], zabra_peerwire::encode_entry(e)[..], "bytes of another entry");
                std::borrow::Cow::Borrowed(&b[..])
            }
            None => std::borrow::Cow::Owned(zabra_peerwire::encode_entry(e)),
        };
        let size = (record::HEADER_LEN + payload.len()) as u64;
        let full = self.segments.last().is_some_and(|s| s.records > 0 && s.len + size > self.opts.segment_bytes);
        if full {
            self.roll()?;
        }
        if self.active.is_none() {
            self.create_segment(e.zxid)?;
        }
        record::encode(e.zxid, &payload, &mut self.buf);
        let seg = self.segments.last_mut().expect("an active segment");
        seg.last = e.zxid;
        seg.records += 1;
        seg.len += size;
        self.last_zxid = e.zxid;
        self.stats.records_written += 1;
        Ok(())
    }

    /// Starts `log.<first>`. The directory is fsynced now, so `sync` needs one fsync only.
    fn create_segment(&mut self, first: Zxid) -> Result<(), StoreError> {
        let path = self.dir.join(fsutil::segment_name(first));
        crate::crash::step("create", &path)?;
        let file = File::options().create_new(true).write(true).open(&path).map_err(StoreError::io("create", &path))?;
        fsutil::fsync_dir(&self.dir, &mut self.stats)?;
        let header = segment::header(self.last_zxid);
        self.buf.extend_from_slice(&header);
        let len = header.len() as u64;
        let (prev, format) = (self.last_zxid, crate::format::CURRENT);
        self.segments.push(SegmentInfo { path, prev, first, last: prev, records: 0, len, format });
        self.active = Some(Active { file, written: 0, synced: 0, allocated: 0 });
        Ok(())
    }

    /// Closes the active segment durably, so a later segment never outlives an earlier one.
    fn roll(&mut self) -> Result<(), StoreError> {
        self.sync_log()?;
        self.close_active()
    }

    /// Stops appending to the active segment, giving back its preallocated zeros.
    fn close_active(&mut self) -> Result<(), StoreError> {
        if let (Some(mut a), Some(seg)) = (self.active.take(), self.segments.last()) {
            a.trim(&seg.path)?;
        }
        Ok(())
    }

    /// The length to preallocate so that `need` bytes fit: whole steps of
    /// `StoreOptions::preallocate`, but not past the segment size limit.
    fn allocation(&self, need: u64) -> u64 {
        let (step, cap) = (self.opts.preallocate, self.opts.segment_bytes.max(need));
        if step == 0 {
            return need;
        }
        need.div_ceil(step).saturating_mul(step).min(cap)
    }

    fn flush_buf(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let need = self.active.as_ref().expect("buffered records have a segment").written + self.buf.len() as u64;
        let to = self.allocation(need);
        let (a, seg) = (self.active.as_mut().expect("an active segment"), self.segments.last());
        let path = &seg.expect("an active segment").path;
        if need > a.allocated {
            fsutil::preallocate(&a.file, path, to)?;
            a.allocated = to;
        }
        crate::crash::write_all_at(&a.file, &self.buf, a.written, path)?;
        a.written += self.buf.len() as u64;
        self.stats.bytes_written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    pub(crate) fn sync_log(&mut self) -> Result<(), StoreError> {
        self.flush_buf()?;
        if let (Some(a), Some(seg)) = (self.active.as_mut(), self.segments.last()) {
            if a.written > a.synced {
                crate::crash::step("fsync", &seg.path)?;
                self.stats.fsyncs += 1;
                a.file.sync_data().map_err(StoreError::io("fsync", &seg.path))?;
                a.synced = a.written;
            }
        }
        Ok(())
    }

    /// TRUNC: later segments go first (newest first, then a directory fsync), so a crash never
    /// leaves a later segment behind a cut one; then the containing segment is cut and fsynced.
    /// A background snapshot is finished first, so no file it covers changes under it.
    fn on_truncate(&mut self, z: Zxid) -> Result<(), StoreError> {
        self.reap_snapshots(true)?;
        self.sync_log()?;
        let keep = self.segments.partition_point(|s| s.first <= z);
        if keep < self.segments.len() {
            self.active = None;
            for seg in self.segments.drain(keep..).rev() {
                fsutil::remove(&seg.path)?;
            }
            fsutil::fsync_dir(&self.dir, &mut self.stats)?;
        }
        if let Some(seg) = self.segments.last_mut() {
            if seg.last > z {
                let cut = segment::info_up_to(seg, z)?;
                self.active = None;
                segment::cut(&cut.path, cut.len, &mut self.stats)?;
                *seg = cut;
            }
            if self.active.is_none() && seg.format == crate::format::CURRENT {
                self.active = Some(Active::open(&seg.path, seg.len)?);
            }
        }
        self.last_zxid = self.snapshot_zxid.max(self.segments.last().map_or(Zxid::ZERO, |s| s.last));
        Ok(())
    }

    /// A background snapshot is finished first, so it cannot land after the install.
    fn on_install(&mut self, s: &Snapshot, entries: &[Entry]) -> Result<(), StoreError> {
        self.reap_snapshots(true)?;
        self.sync_log()?;
        self.active = None;
        let seg = install::install(&self.dir, s, entries, &mut self.stats)?;
        self.segments.clear();
        self.snapshots = BTreeSet::from([s.zxid]);
        self.snapshot_zxid = s.zxid;
        self.last_zxid = seg.as_ref().map_or(s.zxid, |g| g.last);
        if let Some(seg) = seg {
            self.active = Some(Active::open(&seg.path, seg.len)?);
            self.segments.push(seg);
        }
        Ok(())
    }

    /// Like ZooKeeper, a snapshot rolls the log, so the history it covers sits in closed
    /// segments that cleanup can delete whole. The tree is a structural-sharing copy (O(1)),
    /// serialized by the writer thread.
    fn on_checkpoint(&mut self, s: &Snapshot) -> Result<(), StoreError> {
        self.roll()?;
        self.last_zxid = self.last_zxid.max(s.zxid);
        if self.bg.submit(&self.dir, s.clone()) {
            self.stats.snapshots_skipped += 1;
        }
        Ok(())
    }

    /// Registers finished background snapshots and deletes what they cover. With `block`,
    /// waits until none is running or queued.
    fn reap_snapshots(&mut self, block: bool) -> Result<(), StoreError> {
        while let Some((zxid, written)) = self.bg.reap(&self.dir, block) {
            match written {
                Ok(st) => {
                    self.stats.add(&st);
                    self.snapshots.insert(zxid);
                    // Open loads the newest snapshot, so an older checkpoint does not move the
                    // base back.
                    self.snapshot_zxid = self.snapshot_zxid.max(zxid);
                    self.clean_up()?;
                }
                Err(_) => self.stats.snapshot_failures += 1,
            }
            if !block {
                break;
            }
        }
        Ok(())
    }

    /// Keeps the newest `keep_snapshots` snapshots and the log from the oldest of them on, so
    /// each kept snapshot can still be the starting point if a newer one is damaged.
    fn clean_up(&mut self) -> Result<(), StoreError> {
        let mut removed = false;
        while self.snapshots.len() > self.opts.keep_snapshots.max(1) {
            let z = self.snapshots.pop_first().expect("more than one snapshot");
            fsutil::remove(&self.dir.join(fsutil::snapshot_name(z)))?;
            removed = true;
        }
        let oldest = *self.snapshots.first().expect("a snapshot was just written");
        let covered = self.segments.partition_point(|s| s.last <= oldest);
        let covered = if self.active.is_some() { covered.min(self.segments.len() - 1) } else { covered };
        for seg in self.segments.drain(..covered) {
            fsutil::remove(&seg.path)?;
            removed = true;
        }
        if removed {
            fsutil::fsync_dir(&self.dir, &mut self.stats)?;
        }
        Ok(())
    }

    pub fn accepted_epoch(&self) -> Epoch {
        self.epochs.accepted
    }

    pub fn current_epoch(&self) -> Epoch {
        self.epochs.current
    }
}

/// For the conformance suite. `reopen` is a power loss, not a clean shutdown: unsynced appends
/// are cut before the store is opened again, as the trait's "drop everything not durable" asks.
impl Backend for DiskStore {
    fn apply(&mut self, ops: &[PersistOp]) {
        self.write(ops).expect("disk store write");
    }

    /// Everything durable, background snapshots included.
    fn sync(&mut self) {
        DiskStore::sync(self).and_then(|_| self.settle_snapshots()).expect("disk store sync");
    }

    /// The crash is one of `crash`'s injected steps: the process dies there (what it had
    /// buffered is gone), then the power goes (what was not fsynced may be cut).
    fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState> {
        crate::crash::arm(step);
        let result = self.write(std::slice::from_ref(op));
        if !crate::crash::disarm() {
            result.expect("disk store write");
            return None;
        }
        self.buf.clear();
        Some(self.reopen())
    }

    fn reopen(&mut self) -> PersistedState {
        let (dir, opts) = (self.dir.clone(), self.opts);
        self.finish_background(true);
        self.cut_unsynced(0).expect("simulated power loss");
        self.active = None;
        self.lock = None;
        let (store, state, _) = DiskStore::open(&dir, opts).expect("reopen disk store");
        *self = store;
        state
    }
}

/// Dropping a store lets a snapshot being written finish (it is a complete, valid file), so
/// no writer thread outlives the directory lock; one that waits is dropped.
impl Drop for DiskStore {
    fn drop(&mut self) {
        self.finish_background(false);
        // Tidiness only (a crash leaves the zeros, and open reads them as the end of the log).
        let _ = self.close_active();
    }
}
