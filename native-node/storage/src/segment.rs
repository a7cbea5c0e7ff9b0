//! Log segments: `log.<first zxid>`, a 20-byte header, then records (see the crate docs).

use crate::error::StoreError;
use crate::format::{self, Format, Magic};
use crate::fsutil;
use crate::record::{self, Records};
use crate::Stats;
use std::fs::File;
use std::path::{Path, PathBuf};
use zabra_core::log::Entry;
use zabra_core::Zxid;

/// The magic is `ZBLOG` and the format version (see `format`).
pub const KIND: &str = "ZBLOG";
pub const HEADER_LEN: usize = 20;

/// What the store knows about one segment file without holding its records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    pub path: PathBuf,
    /// The zxid before this segment's first record (continuity check at open).
    pub prev: Zxid,
    pub first: Zxid,
    pub last: Zxid,
    pub records: u64,
    /// Bytes, including records buffered but not yet written.
    pub len: u64,
    /// How its records are encoded; only a segment in the current format takes appends.
    pub format: Format,
}

pub fn header(prev: Zxid) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&format::magic(KIND, format::CURRENT));
    h.extend_from_slice(&prev.as_u64().to_le_bytes());
    let crc = crc32fast::hash(&h[8..16]);
    h.extend_from_slice(&crc.to_le_bytes());
    h
}

/// The zxid before the segment and its format, or why the header is damaged. A version this
/// build cannot read is an error of its own: never mistaken for damage and cut.
fn read_header(path: &Path, bytes: &[u8]) -> Result<Result<(Zxid, Format), String>, StoreError> {
    if bytes.len() < HEADER_LEN {
        return Ok(Err(format!("segment header cut short ({} of {HEADER_LEN} bytes)", bytes.len())));
    }
    let format = match format::parse(KIND, bytes) {
        Magic::Known(f) => f,
        Magic::Unknown(version) => return Err(format::unknown(path, version)),
        Magic::Other => return Ok(Err("bad magic: not a zabra log segment".to_string())),
    };
    let crc = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    if crc != crc32fast::hash(&bytes[8..16]) {
        return Ok(Err("segment header checksum mismatch".to_string()));
    }
    Ok(Ok((Zxid::from_u64(u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"))), format)))
}

/// Bytes cut from the end of the last segment at open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Torn {
    pub offset: u64,
    pub bytes: u64,
    pub reason: String,
}

/// One segment read at open.
#[derive(Debug)]
pub struct Loaded {
    pub info: SegmentInfo,
    pub entries: Vec<Entry>,
    /// Set when the tail was damaged; the file still has those bytes until `cut_tail`.
    pub torn: Option<Torn>,
}

/// Reads a segment. Only the last segment (`last`) may end in damage, and only if no intact
/// record follows the damage: that is a write the crash interrupted, after the last fsync.
pub fn load(path: &Path, first: Zxid, last: bool) -> Result<Loaded, StoreError> {
    parse(path, &fsutil::read_log(path)?, first, last)
}

/// [`load`] of a segment's bytes already read (`path` only names the file in errors).
pub fn parse(path: &Path, bytes: &[u8], first: Zxid, last: bool) -> Result<Loaded, StoreError> {
    let (prev, format) = match read_header(path, bytes)? {
        Ok(header) => header,
        Err(reason) => {
            let torn = match damage(path, bytes, 0, reason.clone(), last)? {
                Some(torn) => torn,
                // Created and preallocated, then the crash came before the header.
                None if last => Torn { offset: 0, bytes: 0, reason: format!("{reason}: only zeros") },
                None => {
                    let why = format!("{reason}, in a segment that is not the last");
                    return Err(StoreError::corrupt(path, 0, why));
                }
            };
            let format = format::CURRENT;
            let info = SegmentInfo { path: path.into(), prev: first, first, last: first, records: 0, len: 0, format };
            return Ok(Loaded { info, entries: Vec::new(), torn: Some(torn) });
        }
    };
    let len = HEADER_LEN as u64;
    let mut info = SegmentInfo { path: path.into(), prev, first, last: prev, records: 0, len, format };
    let mut entries = Vec::new();
    let mut torn = None;
    for item in Records::new(bytes, HEADER_LEN) {
        match item {
            Ok(raw) => {
                entries.push(entry_of(path, &raw, &info)?);
                info.last = raw.zxid;
                info.records += 1;
                info.len = raw.end as u64;
            }
            Err((at, defect)) => torn = damage(path, bytes, at, defect.to_string(), last)?,
        }
    }
    Ok(Loaded { info, entries, torn })
}

/// Where the bytes that are not zero end: records are never all zeros (a header has a
/// checksum of its other bytes, and the CRC32 of 16 zero bytes is not zero), so past this
/// there is only preallocated space.
fn data_end(bytes: &[u8]) -> usize {
    // Whole blocks compared with a block of zeros (a memcmp), then bytes: a preallocated tail
    // is up to `StoreOptions::preallocate` long.
    const BLOCK: usize = 4096;
    static ZEROS: [u8; BLOCK] = [0; BLOCK];
    let mut end = bytes.len();
    while end >= BLOCK && bytes[end - BLOCK..end] == ZEROS {
        end -= BLOCK;
    }
    bytes[..end].iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Decodes one intact record, checking it continues the segment.
fn entry_of(path: &Path, raw: &record::Raw<'_>, so_far: &SegmentInfo) -> Result<Entry, StoreError> {
    let at = raw.start as u64;
    if so_far.records == 0 && raw.zxid != so_far.first {
        let why = format!("first record is zxid {} but the file name says {}", raw.zxid, so_far.first);
        return Err(StoreError::corrupt(path, at, why));
    }
    if raw.zxid <= so_far.last {
        let why = format!("zxid {} does not follow {}", raw.zxid, so_far.last);
        return Err(StoreError::corrupt(path, at, why));
    }
    let entry: Entry = format::decode(so_far.format, raw.payload)
        .map_err(|e| StoreError::corrupt(path, at, format!("intact checksum but unreadable entry: {e}")))?;
    if entry.zxid != raw.zxid {
        let why = format!("record says zxid {} but its entry says {}", raw.zxid, entry.zxid);
        return Err(StoreError::corrupt(path, at, why));
    }
    Ok(entry)
}

/// Classifies what follows the last intact record at `at`: nothing but zeros is the end of
/// the log (preallocated space, in any segment); otherwise a torn tail, or corruption that
/// must stop the node.
fn damage(path: &Path, bytes: &[u8], at: usize, reason: String, last: bool) -> Result<Option<Torn>, StoreError> {
    let end = data_end(bytes);
    if end <= at {
        return Ok(None);
    }
    if !last {
        return Err(StoreError::corrupt(path, at as u64, format!("{reason}, in a segment that is not the last")));
    }
    // An intact record starts before `end` (it holds a byte that is not zero); scanning only
    // up to there keeps a preallocated tail from costing a checksum per byte.
    if let Some(next) = record::intact_record_after(&bytes[..(end + record::HEADER_LEN).min(bytes.len())], at) {
        return Err(StoreError::corrupt(path, at as u64, format!("{reason}; an intact record follows at byte {next}")));
    }
    Ok(Some(Torn { offset: at as u64, bytes: (end - at) as u64, reason }))
}

/// Cuts the file to `len` and makes the cut durable.
pub fn cut(path: &Path, len: u64, stats: &mut Stats) -> Result<(), StoreError> {
    crate::crash::step("truncate", path)?;
    let f = File::options().write(true).open(path).map_err(StoreError::io("open", path))?;
    f.set_len(len).map_err(StoreError::io("truncate", path))?;
    fsutil::fsync_file(&f, path, stats)
}

/// The segment's info once every record after `z` is dropped (for TRUNC).
pub fn info_up_to(info: &SegmentInfo, z: Zxid) -> Result<SegmentInfo, StoreError> {
    let bytes = fsutil::read_log(&info.path)?;
    let mut kept = SegmentInfo { last: info.prev, records: 0, len: HEADER_LEN as u64, ..info.clone() };
    for item in Records::new(&bytes, HEADER_LEN) {
        let raw = match item {
            Ok(raw) => raw,
            Err((at, _)) if data_end(&bytes) <= at => break,
            Err((at, d)) => return Err(StoreError::corrupt(&info.path, at as u64, d.to_string())),
        };
        if raw.zxid > z {
            break;
        }
        kept.last = raw.zxid;
        kept.records += 1;
        kept.len = raw.end as u64;
    }
    Ok(kept)
}
