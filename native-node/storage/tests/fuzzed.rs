//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz`) found: each panicked before its fix.
//! A damaged file must stop the store with an error naming it, never a panic.

mod common;

use common::*;
use std::fs;
use tempfile::TempDir;
use zabra_storage::{readers, DiskStore, StoreError, StoreOptions};

/// fuzz target `storage_snapshot`, input `0a`: an install marker shorter than its 8-byte
/// magic (a torn or truncated `install` file) sliced past its end in `record::decode`.
#[test]
fn an_install_marker_shorter_than_its_magic_is_corrupt_not_a_panic() {
    for len in [0, 1, 7] {
        assert!(readers::install_marker(&b"ZBINST02"[..len]).is_err(), "{len} bytes");
        let dir = TempDir::new().unwrap();
        let (s, _, _) = open(dir.path());
        drop(s);
        fs::write(dir.path().join("install"), &b"ZBINST02"[..len]).unwrap();
        let Err(err) = DiskStore::open(dir.path(), StoreOptions::default()) else {
            panic!("a damaged install marker of {len} bytes was accepted")
        };
        assert!(matches!(&err, StoreError::Corrupt { file, .. } if file.ends_with("install")), "{err}");
    }
}
