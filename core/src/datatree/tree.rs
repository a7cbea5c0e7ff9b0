//! The `DataTree` value: its nodes, the initial tree, the reads, and digest upkeep.
//! State changes live in `apply.rs`; the snapshot format in `snapshot.rs`.

use super::digest::node_hash;
use super::path::{self, CONFIG, QUOTA, ROOT, ZOOKEEPER};
use super::snapshot::TreeSnapshot;
use super::stat::{NodeStat, Stat};
use crate::txn::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One znode as stored: data, `StatPersisted`, and the names of its children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    pub data: Vec<u8>,
    pub stat: NodeStat,
    /// Kept beside the flat path map, as ZooKeeper's `DataNode.children` is, so
    /// getChildren and the NotEmpty check cost O(children), not O(tree).
    pub children: BTreeSet<String>,
}

impl Node {
    pub fn new(data: Vec<u8>, stat: NodeStat) -> Self {
        Node { data, stat, children: BTreeSet::new() }
    }

    pub fn client_stat(&self) -> Stat {
        self.stat.to_stat(self.data.len(), self.children.len())
    }
}

/// The replicated znode tree (ZooKeeper's `DataTree`).
///
/// Every peer applies the same committed transactions in zxid order through
/// [`DataTree::apply`], so every peer holds an equal tree; [`DataTree::digest`] lets them
/// check that cheaply. Nodes live in a `BTreeMap` keyed by full path so iteration, JSON and
/// `describe` output are deterministic.
///
/// It serializes as a snapshot (`snapshot.rs`): a flat node list plus the digest, from which
/// deserialization rebuilds the children and which it verifies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TreeSnapshot", into = "TreeSnapshot")]
pub struct DataTree {
    pub(crate) nodes: BTreeMap<String, Node>,
    pub(crate) digest: u64,
}

impl Default for DataTree {
    fn default() -> Self {
        DataTree::new()
    }
}

impl DataTree {
    /// ZooKeeper 3.8's initial tree (`DataTree` constructor and `addConfigNode`): `/`,
    /// `/zookeeper`, `/zookeeper/quota` and `/zookeeper/config`, all with empty data and
    /// zeroed stats. They are linked with `addChild`, which leaves the child-create counters at
    /// 0, so clients see `cversion -1` on `/` and `-2` on `/zookeeper` (`2·0 − numChildren`).
    /// The config node gets `aversion -1` from the `setACL(…, -1)` that makes it read-only
    /// (✔wire: getConfig in `zk-wire/probe_ops.txt`).
    pub fn new() -> Self {
        let mut tree = DataTree { nodes: BTreeMap::new(), digest: 0 };
        for p in [ROOT, ZOOKEEPER, QUOTA, CONFIG] {
            let mut stat = NodeStat::default();
            if p == CONFIG {
                stat.aversion = -1;
            }
            tree.insert_node(p, Node::new(Vec::new(), stat));
        }
        tree
    }

    /// getData: `NoNode` if missing. No path validation, as in ZooKeeper's
    /// `FinalRequestProcessor` (✔wire: `getData("a")` answered NoNode).
    pub fn get_data(&self, path: &str) -> Result<(Vec<u8>, Stat), ErrorCode> {
        let node = self.node(path)?;
        Ok((node.data.clone(), node.client_stat()))
    }

    /// exists: `Ok(None)` when missing. ZooKeeper rejects only a NUL here (✔wire:
    /// `exists("/a\0b")` gave BadArguments); any other malformed path simply does not exist.
    pub fn exists(&self, path: &str) -> Result<Option<Stat>, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        Ok(self.nodes.get(path).map(Node::client_stat))
    }

    /// getChildren2: child names (not paths), sorted, and the parent's stat. ZooKeeper's
    /// order is unspecified (a hash set); sorted is allowed and deterministic (§7.8).
    pub fn get_children(&self, path: &str) -> Result<(Vec<String>, Stat), ErrorCode> {
        let node = self.node(path)?;
        Ok((node.children.iter().cloned().collect(), node.client_stat()))
    }

    /// Number of znodes, `/` included. ZooKeeper's "Node count" (4lw `srvr`, `mntr`) is one
    /// more, because it stores the root under both `""` and `"/"` (✔wire: a fresh 3.8.0
    /// server reports 5); see [`DataTree::zk_node_count`].
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The node count as ZooKeeper's four-letter words report it (root counted twice).
    pub fn zk_node_count(&self) -> usize {
        self.nodes.len() + 1
    }

    /// The incrementally maintained digest (see `digest.rs`).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest recomputed from every node; always equal to [`DataTree::digest`].
    pub fn compute_digest(&self) -> u64 {
        compute_digest(&self.nodes)
    }

    pub(crate) fn node(&self, path: &str) -> Result<&Node, ErrorCode> {
        self.nodes.get(path).ok_or(ErrorCode::NoNode)
    }

    /// Adds a node and its hash, and links it under its parent.
    pub(crate) fn insert_node(&mut self, path: &str, node: Node) {
        let h = node_hash(path, &node.data, &node.stat);
        self.digest = self.digest.wrapping_add(h);
        if let Some((parent, name)) = path::split_parent(path).filter(|_| path != ROOT) {
            if let Some(p) = self.nodes.get_mut(parent) {
                p.children.insert(name.to_string());
            }
        }
        self.nodes.insert(path.to_string(), node);
    }

    /// Removes a node and its hash, and unlinks it from its parent.
    pub(crate) fn remove_node(&mut self, path: &str) -> Option<Node> {
        let node = self.nodes.remove(path)?;
        let h = node_hash(path, &node.data, &node.stat);
        self.digest = self.digest.wrapping_sub(h);
        if let Some((parent, name)) = path::split_parent(path) {
            if let Some(p) = self.nodes.get_mut(parent) {
                p.children.remove(name);
            }
        }
        Some(node)
    }

    /// Changes a node's data or stat in place, keeping the digest current: the old hash
    /// goes out and the new one comes in (ZooKeeper's `NodeHashMap.preChange`/`postChange`).
    pub(crate) fn update_node<R>(&mut self, path: &str, f: impl FnOnce(&mut Node) -> R) -> R {
        let node = self.nodes.get_mut(path).expect("update_node: checked before");
        let before = node_hash(path, &node.data, &node.stat);
        let r = f(node);
        let after = node_hash(path, &node.data, &node.stat);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        r
    }
}

pub(crate) fn compute_digest(nodes: &BTreeMap<String, Node>) -> u64 {
    nodes.iter().map(|(p, n)| node_hash(p, &n.data, &n.stat)).fold(0, u64::wrapping_add)
}
