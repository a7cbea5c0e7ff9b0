//! The core's storage conformance suite against the IndexedDB store, in headless Chromium
//! (`cargo xtask test`, stage ui-wasm-test: wasm-bindgen-test-runner with chromedriver).
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use wasm_bindgen_test::*;
use zabra_core::storage::{conformance, AsyncBackend, PersistOp, PersistedState};
use zabra_wasm::idb::IdbStore;

wasm_bindgen_test_configure!(run_in_browser);

/// One fresh database per backend. `apply` keeps ops pending (not durable), `sync` writes them
/// in one strict transaction, `reopen` closes the database and loads it again: what a reload
/// of the tab does.
struct IdbBackend {
    name: String,
    store: Option<IdbStore>,
    pending: Vec<PersistOp>,
}

thread_local! {
    static NEXT: Cell<u32> = const { Cell::new(0) };
}

fn fresh() -> IdbBackend {
    let n = NEXT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let name = format!("zabra-conformance/{}/{n}", js_sys::Date::now());
    IdbBackend { name, store: None, pending: Vec::new() }
}

impl IdbBackend {
    async fn store(&mut self) -> &mut IdbStore {
        if self.store.is_none() {
            IdbStore::delete(&self.name).await.expect("delete");
            let mut s = IdbStore::open(&self.name).await.expect("open");
            s.load().await.expect("load");
            self.store = Some(s);
        }
        self.store.as_mut().expect("opened")
    }
}

impl AsyncBackend for IdbBackend {
    async fn apply(&mut self, ops: &[PersistOp]) {
        self.pending.extend_from_slice(ops);
    }

    async fn sync(&mut self) {
        let ops = std::mem::take(&mut self.pending);
        self.store().await.write(&ops).await.expect("strict write");
    }

    async fn reopen(&mut self) -> PersistedState {
        self.pending.clear();
        self.store().await;
        if let Some(s) = self.store.take() {
            s.close();
        }
        let mut s = IdbStore::open(&self.name).await.expect("reopen");
        let state = s.load().await.expect("load");
        self.store = Some(s);
        state
    }

    /// One transaction is atomic, so an op has one step: a crash before its commit (the
    /// transaction issued, then aborted) leaves nothing of it.
    async fn crash_during(&mut self, op: &PersistOp, step: u32) -> Option<PersistedState> {
        if step == 0 {
            // What was not synced is lost with the crash, as `reopen` loses it.
            self.pending.clear();
            let store = self.store().await;
            store.write_aborted(std::slice::from_ref(op)).await.expect("abort");
            return Some(self.reopen().await);
        }
        self.apply(std::slice::from_ref(op)).await;
        None
    }
}

#[wasm_bindgen_test]
async fn indexeddb_store_conforms() {
    conformance::run_async(fresh).await;
}

/// The harness itself: ops not synced are gone after a reopen, synced ones are there.
#[wasm_bindgen_test]
async fn only_synced_ops_survive_a_reopen() {
    let mut b = fresh();
    b.apply(&[PersistOp::AcceptedEpoch(3)]).await;
    // Not synced: a reopen must not show it...
    assert_eq!(b.reopen().await.accepted_epoch, 0);
    b.apply(&[PersistOp::AcceptedEpoch(3)]).await;
    b.sync().await;
    // ...and once synced it must.
    assert_eq!(b.reopen().await.accepted_epoch, 3);
}
