//! What a page does before and around its tab peer's worker: claim a sid (a Web Lock), get
//! the cluster secret, ask for persistent storage, start the worker, and say `Bye` on the bus
//! when the page goes away.

use crate::bus::{channel_name, BusMsg, End};
use crate::sid_lock_name;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(module = "/src/browser.js")]
extern "C" {
    fn hold_lock(name: &str, wait_ms: u32) -> js_sys::Promise;
    fn with_lock(name: &str, f: &js_sys::Function) -> js_sys::Promise;
    pub(crate) fn random_bytes(n: u32) -> Vec<u8>;
}

/// How long a tab that names its sid (a reload keeps it in the URL) waits for that sid's lock:
/// the document it replaces may release it a moment after this one starts.
const NAMED_SID_WAIT_MS: u32 = 3_000;

/// Claims a sid of `cluster` and holds its lock while the page lives: `wanted`, or else the
/// first of `sids` whose lock is free. A tab never invents a sid: anything else is refused.
pub async fn claim_sid(cluster: &str, wanted: Option<u64>, sids: &[u64]) -> Result<u64, String> {
    if let Some(sid) = wanted {
        if !sids.contains(&sid) {
            return Err(format!("sid {sid} is not a member of cluster {cluster:?} (members: {sids:?})"));
        }
        return match lock(&sid_lock_name(cluster, sid), NAMED_SID_WAIT_MS).await {
            true => Ok(sid),
            false => Err(format!(
                "sid {sid} of cluster {cluster:?} is taken: another tab runs it (it holds the Web Lock {:?})",
                sid_lock_name(cluster, sid)
            )),
        };
    }
    for &sid in sids {
        if lock(&sid_lock_name(cluster, sid), 0).await {
            return Ok(sid);
        }
    }
    Err(format!("every sid of cluster {cluster:?} ({sids:?}) is taken by another tab"))
}

async fn lock(name: &str, wait_ms: u32) -> bool {
    wasm_bindgen_futures::JsFuture::from(hold_lock(name, wait_ms)).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// The cluster's shared secret (64 hex digits): made by the first tab from the OS random
/// source and kept in localStorage for that cluster name; read and made under a Web Lock, so
/// two tabs starting at once agree on one.
pub async fn cluster_secret(cluster: &str) -> Result<String, String> {
    let key = format!("zabra-tabs/{cluster}/secret");
    let f = Closure::once_into_js(move || -> JsValue {
        let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        let Some(storage) = storage else { return JsValue::NULL };
        if let Ok(Some(hex)) = storage.get_item(&key) {
            if hex.len() == 64 {
                return hex.into();
            }
        }
        let hex: String = random_bytes(32).iter().map(|b| format!("{b:02x}")).collect();
        match storage.set_item(&key, &hex) {
            Ok(()) => hex.into(),
            Err(_) => JsValue::NULL,
        }
    });
    let p = with_lock(&format!("zabra-tabs/{cluster}/setup"), f.unchecked_ref());
    let v = wasm_bindgen_futures::JsFuture::from(p).await.map_err(|e| format!("{e:?}"))?;
    v.as_string().ok_or_else(|| "no localStorage here: cannot keep the cluster secret".to_string())
}

/// `navigator.storage.persist()`: asks the browser not to evict this origin's IndexedDB
/// under storage pressure. Resolves to whether it agreed (headless Chromium often says no;
/// the peer runs either way).
pub async fn ask_persist() -> bool {
    let Some(w) = web_sys::window() else { return false };
    let Ok(p) = w.navigator().storage().persist() else { return false };
    wasm_bindgen_futures::JsFuture::from(p).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Starts the peer's dedicated worker: `script` loads the same wasm module as the page and
/// calls [`crate::worker::worker_main`].
pub fn spawn_worker(script: &str) -> Result<web_sys::Worker, String> {
    let opts = web_sys::WorkerOptions::new();
    opts.set_type(web_sys::WorkerType::Module);
    web_sys::Worker::new_with_options(script, &opts).map_err(|e| format!("cannot start the worker: {e:?}"))
}

/// Tells the other tabs at once that this peer is gone (on `pagehide`), rather than letting
/// them wait for its silence.
pub fn say_bye(cluster: &str, sid: u64, inc: u64) {
    if let Ok(ch) = web_sys::BroadcastChannel::new(&channel_name(cluster)) {
        let bytes = BusMsg::Bye { from: End { sid, inc } }.encode();
        let _ = ch.post_message(&js_sys::Uint8Array::from(&bytes[..]));
        ch.close();
    }
}
