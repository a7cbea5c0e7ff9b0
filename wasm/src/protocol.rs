//! What the page and its peer's worker say to each other (`postMessage`, JSON text: only
//! the page reads it, and it is small). Trace events travel as the core's typed
//! `TraceEvent`s; the page makes the text (DESIGN.md: text only at the edges).

use crate::links::Links;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use zabra_core::peer::Peer;
use zabra_core::trace::TraceEvent;

/// Where the peer keeps its durable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Storage {
    /// IndexedDB, strict durability: a reload recovers it.
    IndexedDb,
    /// Memory only (a reload starts empty): for tests of the transport alone.
    Memory,
}

/// Page → worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Run the peer `sid` of `cluster`, whose voters are `voters` (the tab holds the sid's Web
    /// Lock already). `secret` is the cluster's shared key (hex).
    /// With `join`, the cluster is a native one that lists `sid` as a browser member: the
    /// peer dials its nodes with the join token (and `secret` is unused).
    Start {
        cluster: String,
        sid: u64,
        voters: Vec<u64>,
        observers: Vec<u64>,
        secret: String,
        storage: Storage,
        #[serde(default)]
        join: Option<JoinNative>,
    },
    /// The write form: create `path` with `data`, or set its data if it exists.
    Write { path: String, data: String },
}

/// How a browser member reaches its native cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinNative {
    /// This sid's join token (from `GET /join` or `zabra cluster`).
    pub token: String,
    /// Every native node: its sid and its peer port's WebSocket URL.
    pub natives: Vec<(u64, String)>,
    /// `GET /bus-keys`' answer: for each browser member, the BroadcastChannel key of each of
    /// its pairs, masked for it (`zabra_peerwire::wrap_bus_key`); the worker unmasks its own
    /// sid's with the token. Empty: this tab talks to native nodes only.
    #[serde(default)]
    pub bus_keys: BTreeMap<u64, BTreeMap<u64, String>>,
}

/// Worker → page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// The module is loaded and listening: the page may send `Start`.
    Ready,
    /// The peer runs; `inc` is its incarnation on the bus (the page says `Bye` with it when
    /// it goes away).
    Started {
        inc: u64,
        loaded: String,
    },
    Status(TabStatus),
    Trace(Vec<TraceEvent>),
    Written(WriteResult),
    /// The peer cannot run (bad config, storage refused): shown to the person.
    Failed(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WriteResult {
    pub path: String,
    pub ok: bool,
    pub text: String,
    pub zxid: Option<String>,
}

/// A log entry as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    pub zxid: String,
    pub op: String,
    pub committed: bool,
}

/// A znode as the page shows it.
pub use zabra_core::datatree::ZnodeRow as TreeRow;

/// What the page draws of this tab's peer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TabStatus {
    pub sid: u64,
    pub inc: u64,
    /// LOOKING, FOLLOWING, LEADING or OBSERVING.
    pub role: String,
    pub phase: String,
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    pub last_logged: String,
    pub last_committed: String,
    pub leader: Option<u64>,
    pub serving: bool,
    /// Peers heard on the bus lately, and whether the connection with each is up.
    pub peers: Vec<(u64, bool)>,
    /// Why a handshake with a peer failed last, by sid.
    pub refusals: Vec<(u64, String)>,
    /// The newest entries of the log (at most [`LOG_ROWS`]), newest first.
    pub log: Vec<LogRow>,
    pub tree: Vec<TreeRow>,
    /// The largest lateness of a timer in the last status period, and the largest ever (ms).
    pub late_ms: f64,
    pub max_late_ms: f64,
    /// Persist ops written and strict transactions completed.
    pub persisted_ops: u64,
    pub transactions: u64,
}

/// Rows of the log and of the tree sent with each status (the page is a view, not a copy).
pub const LOG_ROWS: usize = 40;
pub const TREE_ROWS: usize = 200;

impl TabStatus {
    pub fn of(peer: &Peer, links: &Links) -> TabStatus {
        let s = peer.status();
        let committed = s.last_committed;
        let log = peer.log().entries().iter().rev().take(LOG_ROWS);
        let log = log
            .map(|e| LogRow {
                zxid: e.zxid.to_string(),
                op: zabra_core::describe::op(&e.txn.op),
                committed: e.zxid <= committed,
            })
            .collect();
        TabStatus {
            sid: s.sid.0,
            inc: links.me().inc,
            role: format!("{:?}", s.state).to_uppercase(),
            phase: format!("{:?}", s.phase),
            accepted_epoch: s.accepted_epoch,
            current_epoch: s.current_epoch,
            last_logged: s.last_logged.to_string(),
            last_committed: committed.to_string(),
            leader: s.leader.map(|l| l.0),
            serving: s.serving,
            peers: links.peers(),
            refusals: links.refusals.iter().map(|(k, v)| (*k, v.clone())).collect(),
            log,
            tree: peer.tree().rows(TREE_ROWS),
            ..TabStatus::default()
        }
    }
}
