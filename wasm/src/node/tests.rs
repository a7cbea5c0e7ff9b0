//! Three `BrowserNode`s on an in-memory bus with in-memory storage: the tab cluster without
//! a browser. Time is virtual and advances to the next wake-up of any node.

use super::*;
use crate::bus::{BusMsg, End};
use crate::links::LinkTimings;
use zabra_core::config::Membership;
use zabra_core::storage::{Backend, MemoryBackend};
use zabra_core::Sid;

struct Tab {
    node: BrowserNode,
    disk: MemoryBackend,
}

fn tab(sid: u64, inc: u64, disk: MemoryBackend, at: f64) -> Tab {
    let mut n = sid * 1000 + inc * 100;
    let nonce = Box::new(move || {
        n += 1;
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&n.to_le_bytes());
        b
    });
    let members = Membership::numbered(3, 0);
    let links = Links::new(End { sid, inc }, "demo", b"k".to_vec(), &members, LinkTimings::default(), nonce);
    let mut cfg = Config::new(Sid(sid), members);
    cfg.seed = inc;
    let mut disk = disk;
    let state = disk.reopen();
    let clock = Clock { mono_ms: at, wall_ms: 1_000 };
    Tab { node: BrowserNode::new(cfg, state, links, clock, Box::new(|| vec![7; 16])).unwrap(), disk }
}

struct Cluster {
    tabs: Vec<Option<Tab>>,
    now: f64,
}

impl Cluster {
    fn clock(&self) -> Clock {
        Clock { mono_ms: self.now, wall_ms: 1_000 + self.now as u64 }
    }

    /// Bus messages to every other live tab; persist ops made durable at once.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut posted: Vec<(usize, BusMsg)> = Vec::new();
            let clock = self.clock();
            for (i, t) in self.tabs.iter_mut().enumerate() {
                let Some(t) = t else { continue };
                let ops = t.node.take_persist();
                if let Some((last, _)) = ops.last() {
                    let last = *last;
                    t.disk.apply(&ops.into_iter().map(|(_, op)| op).collect::<Vec<_>>());
                    t.disk.sync();
                    t.node.on_persisted(clock, last);
                }
                posted.extend(t.node.take_outgoing().into_iter().map(|m| (i, m)));
            }
            if posted.is_empty() {
                return;
            }
            for (from, m) in posted {
                for (i, t) in self.tabs.iter_mut().enumerate() {
                    if let Some(t) = t.as_mut().filter(|_| i != from) {
                        t.node.on_bus(clock, m.clone());
                    }
                }
            }
        }
        panic!("never quiet");
    }

    /// Runs virtual time forward by `ms`, waking each node when it asks.
    fn run_for(&mut self, ms: f64) {
        let end = self.now + ms;
        for _ in 0..100_000 {
            let next = self.tabs.iter().flatten().map(|t| t.node.next_wake()).fold(end, f64::min);
            self.now = next.max(self.now);
            let clock = self.clock();
            for t in self.tabs.iter_mut().flatten() {
                if t.node.next_wake() <= self.now {
                    t.node.on_timer(clock);
                }
            }
            self.pump();
            if self.now >= end {
                return;
            }
        }
        panic!("time did not advance");
    }

    fn leaders(&self) -> Vec<(u64, u32)> {
        let up = self.tabs.iter().flatten().map(|t| t.node.status());
        up.filter(|s| s.role == "LEADING" && s.serving).map(|s| (s.sid, s.current_epoch)).collect()
    }
}

fn three() -> Cluster {
    let tabs = (1..=3).map(|s| Some(tab(s, 1, MemoryBackend::default(), 0.0))).collect();
    Cluster { tabs, now: 0.0 }
}

#[test]
fn three_tabs_elect_one_leader_and_commit_a_write() {
    let mut c = three();
    c.run_for(3_000.0);
    let leaders = c.leaders();
    assert_eq!(leaders.len(), 1, "{leaders:?}");
    let clock = c.clock();
    c.tabs[0].as_mut().unwrap().node.write(clock, "/a".into(), "1".into());
    c.run_for(1_000.0);
    let results = c.tabs[0].as_mut().unwrap().node.take_results();
    assert!(matches!(results.as_slice(), [r] if r.ok && r.path == "/a"), "{results:?}");
    for t in c.tabs.iter().flatten() {
        let s = t.node.status();
        assert!(s.tree.iter().any(|r| r.path == "/a" && r.data == "1"), "peer {} lacks /a", s.sid);
    }
}

#[test]
fn the_leader_tab_goes_away_and_the_others_elect_a_new_one_keeping_committed_writes() {
    let mut c = three();
    c.run_for(3_000.0);
    let [(old, epoch)] = c.leaders()[..] else { panic!("{:?}", c.leaders()) };
    let clock = c.clock();
    let writer = if old == 1 { 1 } else { 0 };
    c.tabs[writer].as_mut().unwrap().node.write(clock, "/kept".into(), "x".into());
    c.run_for(1_000.0);
    // The leader's tab closes without a word (no Bye): only silence tells.
    c.tabs[old as usize - 1] = None;
    c.run_for(6_000.0);
    let [(new, new_epoch)] = c.leaders()[..] else { panic!("{:?}", c.leaders()) };
    assert_ne!(new, old);
    assert!(new_epoch > epoch, "epoch {new_epoch} after {epoch}");
    for t in c.tabs.iter().flatten() {
        assert!(t.node.status().tree.iter().any(|r| r.path == "/kept"), "a committed write survives");
    }
}

#[test]
fn a_reloaded_tab_recovers_its_storage_and_catches_up() {
    let mut c = three();
    c.run_for(3_000.0);
    let [(leader, _)] = c.leaders()[..] else { panic!("{:?}", c.leaders()) };
    let follower = (1..=3).find(|s| *s != leader).unwrap();
    let clock = c.clock();
    c.tabs[leader as usize - 1].as_mut().unwrap().node.write(clock, "/before".into(), "b".into());
    c.run_for(1_000.0);
    // Reload the follower: its durable state survives; what it missed meanwhile comes by sync.
    let old = c.tabs[follower as usize - 1].take().unwrap();
    let disk = old.disk.clone();
    assert!(disk.clone().reopen().log.iter().any(|e| e.txn.op.path() == "/before"));
    let clock = c.clock();
    c.tabs[leader as usize - 1].as_mut().unwrap().node.write(clock, "/while-away".into(), "w".into());
    c.run_for(500.0);
    let now = c.now;
    c.tabs[follower as usize - 1] = Some(tab(follower, 2, disk, now));
    c.run_for(6_000.0);
    let s = c.tabs[follower as usize - 1].as_ref().unwrap().node.status();
    assert_eq!(s.role, "FOLLOWING", "{s:?}");
    for path in ["/before", "/while-away"] {
        assert!(s.tree.iter().any(|r| r.path == path), "{path} missing after the reload: {:?}", s.tree);
    }
}
