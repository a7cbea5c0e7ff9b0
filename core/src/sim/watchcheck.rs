//! Watches against a model: each session must receive exactly the events ZooKeeper's rules
//! (wire reference §13) give for its registrations and the committed changes, in order, once,
//! and each before any reply that shows the change (§14.2).
//!
//! The model here is deliberately simple and independent of `crate::watch`: registrations as
//! a list, fired per committed change in commit order. A connection's watches end with it, so
//! each connection of a session is checked on its own.

use super::check::CommitRecord;
use crate::datatree::Change;
use crate::peer::{ClientOp, ClientResult};
use crate::watch::{AddWatchMode, EventType, WatchedEvent};
use crate::zxid::Zxid;
use std::collections::{BTreeMap, VecDeque};

/// What a session saw, in order.
#[derive(Clone, Debug)]
pub enum StreamItem {
    Connected,
    Disconnected,
    Reply { zxid: Zxid, op: ClientOp, result: ClientResult },
    Event { zxid: Zxid, event: WatchedEvent },
}

pub type Stream = Vec<StreamItem>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// getData, or exists on an existing node.
    Data,
    /// exists on a missing node.
    Exist,
    Child,
    Persistent,
    Recursive,
}

#[derive(Clone, Debug)]
struct Reg {
    kind: Kind,
    path: String,
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &p[..i],
    }
}

fn under(p: &str, root: &str) -> bool {
    p == root || root == "/" || (p.starts_with(root) && p.as_bytes().get(root.len()) == Some(&b'/'))
}

/// The events one change gives this connection, consuming one-shot registrations.
fn fire(regs: &mut Vec<Reg>, change: &Change) -> Vec<WatchedEvent> {
    let ev = |kind, path: &str| WatchedEvent { kind, path: path.to_string() };
    let data_hit = |r: &Reg, p: &str| match r.kind {
        Kind::Data | Kind::Exist | Kind::Persistent => r.path == p,
        Kind::Recursive => under(p, &r.path),
        Kind::Child => false,
    };
    let child_hit = |r: &Reg, p: &str| matches!(r.kind, Kind::Child | Kind::Persistent) && r.path == p;
    let mut out = Vec::new();
    let (first, child_same, parent_change) = match change {
        Change::Created(p) => (Some((EventType::NodeCreated, p.as_str())), false, Some(parent(p))),
        Change::Deleted(p) => (Some((EventType::NodeDeleted, p.as_str())), true, Some(parent(p))),
        Change::DataChanged(p) => (Some((EventType::NodeDataChanged, p.as_str())), false, None),
    };
    if let Some((kind, p)) = first {
        let data = regs.iter().any(|r| data_hit(r, p));
        let child = child_same && regs.iter().any(|r| child_hit(r, p));
        if data || child {
            out.push(ev(kind, p));
        }
        regs.retain(|r| !(matches!(r.kind, Kind::Data | Kind::Exist) && r.path == p));
        if child_same {
            regs.retain(|r| !(r.kind == Kind::Child && r.path == p));
        }
    }
    if let Some(pp) = parent_change {
        if regs.iter().any(|r| child_hit(r, pp)) {
            out.push(ev(EventType::NodeChildrenChanged, pp));
        }
        regs.retain(|r| !(r.kind == Kind::Child && r.path == pp));
    }
    out
}

/// The registration a reply makes, if any.
fn registration(op: &ClientOp, result: &ClientResult) -> Option<Reg> {
    let reg = |kind, path: &String| Some(Reg { kind, path: path.clone() });
    match (op, result) {
        (ClientOp::GetData { path, watch: true }, ClientResult::Data { .. }) => reg(Kind::Data, path),
        (ClientOp::Exists { path, watch: true }, ClientResult::Exists(Some(_))) => reg(Kind::Data, path),
        (ClientOp::Exists { path, watch: true }, ClientResult::Exists(None)) => reg(Kind::Exist, path),
        (ClientOp::GetChildren { path, watch: true }, ClientResult::Children { .. }) => reg(Kind::Child, path),
        (ClientOp::AddWatch { path, mode: AddWatchMode::Persistent }, ClientResult::Ok) => reg(Kind::Persistent, path),
        (ClientOp::AddWatch { path, mode: AddWatchMode::PersistentRecursive }, ClientResult::Ok) => {
            reg(Kind::Recursive, path)
        }
        _ => None,
    }
}

struct Conn<'a> {
    changes: &'a [(Zxid, Change)],
    next: usize,
    regs: Vec<Reg>,
    /// Events setWatches sent at once (zxid 0), awaiting its reply.
    now: Vec<WatchedEvent>,
    /// Events the model says are due and the session has not seen yet.
    due: VecDeque<(Zxid, WatchedEvent)>,
}

impl Conn<'_> {
    /// setWatches (§7.15): the events it sent at once must precede its reply and name listed
    /// paths with a fitting type; every listed watch not fired at once is registered.
    fn set_watches(&mut self, op: &ClientOp) -> Result<(), String> {
        let now = std::mem::take(&mut self.now);
        let ClientOp::SetWatches { data, exist, child, persistent, recursive, .. } = op else {
            return match now.first() {
                Some(e) => Err(format!("event {:?} {} with no zxid outside setWatches", e.kind, e.path)),
                None => Ok(()),
            };
        };
        use EventType::*;
        let fits =
            |e: &WatchedEvent, list: &[String], kinds: &[EventType]| list.contains(&e.path) && kinds.contains(&e.kind);
        for e in &now {
            let ok = fits(e, data, &[NodeDeleted, NodeDataChanged])
                || fits(e, exist, &[NodeCreated])
                || fits(e, child, &[NodeDeleted, NodeChildrenChanged]);
            if !ok {
                return Err(format!("setWatches sent {:?} {}, which no listed watch allows", e.kind, e.path));
            }
        }
        let fired = |p: &String, kinds: &[EventType]| now.iter().any(|e| e.path == *p && kinds.contains(&e.kind));
        for (list, kind, kinds) in [
            (data, Kind::Data, &[NodeDeleted, NodeDataChanged][..]),
            (exist, Kind::Exist, &[NodeCreated][..]),
            (child, Kind::Child, &[NodeDeleted, NodeChildrenChanged][..]),
            (persistent, Kind::Persistent, &[][..]),
            (recursive, Kind::Recursive, &[][..]),
        ] {
            for p in list.iter().filter(|p| !fired(p, kinds)) {
                self.regs.push(Reg { kind, path: p.clone() });
            }
        }
        Ok(())
    }

    fn simulate_to(&mut self, z: Zxid) {
        while let Some((cz, c)) = self.changes.get(self.next).filter(|(cz, _)| *cz <= z) {
            for e in fire(&mut self.regs, c) {
                self.due.push_back((*cz, e));
            }
            self.next += 1;
        }
    }
}

pub fn check(streams: &BTreeMap<crate::ids::SessionId, Stream>, commits: &[CommitRecord], v: &mut Vec<String>) {
    let changes: Vec<(Zxid, Change)> =
        commits.iter().flat_map(|c| c.changes.iter().map(move |ch| (c.zxid, ch.clone()))).collect();
    for (s, stream) in streams {
        let mut conn: Option<Conn> = None;
        for item in stream {
            match item {
                StreamItem::Connected => {
                    conn = Some(Conn {
                        changes: &changes,
                        next: changes.len(),
                        regs: Vec::new(),
                        now: Vec::new(),
                        due: VecDeque::new(),
                    })
                }
                StreamItem::Disconnected => conn = None,
                StreamItem::Reply { zxid, op, result } => {
                    let Some(c) = conn.as_mut() else { continue };
                    if c.next == changes.len() && c.regs.is_empty() {
                        c.next = changes.partition_point(|(cz, _)| cz <= zxid);
                    }
                    c.simulate_to(*zxid);
                    if let Some((z, e)) = c.due.front() {
                        v.push(format!(
                            "watch: session {s} missed {:?} {} (change {z}) before a reply at {zxid}",
                            e.kind, e.path
                        ));
                        return;
                    }
                    if let Err(e) = c.set_watches(op) {
                        v.push(format!("watch: session {s}: {e}"));
                        return;
                    }
                    if let Some(r) = registration(op, result) {
                        c.regs.push(r);
                    }
                }
                StreamItem::Event { zxid, event } if *zxid == Zxid::ZERO => {
                    if let Some(c) = conn.as_mut() {
                        c.now.push(event.clone());
                    }
                }
                StreamItem::Event { zxid, event } => {
                    let Some(c) = conn.as_mut() else { continue };
                    c.simulate_to(*zxid);
                    match c.due.pop_front() {
                        Some((z, e)) if z == *zxid && e == *event => {}
                        other => {
                            v.push(format!(
                                "watch: session {s} got {:?} {} at {zxid}, expected {other:?}",
                                event.kind, event.path
                            ));
                            return;
                        }
                    }
                }
            }
        }
    }
}
