//! The framed record of log segments, snapshots and install markers (`record::decode`, and
//! the scan for an intact record after damage that recovery uses): records read back lie
//! inside the buffer, one after the other, and the scan finds only records that decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_storage::readers;

fuzz_target!(|data: &[u8]| {
    let (good, defect) = readers::records(data, 0);
    let used: usize = good.iter().map(|(_, len)| 20 + len).sum();
    assert!(used <= data.len());
    if let Some((at, _, next)) = defect {
        assert_eq!(at, used, "the defect is where the good records end");
        if let Some(n) = next {
            assert!(n > at && n < data.len());
            let (after, _) = readers::records(data, n);
            assert!(!after.is_empty(), "the scan found a record that does not decode");
        }
    }
});
