//! The simulated network: one FIFO connection per pair of peers, with connection epochs.
//!
//! A connection that breaks drops whatever was in flight, and both ends learn it with
//! `Disconnected` (a lost ZAB message means a broken connection). A one-way cut stalls a
//! direction (as a TCP stream would) instead of losing messages silently mid-stream.

use crate::ids::Sid;
use crate::message::Envelope;
use crate::time::Instant;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

#[derive(Debug, Default)]
pub struct Direction {
    pub queue: VecDeque<(Instant, Envelope)>,
    pub last_at: Instant,
    pub stalled: bool,
}

#[derive(Debug, Default)]
pub struct Link {
    /// Connection epoch: bumps on every (re)connect; stale deliveries are ignored.
    pub conn: u64,
    pub up: bool,
    /// `dirs[0]` carries lower sid → higher sid, `dirs[1]` the reverse.
    pub dirs: [Direction; 2],
    /// A reconnect is already scheduled.
    pub reconnecting: bool,
    /// One end crashed; the other has not yet seen the close.
    pub closing: Option<(Sid, Sid)>,
}

#[derive(Debug, Default)]
pub struct Network {
    pub links: BTreeMap<(Sid, Sid), Link>,
    /// Pairs kept apart by a partition: they cannot connect until healed.
    pub cut: BTreeSet<(Sid, Sid)>,
}

pub fn key(a: Sid, b: Sid) -> (Sid, Sid) {
    if a < b {
        (a, b)
    } else {
        (b, a)
    }
}

pub fn dir(from: Sid, to: Sid) -> usize {
    usize::from(from > to)
}

impl Network {
    pub fn link(&mut self, a: Sid, b: Sid) -> &mut Link {
        self.links.entry(key(a, b)).or_default()
    }

    pub fn is_cut(&self, a: Sid, b: Sid) -> bool {
        self.cut.contains(&key(a, b))
    }

    pub fn direction(&mut self, from: Sid, to: Sid) -> &mut Direction {
        &mut self.link(from, to).dirs[dir(from, to)]
    }

    /// Close the connection: drop what is in flight. Returns true if it was up.
    pub fn close(&mut self, a: Sid, b: Sid) -> bool {
        let l = self.link(a, b);
        let was_up = l.up;
        l.up = false;
        l.conn += 1;
        for d in &mut l.dirs {
            d.queue.clear();
        }
        was_up
    }

    pub fn in_flight(&self) -> usize {
        self.links.values().map(|l| l.dirs.iter().map(|d| d.queue.len()).sum::<usize>()).sum()
    }
}
