//! Each file's reader on bytes instead of a path: exactly what [`crate::DiskStore::open`]
//! does to one file once it has read it, without a directory. For the fuzz targets (`fuzz/`)
//! and tests; damage of any kind must come back as an error, never a panic.

use crate::error::StoreError;
use crate::{epochs, install, record, segment, snapfile};
use std::path::Path;
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::{Epoch, Zxid};

/// What errors call the file (there is none).
const NAME: &str = "(bytes)";

/// Where a run of records stopped: the offset, why, and the offset of the next intact record
/// after it (what recovery looks for to tell a torn tail from corruption).
pub type Stopped = (usize, String, Option<usize>);

/// The records from `start` (zxid and payload length each), ending at the first defect.
pub fn records(bytes: &[u8], start: usize) -> (Vec<(Zxid, usize)>, Option<Stopped>) {
    let mut good = Vec::new();
    for item in record::Records::new(bytes, start.min(bytes.len())) {
        match item {
            Ok(raw) => good.push((raw.zxid, raw.payload.len())),
            Err((at, defect)) => return (good, Some((at, defect.to_string(), record::intact_record_after(bytes, at)))),
        }
    }
    (good, None)
}

/// A log segment whose file name says its first zxid is `first`; `last`: it is the newest
/// segment (the only one allowed a torn tail). Its entries, and why its tail was torn if it was.
pub fn segment(bytes: &[u8], first: Zxid, last: bool) -> Result<(Vec<Entry>, Option<String>), StoreError> {
    let loaded = segment::parse(Path::new(NAME), bytes, first, last)?;
    Ok((loaded.entries, loaded.torn.map(|t| t.reason)))
}

/// A snapshot file whose name says `zxid`.
pub fn snapshot(bytes: &[u8], zxid: Zxid) -> Result<Snapshot, StoreError> {
    snapfile::decode_framed(Path::new(NAME), bytes, snapfile::SNAPSHOT_KIND, zxid)
}

/// An install marker: the snapshot it installs and the entries after it.
pub fn install_marker(bytes: &[u8]) -> Result<(Zxid, Vec<Entry>), StoreError> {
    install::parse_marker(Path::new(NAME), bytes).map(|(z, m)| (z, m.entries))
}

/// The epochs file: accepted and current epoch, or the offset and reason of the damage.
pub fn epochs(bytes: &[u8]) -> Result<(Epoch, Epoch), (u64, String)> {
    epochs::decode(bytes).map(|e| (e.accepted, e.current))
}
