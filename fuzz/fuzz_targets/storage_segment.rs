//! A log segment file as `DiskStore::open` reads it (header, records, entries, torn tail or
//! corruption). The first input byte says whether it is the last segment; the file name's
//! zxid is taken from the first record's header, so intact seeds read through. Entries read
//! back are in increasing zxid order, starting at the name's zxid.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_core::Zxid;
use zabra_storage::readers;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, file)) = data.split_first() else { return };
    let first = file.get(24..32).map_or(Zxid::ZERO, |b| Zxid::from_u64(u64::from_le_bytes(b.try_into().unwrap())));
    let Ok((entries, _torn)) = readers::segment(file, first, flags & 1 == 1) else { return };
    if let Some(e) = entries.first() {
        assert_eq!(e.zxid, first);
    }
    assert!(entries.windows(2).all(|w| w[0].zxid < w[1].zxid));
});
