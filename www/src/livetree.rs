//! Live mode's znode tree: trace events do not carry a tree (nor znode data a viewer may not
//! read), so the page reads it now and then as a client would, through the JSON client API
//! (`/api`): getChildren and getData from `/` down, depth first, at most [`MAX_ZNODES`]
//! znodes [`MAX_DEPTH`] deep, so one read costs at most twice that many small requests
//! whatever the cluster holds. The client API checks ACLs as for any client, so the page
//! shows only what a client may read. A state machine, unit-tested natively; `livepage`
//! carries its requests and replies.

use crate::view::NodeRow;
use std::collections::BTreeMap;
use zabra_core::datatree::Stat;
use zabra_core::peer::{ClientOp, ClientResult, Reply};

/// Znodes read at most (those beyond are counted as left out).
pub const MAX_ZNODES: usize = 64;
/// Levels below `/` read at most.
pub const MAX_DEPTH: usize = 4;
/// Characters of a znode's data shown.
const DATA_SHOWN: usize = 40;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Want {
    Children(Vec<String>),
    Data(Vec<String>),
}

#[derive(Clone, Debug, Default)]
struct Node {
    data: String,
    stat: Stat,
}

/// One read of the tree.
#[derive(Clone, Debug, Default)]
pub struct TreeRead {
    next_xid: i64,
    pending: BTreeMap<i64, Want>,
    /// By path components, so the map's order is the tree's depth-first order.
    nodes: BTreeMap<Vec<String>, Node>,
    /// Znodes seen but not read (over the bounds).
    pub left_out: usize,
    pub errors: usize,
}

fn path_of(parts: &[String]) -> String {
    if parts.is_empty() {
        "/".into()
    } else {
        format!("/{}", parts.join("/"))
    }
}

impl TreeRead {
    fn request(&mut self, want: Want) -> String {
        let op = match &want {
            Want::Children(p) => ClientOp::GetChildren { path: path_of(p), watch: false },
            Want::Data(p) => ClientOp::GetData { path: path_of(p), watch: false },
        };
        self.next_xid += 1;
        self.pending.insert(self.next_xid, want);
        serde_json::json!({ "xid": self.next_xid, "op": op }).to_string()
    }

    fn read(&mut self, parts: Vec<String>) -> Vec<String> {
        self.nodes.insert(parts.clone(), Node::default());
        vec![self.request(Want::Children(parts.clone())), self.request(Want::Data(parts))]
    }

    /// The first requests of a read (on a granted session).
    pub fn start(&mut self) -> Vec<String> {
        self.read(Vec::new())
    }

    /// A reply: the requests it leads to.
    pub fn on_reply(&mut self, r: &Reply) -> Vec<String> {
        match (self.pending.remove(&r.xid), &r.result) {
            (Some(Want::Children(parts)), ClientResult::Children { children, .. }) => {
                let mut kids = children.clone();
                kids.sort();
                let mut out = Vec::new();
                for k in kids {
                    if parts.len() >= MAX_DEPTH || self.nodes.len() >= MAX_ZNODES {
                        self.left_out += 1;
                        continue;
                    }
                    let mut child = parts.clone();
                    child.push(k);
                    out.extend(self.read(child));
                }
                out
            }
            (Some(Want::Data(parts)), ClientResult::Data { data, stat }) => {
                if let Some(n) = self.nodes.get_mut(&parts) {
                    let text = String::from_utf8_lossy(data.bytes());
                    n.data = text.chars().take(DATA_SHOWN).collect();
                    n.stat = *stat;
                }
                Vec::new()
            }
            (Some(_), _) => {
                // Gone between the listing and the read (NoNode), or not readable (NoAuth).
                self.errors += 1;
                Vec::new()
            }
            (None, _) => Vec::new(),
        }
    }

    pub fn finished(&self) -> bool {
        self.pending.is_empty()
    }

    /// The tree, depth first, as the Classroom's tree panel draws it.
    pub fn rows(&self) -> Vec<NodeRow> {
        self.nodes
            .iter()
            .map(|(parts, n)| NodeRow {
                path: path_of(parts),
                depth: parts.len(),
                data: n.data.clone(),
                czxid: n.stat.czxid.to_string(),
                mzxid: n.stat.mzxid.to_string(),
                version: n.stat.version,
                cversion: n.stat.cversion,
                num_children: n.stat.num_children,
                ephemeral_owner: n.stat.ephemeral_owner,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::{SessionId, Zxid};

    /// Serves a read from a tree given as (path, data) pairs.
    fn serve(tree: &[(&str, &str)], read: &mut TreeRead) {
        let mut queue: std::collections::VecDeque<String> = read.start().into();
        let mut n = 0;
        while let Some(req) = queue.pop_front() {
            n += 1;
            assert!(n <= 2 * MAX_ZNODES + 2, "bounded");
            let v: serde_json::Value = serde_json::from_str(&req).unwrap();
            let op: ClientOp = serde_json::from_value(v["op"].clone()).unwrap();
            let result = match op {
                ClientOp::GetChildren { path, .. } => {
                    let prefix = if path == "/" { "/".to_string() } else { format!("{path}/") };
                    let children = tree
                        .iter()
                        .filter_map(|(p, _)| p.strip_prefix(&prefix).filter(|r| !r.is_empty() && !r.contains('/')))
                        .map(String::from)
                        .collect();
                    ClientResult::Children { children, stat: Stat::default() }
                }
                ClientOp::GetData { path, .. } => {
                    let d = tree.iter().find(|(p, _)| *p == path).map_or("", |(_, d)| *d);
                    ClientResult::Data { data: d.into(), stat: Stat::default() }
                }
                other => panic!("unexpected {other:?}"),
            };
            let r = Reply { session: SessionId(1), xid: v["xid"].as_i64().unwrap(), zxid: Zxid::ZERO, result };
            queue.extend(read.on_reply(&r));
        }
    }

    #[test]
    fn the_tree_reads_depth_first_with_data() {
        let tree = [("/", ""), ("/a", "x"), ("/a/b", "y"), ("/a-z", "w"), ("/zookeeper", "")];
        let mut r = TreeRead::default();
        serve(&tree, &mut r);
        assert!(r.finished());
        let rows: Vec<(String, usize, String)> = r.rows().into_iter().map(|n| (n.path, n.depth, n.data)).collect();
        let want = [("/", 0, ""), ("/a", 1, "x"), ("/a/b", 2, "y"), ("/a-z", 1, "w"), ("/zookeeper", 1, "")];
        assert_eq!(rows, want.map(|(p, d, x)| (p.to_string(), d, x.to_string())));
    }

    #[test]
    fn a_big_tree_is_read_only_up_to_the_bounds() {
        let names: Vec<String> = (0..MAX_ZNODES * 2).map(|i| format!("/n{i:03}")).collect();
        let deep = "/d/d/d/d/d/d";
        let mut tree: Vec<(&str, &str)> = vec![("/", "")];
        tree.extend(names.iter().map(|n| (n.as_str(), "")));
        let parts: Vec<String> = (1..=6).map(|k| deep[..2 * k].to_string()).collect();
        tree.extend(parts.iter().map(|p| (p.as_str(), "")));
        let mut r = TreeRead::default();
        serve(&tree, &mut r);
        assert_eq!(r.rows().len(), MAX_ZNODES);
        assert!(r.left_out > 0);
        let mut small = TreeRead::default();
        let only_deep: Vec<(&str, &str)> =
            std::iter::once(("/", "")).chain(parts.iter().map(|p| (p.as_str(), ""))).collect();
        serve(&only_deep, &mut small);
        assert_eq!(small.rows().iter().map(|n| n.depth).max(), Some(MAX_DEPTH));
    }
}
