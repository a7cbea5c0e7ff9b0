//! The serialized form of a `DataTree`: every node with its data, ACL and stored stat, in
//! path order, the session table, and the digest.
//!
//! Children lists are not stored: they follow from the paths, so a snapshot cannot disagree
//! with itself about them. Restoring checks that the node set is a well-formed tree and that
//! the recomputed digest equals the recorded one, so a corrupted or truncated snapshot is
//! refused instead of silently diverging (ZooKeeper checks its snapshot digest the same way,
//! ZOOKEEPER-3114). The digest is a hex string, since JavaScript numbers lose 64-bit values.
//! The ephemeral, container and TTL indexes are rebuilt from the nodes, never stored.

use super::path::{self, validate_path, ROOT};
use super::stat::NodeStat;
use super::tree::{compute_digest, DataTree, Node};
use super::SessionInfo;
use crate::acl::Acl;
use crate::ids::SessionId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct TreeSnapshot {
    nodes: Vec<NodeSnapshot>,
    sessions: Vec<SessionSnapshot>,
    digest: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct NodeSnapshot {
    path: String,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
    acl: Vec<Acl>,
    stat: NodeStat,
}

/// One session, its fields inline (`{"id", "timeout_ms", "password"}` in JSON). Spelled out
/// rather than `#[serde(flatten)]`, which binary formats that are not self-describing (the
/// peer wire) cannot read.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SessionSnapshot {
    id: SessionId,
    timeout_ms: u32,
    #[serde(with = "serde_bytes")]
    password: Vec<u8>,
}

impl From<DataTree> for TreeSnapshot {
    fn from(tree: DataTree) -> Self {
        let digest = format!("{:x}", tree.digest);
        let nodes = tree
            .nodes
            .into_iter()
            .map(|(path, n)| NodeSnapshot { path, data: n.data, acl: n.acl, stat: n.stat })
            .collect();
        let sessions = tree
            .sessions
            .into_iter()
            .map(|(id, info)| SessionSnapshot { id, timeout_ms: info.timeout_ms, password: info.password })
            .collect();
        TreeSnapshot { nodes, sessions, digest }
    }
}

impl TryFrom<TreeSnapshot> for DataTree {
    type Error = String;

    fn try_from(snap: TreeSnapshot) -> Result<Self, String> {
        let recorded = u64::from_str_radix(snap.digest.trim_start_matches("0x"), 16)
            .map_err(|e| format!("bad digest {:?}: {e}", snap.digest))?;
        let mut nodes = BTreeMap::new();
        for n in snap.nodes {
            validate_path(&n.path).map_err(|_| format!("invalid path {:?}", n.path))?;
            let node = Node::new(n.data, n.acl, n.stat);
            if nodes.insert(n.path.clone(), node).is_some() {
                return Err(format!("duplicate node {:?}", n.path));
            }
        }
        link_children(&mut nodes)?;
        let computed = compute_digest(&nodes);
        if computed != recorded {
            return Err(format!("digest mismatch: recorded {recorded:x}, computed {computed:x}"));
        }
        let mut tree = DataTree::empty();
        // Parents come before children in path order, so each insert finds its parent.
        for (path, node) in nodes {
            tree.insert_node(&path, node);
        }
        for s in snap.sessions {
            let info = SessionInfo { timeout_ms: s.timeout_ms, password: s.password };
            if tree.sessions.insert(s.id, info).is_some() {
                return Err(format!("duplicate session {:?}", s.id));
            }
        }
        Ok(tree)
    }
}

/// Fills in every node's children from the paths, refusing orphans and a missing root.
fn link_children(nodes: &mut BTreeMap<String, Node>) -> Result<(), String> {
    if !nodes.contains_key(ROOT) {
        return Err("snapshot has no root".to_string());
    }
    let links: Vec<(String, String)> = nodes
        .keys()
        .filter(|p| p.as_str() != ROOT)
        .filter_map(|p| path::split_parent(p))
        .map(|(parent, name)| (parent.to_string(), name.to_string()))
        .collect();
    for (parent, name) in links {
        let p = nodes.get_mut(&parent).ok_or_else(|| format!("node {name:?} has no parent {parent:?}"))?;
        p.children.insert(name);
    }
    Ok(())
}
