//! The core's storage conformance suite, run against the disk store (one temp dir per store).

use tempfile::TempDir;
use zabra_core::storage::{conformance, Backend, PersistOp, PersistedState};
use zabra_storage::{DiskStore, StoreOptions};

/// A store that owns its directory, so the suite's `make` can hand out fresh ones.
struct InTempDir {
    store: DiskStore,
    _dir: TempDir,
}

impl Backend for InTempDir {
    fn apply(&mut self, ops: &[PersistOp]) {
        self.store.apply(ops)
    }
    fn sync(&mut self) {
        Backend::sync(&mut self.store)
    }
    fn reopen(&mut self) -> PersistedState {
        self.store.reopen()
    }
    fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState> {
        self.store.crash_during(op, step)
    }
}

fn fresh(opts: StoreOptions) -> InTempDir {
    let dir = TempDir::new().unwrap();
    let (store, state, _) = DiskStore::open(dir.path(), opts).unwrap();
    assert_eq!(state, PersistedState::default());
    InTempDir { store, _dir: dir }
}

#[test]
fn disk_store_conforms() {
    conformance::run(|| fresh(StoreOptions::default()));
}

#[test]
fn disk_store_conforms_with_tiny_segments() {
    conformance::run(|| fresh(StoreOptions { segment_bytes: 1, keep_snapshots: 1, ..StoreOptions::default() }));
}

/// Preallocation in steps smaller than a segment, so crashes land before, in and after a
/// step and power losses leave zeroed tails of every length.
#[test]
fn disk_store_conforms_with_small_preallocation_steps() {
    conformance::run(|| fresh(StoreOptions { segment_bytes: 4096, keep_snapshots: 1, preallocate: 512 }));
}
