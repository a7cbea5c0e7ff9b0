//! The serialized form of a `DataTree`: every node with its data, ACL and stored stat, in
//! path order, the session table, and the digest.
//!
//! Children lists are not stored: they follow from the paths, so a snapshot cannot disagree
//! with itself about them. Restoring checks that the node set is a well-formed tree and that
//! the recomputed digest equals the recorded one, so a corrupted or truncated snapshot is
//! refused instead of silently diverging (ZooKeeper checks its snapshot digest the same way,
//! ZOOKEEPER-3114). The digest is a hex string, since JavaScript numbers lose 64-bit values.
//! The ephemeral, container and TTL indexes are rebuilt from the nodes, never stored.
//!
//! Writing streams straight from the tree (`impl Serialize for DataTree`, borrowing each
//! node), so a snapshot of a large tree is never held in memory a second time; the borrowed
//! form and `TreeSnapshot` produce the same document (checked by a test).

use super::path::{self, validate_path, ROOT};
use super::stat::NodeStat;
use super::tree::{compute_digest, DataTree, Node};
use super::{Data, SessionInfo};
use crate::acl::Acl;
use crate::ids::SessionId;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};
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
    data: Data,
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

/// `NodeSnapshot`, borrowed from the tree.
#[derive(Serialize)]
struct NodeRef<'a> {
    path: &'a str,
    data: &'a Data,
    acl: &'a [Acl],
    stat: &'a NodeStat,
}

/// `SessionSnapshot`, borrowed from the tree.
#[derive(Serialize)]
struct SessionRef<'a> {
    id: SessionId,
    timeout_ms: u32,
    #[serde(with = "serde_bytes")]
    password: &'a [u8],
}

/// A sequence of known length, serialized item by item from an iterator.
struct Seq<I>(std::cell::Cell<Option<I>>);

impl<T: Serialize, I: ExactSizeIterator<Item = T>> Serialize for Seq<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self.0.take().expect("a Seq serializes once");
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

fn seq<I>(items: I) -> Seq<I> {
    Seq(std::cell::Cell::new(Some(items)))
}

impl Serialize for DataTree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let nodes = self.nodes.iter().map(|(path, n)| NodeRef { path, data: &n.data, acl: &n.acl, stat: &n.stat });
        let sessions = self.sessions.iter().map(|(id, info)| SessionRef {
            id: *id,
            timeout_ms: info.timeout_ms,
            password: &info.password,
        });
        let mut st = s.serialize_struct("TreeSnapshot", 3)?;
        st.serialize_field("nodes", &seq(nodes))?;
        st.serialize_field("sessions", &seq(sessions))?;
        st.serialize_field("digest", &format!("{:x}", self.digest))?;
        st.end()
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
        let computed = compute_digest(nodes.iter());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{CreateMode, Op, Txn};
    use crate::zxid::Zxid;

    fn tree() -> DataTree {
        let mut t = DataTree::new();
        let s = SessionId(0x42);
        let txn = |op| Txn { session: s, time_ms: 7, auth: Vec::new(), op };
        t.apply(Zxid::new(1, 1), &txn(Op::CreateSession { timeout_ms: 5000, password: vec![1, 2] }));
        t.apply(Zxid::new(1, 2), &txn(Op::create("/a", b"data", CreateMode::Persistent)));
        t.apply(Zxid::new(1, 3), &txn(Op::create("/a/e", &[0, 255], CreateMode::Ephemeral)));
        t
    }

    /// The borrowed, streamed form is the document `TreeSnapshot` describes, field for field.
    #[test]
    fn streamed_form_is_the_snapshot_form() {
        let t = tree();
        let owned = TreeSnapshot {
            nodes: t
                .nodes
                .iter()
                .map(|(p, n)| NodeSnapshot { path: p.clone(), data: n.data.clone(), acl: n.acl.to_vec(), stat: n.stat })
                .collect(),
            sessions: t
                .sessions
                .iter()
                .map(|(id, info)| SessionSnapshot {
                    id: *id,
                    timeout_ms: info.timeout_ms,
                    password: info.password.clone(),
                })
                .collect(),
            digest: format!("{:x}", t.digest),
        };
        let streamed = serde_json::to_value(&t).unwrap();
        assert_eq!(streamed, serde_json::to_value(&owned).unwrap());
        assert_eq!(serde_json::from_value::<DataTree>(streamed).unwrap(), t);
    }

    /// A clone is a consistent image: later writes to the original leave it untouched.
    #[test]
    fn a_clone_is_a_frozen_image() {
        let mut t = tree();
        let image = t.clone();
        let before = serde_json::to_string(&image).unwrap();
        let txn = |op| Txn { session: SessionId(0x42), time_ms: 8, auth: Vec::new(), op };
        t.apply(Zxid::new(1, 4), &txn(Op::SetData { path: "/a".into(), data: b"new".into(), version: -1 }));
        t.apply(Zxid::new(1, 5), &txn(Op::create("/a/b", b"", CreateMode::Persistent)));
        t.apply(Zxid::new(1, 6), &txn(Op::CloseSession));
        assert_eq!(serde_json::to_string(&image).unwrap(), before);
        assert_ne!(image, t);
        assert_eq!(image.get_children("/a").unwrap().0, vec!["e"]);
        assert_eq!(t.get_children("/a").unwrap().0, vec!["b"]);
        assert_eq!(
            t.approximate_data_size(),
            t.nodes.iter().map(|(p, n)| (p.len() + n.data.len()) as u64).sum::<u64>()
        );
    }
}
