//! # zabra-sim-wasm
//!
//! The deterministic simulator for one seed, built as a bare `wasm32-unknown-unknown` module:
//! no wasm-bindgen and no host imports, so it proves two promises of DESIGN.md at once —
//! the core "imports nothing from the host", and "one seed always gives one trace" on every
//! target. `cargo xtask test` instantiates it in Node.js with an *empty* import object (which
//! fails if the module imports anything), runs one seed, and compares the trace with a
//! native run of the same seed byte for byte.
//!
//! Exports (C ABI; `u64` is a BigInt on the JavaScript side):
//! - `run_seed(seed: u64, nodes: u32) -> u32`: runs the seed with its trace recorded, keeps
//!   the trace as JSON lines in a static buffer and returns its length in bytes;
//! - `trace_ptr() -> *const u8`, `trace_len() -> u32`: where that buffer lies in the
//!   exported `memory` (valid until the next `run_seed`);
//! - `trace_hash() -> u64`: `SeedReport::trace_hash()` of the last run;
//! - `violations() -> u32`: how many violations the last run found.
//!
//! See `run.mjs` beside this crate for the host side.

use std::sync::{Mutex, MutexGuard, PoisonError};
use zabra_core::sim::{SeedReport, SimOptions};

/// What the last `run_seed` left for the host to read.
struct LastRun {
    trace: Vec<u8>,
    hash: u64,
    violations: u32,
}

// A Mutex rather than `static mut`: no unsafe code, and on single-threaded wasm it costs
// nothing. Only `run_seed` writes it; the readers run after it returned.
static LAST: Mutex<LastRun> = Mutex::new(LastRun { trace: Vec::new(), hash: 0, violations: 0 });

fn last() -> MutexGuard<'static, LastRun> {
    LAST.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs one seed with its trace recorded: exactly what the native side of the comparison
/// runs (`SimOptions::new(seed, nodes)` with `record_trace`).
pub fn run_recorded(seed: u64, nodes: usize) -> SeedReport {
    let mut opts = SimOptions::new(seed, nodes);
    opts.record_trace = true;
    zabra_core::sim::run_seed(&opts)
}

/// A copy of the last trace, for native tests (the wasm host reads memory directly).
pub fn last_trace() -> Vec<u8> {
    last().trace.clone()
}

// `no_mangle` is flagged by the workspace's `unsafe_code` lint because two unmangled symbols
// may collide at link time. These names are this module's whole interface to its host, so
// they must be unmangled; no other unsafe code is involved.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn run_seed(seed: u64, nodes: u32) -> u32 {
    let report = run_recorded(seed, nodes as usize);
    let mut last = last();
    last.trace = report.trace_json().into_bytes();
    last.hash = report.trace_hash();
    last.violations = u32::try_from(report.violations.len()).unwrap_or(u32::MAX);
    u32::try_from(last.trace.len()).expect("trace fits in wasm32 memory")
}

#[allow(unsafe_code)] // unmangled export; see `run_seed`
#[no_mangle]
pub extern "C" fn trace_ptr() -> *const u8 {
    last().trace.as_ptr()
}

#[allow(unsafe_code)] // unmangled export; see `run_seed`
#[no_mangle]
pub extern "C" fn trace_len() -> u32 {
    u32::try_from(last().trace.len()).expect("trace fits in wasm32 memory")
}

#[allow(unsafe_code)] // unmangled export; see `run_seed`
#[no_mangle]
pub extern "C" fn trace_hash() -> u64 {
    last().hash
}

#[allow(unsafe_code)] // unmangled export; see `run_seed`
#[no_mangle]
pub extern "C" fn violations() -> u32 {
    last().violations
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exports hand out exactly the native report's trace and hash.
    #[test]
    fn exports_match_the_native_report() {
        let native = run_recorded(3, 3);
        let len = run_seed(3, 3);
        assert_eq!(len, trace_len());
        assert_eq!(last_trace(), native.trace_json().into_bytes());
        assert_eq!(trace_hash(), native.trace_hash());
        assert_eq!(violations(), 0, "{:?}", native.violations);
        assert!(len > 0, "a recorded run has trace events");
    }
}
