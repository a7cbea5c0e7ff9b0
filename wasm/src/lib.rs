//! # zabra-wasm
//!
//! The browser runtime for a core `Peer` (DESIGN.md, "Browser"): Tabs mode of the UI runs a
//! real ZAB peer in each tab, in a dedicated Web Worker so the page's rendering never delays
//! the protocol. It holds no protocol logic of its own.
//!
//! ```text
//!  page (zabra-www, Tabs mode)               dedicated worker (same wasm module)
//!  Web Lock "zabra-tabs/<cluster>/sid/<n>"     BrowserNode ── Peer (zabra-core)
//!  cluster secret (localStorage, under a lock)    │  Send/Disconnect ─► Links ─► BroadcastChannel
//!  ToWorker::Start / Write ───────────────────►   │  Persist ─► IndexedDB (strict) ─► Persisted
//!  ◄── FromWorker::Status / Trace / Written        │  deadlines ─► timers on performance.now()
//! ```
//!
//! - [`bus`]: the messages on a cluster's BroadcastChannel;
//! - [`links`]: one authenticated FIFO connection per pair of tabs over it (sans-IO);
//! - [`wslinks`]: WebSocket links to a native cluster's peer ports, keyed by a join token
//!   (sans-IO);
//! - [`node`]: `BrowserNode`, the driver of one `Peer` (sans-IO, tested natively);
//! - [`protocol`]: page ↔ worker messages;
//! - `worker`, `idb`, `page` (wasm32 only): the worker's entry point, the IndexedDB store, and
//!   what the page does before it starts a worker (claim a sid, the cluster secret).

pub mod bus;
pub mod links;
pub mod node;
pub mod protocol;
pub mod wslinks;

#[cfg(target_arch = "wasm32")]
pub mod idb;
#[cfg(target_arch = "wasm32")]
pub mod page;
#[cfg(target_arch = "wasm32")]
pub mod worker;

pub use node::BrowserNode;
/// The core crate this runtime drives, re-exported so browser code has one import path.
pub use zabra_core as core;

/// The tabs-only cluster the UI offers: sids 1..=3, all voters.
pub const DEMO_CLUSTER: &str = "demo";
pub const DEMO_VOTERS: [u64; 3] = [1, 2, 3];

/// The name of the Web Lock a tab holds while it runs `sid` of `cluster`.
pub fn sid_lock_name(cluster: &str, sid: u64) -> String {
    format!("zabra-tabs/{cluster}/sid/{sid}")
}
