//! A crash injected part-way through a write, for the core's storage conformance suite
//! (`Backend::crash_during`). Every file-system step of a write (create, write, fsync, rename,
//! remove, truncate) asks [`step`] first; once the armed budget is spent, that step fails as
//! if the process died right there, and a write is first cut to half its bytes (a torn write).
//! Unarmed, a step costs one thread-local read.

use crate::error::StoreError;
use std::cell::Cell;
use std::io::Write;
use std::path::Path;

thread_local! {
    /// Steps left before the crash; `None` when not armed.
    static LEFT: Cell<Option<u32>> = const { Cell::new(None) };
    static FIRED: Cell<bool> = const { Cell::new(false) };
}

/// Crash at the step after `steps` more have completed.
pub(crate) fn arm(steps: u32) {
    LEFT.with(|l| l.set(Some(steps)));
    FIRED.with(|f| f.set(false));
}

/// Disarms; true if the crash happened.
pub(crate) fn disarm() -> bool {
    LEFT.with(|l| l.set(None));
    FIRED.with(|f| f.replace(false))
}

fn due() -> bool {
    LEFT.with(|l| match l.get() {
        Some(0) => {
            FIRED.with(|f| f.set(true));
            true
        }
        Some(n) => {
            l.set(Some(n - 1));
            false
        }
        None => false,
    })
}

fn crashed(action: &'static str, path: &Path) -> StoreError {
    StoreError::io(action, path)(std::io::Error::other("simulated crash"))
}

/// One step of a write: an error if the armed crash happens here.
pub(crate) fn step(action: &'static str, path: &Path) -> Result<(), StoreError> {
    if due() {
        return Err(crashed(action, path));
    }
    Ok(())
}

/// `write_all` as a step: a crash here leaves the first half of `bytes` written.
pub(crate) fn write_all(mut to: impl Write, bytes: &[u8], path: &Path) -> Result<(), StoreError> {
    if due() {
        let _ = to.write_all(&bytes[..bytes.len() / 2]);
        return Err(crashed("write", path));
    }
    to.write_all(bytes).map_err(StoreError::io("write", path))
}

/// A positional `write_all` as a step: a crash here leaves the first half of `bytes` written.
pub(crate) fn write_all_at(file: &std::fs::File, bytes: &[u8], at: u64, path: &Path) -> Result<(), StoreError> {
    if due() {
        let _ = positional_write(file, &bytes[..bytes.len() / 2], at);
        return Err(crashed("write", path));
    }
    positional_write(file, bytes, at).map_err(StoreError::io("write", path))
}

#[cfg(unix)]
fn positional_write(file: &std::fs::File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, at)
}

#[cfg(not(unix))]
fn positional_write(mut file: &std::fs::File, bytes: &[u8], at: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))?;
    file.write_all(bytes)
}
