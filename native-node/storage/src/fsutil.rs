//! File-system steps with the durability each one needs, and the directory's naming scheme.

use crate::crash;
use crate::error::StoreError;
use crate::Stats;
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use zabra_core::Zxid;

pub const EPOCHS: &str = "epochs";
pub const INSTALL: &str = "install";
pub const LOCK: &str = "lock";

pub fn zxid_hex(z: Zxid) -> String {
    format!("{:016x}", z.as_u64())
}

pub fn segment_name(first: Zxid) -> String {
    format!("log.{}", zxid_hex(first))
}

pub fn snapshot_name(z: Zxid) -> String {
    format!("snapshot.{}", zxid_hex(z))
}

/// The snapshot of an InstallSnapshot, staged under this name until the install commits.
pub fn staged_snapshot_name(z: Zxid) -> String {
    format!("snapshot.{}.install", zxid_hex(z))
}

fn parse_hex(s: &str) -> Option<Zxid> {
    (s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(s, 16).ok().map(Zxid::from_u64))
        .flatten()
}

/// What the data directory holds, by kind. Unknown names are left alone.
#[derive(Debug, Default)]
pub struct Listing {
    pub segments: BTreeMap<Zxid, PathBuf>,
    pub snapshots: BTreeMap<Zxid, PathBuf>,
    pub staged: BTreeMap<Zxid, PathBuf>,
    pub temps: Vec<PathBuf>,
    pub install: Option<PathBuf>,
}

pub fn list(dir: &Path) -> Result<Listing, StoreError> {
    let mut l = Listing::default();
    for item in fs::read_dir(dir).map_err(StoreError::io("list", dir))? {
        let item = item.map_err(StoreError::io("list", dir))?;
        let Ok(name) = item.file_name().into_string() else { continue };
        let path = item.path();
        if name.ends_with(".tmp") {
            l.temps.push(path);
        } else if name == INSTALL {
            l.install = Some(path);
        } else if let Some(z) = name.strip_prefix("log.").and_then(parse_hex) {
            l.segments.insert(z, path);
        } else if let Some(z) = name.strip_prefix("snapshot.").and_then(parse_hex) {
            l.snapshots.insert(z, path);
        } else if let Some(z) =
            name.strip_prefix("snapshot.").and_then(|s| s.strip_suffix(".install")).and_then(parse_hex)
        {
            l.staged.insert(z, path);
        }
    }
    Ok(l)
}

pub fn fsync_file(file: &File, path: &Path, stats: &mut Stats) -> Result<(), StoreError> {
    crash::step("fsync", path)?;
    stats.fsyncs += 1;
    file.sync_all().map_err(StoreError::io("fsync", path))
}

/// Makes creations, renames and deletions in `dir` durable (a file's own fsync does not).
pub fn fsync_dir(dir: &Path, stats: &mut Stats) -> Result<(), StoreError> {
    crash::step("fsync directory", dir)?;
    stats.fsyncs += 1;
    File::open(dir).and_then(|d| d.sync_all()).map_err(StoreError::io("fsync directory", dir))
}

/// Replaces `dir/name` with `bytes` so that a crash leaves the old content or the new, never a
/// mix: write `name.tmp`, fsync it, rename it over `name`, fsync the directory.
pub fn atomic_write(dir: &Path, name: &str, bytes: &[u8], stats: &mut Stats) -> Result<PathBuf, StoreError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let dest = dir.join(name);
    crash::step("create", &tmp)?;
    let f = File::create(&tmp).map_err(StoreError::io("create", &tmp))?;
    crash::write_all(&f, bytes, &tmp)?;
    stats.bytes_written += bytes.len() as u64;
    fsync_file(&f, &tmp, stats)?;
    publish(dir, &tmp, &dest, stats)?;
    Ok(dest)
}

/// Renames a fsynced `tmp` over `dest` and fsyncs the directory: the last step of an atomic
/// write, after which the new content survives a crash.
pub fn publish(dir: &Path, tmp: &Path, dest: &Path, stats: &mut Stats) -> Result<(), StoreError> {
    crash::step("rename", tmp)?;
    fs::rename(tmp, dest).map_err(StoreError::io("rename", tmp))?;
    fsync_dir(dir, stats)
}

pub fn remove(path: &Path) -> Result<(), StoreError> {
    crash::step("remove", path)?;
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::io("remove", path)(e)),
        _ => Ok(()),
    }
}

pub fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(StoreError::io("read", path))
}

/// Reads a log segment up to the end of its last data region. A preallocated tail is a hole,
/// or unwritten extents that ext4 and xfs report as one (`SEEK_HOLE`); it reads as zeros, so
/// it is left unread and the segment loader sees the zeros it holds up to the block boundary
/// only. Elsewhere, or if the file system cannot say, the whole file is read.
pub fn read_log(path: &Path) -> Result<Vec<u8>, StoreError> {
    use std::io::Read;
    use std::io::{Seek, SeekFrom};
    let mut f = File::open(path).map_err(StoreError::io("open", path))?;
    let len = f.metadata().map_err(StoreError::io("stat", path))?.len();
    let end = data_end(&f, len).unwrap_or(len).min(len);
    f.seek(SeekFrom::Start(0)).map_err(StoreError::io("seek", path))?;
    let mut bytes = Vec::with_capacity(end as usize);
    f.take(end).read_to_end(&mut bytes).map_err(StoreError::io("read", path))?;
    Ok(bytes)
}

/// Where the last data region of `f` ends, from `SEEK_DATA`/`SEEK_HOLE`.
#[cfg(target_os = "linux")]
fn data_end(f: &File, len: u64) -> Option<u64> {
    use rustix::fs::{seek, SeekFrom};
    let (mut end, mut at) = (0, 0);
    // A segment is written front to back, so it has a region or two; the bound only keeps a
    // strange file from looping long.
    for _ in 0..1024 {
        match seek(f, SeekFrom::Data(at)) {
            Ok(data) => at = seek(f, SeekFrom::Hole(data)).ok()?,
            Err(e) if e == rustix::io::Errno::NXIO => return Some(end),
            Err(_) => return None,
        }
        end = at;
        if at >= len {
            return Some(len);
        }
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn data_end(_: &File, _: u64) -> Option<u64> {
    None
}

/// Opens a log segment for writing at explicit offsets (not `O_APPEND`: a preallocated
/// segment is longer than its records), with its current length on disk.
pub fn open_log(path: &Path) -> Result<(File, u64), StoreError> {
    let f = OpenOptions::new().write(true).open(path).map_err(StoreError::io("open", path))?;
    let len = f.metadata().map_err(StoreError::io("stat", path))?.len();
    Ok((f, len))
}

/// Grows `file` to `len` bytes of zeros, allocating the blocks (`fallocate`), so later
/// writes inside it change neither the file's size nor, on most file systems, its block
/// map, and an `fdatasync` after them has only data to persist. Where the file system cannot
/// allocate (or is full), the file is extended sparse, as ZooKeeper pads its logs: still no
/// size change per write, and a full disk then fails the write itself, as it did before.
pub fn preallocate(file: &File, path: &Path, len: u64) -> Result<(), StoreError> {
    crash::step("preallocate", path)?;
    #[cfg(target_os = "linux")]
    {
        let have = file.metadata().map_err(StoreError::io("stat", path))?.len();
        let mode = rustix::fs::FallocateFlags::empty();
        if len <= have || rustix::fs::fallocate(file, mode, have, len - have).is_ok() {
            return Ok(());
        }
    }
    file.set_len(len).map_err(StoreError::io("preallocate", path))
}

/// Takes `dir/lock` with an exclusive, non-blocking `flock`: two nodes writing one log would
/// interleave records. The lock dies with the process, so a `kill -9` never leaves it stale.
pub fn lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK);
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(StoreError::io("open", &path))?;
    try_lock(&f, &path)?;
    Ok(f)
}

#[cfg(unix)]
fn try_lock(f: &File, path: &Path) -> Result<(), StoreError> {
    use rustix::fs::{flock, FlockOperation};
    match flock(f, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Err(StoreError::Locked(path.to_path_buf())),
        Err(e) => Err(StoreError::io("lock", path)(e.into())),
    }
}

#[cfg(not(unix))]
fn try_lock(_: &File, _: &Path) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let z = Zxid::new(5, 1);
        assert_eq!(segment_name(z), "log.0000000500000001");
        assert_eq!(parse_hex(&zxid_hex(z)), Some(z));
        assert_eq!(parse_hex("0000000500000001.tmp"), None);
        assert_eq!(parse_hex("+000000500000001"), None);
    }
}
