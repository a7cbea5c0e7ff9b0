//! The replicated znode tree: ZooKeeper's `DataTree`, driven only by committed transactions.
//!
//! ```text
//!  committed (zxid, Txn) ──► DataTree::apply ──► OpResult (path + Stat, or an ErrorCode)
//!  reads (get_data, exists, get_children) ──► local state, possibly stale until sync (§14.5)
//!  DataTree ◄──► serde (snapshot: nodes + digest, verified on restore)
//! ```
//!
//! One entry point changes the tree, so every peer that applies the same transactions in zxid
//! order holds an equal tree and an equal [`DataTree::digest`]. Semantics follow ZooKeeper
//! 3.8 as the project's ZooKeeper wire reference (`zk-wire-protocol.md`, with its captures in
//! `zk-wire/`) describes it: check order and error codes from §7.1, §7.2, §7.5, paths from §9,
//! `Stat` from §3.2 and §8.3. Section numbers in this module's docs refer to that file.
//!
//! Only persistent nodes exist so far. Ephemeral, sequential, container and TTL nodes, ACLs
//! and watches come later: `NodeStat` already keeps ZooKeeper's raw child-create counter (the
//! sequence suffix) and the stored ephemeral owner, and `CreateMode` is matched exhaustively
//! so each new mode must say what it does.
//!
//! Files: `stat` (Stat and the stored stat), `path` (validation), `tree` (the value, reads,
//! digest upkeep), `apply` (checks and effects), `digest` (the node hash), `snapshot` (serde
//! form), `describe` (canonical text).

mod apply;
mod describe;
mod digest;
mod path;
mod snapshot;
mod stat;
mod tree;

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use describe::quote;
pub use path::{validate_path, CONFIG, QUOTA, ROOT, ZOOKEEPER};
pub use stat::Stat;
pub use tree::DataTree;

use crate::txn::ErrorCode;
use serde::{Deserialize, Serialize};

/// What applying one transaction produced, for the reply to the client that sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpResult {
    /// The actual path (sequential creates will add a suffix) and the new node's stat, as
    /// create2 returns them.
    Created {
        path: String,
        stat: Stat,
    },
    Deleted,
    /// The node's stat after the change, as setData returns it.
    SetData {
        stat: Stat,
    },
    /// The node's stat after setACL.
    SetAcl {
        stat: Stat,
    },
    /// A `check` inside a multi passed.
    Checked,
    /// Per-op results of a multi, as ZooKeeper returns them (§7.13).
    Multi(Vec<OpResult>),
    SessionCreated,
    SessionClosed,
    /// The op failed its checks and changed nothing.
    Error(ErrorCode),
}

/// What an applied transaction changed, in order: what watches fire from (§13.4). A created
/// or deleted node also changes its parent's children.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    Created(String),
    Deleted(String),
    DataChanged(String),
}

/// A session as every peer knows it (the replicated part; liveness is the leader's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub timeout_ms: u32,
    pub password: Vec<u8>,
}
