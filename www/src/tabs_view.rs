//! What Tabs mode draws beside the shared view model (`viewmodel`, fed this tab's peer's
//! typed trace events): the peer's log and tree from the status its worker sends, and the
//! URL's query. Yew-free, so it is unit-tested natively.

use crate::view::{HistoryRow, NodeRow};
use crate::viewmodel::ViewModel;
use zabra_wasm::protocol::TabStatus;

/// Narration lines shown.
pub const NARRATION_LINES: usize = 60;

/// The peer's log as the classroom's history table shows it, with the ACK counts this peer
/// counted for the zxids it proposed as leader (from the view model).
pub fn history(s: &TabStatus, vm: &ViewModel) -> Vec<HistoryRow> {
    let acks: std::collections::BTreeMap<String, (usize, usize)> =
        vm.proposals.iter().filter(|(_, p)| p.quorum > 0).map(|(z, p)| (z.to_string(), (p.acks, p.quorum))).collect();
    s.log
        .iter()
        .map(|l| HistoryRow {
            zxid: l.zxid.clone(),
            op: l.op.clone(),
            committed: l.committed,
            acks: acks.get(&l.zxid).copied(),
        })
        .collect()
}

/// The peer's znode tree as the classroom's tree table shows it.
pub fn tree(s: &TabStatus) -> Vec<NodeRow> {
    s.tree.clone()
}

/// What the URL asks of Tabs mode: `?mode=tabs[&cluster=NAME][&sid=N]`, or, to join a
/// native cluster as its browser member `N`, `?mode=tabs&join=HOST:PORT&sid=N#token=T` (a
/// node's HTTP address, whose `/cluster` lists the peer ports, and `N`'s join token).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TabsQuery {
    pub cluster: String,
    pub sid: Option<u64>,
    pub memory: bool,
    pub join: Option<String>,
    pub token: Option<String>,
}

impl TabsQuery {
    /// `None` unless the query selects Tabs mode.
    pub fn parse(search: &str) -> Option<TabsQuery> {
        let mut q = TabsQuery {
            cluster: zabra_wasm::DEMO_CLUSTER.to_string(),
            sid: None,
            memory: false,
            join: None,
            token: None,
        };
        let mut tabs = false;
        for pair in search.trim_start_matches('?').split('&') {
            match pair.split_once('=').unwrap_or((pair, "")) {
                ("mode", "tabs") => tabs = true,
                ("cluster", c) if valid_cluster(c) => q.cluster = c.to_string(),
                ("sid", s) => q.sid = s.parse().ok(),
                ("storage", "memory") => q.memory = true,
                ("join", a) if valid_addr(a) => q.join = Some(a.to_string()),
                ("token", t) if !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    q.token = Some(t.to_string())
                }
                _ => {}
            }
        }
        tabs.then_some(q)
    }

    /// The query of this tab once it holds `sid` (a reload claims the same sid again).
    pub fn with_sid(&self, sid: u64) -> String {
        let mut q = format!("?mode=tabs&cluster={}&sid={sid}", self.cluster);
        if self.memory {
            q.push_str("&storage=memory");
        }
        if let (Some(j), Some(t)) = (&self.join, &self.token) {
            // The token in the fragment: never sent to the server of the page.
            q = format!("?mode=tabs&join={j}&sid={sid}{}#token={t}", if self.memory { "&storage=memory" } else { "" });
        }
        q
    }

    /// The query of another tab of the same cluster (it picks the first free sid).
    pub fn another(&self) -> String {
        let mut q = format!("?mode=tabs&cluster={}", self.cluster);
        if self.memory {
            q.push_str("&storage=memory");
        }
        q
    }
}

/// `host:port` of a node's HTTP port: letters, digits, `.`, `-`, `:`, `[`, `]` only.
fn valid_addr(a: &str) -> bool {
    !a.is_empty()
        && a.len() <= 100
        && a.contains(':')
        && a.chars().all(|ch| ch.is_ascii_alphanumeric() || ".-:[]".contains(ch))
}

fn valid_cluster(c: &str) -> bool {
    !c.is_empty() && c.len() <= 64 && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_selects_tabs_mode_and_keeps_a_claimed_sid() {
        assert_eq!(TabsQuery::parse("?seed=7"), None);
        let q = TabsQuery::parse("?mode=tabs&sid=2").unwrap();
        assert_eq!((q.cluster.as_str(), q.sid), ("demo", Some(2)));
        assert_eq!(q.with_sid(2), "?mode=tabs&cluster=demo&sid=2");
        assert_eq!(q.another(), "?mode=tabs&cluster=demo");
        let j = TabsQuery::parse("?mode=tabs&join=127.0.0.1:8081&sid=4&token=ab12").unwrap();
        assert_eq!((j.join.as_deref(), j.sid, j.token.as_deref()), (Some("127.0.0.1:8081"), Some(4), Some("ab12")));
        assert_eq!(j.with_sid(4), "?mode=tabs&join=127.0.0.1:8081&sid=4#token=ab12");
        assert_eq!(TabsQuery::parse("?mode=tabs&join=127.0.0.1:8081&sid=4&token=ab12"), Some(j));
        let bad = TabsQuery::parse("?mode=tabs&join=evil/x&token=<b>").unwrap();
        assert_eq!((bad.join, bad.token), (None, None));
        let odd = TabsQuery::parse("?mode=tabs&cluster=<script>").unwrap();
        assert_eq!(odd.cluster, "demo", "a cluster name is letters, digits, - and _ only");
    }
}
