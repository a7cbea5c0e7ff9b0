//! The `DataTree` value: its nodes, the initial tree, the reads, and digest upkeep.
//! State changes live in `apply.rs`; the snapshot format in `snapshot.rs`.

use super::digest::node_hash;
use super::path::{self, CONFIG, QUOTA, ROOT, ZOOKEEPER};
use super::snapshot::TreeSnapshot;
use super::stat::{Kind, NodeStat, Stat};
use super::{Data, SessionInfo};
use crate::acl::{self, Acl, Id};
use crate::ids::SessionId;
use crate::txn::ErrorCode;
use imbl::{OrdMap, OrdSet};
use serde::Deserialize;
use std::sync::Arc;

/// One znode as stored: data, ACL (already fixed up), `StatPersisted`, and the names of its
/// children.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Node {
    pub data: Data,
    pub acl: acl::SharedAcl,
    pub stat: NodeStat,
    /// Kept beside the flat path map, as ZooKeeper's `DataNode.children` is, so
    /// getChildren and the NotEmpty check cost O(children), not O(tree). Persistent, so
    /// copying a node with many children while a checkpoint shares it is cheap.
    pub children: OrdSet<String>,
}

impl Node {
    pub fn new(data: Data, acl: Vec<Acl>, stat: NodeStat) -> Self {
        Node { data, acl: acl::shared(acl), stat, children: OrdSet::new() }
    }

    pub fn hash(&self, path: &str) -> u64 {
        node_hash(path, self.data.bytes(), &self.acl, &self.stat)
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
/// It also holds the session table (ids, timeouts, passwords), which is replicated state like
/// the nodes: part of the snapshot and of equality, but not of the digest, which stays a hash
/// of the nodes as in ZooKeeper (a session difference shows in the digest as soon as it owns
/// an ephemeral).
///
/// It serializes as a snapshot (`snapshot.rs`): a flat node list, the sessions and the
/// digest, from which deserialization rebuilds the children and indexes and which it verifies.
/// Serialization streams from the tree itself, with no intermediate copy.
///
/// Its maps are persistent (`imbl`), ordered like `BTreeMap`: a clone shares structure, so
/// the checkpoint and SNAP copies cost O(1) on the peer's task, and a write made while a copy
/// is still being serialized elsewhere copies only the nodes on its path.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TreeSnapshot")]
pub struct DataTree {
    pub(crate) nodes: OrdMap<String, Arc<Node>>,
    pub(crate) digest: u64,
    /// Σ (path length + data length) over the nodes, ZooKeeper's `approximateDataSize`
    /// (`mntr`), kept by `insert_node`/`remove_node`/`update_node`.
    pub(crate) data_size: u64,
    pub(crate) sessions: OrdMap<SessionId, SessionInfo>,
    /// Derived from the nodes (kept by `insert_node`/`remove_node`), never serialized:
    /// ephemeral paths by owner, and the container and TTL paths (ZooKeeper's `ephemerals`,
    /// `containers` and `ttls`). Empty sets are removed, so equal trees have equal indexes.
    pub(crate) ephemerals: OrdMap<SessionId, OrdSet<String>>,
    pub(crate) containers: OrdSet<String>,
    pub(crate) ttls: OrdSet<String>,
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
    /// The config node gets `aversion -1` and `world:anyone` READ from the `setACL(…, -1)` that
    /// makes it read-only (✔wire: getConfig in `zk-wire/probe_ops.txt`); the others have the
    /// open ACL.
    pub fn new() -> Self {
        let mut tree = DataTree::empty();
        for p in [ROOT, ZOOKEEPER, QUOTA, CONFIG] {
            let mut stat = NodeStat::default();
            let mut acl = acl::open_acl_unsafe();
            if p == CONFIG {
                stat.aversion = -1;
                acl = acl::read_acl_unsafe();
            }
            tree.insert_node(p, Node::new(Data::empty(), acl, stat));
        }
        tree
    }

    /// No nodes and no sessions (the start of a snapshot restore).
    pub(crate) fn empty() -> Self {
        DataTree {
            nodes: OrdMap::new(),
            digest: 0,
            data_size: 0,
            sessions: OrdMap::new(),
            ephemerals: OrdMap::new(),
            containers: OrdSet::new(),
            ttls: OrdSet::new(),
        }
    }

    /// getData: `NoNode` if missing. No path validation, as in ZooKeeper's
    /// `FinalRequestProcessor` (✔wire: `getData("a")` answered NoNode).
    pub fn get_data(&self, path: &str) -> Result<(Data, Stat), ErrorCode> {
        let node = self.node(path)?;
        Ok((node.data.clone(), node.client_stat()))
    }

    /// exists: `Ok(None)` when missing. ZooKeeper rejects only a NUL here (✔wire:
    /// `exists("/a\0b")` gave BadArguments); any other malformed path simply does not exist.
    pub fn exists(&self, path: &str) -> Result<Option<Stat>, ErrorCode> {
        if path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        Ok(self.nodes.get(path).map(|n| n.client_stat()))
    }

    /// getChildren2: child names (not paths), sorted, and the parent's stat. ZooKeeper's
    /// order is unspecified (a hash set); sorted is allowed and deterministic (§7.8).
    pub fn get_children(&self, path: &str) -> Result<(Vec<String>, Stat), ErrorCode> {
        let node = self.node(path)?;
        Ok((node.children.iter().cloned().collect(), node.client_stat()))
    }

    /// getACL: the stored (fixed-up) ACL and the stat; `NoNode` if missing. The READ-or-ADMIN
    /// check and the digest masking of §7.6 are the serving peer's (see [`DataTree::check_perm`]).
    pub fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), ErrorCode> {
        let node = self.node(path)?;
        Ok((node.acl.to_vec(), node.client_stat()))
    }

    /// The permission check reads need (§11.4): `NoNode` if the node is missing, `NoAuth` if
    /// none of `auth` holds `perm` on it (an empty ACL or a `super` identity allows everything).
    pub fn check_perm(&self, path: &str, perm: u32, auth: &[Id]) -> Result<(), ErrorCode> {
        acl::check_acl(&self.node(path)?.acl, perm, auth)
    }

    /// getAllChildrenNumber (§7.18): every descendant, not only the children; `NoNode` if the
    /// node is missing. For `/` that is every other node (✔wire: 6 with six other nodes).
    pub fn all_children_number(&self, path: &str) -> Result<usize, ErrorCode> {
        self.node(path)?;
        if path == ROOT {
            return Ok(self.nodes.len() - 1);
        }
        let prefix = format!("{path}/");
        Ok(self.nodes.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).count())
    }

    /// A session of the replicated session table.
    pub fn session(&self, id: SessionId) -> Option<&SessionInfo> {
        self.sessions.get(&id)
    }

    /// Every session, by id.
    pub fn sessions(&self) -> impl Iterator<Item = (SessionId, &SessionInfo)> {
        self.sessions.iter().map(|(id, s)| (*id, s))
    }

    /// The full paths of the ephemeral nodes `session` owns, sorted (getEphemerals without a
    /// prefix; the serving peer filters by prefix, §7.18).
    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        self.ephemerals.get(&session).map(|s| s.iter().cloned().collect()).unwrap_or_default()
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

    /// Σ (path length + data length) over every znode, as ZooKeeper's `approximateDataSize`.
    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    /// The incrementally maintained digest (see `digest.rs`).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest recomputed from every node; always equal to [`DataTree::digest`].
    pub fn compute_digest(&self) -> u64 {
        compute_digest(self.nodes.iter().map(|(p, n)| (p, &**n)))
    }

    pub(crate) fn node(&self, path: &str) -> Result<&Node, ErrorCode> {
        self.nodes.get(path).map(|n| &**n).ok_or(ErrorCode::NoNode)
    }

    /// Adds a node and its hash, links it under its parent and indexes its kind.
    pub(crate) fn insert_node(&mut self, path: &str, node: Node) {
        self.digest = self.digest.wrapping_add(node.hash(path));
        self.data_size += size_of(path, &node);
        if let Some((parent, name)) = path::split_parent(path).filter(|_| path != ROOT) {
            if let Some(p) = self.nodes.get_mut(parent) {
                Arc::make_mut(p).children.insert(name.to_string());
            }
        }
        match Kind::of(node.stat.ephemeral_owner) {
            Kind::Persistent => {}
            Kind::Ephemeral(s) => {
                self.ephemerals.entry(SessionId(s)).or_default().insert(path.to_string());
            }
            Kind::Container => {
                self.containers.insert(path.to_string());
            }
            Kind::Ttl(_) => {
                self.ttls.insert(path.to_string());
            }
        }
        self.nodes.insert(path.to_string(), Arc::new(node));
    }

    /// Removes a node and its hash, unlinks it from its parent and from the kind indexes.
    pub(crate) fn remove_node(&mut self, path: &str) -> Option<Node> {
        let node = Arc::unwrap_or_clone(self.nodes.remove(path)?);
        self.digest = self.digest.wrapping_sub(node.hash(path));
        self.data_size -= size_of(path, &node);
        if let Some((parent, name)) = path::split_parent(path) {
            if let Some(p) = self.nodes.get_mut(parent) {
                Arc::make_mut(p).children.remove(name);
            }
        }
        match Kind::of(node.stat.ephemeral_owner) {
            Kind::Persistent => {}
            Kind::Ephemeral(s) => {
                if let Some(set) = self.ephemerals.get_mut(&SessionId(s)) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&SessionId(s));
                    }
                }
            }
            Kind::Container => {
                self.containers.remove(path);
            }
            Kind::Ttl(_) => {
                self.ttls.remove(path);
            }
        }
        Some(node)
    }

    /// Changes a node's data, ACL or stat in place, keeping the digest current: the old hash
    /// goes out and the new one comes in (ZooKeeper's `NodeHashMap.preChange`/`postChange`).
    /// The ephemeral owner never changes after creation, so the indexes stay valid.
    pub(crate) fn update_node<R>(&mut self, path: &str, f: impl FnOnce(&mut Node) -> R) -> R {
        let node = Arc::make_mut(self.nodes.get_mut(path).expect("update_node: checked before"));
        let (before, old_size) = (node.hash(path), size_of(path, node));
        let r = f(node);
        let after = node.hash(path);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        self.data_size = self.data_size - old_size + size_of(path, node);
        r
    }
}

fn size_of(path: &str, node: &Node) -> u64 {
    (path.len() + node.data.len()) as u64
}

pub(crate) fn compute_digest<'a>(nodes: impl Iterator<Item = (&'a String, &'a Node)>) -> u64 {
    nodes.map(|(p, n)| n.hash(p)).fold(0, u64::wrapping_add)
}
