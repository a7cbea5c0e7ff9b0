//! A whole data directory through `DiskStore::open`: clearing unfinished writes, finishing
//! an install, segments with their gaps and torn tails, the snapshot choice, the epochs.
//! The input is a list of files (`zabra_fuzz::pieces`), each a kind byte (log segment,
//! snapshot, epochs, install marker, staged snapshot, temp file), an 8-byte zxid for its
//! name, and its bytes. Written to a directory on tmpfs, opened twice: a store that opens
//! must open again to the same state (recovery converges), and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_storage::{DiskStore, StoreOptions};

fn name(kind: u8, zxid: u64) -> String {
    match kind % 6 {
        0 => format!("log.{zxid:016x}"),
        1 => format!("snapshot.{zxid:016x}"),
        2 => "epochs".to_string(),
        3 => "install".to_string(),
        4 => format!("snapshot.{zxid:016x}.install"),
        _ => format!("snapshot.{zxid:016x}.tmp"),
    }
}

fuzz_target!(|data: &[u8]| {
    let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm" } else { "/tmp" };
    let dir = tempfile::tempdir_in(base).expect("a temporary directory");
    for piece in zabra_fuzz::pieces(data).into_iter().take(8) {
        let Some((&kind, rest)) = piece.split_first() else { continue };
        let Some((z, bytes)) = rest.split_first_chunk::<8>() else { continue };
        std::fs::write(dir.path().join(name(kind, u64::from_be_bytes(*z))), bytes).expect("write a file");
    }
    let opts = StoreOptions { segment_bytes: 4096, keep_snapshots: 2, preallocate: 0 };
    let first = match DiskStore::open(dir.path(), opts) {
        Ok((store, state, _)) => {
            drop(store);
            state
        }
        Err(_) => return,
    };
    let Ok((_, again, report)) = DiskStore::open(dir.path(), opts) else {
        panic!("a store that opened once does not open again");
    };
    assert_eq!(again, first, "a second open reads another state: {report}");
});
