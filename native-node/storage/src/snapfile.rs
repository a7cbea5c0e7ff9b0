//! Snapshot and install-marker files: a magic, then one framed record (see `record`). The
//! payload is postcard (format 2; format 1 was JSON and is still read, see `format`).

use crate::error::StoreError;
use crate::format::{self, Format, Magic};
use crate::fsutil;
use crate::record::{self, Defect};
use crate::Stats;
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use zabra_core::log::Entry;
use zabra_core::message::Snapshot;
use zabra_core::Zxid;

/// The magics are these and the format version (see `format`).
pub const SNAPSHOT_KIND: &str = "ZBSNAP";
pub const INSTALL_KIND: &str = "ZBINST";
pub const MAGIC_LEN: usize = 8;

/// The commit point of an InstallSnapshot: once this file exists the new history is decided,
/// and `open` finishes the install if a crash interrupted it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct InstallMarker {
    pub snapshot: Zxid,
    pub entries: Vec<Entry>,
}

/// A file of `kind` in the current format holding one record.
pub fn frame(kind: &str, zxid: Zxid, payload: &[u8]) -> Vec<u8> {
    let magic = format::magic(kind, format::CURRENT);
    let mut out = Vec::with_capacity(magic.len() + record::HEADER_LEN + payload.len());
    out.extend_from_slice(&magic);
    record::encode(zxid, payload, &mut out);
    out
}

/// Counts and checksums the bytes passing through to the file.
struct Checksummed<W> {
    inner: W,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Streams `s` into `dir/<name>.tmp` and fsyncs it; [`fsutil::publish`] puts it in place.
///
/// The tree is serialized straight into a buffered writer (no copy of the tree or of its
/// encoding is held in memory). The record header needs the payload's length and checksum, so
/// a zeroed header is written first and filled in once the payload is out; a crash before the
/// rename leaves only a `.tmp` file, which `open` removes.
pub fn write_tmp(dir: &Path, name: &str, s: &Snapshot, stats: &mut Stats) -> Result<PathBuf, StoreError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let io = |action| StoreError::io(action, &tmp);
    crate::crash::step("create", &tmp)?;
    let file = File::create(&tmp).map_err(io("create"))?;
    let mut f = &file;
    let magic = format::magic(SNAPSHOT_KIND, format::CURRENT);
    f.write_all(&magic).and_then(|_| f.write_all(&[0; record::HEADER_LEN])).map_err(io("write"))?;
    let sink = Checksummed { inner: f, crc: crc32fast::Hasher::new(), len: 0 };
    let out = BufWriter::with_capacity(1 << 20, sink);
    let out = postcard::to_io(s, out).map_err(|e| io("write")(std::io::Error::other(e)))?;
    let sink = out.into_inner().map_err(|e| io("write")(e.into_error()))?;
    let (written, crc) = (sink.len, sink.crc.finalize());
    let Ok(len) = u32::try_from(written) else {
        let too_big = std::io::Error::other(format!("snapshot of {written} bytes is over the 4 GiB record limit"));
        return Err(io("write")(too_big));
    };
    crate::crash::step("write", &tmp)?;
    f.seek(SeekFrom::Start(MAGIC_LEN as u64)).map_err(io("seek"))?;
    f.write_all(&record::header(len, s.zxid, crc)).map_err(io("write"))?;
    stats.bytes_written += (MAGIC_LEN + record::HEADER_LEN) as u64 + written;
    fsutil::fsync_file(&file, &tmp, stats)?;
    Ok(tmp)
}

/// Writes `dir/name` atomically with the snapshot, streamed (see [`write_tmp`]).
pub fn write_snapshot(dir: &Path, name: &str, s: &Snapshot, stats: &mut Stats) -> Result<PathBuf, StoreError> {
    let tmp = write_tmp(dir, name, s, stats)?;
    let dest = dir.join(name);
    fsutil::publish(dir, &tmp, &dest, stats)?;
    Ok(dest)
}

/// Reads a framed file written by `frame`, checking magic, checksums, the zxid the file name
/// promises and the payload inside, decoded as its format says.
pub fn read_framed<T: DeserializeOwned>(path: &Path, kind: &str, zxid: Zxid) -> Result<T, StoreError> {
    decode_framed(path, &fsutil::read(path)?, kind, zxid)
}

/// [`read_framed`] of a file's bytes already read (`path` only names the file in errors).
pub fn decode_framed<T: DeserializeOwned>(path: &Path, bytes: &[u8], kind: &str, zxid: Zxid) -> Result<T, StoreError> {
    let format: Format = match format::parse(kind, bytes) {
        Magic::Known(f) => f,
        Magic::Unknown(version) => return Err(format::unknown(path, version)),
        Magic::Other => return Err(StoreError::corrupt(path, 0, "bad magic (not a zabra file, or cut short)")),
    };
    let at = MAGIC_LEN as u64;
    let raw = record::decode(bytes, MAGIC_LEN).map_err(|d: Defect| StoreError::corrupt(path, at, d.to_string()))?;
    if raw.end != bytes.len() {
        return Err(StoreError::corrupt(path, raw.end as u64, "unexpected bytes after the record"));
    }
    if raw.zxid != zxid {
        return Err(StoreError::corrupt(path, at, format!("holds zxid {} but its name says {}", raw.zxid, zxid)));
    }
    let payload_at = at + record::HEADER_LEN as u64;
    format::decode(format, raw.payload).map_err(|e| StoreError::corrupt(path, payload_at, e))
}

pub fn read_snapshot(path: &Path, zxid: Zxid) -> Result<Snapshot, StoreError> {
    read_framed(path, SNAPSHOT_KIND, zxid)
}
