//! The other files of a data directory as `DiskStore::open` reads them: a snapshot (its
//! zxid, as the file name would say it, from its record header), the install marker, and
//! the epochs file. The first input byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_core::Zxid;
use zabra_storage::readers;

fuzz_target!(|data: &[u8]| {
    let Some((&which, file)) = data.split_first() else { return };
    match which % 3 {
        0 => {
            let zxid =
                file.get(12..20).map_or(Zxid::ZERO, |b| Zxid::from_u64(u64::from_le_bytes(b.try_into().unwrap())));
            let _ = readers::snapshot(file, zxid);
        }
        1 => {
            if let Ok((zxid, entries)) = readers::install_marker(file) {
                let _ = (zxid, entries.len());
            }
        }
        _ => {
            if let Ok((accepted, current)) = readers::epochs(file) {
                let _ = (accepted, current);
            }
        }
    }
});
