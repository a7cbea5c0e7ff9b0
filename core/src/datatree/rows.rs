//! The tree as a table: every znode depth first, children in name order, each with its Stat.
//! The classroom, a tab peer's page and its worker all draw this one listing.

use super::DataTree;
use serde::{Deserialize, Serialize};

/// One znode as a UI shows it: data as (lossy) text, zxids as `describe` prints them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ZnodeRow {
    pub path: String,
    pub depth: usize,
    pub data: String,
    pub czxid: String,
    pub mzxid: String,
    pub version: i32,
    pub cversion: i32,
    pub num_children: i32,
    pub ephemeral_owner: i64,
}

impl DataTree {
    /// At most `limit` znodes, depth first from `/`, children in name order.
    pub fn rows(&self, limit: usize) -> Vec<ZnodeRow> {
        let mut out = Vec::new();
        let mut stack = vec![("/".to_string(), 0usize)];
        while let Some((path, depth)) = stack.pop() {
            if out.len() >= limit {
                break;
            }
            let (Ok((data, stat)), Ok((mut children, _))) = (self.get_data(&path), self.get_children(&path)) else {
                continue;
            };
            out.push(ZnodeRow {
                path: path.clone(),
                depth,
                data: String::from_utf8_lossy(data.bytes()).into_owned(),
                czxid: stat.czxid.to_string(),
                mzxid: stat.mzxid.to_string(),
                version: stat.version,
                cversion: stat.cversion,
                num_children: stat.num_children,
                ephemeral_owner: stat.ephemeral_owner,
            });
            let prefix = if path == "/" { String::new() } else { path };
            children.sort();
            stack.extend(children.into_iter().rev().map(|c| (format!("{prefix}/{c}"), depth + 1)));
        }
        out
    }
}
