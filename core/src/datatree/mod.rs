//! The replicated znode tree: ZooKeeper's `DataTree`, driven only by committed transactions.
//!
//! ```text
//!  committed (zxid, Txn) ──► DataTree::apply_with_changes ──► OpResult + [Change] (for watches)
//!  reads (get_data, exists, get_children, get_acl, …) ──► local state, stale until sync (§14.5)
//!  leader: reapable(now) ──► DeleteContainer txns;  validate(txn) ──► early errors
//!  DataTree ◄──► serde (snapshot: nodes + sessions + digest, verified on restore)
//! ```
//!
//! One entry point changes the tree, so every peer that applies the same transactions in zxid
//! order holds an equal tree and an equal [`DataTree::digest`]. Semantics follow ZooKeeper
//! 3.8 as the project's ZooKeeper wire reference (`zk-wire-protocol.md`, with its captures in
//! `zk-wire/`) describes it: check order and error codes from §7, node kinds and the sequence
//! suffix from §8, paths from §9, ACLs from §11, sessions from §15, `Stat` from §3.2 and §8.3.
//! Section numbers in this module's docs refer to that file.
//!
//! The whole data model is here: persistent, ephemeral (owned by a session of the replicated
//! session table), sequential, container and TTL nodes; ACLs checked at apply time against the
//! requester's identities in the txn; multi; sessions. Watches are the serving peer's
//! (`crate::watch`), fed by the [`Change`] list. Data size is not limited here: the limit is
//! the frame limit of §17, which the node enforces on the wire.
//!
//! Files: `stat` (Stat, the stored stat, node kinds), `path` (validation), `tree` (the value,
//! reads, digest and index upkeep), `apply` (entry points and effects), `checks` (each write's
//! checks, reaping), `multi`, `sessions`, `digest` (the node hash), `snapshot` (serde form),
//! `describe` (canonical text).

mod apply;
mod checks;
mod data;
mod describe;
mod digest;
mod multi;
mod path;
mod rows;
mod sessions;
mod snapshot;
mod stat;
mod tree;

#[cfg(test)]
mod acl_multi_tests;
#[cfg(test)]
mod kinds_tests;
#[cfg(test)]
mod model;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;

pub use data::Data;
pub use describe::quote;
pub use multi::multi_failure;
pub use path::{split_parent, validate_path, CONFIG, QUOTA, ROOT, ZOOKEEPER};
pub use rows::ZnodeRow;
pub use stat::{Stat, MAX_TTL_MS};
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
    /// Per-op results of a multi, as ZooKeeper returns them (§7.13). A multi failed (and
    /// changed nothing) iff some result is an `Error`: then the sub-ops before the failing one
    /// are `RolledBack`, the failing one has its code, and later ones `RuntimeInconsistency`.
    Multi(Vec<OpResult>),
    /// A sub-op of a failed multi that had succeeded before the rollback (ZooKeeper's error
    /// result with code 0, kazoo's `RolledBackError`).
    RolledBack,
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
