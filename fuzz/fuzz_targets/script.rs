//! Scenario scripts (`core/src/sim/script.rs`), which the classroom also runs line by line
//! from what students type and from share links: any text is a transcript or an error,
//! never a panic, and bounded in time and memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_core::sim::script::{run_script, Scenario};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = run_script(text);
    // The classroom: one line at a time, errors shown and the next line run anyway.
    let mut s = Scenario::new(false);
    for line in text.lines() {
        let _ = s.run(line);
    }
});
