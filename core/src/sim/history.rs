//! Client histories, checked when a run ends.
//!
//! Writes are linearizable, using commit (zxid) order as the witness, so the check is linear
//! in history length (after a sort): an acknowledged write applied exactly once with the
//! result its client saw, and a write invoked after another was acknowledged commits after it.
//! Reads are sequentially consistent per session: a session's replies never go back in zxid,
//! each read returns the committed state at the zxid it was served at, and a read is served at
//! or after the zxid of every earlier write of its session (a session sees its own writes). A
//! sync returns only at a zxid covering every write acknowledged before the sync began.

use super::check::CommitRecord;
use super::watchcheck::{Stream, StreamItem};
use crate::datatree::Change;
use crate::ids::SessionId;
use crate::peer::{ClientOp, ClientResult, Reply};
use crate::time::Instant;
use crate::txn::ErrorCode;
use crate::watch::WatchedEvent;
use crate::zxid::Zxid;
use std::collections::BTreeMap;

#[derive(Debug)]
struct Call {
    op: ClientOp,
    invoked: Instant,
    reply: Option<(Instant, Zxid, ClientResult)>,
}

#[derive(Debug, Default)]
pub struct History {
    calls: BTreeMap<(SessionId, i64), Call>,
    commits: Vec<CommitRecord>,
    /// Replies in the order each session received them.
    order: BTreeMap<SessionId, Vec<i64>>,
    /// What each session received (replies and watch events), by connection.
    pub(super) streams: BTreeMap<SessionId, Stream>,
    /// Sessions a client was told had expired.
    pub(super) expired: Vec<SessionId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Set(Zxid),
    Gone,
}

impl History {
    pub fn on_invoke(&mut self, session: SessionId, xid: i64, op: &ClientOp, now: Instant) {
        self.calls.insert((session, xid), Call { op: op.clone(), invoked: now, reply: None });
    }

    pub fn on_reply(&mut self, session: SessionId, r: &Reply, now: Instant) {
        if let Some(c) = self.calls.get_mut(&(session, r.xid)) {
            if c.reply.is_none() {
                c.reply = Some((now, r.zxid, r.result.clone()));
                self.order.entry(session).or_default().push(r.xid);
                let lost = matches!(r.result, ClientResult::Error(ErrorCode::ConnectionLoss));
                if !lost {
                    let op = c.op.clone();
                    self.streams.entry(session).or_default().push(StreamItem::Reply {
                        zxid: r.zxid,
                        op,
                        result: r.result.clone(),
                    });
                }
            }
        }
    }

    pub fn on_connect(&mut self, session: SessionId, _now: Instant) {
        self.streams.entry(session).or_default().push(StreamItem::Connected);
    }

    pub fn on_disconnect(&mut self, session: SessionId) {
        self.streams.entry(session).or_default().push(StreamItem::Disconnected);
    }

    pub fn on_expired(&mut self, session: SessionId) {
        self.expired.push(session);
    }

    pub fn on_watch(&mut self, session: SessionId, zxid: Zxid, event: &WatchedEvent, _now: Instant) {
        self.streams.entry(session).or_default().push(StreamItem::Event { zxid, event: event.clone() });
    }

    pub fn write_acked(&self, session: SessionId, xid: i64) -> bool {
        matches!(self.calls.get(&(session, xid)).and_then(|c| c.reply.as_ref()), Some((_, _, ClientResult::Write(_))))
    }

    pub fn on_commit(&mut self, c: CommitRecord) {
        self.commits.push(c);
    }

    /// Acknowledged writes (a definite result, not ConnectionLoss).
    pub fn acked_writes(&self) -> u64 {
        self.calls
            .values()
            .filter(|c| matches!(c.op, ClientOp::Write(_)) && matches!(c.reply, Some((_, _, ClientResult::Write(_)))))
            .count() as u64
    }

    /// Check everything; returns (violations, reads checked, syncs checked).
    pub fn check(&self) -> (Vec<String>, u64, u64) {
        let mut v = Vec::new();
        let by_origin = self.check_writes(&mut v);
        self.check_real_time(&by_origin, &mut v);
        self.check_sessions(&mut v);
        self.check_session_order(&by_origin, &mut v);
        let reads = self.check_reads(&mut v);
        let syncs = self.check_syncs(&by_origin, &mut v);
        super::watchcheck::check(&self.streams, &self.commits, &mut v);
        self.check_closes(&mut v);
        v.truncate(10);
        (v, reads, syncs)
    }

    /// A session's ephemerals go exactly once: only one closeSession of a session deletes
    /// anything (a second close, e.g. the client's racing the leader's expiry, finds the
    /// session gone and changes nothing, as in ZooKeeper).
    fn check_closes(&self, v: &mut Vec<String>) {
        let mut closed: BTreeMap<SessionId, Zxid> = BTreeMap::new();
        for c in &self.commits {
            if c.result == "session closed" && !c.changes.is_empty() {
                if let Some(z) = closed.insert(c.session, c.zxid) {
                    v.push(format!("session {}: ephemerals deleted twice, at {z} and {}", c.session, c.zxid));
                }
            }
        }
    }

    /// closeSession transactions the leader made itself (expiry), committed.
    pub fn expirations(&self) -> u64 {
        self.commits.iter().filter(|c| c.result == "session closed" && c.origin.is_none()).count() as u64
    }

    pub fn watch_events(&self) -> u64 {
        self.streams.values().flatten().filter(|i| matches!(i, StreamItem::Event { .. })).count() as u64
    }

    /// Sessions closed in the committed history.
    pub fn closed_sessions(&self) -> Vec<SessionId> {
        self.commits.iter().filter(|c| c.result == "session closed").map(|c| c.session).collect()
    }

    fn check_writes(&self, v: &mut Vec<String>) -> BTreeMap<(SessionId, i64), Zxid> {
        let mut by_origin = BTreeMap::new();
        for c in &self.commits {
            let Some(o) = c.origin.filter(|o| o.xid != crate::peer::CONNECT_XID) else { continue };
            if let Some(z) = by_origin.insert((o.session, o.xid), c.zxid) {
                v.push(format!("write {}#{} applied twice: at {z} and {}", o.session, o.xid, c.zxid));
            }
            let Some(call) = self.calls.get(&(o.session, o.xid)) else {
                v.push(format!("Integrity: {} committed a write nobody asked for", c.zxid));
                continue;
            };
            if let Some((_, rz, ClientResult::Write(r))) = &call.reply {
                if crate::describe::op_result(r) != c.result || *rz < c.zxid {
                    v.push(format!(
                        "write {}#{}: reply {r:?} at {rz}, but commit {} says {}",
                        o.session, o.xid, c.zxid, c.result
                    ));
                }
            }
        }
        for ((s, x), call) in &self.calls {
            if let (ClientOp::Write(_), Some((_, _, ClientResult::Write(_)))) = (&call.op, &call.reply) {
                if !by_origin.contains_key(&(*s, *x)) {
                    v.push(format!("write {s}#{x} was acknowledged but never committed"));
                }
            }
        }
        by_origin
    }

    /// A write invoked after another was acknowledged must commit after it.
    fn check_real_time(&self, by_origin: &BTreeMap<(SessionId, i64), Zxid>, v: &mut Vec<String>) {
        let mut acked: Vec<(Instant, Zxid)> = self
            .calls
            .iter()
            .filter_map(|(k, c)| match (&c.op, &c.reply) {
                (ClientOp::Write(_), Some((t, _, ClientResult::Write(_)))) => by_origin.get(k).map(|z| (*t, *z)),
                _ => None,
            })
            .collect();
        acked.sort();
        let mut prefix_max = Vec::with_capacity(acked.len());
        let mut m = Zxid::ZERO;
        for (_, z) in &acked {
            m = m.max(*z);
            prefix_max.push(m);
        }
        for (k, c) in &self.calls {
            let Some(z) = by_origin.get(k) else { continue };
            let n = acked.partition_point(|(t, _)| *t < c.invoked);
            if n > 0 && prefix_max[n - 1] >= *z {
                v.push(format!(
                    "linearizability: write {}#{} committed at {z}, before a write acknowledged earlier ({})",
                    k.0,
                    k.1,
                    prefix_max[n - 1]
                ));
            }
        }
    }

    fn check_sessions(&self, v: &mut Vec<String>) {
        for (s, xids) in &self.order {
            let mut last = Zxid::ZERO;
            for x in xids {
                let Some((_, z, r)) = &self.calls[&(*s, *x)].reply else { continue };
                if matches!(r, ClientResult::Error(ErrorCode::ConnectionLoss)) {
                    continue;
                }
                if *z < last {
                    v.push(format!("session {s}: reply #{x} at {z} after a reply at {last}"));
                }
                last = last.max(*z);
            }
        }
    }

    /// A read is served at or after the zxid of every earlier write of its session. Exempt
    /// are writes whose connection was lost (ConnectionLoss) before the read was answered:
    /// their outcome is unknown to the client, and they may still commit later.
    fn check_session_order(&self, by_origin: &BTreeMap<(SessionId, i64), Zxid>, v: &mut Vec<String>) {
        for (s, xids) in &self.order {
            let pos: BTreeMap<i64, usize> = xids.iter().enumerate().map(|(i, x)| (*x, i)).collect();
            let writes: Vec<(i64, Zxid)> =
                by_origin.range((*s, i64::MIN)..=(*s, i64::MAX)).map(|(k, z)| (k.1, *z)).collect();
            for (i, x) in xids.iter().enumerate() {
                let call = &self.calls[&(*s, *x)];
                let Some((_, k, r)) = call.reply.as_ref().filter(|_| is_read(&call.op)) else { continue };
                if matches!(
                    r,
                    ClientResult::Error(
                        ErrorCode::ConnectionLoss | ErrorCode::SessionExpired | ErrorCode::SessionMoved
                    )
                ) {
                    continue;
                }
                let lost_before = |w: i64| {
                    let lost = matches!(
                        self.calls[&(*s, w)].reply,
                        Some((_, _, ClientResult::Error(ErrorCode::ConnectionLoss)))
                    );
                    lost && pos.get(&w).is_some_and(|j| *j < i)
                };
                let missed = writes.iter().take_while(|(w, _)| w < x).find(|(w, z)| z > k && !lost_before(*w));
                if let Some((w, z)) = missed {
                    v.push(format!(
                        "session {s}: read #{x} served at {k}, before its earlier write #{w} (committed at {z})"
                    ));
                }
            }
        }
    }

    fn changes(&self) -> BTreeMap<&str, Vec<(Zxid, Seen)>> {
        let mut m: BTreeMap<&str, Vec<(Zxid, Seen)>> = BTreeMap::new();
        for c in &self.commits {
            for ch in &c.changes {
                let (p, seen) = match ch {
                    Change::Created(p) | Change::DataChanged(p) => (p, Seen::Set(c.zxid)),
                    Change::Deleted(p) => (p, Seen::Gone),
                };
                m.entry(p.as_str()).or_default().push((c.zxid, seen));
            }
        }
        m
    }

    fn check_reads(&self, v: &mut Vec<String>) -> u64 {
        let changes = self.changes();
        let mut n = 0;
        for ((s, x), c) in &self.calls {
            let path = match &c.op {
                ClientOp::GetData { path, .. } | ClientOp::Exists { path, .. } => path.as_str(),
                _ => continue,
            };
            let Some((_, k, r)) = &c.reply else { continue };
            let seen = match r {
                ClientResult::Data { stat, .. } | ClientResult::Exists(Some(stat)) => Seen::Set(stat.mzxid),
                ClientResult::Exists(None) | ClientResult::Error(ErrorCode::NoNode) => Seen::Gone,
                _ => continue,
            };
            let at_k = changes
                .get(path)
                .and_then(|cs| cs.iter().rev().find(|(z, _)| z <= k))
                .map_or(Seen::Gone, |(_, ch)| *ch);
            n += 1;
            if seen != at_k {
                v.push(format!(
                    "read {s}#{x} of {path} served at {k} saw {seen:?}, but the committed state there is {at_k:?}"
                ));
            }
        }
        n
    }

    fn check_syncs(&self, by_origin: &BTreeMap<(SessionId, i64), Zxid>, v: &mut Vec<String>) -> u64 {
        let mut acked: Vec<(Instant, Zxid)> = self
            .calls
            .iter()
            .filter_map(|(k, c)| match (&c.op, &c.reply) {
                (ClientOp::Write(_), Some((t, _, ClientResult::Write(_)))) => by_origin.get(k).map(|z| (*t, *z)),
                _ => None,
            })
            .collect();
        acked.sort();
        let mut n = 0;
        for ((s, x), c) in &self.calls {
            let (ClientOp::Sync, Some((_, z, ClientResult::Synced))) = (&c.op, &c.reply) else { continue };
            n += 1;
            let before = acked.iter().take_while(|(t, _)| *t < c.invoked).map(|(_, z)| *z).max();
            if let Some(b) = before.filter(|b| b > z) {
                v.push(format!("sync {s}#{x} returned at {z}, missing a write acknowledged before it began ({b})"));
            }
        }
        n
    }
}

/// Requests answered from the serving peer's tree.
fn is_read(op: &ClientOp) -> bool {
    matches!(
        op,
        ClientOp::GetData { .. }
            | ClientOp::Exists { .. }
            | ClientOp::GetChildren { .. }
            | ClientOp::GetAcl { .. }
            | ClientOp::GetEphemerals { .. }
            | ClientOp::GetAllChildrenNumber { .. }
            | ClientOp::MultiRead(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datatree::OpResult;
    use crate::ids::Sid;
    use crate::log::Origin;
    use crate::txn::{CreateMode, Op};

    const S: SessionId = SessionId(7);

    fn reply(h: &mut History, xid: i64, zxid: Zxid, result: ClientResult, at: u64) {
        h.on_reply(S, &Reply { session: S, xid, zxid, result }, Instant(at));
    }

    /// Session 7 sends a write (#1) and then a read (#2) on one connection. The write commits
    /// at 1:2; the read is answered at 1:1 (before or after the write's reply).
    fn history(read_first: bool, write_lost: bool) -> History {
        let mut h = History::default();
        h.on_connect(S, Instant(0));
        h.on_invoke(S, 1, &ClientOp::Write(Op::create("/w", b"", CreateMode::Persistent)), Instant(1));
        h.on_invoke(S, 2, &ClientOp::Exists { path: "/a".into(), watch: false }, Instant(2));
        let created = OpResult::Created { path: "/w".into(), stat: Default::default() };
        h.on_commit(CommitRecord {
            zxid: Zxid::new(1, 2),
            session: S,
            changes: Vec::new(),
            origin: Some(Origin { sid: Sid(1), session: S, xid: 1 }),
            result: crate::describe::op_result(&created),
        });
        let write =
            if write_lost { ClientResult::Error(ErrorCode::ConnectionLoss) } else { ClientResult::Write(created) };
        let read = ClientResult::Exists(None);
        if read_first {
            reply(&mut h, 2, Zxid::new(1, 1), read, 3);
            reply(&mut h, 1, Zxid::new(1, 2), write, 4);
        } else {
            reply(&mut h, 1, Zxid::new(1, 2), write, 3);
            reply(&mut h, 2, Zxid::new(1, 2), read, 4);
        }
        h
    }

    fn order_violations(h: &History) -> Vec<String> {
        h.check().0.into_iter().filter(|v| v.contains("before its earlier write")).collect()
    }

    /// A read answered ahead of its session's pending write (at a zxid below the write's) is a
    /// violation, even though the replies' zxids never go back.
    #[test]
    fn a_read_served_before_an_earlier_write_of_its_session_is_caught() {
        let h = history(true, false);
        let v = order_violations(&h);
        assert_eq!(
            v,
            vec!["session 0x7: read #2 served at 0x100000001, before its earlier write #1 (committed at 0x100000002)"]
        );
        assert!(h.check().0.iter().all(|v| !v.contains("after a reply at")), "replies alone look in order");
        // Also when the write's connection was lost only after the read was answered.
        assert_eq!(order_violations(&history(true, true)).len(), 1);
    }

    #[test]
    fn reads_after_their_sessions_writes_pass() {
        assert!(order_violations(&history(false, false)).is_empty());
        assert!(history(false, false).check().0.is_empty(), "{:?}", history(false, false).check().0);
    }
}
