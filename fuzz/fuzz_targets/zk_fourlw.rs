//! The first bytes of a client connection: a four-letter word (`stmk` with its 8-byte mask)
//! or the length of a first frame; then the word's answer, rendered as the node renders it.
//! Also the whitelist parser of the config file (`FourLetter::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_zkwire::{render_four_letter, FourLetter, FourLetterInfo, FrameReader, Incoming};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(cmd) = FourLetter::parse(text) {
            assert_eq!(cmd.as_str(), text);
        }
    }
    let mut reader = FrameReader::new();
    for read in zabra_fuzz::socket_reads(data) {
        reader.push(read);
        match reader.next_item() {
            Ok(None) => continue,
            Ok(Some(Incoming::FourLetter(cmd, mask))) => {
                assert_eq!(mask.is_some(), cmd == FourLetter::Stmk);
                assert_eq!(FourLetter::parse(cmd.as_str()), Some(cmd));
                let info = FourLetterInfo { trace_mask: mask.unwrap_or(0), ..FourLetterInfo::default() };
                let _ = render_four_letter(cmd, &info);
                return;
            }
            Ok(Some(Incoming::Frame(_))) | Err(_) => return,
        }
    }
});
