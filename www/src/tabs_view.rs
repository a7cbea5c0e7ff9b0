//! The Tabs mode's view of its own peer, built from the peer's typed trace events as they
//! arrive from its worker (incrementally: each event updates the view once) and from the
//! status the worker sends. Yew-free, so it is unit-tested natively.

use crate::view::{ElectionRow, HistoryRow, NodeRow, SyncRow};
use std::collections::VecDeque;
use zabra_core::trace::TraceEvent;
use zabra_wasm::protocol::TabStatus;

/// Narration lines kept (the newest).
pub const NARRATION_LINES: usize = 60;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct TabView {
    pub election: ElectionRow,
    pub syncs: Vec<SyncRow>,
    pub narration: VecDeque<String>,
    pub events: u64,
    /// Epochs this peer saw established, in order (a failover shows as a new one).
    pub epochs: Vec<u32>,
}

impl TabView {
    /// One trace event of this tab's peer; `at_ms` is the page's clock when it arrived.
    pub fn on_event(&mut self, e: &TraceEvent, at_ms: f64) {
        self.events += 1;
        let r = &mut self.election;
        match e {
            TraceEvent::NewRound { sid, round, vote } => {
                r.sid = sid.0;
                r.round = *round;
                r.vote = Some((vote.leader.0, vote.zxid.to_string(), vote.peer_epoch));
                r.received.clear();
                r.decided = None;
            }
            TraceEvent::VoteChanged { round, vote, .. } => {
                r.round = *round;
                r.vote = Some((vote.leader.0, vote.zxid.to_string(), vote.peer_epoch));
            }
            TraceEvent::VoteReceived { from, vote, .. } => {
                r.received.insert(from.0, vote.leader.0);
            }
            TraceEvent::ElectionDecided { leader, .. } => r.decided = Some(leader.0),
            TraceEvent::SyncModeChosen { leader, learner, mode, learner_zxid, to } => {
                let row = SyncRow {
                    leader: leader.0,
                    learner: learner.0,
                    mode: format!("{mode:?}").to_uppercase(),
                    learner_zxid: learner_zxid.to_string(),
                    to: to.to_string(),
                };
                self.syncs.insert(0, row);
                self.syncs.truncate(16);
            }
            TraceEvent::EpochEstablished { epoch, .. } => self.epochs.push(*epoch),
            _ => {}
        }
        if let Some(line) = zabra_core::sim::narrate(e) {
            self.narration.push_back(format!("{:>9.1}s  {line}", at_ms / 1000.0));
            while self.narration.len() > NARRATION_LINES {
                self.narration.pop_front();
            }
        }
    }
}

/// The peer's log as the classroom's history table shows it.
pub fn history(s: &TabStatus) -> Vec<HistoryRow> {
    s.log
        .iter()
        .map(|l| HistoryRow { zxid: l.zxid.clone(), op: l.op.clone(), committed: l.committed, acks: None })
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
    use zabra_core::message::Vote;
    use zabra_core::{Sid, Zxid};

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

    #[test]
    fn trace_events_update_the_election_row_and_the_narration() {
        let mut v = TabView::default();
        let vote = Vote { leader: Sid(3), zxid: Zxid::ZERO, peer_epoch: 0 };
        let looking = zabra_core::message::ServerState::Looking;
        v.on_event(&TraceEvent::NewRound { sid: Sid(1), round: 1, vote }, 10.0);
        v.on_event(&TraceEvent::VoteReceived { sid: Sid(1), from: Sid(2), state: looking, round: 1, vote }, 20.0);
        v.on_event(&TraceEvent::ElectionDecided { sid: Sid(1), round: 1, leader: Sid(3), state: looking }, 30.0);
        v.on_event(&TraceEvent::EpochEstablished { sid: Sid(3), epoch: 1, committed: Zxid::ZERO }, 40.0);
        assert_eq!(v.election.sid, 1);
        assert_eq!(v.election.received.get(&2), Some(&3));
        assert_eq!(v.election.decided, Some(3));
        assert_eq!(v.epochs, vec![1]);
        assert!(v.narration.iter().any(|l| l.contains("leader is 3")), "{:?}", v.narration);
        assert_eq!(v.events, 4);
    }
}
