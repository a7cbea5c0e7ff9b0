//! Scenario scripts (`core/src/sim/script.rs`), which the classroom also runs line by line
//! from what students type and from share links: any text is a transcript or an error,
//! never a panic, and bounded in time and memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zabra_core::sim::script::{run_script, Scenario};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = run_script(text);
    // The classroom: one line at a time, errors shown and the next line run anyway. It keeps
    // every trace event for its timeline (`Sim::record`), so memory grows with simulated
    // time, as with a student pressing "run" again and again: a known limit of the UI
    // (oom-8db2f364…: two `run 7777777` in a 5-peer cluster recorded over 512 MB), left to
    // the UI to cap. Here a run stops once a million events are recorded.
    let mut s = Scenario::new(false);
    for line in text.lines() {
        if s.simulator().is_some_and(|sim| sim.trace.len() > 1_000_000) {
            break;
        }
        let _ = s.run(line);
    }
});
