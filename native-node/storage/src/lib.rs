//! # zabra-storage: the disk backend of a native node
//!
//! The core never touches storage: it emits `Output::Persist { token, op }` and waits for
//! `Input::Persisted(token)` before anything that depends on the write leaves the peer
//! (ZOOKEEPER-3911, -4643, -4646, -4785). [`DiskStore`] is what the native driver performs those
//! ops on. Ops become durable in the order they were written; a crash loses at most the
//! appends written after the last [`DiskStore::sync`].
//!
//! ```text
//!  Persist ops ──► DiskStore::write ──► Append: framed records into the page cache (no fsync)
//!                        │             ├─► epochs / truncate / install: sync first, then durable
//!                        │             └─► checkpoint: roll the log, hand the tree to the
//!                        │                 snapshot-writer thread (see `snapwriter`)
//!  queue drained ──► DiskStore::sync ──► one fsync covers every append since the last one
//!                                        (group commit) ──► driver reports Persisted(token)
//!  start-up ──► DiskStore::open ──► PersistedState + OpenReport (what recovery did)
//! ```
//!
//! ## Layout of the data directory
//!
//! | file | content |
//! | --- | --- |
//! | `epochs` | accepted and current epoch, text with a CRC line; replaced atomically |
//! | `log.<zxid>` | a log segment; `<zxid>` (16 hex digits) is its first record's zxid; the active one is preallocated (zeros after its records) |
//! | `snapshot.<zxid>` | one framed record: postcard of `Snapshot` (as a SNAP carries it), streamed by a writer thread |
//! | `install` | an InstallSnapshot in progress (its commit point), redone at open |
//! | `snapshot.<zxid>.install` | the snapshot of that install, staged before the commit point |
//! | `*.tmp` | a write that had not been renamed into place: removed at open |
//! | `lock` | held with `flock` while a store is open |
//!
//! ## Record format (little-endian)
//!
//! ```text
//!  0  u32  payload length n          segment header (20 bytes):
//!  4  u64  zxid                        0  8 bytes  magic "ZBLOG002"
//! 12  u32  CRC32 of the payload        8  u64      zxid of the record before this segment
//! 16  u32  CRC32 of bytes 0..16       16  u32      CRC32 of bytes 8..16
//! 20  n    payload (log::Entry in postcard: zabra_peerwire::encode_entry, the very bytes
//!          of the entry in a Proposal)
//! ```
//!
//! ## Format versions
//!
//! Each file's magic ends in its format version (`ZBLOG002`, `ZBSNAP02`, `ZBINST02`). This
//! build writes format 2 (postcard; a 100-byte create is a 197-byte record) and still reads
//! format 1 (JSON payloads, znode data as arrays of numbers: 509 bytes): a format-1 directory
//! opens unchanged, its last segment takes no more appends, and checkpoints retire its files.
//! A version it does not know is refused ([`StoreError::Format`], naming the file and the
//! directory), never cut as a torn tail or passed over as a damaged snapshot.
//!
//! The header carries its own CRC so recovery can tell a torn tail from corruption in the
//! middle: it looks for any intact record after a bad one, cheaply, by header checksum. The
//! segment header records the zxid before the segment so a missing segment file is a detected
//! gap, not silently lost history.
//!
//! ## Preallocation
//!
//! The active segment grows in steps of [`StoreOptions::preallocate`] (64 MiB, ZooKeeper's
//! `preAllocSize`) with `fallocate`, written at explicit offsets, so an append changes no file
//! size and its fdatasync persists data only (measured here: 124 µs → 87 µs per fdatasync of a
//! 230-byte write on ext4). A segment that closes gives its zeros back (`set_len`); after a
//! crash they are still there.
//!
//! ## Recovery rules (see `open`)
//!
//! - Zeros after the last intact record, in any segment, are preallocated space: the end of
//!   that segment's records, not damage.
//! - A bad last record of the last segment with no intact record after it is a torn tail: the
//!   file is cut to the last good record and the [`OpenReport`] says so.
//! - A bad record anywhere else, a gap between segments or between the snapshot and the log,
//!   an unreadable epochs file or an unreadable snapshot with nothing to fall back on:
//!   [`StoreError::Corrupt`] naming the file and byte offset.
//! - The newest intact snapshot that the log continues wins; log records at or below its zxid
//!   are ignored.
//! - Known limit: the kernel may write back unsynced pages out of order, so a power loss can
//!   leave a torn record with an intact *unsynced* one after it. That is refused as corruption
//!   (the safe side: the operator moves the file away and the node resyncs from its peers).

mod crash;
mod epochs;
mod error;
mod format;
mod fsutil;
mod install;
mod open;
pub mod readers;
mod record;
mod report;
mod segment;
mod snapfile;
mod snapwriter;
mod store;

pub use error::StoreError;
pub use report::{OpenReport, RecoveryEvent};
pub use snapwriter::{SnapshotHold, SnapshotOutcome};
pub use store::{DiskStore, Prepared};

/// Tunables of a [`DiskStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// A segment rolls over once it would grow past this many bytes, so covered history can be
    /// deleted a file at a time (a record larger than this gets a segment of its own).
    pub segment_bytes: u64,
    /// Snapshots kept after a checkpoint; more than one leaves a fallback if the newest is
    /// damaged, at the cost of keeping the log from the oldest one (ZooKeeper's
    /// `autopurge.snapRetainCount`, default 3, plays the same role).
    pub keep_snapshots: usize,
    /// The active segment grows in steps of this many bytes of allocated zeros (never past
    /// `segment_bytes`), so an fsync after an append has no size change to persist
    /// (ZooKeeper's `preAllocSize`, 64 MiB). 0 grows it with every write.
    pub preallocate: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { segment_bytes: 64 << 20, keep_snapshots: 2, preallocate: 64 << 20 }
    }
}

/// Counters and gauges for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes written to any file since open (counter).
    pub bytes_written: u64,
    /// fsync/fdatasync calls on files and directories since open (counter).
    pub fsyncs: u64,
    /// Log records appended since open (counter).
    pub records_written: u64,
    /// Records in the log segments on disk, including those a snapshot covers (gauge).
    pub records: u64,
    /// Log segment files (gauge).
    pub segments: u64,
    /// Snapshot files (gauge).
    pub snapshots: u64,
    /// Checkpoints written in the background since open (counter).
    pub snapshots_written: u64,
    /// Checkpoints replaced by a newer one while waiting for the writer (counter).
    pub snapshots_skipped: u64,
    /// Background snapshots that failed; the log still holds what they covered (counter).
    pub snapshot_failures: u64,
}

impl Stats {
    /// Adds the counters of work done elsewhere (the snapshot writer's).
    pub(crate) fn add(&mut self, o: &Stats) {
        self.bytes_written += o.bytes_written;
        self.fsyncs += o.fsyncs;
        self.snapshots_written += o.snapshots_written;
    }
}
