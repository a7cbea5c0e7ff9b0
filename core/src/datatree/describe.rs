//! Canonical text of a tree, for golden tests and the UI.
//!
//! One line per node, parents before children and siblings by name (a depth-first walk, so
//! `/a/b` comes right after `/a` even though `/a-x` sorts between them as a string):
//!
//! ```text
//! / = "" v0 cv0 children=2
//! /a = "x" v1 cv0 children=0
//! /zookeeper = "" v0 cv-2 children=2
//! /zookeeper/config = "" v0 cv0 children=0
//! /zookeeper/quota = "" v0 cv0 children=0
//! ```
//!
//! Versions are the ones clients see (`cv` is the visible cversion). Nodes other than
//! persistent ones end with their kind: ` eph=0x…` (the owner session), ` container` or
//! ` ttl=…ms`. Sequential nodes are not marked: ZooKeeper does not record that a node was
//! created sequential, only its name shows it. Null data shows as `null`; other data is quoted with our
//! own escaping (printable ASCII as is, `"` and `\` escaped, other bytes as `\xNN`), which,
//! unlike `{:?}`, cannot change between Rust versions and shows non-UTF-8 data exactly.

use super::stat::Kind;
use super::tree::DataTree;
use std::fmt::Write;

impl DataTree {
    /// The canonical multi-line text of the whole tree (see the module docs).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut stack = vec!["/".to_string()];
        while let Some(path) = stack.pop() {
            let Some(node) = self.nodes.get(&path) else {
                continue;
            };
            let stat = node.client_stat();
            let kind = match Kind::of(node.stat.ephemeral_owner) {
                Kind::Persistent => String::new(),
                Kind::Ephemeral(s) => format!(" eph=0x{s:x}"),
                Kind::Container => " container".to_string(),
                Kind::Ttl(ttl) => format!(" ttl={ttl}ms"),
            };
            let _ = writeln!(
                out,
                "{path} = {} v{} cv{} children={}{kind}",
                node.data.as_option().map_or_else(|| "null".to_string(), quote),
                stat.version,
                stat.cversion,
                stat.num_children
            );
            let prefix = if path == "/" { String::new() } else { path };
            stack.extend(node.children.iter().rev().map(|c| format!("{prefix}/{c}")));
        }
        out
    }
}

/// Quotes bytes stably: printable ASCII as is, `"` and `\` backslashed, the rest `\xNN`.
pub fn quote(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() + 2);
    s.push('"');
    for &b in data {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_is_byte_exact() {
        assert_eq!(quote(b""), "\"\"");
        assert_eq!(quote(b"x y"), "\"x y\"");
        assert_eq!(quote(b"a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(quote(b"\n\x00\xff"), "\"\\x0a\\x00\\xff\"");
        assert_eq!(quote("é".as_bytes()), "\"\\xc3\\xa9\"");
    }
}
