//! Snapshot and install-marker files: a magic, then one framed record (see `record`).

use crate::error::StoreError;
use crate::fsutil;
use crate::record::{self, Defect};
use crate::Stats;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::Zxid;

pub const SNAPSHOT_MAGIC: &[u8; 8] = b"ZBSNAP01";
pub const INSTALL_MAGIC: &[u8; 8] = b"ZBINST01";

/// The commit point of an InstallSnapshot: once this file exists the new history is decided,
/// and `open` finishes the install if a crash interrupted it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct InstallMarker {
    pub snapshot: Zxid,
    pub entries: Vec<Entry>,
}

pub fn frame(magic: &[u8; 8], zxid: Zxid, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(magic.len() + record::HEADER_LEN + payload.len());
    out.extend_from_slice(magic);
    record::encode(zxid, payload, &mut out);
    out
}

pub fn snapshot_bytes(s: &Snapshot) -> Vec<u8> {
    let json = serde_json::to_vec(s).expect("a snapshot serializes");
    frame(SNAPSHOT_MAGIC, s.zxid, &json)
}

/// Writes `dir/name` atomically with the snapshot.
pub fn write_snapshot(dir: &Path, name: &str, s: &Snapshot, stats: &mut Stats) -> Result<PathBuf, StoreError> {
    fsutil::atomic_write(dir, name, &snapshot_bytes(s), stats)
}

/// Reads a framed file written by `frame`, checking magic, checksums, the zxid the file name
/// promises and the JSON inside.
pub fn read_framed<T: DeserializeOwned>(path: &Path, magic: &[u8; 8], zxid: Zxid) -> Result<T, StoreError> {
    let bytes = fsutil::read(path)?;
    if bytes.len() < magic.len() || &bytes[..magic.len()] != magic {
        return Err(StoreError::corrupt(path, 0, "bad magic (not a zabra file, or cut short)"));
    }
    let at = magic.len() as u64;
    let raw = record::decode(&bytes, magic.len()).map_err(|d: Defect| StoreError::corrupt(path, at, d.to_string()))?;
    if raw.end != bytes.len() {
        return Err(StoreError::corrupt(path, raw.end as u64, "unexpected bytes after the record"));
    }
    if raw.zxid != zxid {
        return Err(StoreError::corrupt(path, at, format!("holds zxid {} but its name says {}", raw.zxid, zxid)));
    }
    let payload_at = at + record::HEADER_LEN as u64;
    serde_json::from_slice(raw.payload)
        .map_err(|e| StoreError::corrupt(path, payload_at + e.column() as u64, format!("unreadable JSON: {e}")))
}

pub fn read_snapshot(path: &Path, zxid: Zxid) -> Result<Snapshot, StoreError> {
    read_framed(path, SNAPSHOT_MAGIC, zxid)
}
