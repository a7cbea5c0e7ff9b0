//! The checks besides linearizability: no acknowledged write lost, each session's view never
//! going back, sync-then-read, and sequential creates numbered in real-time order. Each
//! returns anomalies naming the ops involved.

use crate::history::{Call, Op, Outcome};
use crate::model::Reg;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anomaly {
    pub kind: String,
    pub key: String,
    pub message: String,
    /// The smallest failing window: ids of the ops that show the anomaly.
    pub window: Vec<usize>,
}

fn anomaly(kind: &str, key: &str, message: String, window: Vec<usize>) -> Anomaly {
    Anomaly { kind: kind.into(), key: key.into(), message, window }
}

/// What one node holds once the cluster has healed, read from that node alone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalView {
    pub node: u64,
    pub registers: BTreeMap<String, Reg>,
    /// Sequence numbers of the children of each parent of sequential creates.
    pub children: BTreeMap<String, BTreeSet<u64>>,
}

/// Every acknowledged write is still there on every node: each register's final version is
/// at least that of every acknowledged write, and every acknowledged sequential create
/// exists.
pub fn lost_writes(ops: &[Op], finals: &[FinalView]) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let mut newest: BTreeMap<&str, &Op> = BTreeMap::new();
    for op in ops {
        if let (Call::Write { .. }, Outcome::Ok { version, .. }) = (&op.call, &op.outcome) {
            let e = newest.entry(&op.key).or_insert(op);
            if matches!(e.outcome, Outcome::Ok { version: v, .. } if v < *version) {
                *e = op;
            }
        }
    }
    for f in finals {
        for (key, w) in &newest {
            let Outcome::Ok { version, .. } = w.outcome else { continue };
            match f.registers.get(*key) {
                Some(&(_, v)) if v >= version => {}
                found => out.push(anomaly(
                    "lost-write",
                    key,
                    format!(
                        "node {} holds {found:?} but write #{} was acknowledged at version {version}",
                        f.node, w.id
                    ),
                    vec![w.id],
                )),
            }
        }
        for op in ops.iter().filter(|o| o.call == Call::Create) {
            if let Outcome::Created { seq, .. } = op.outcome {
                if !f.children.get(&op.key).is_some_and(|c| c.contains(&seq)) {
                    let msg = format!(
                        "node {} lacks sequential node #{seq} whose create #{} was acknowledged",
                        f.node, op.id
                    );
                    out.push(anomaly("lost-create", &op.key, msg, vec![op.id]));
                }
            }
        }
    }
    out
}

/// Every read returns a state some write made: the initial one, or the value of a write
/// with the version that write was acknowledged at (any version if its answer was lost).
pub fn reads_written(ops: &[Op]) -> Vec<Anomaly> {
    let mut made: BTreeMap<(&str, u64), Option<i32>> = BTreeMap::new();
    for op in ops {
        match (&op.call, &op.outcome) {
            (Call::Write { value, .. }, Outcome::Ok { version, .. }) => made.insert((&op.key, *value), Some(*version)),
            (Call::Write { value, .. }, Outcome::Unknown { .. }) => made.insert((&op.key, *value), None),
            _ => None,
        };
    }
    let mut out = Vec::new();
    for op in ops {
        let (Call::Read, Outcome::Ok { value, version, .. }) = (&op.call, &op.outcome) else { continue };
        let fine = (*value, *version) == crate::check::INITIAL
            || made.get(&(op.key.as_str(), *value)).is_some_and(|v| v.is_none_or(|v| v == *version));
        if !fine {
            let msg = format!("read #{} returned value {value} at version {version}, which no write made", op.id);
            out.push(anomaly("read-unwritten", &op.key, msg, vec![op.id]));
        }
    }
    out
}

/// Each session's view never goes back (ZooKeeper's per-client order): once a session has
/// seen zxid z (of a read's value or its own write), a read of key k returns a value at
/// least as new as the last write of k at or before z.
pub fn session_order(ops: &[Op]) -> Vec<Anomaly> {
    // Every write zxid known per key (acknowledged, or revealed by a read).
    let mut known: BTreeMap<&str, BTreeMap<u64, usize>> = BTreeMap::new();
    for op in ops {
        if let (Call::Read | Call::Write { .. }, Some(z)) = (&op.call, op.zxid()) {
            known.entry(&op.key).or_default().entry(z).or_insert(op.id);
        }
    }
    let mut out = Vec::new();
    for (session, list) in by_session(ops) {
        let mut seen: Option<(u64, usize)> = None;
        for op in list {
            let Some(z) = op.zxid() else { continue };
            if let (Call::Read, Some((sz, by))) = (&op.call, seen) {
                let floor = known.get(op.key.as_str()).and_then(|k| k.range(..=sz).next_back());
                if let Some((&wz, &w)) = floor {
                    if z < wz {
                        let msg = format!(
                            "session {session} read #{} at zxid {z:#x} after seeing {sz:#x} (#{by}), older than write #{w} at {wz:#x}",
                            op.id
                        );
                        out.push(anomaly("session-order", &op.key, msg, vec![by, w, op.id]));
                    }
                }
            }
            if seen.is_none_or(|(sz, _)| z > sz) {
                seen = Some((z, op.id));
            }
        }
    }
    out
}

fn by_session(ops: &[Op]) -> BTreeMap<u64, Vec<&Op>> {
    let mut m: BTreeMap<u64, Vec<&Op>> = BTreeMap::new();
    for op in ops {
        m.entry(op.session).or_default().push(op);
    }
    for list in m.values_mut() {
        list.sort_by_key(|o| (o.invoke, o.id));
    }
    m
}

/// A read right after a sync of the same key in the same session sees every write of that
/// key acknowledged (and every value read) before the sync began.
pub fn sync_reads(ops: &[Op]) -> Vec<Anomaly> {
    // Per key: (end, zxid, id) of every op with a known zxid, by end, with the running
    // newest, so "newest done before t" is one binary search.
    let mut done: BTreeMap<&str, Vec<(u64, u64, usize)>> = BTreeMap::new();
    for o in ops.iter().filter(|o| matches!(o.call, Call::Read | Call::Write { .. })) {
        if let (Some(end), Some(z)) = (o.complete, o.zxid()) {
            done.entry(&o.key).or_default().push((end, z, o.id));
        }
    }
    for list in done.values_mut() {
        list.sort_unstable();
        for k in 1..list.len() {
            if list[k - 1].1 > list[k].1 {
                (list[k].1, list[k].2) = (list[k - 1].1, list[k - 1].2);
            }
        }
    }
    let mut out = Vec::new();
    for list in by_session(ops).values() {
        for pair in list.windows(2) {
            let (sync, read) = (pair[0], pair[1]);
            let (Call::Sync, Outcome::Synced, Call::Read) = (&sync.call, &sync.outcome, &read.call) else { continue };
            let (Some(z), true) = (read.zxid(), sync.key == read.key) else { continue };
            let Some(before) = done.get(read.key.as_str()) else { continue };
            let n = before.partition_point(|(end, _, _)| *end < sync.invoke);
            if let Some(&(_, wz, w)) = n.checked_sub(1).map(|k| &before[k]).filter(|(_, wz, _)| *wz > z) {
                let msg = format!(
                    "read #{} after sync #{} saw zxid {z:#x}, older than #{w} at {wz:#x} done before the sync",
                    read.id, sync.id
                );
                out.push(anomaly("sync-then-read", &read.key, msg, vec![w, sync.id, read.id]));
            }
        }
    }
    out
}

/// Sequential creates under one parent get distinct numbers, increasing in real time: a
/// create acknowledged before another began has the smaller number.
pub fn sequential_creates(ops: &[Op]) -> Vec<Anomaly> {
    let mut per: BTreeMap<&str, Vec<(u64, &Op)>> = BTreeMap::new();
    for op in ops.iter().filter(|o| o.call == Call::Create) {
        if let Outcome::Created { seq, .. } = op.outcome {
            per.entry(&op.key).or_default().push((seq, op));
        }
    }
    let mut out = Vec::new();
    for (key, mut list) in per {
        list.sort_by_key(|(s, o)| (*s, o.id));
        for w in list.windows(2) {
            if w[0].0 == w[1].0 {
                let msg = format!("creates #{} and #{} both got number {}", w[0].1.id, w[1].1.id, w[0].0);
                out.push(anomaly("duplicate-sequence", key, msg, vec![w[0].1.id, w[1].1.id]));
            }
        }
        // Scan from the highest number down, keeping the earliest completion seen.
        let mut first_done: Option<&Op> = None;
        for (seq, op) in list.iter().rev() {
            if let Some(d) = first_done.filter(|d| d.precedes(op)) {
                let msg = format!(
                    "create #{} got #{seq} though create #{} (a higher number) was done before it began",
                    op.id, d.id
                );
                out.push(anomaly("sequence-order", key, msg, vec![d.id, op.id]));
                break;
            }
            if first_done.is_none_or(|d| op.end() < d.end()) {
                first_done = Some(op);
            }
        }
    }
    out
}

/// Watches: one that fired means the data changed after it was set, so the session's next
/// read of that node returns a newer version; one that never fired though its node changed
/// (its session alive) is a missed notification.
pub fn watches(ops: &[Op]) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for list in by_session(ops).values() {
        for (i, w) in list.iter().enumerate() {
            let Call::Watch { version } = w.call else { continue };
            match w.outcome {
                Outcome::Missed { version: now } => {
                    let msg =
                        format!("watch #{} set at version {version} never fired; the node is at version {now}", w.id);
                    out.push(anomaly("watch-missed", &w.key, msg, vec![w.id]));
                }
                Outcome::Fired => {
                    let next = list[i + 1..]
                        .iter()
                        .find(|o| o.key == w.key && matches!(o.call, Call::Read) && o.zxid().is_some());
                    if let Some(r) = next {
                        if let Outcome::Ok { version: v, .. } = r.outcome {
                            if v <= version {
                                let msg = format!(
                                    "watch #{} set at version {version} fired, but read #{} then returned version {v}",
                                    w.id, r.id
                                );
                                out.push(anomaly("watch-without-change", &w.key, msg, vec![w.id, r.id]));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Every ephemeral node of the abandoned sessions is gone from every node once they expired.
pub fn ephemerals_gone(ops: &[Op], finals: &[FinalView], parent: &str) -> Vec<Anomaly> {
    let mut out = Vec::new();
    let made: BTreeMap<u64, usize> = ops
        .iter()
        .filter(|o| o.call == Call::Ephemeral)
        .filter_map(|o| if let Outcome::Created { seq, .. } = o.outcome { Some((seq, o.id)) } else { None })
        .collect();
    for f in finals {
        for seq in f.children.get(parent).into_iter().flatten() {
            let by = made.get(seq).map_or("an unrecorded create".to_string(), |id| format!("#{id}"));
            let msg = format!("node {} still holds ephemeral #{seq} (made by {by}) after its session expired", f.node);
            out.push(anomaly("ephemeral-survived", parent, msg, made.get(seq).into_iter().copied().collect()));
        }
    }
    out
}

/// A multi is atomic: its ops all succeed at one zxid, or none succeeds.
pub fn multis(ops: &[Op]) -> Vec<Anomaly> {
    let mut groups: BTreeMap<usize, Vec<&Op>> = BTreeMap::new();
    for op in ops {
        if let Some(g) = op.multi {
            groups.entry(g).or_default().push(op);
        }
    }
    let mut out = Vec::new();
    for (g, list) in groups {
        let ok: Vec<Option<u64>> =
            list.iter().filter(|o| matches!(o.outcome, Outcome::Ok { .. })).map(|o| o.zxid()).collect();
        let definite_fail = list.iter().any(|o| matches!(o.outcome, Outcome::BadVersion | Outcome::Fail { .. }));
        let split = (!ok.is_empty() && (ok.len() < list.len() || definite_fail)) || ok.windows(2).any(|w| w[0] != w[1]);
        if split {
            let msg = format!(
                "multi #{g}: its ops did not succeed together at one zxid: {:?}",
                list.iter().map(|o| &o.outcome).collect::<Vec<_>>()
            );
            out.push(anomaly("multi-not-atomic", &list[0].key, msg, list.iter().map(|o| o.id).collect()));
        }
    }
    out
}

/// A persistent watch fires once per change, none lost and none repeated. ZooKeeper sends a
/// change's notification before any reply that shows the change, so once a read returned
/// version v every change since the first read (at `first`) has been notified: at least
/// v − first notifications. And every notification counted is of a change made after the
/// watch was added (after `pre`) and before the next read: at most next − pre.
pub fn watch_counts(ops: &[Op]) -> Vec<Anomaly> {
    let mut out = Vec::new();
    for op in ops {
        let (Call::WatchCount { pre, first }, Outcome::Counted { events, seen, next, .. }) = (&op.call, &op.outcome)
        else {
            continue;
        };
        let (low, high) = ((*seen - *first).max(0) as u64, (*next - *pre).max(0) as u64);
        if *events < low || *events > high {
            let msg = format!(
                "persistent watch #{}: {events} notifications after reading version {seen}; the changes since the watch \
                 allow {low}..={high} (added after v{pre}, first read v{first}, next read v{next})",
                op.id
            );
            out.push(anomaly("watch-count", &op.key, msg, vec![op.id]));
        }
    }
    out
}

/// A persistent watch's notifications come in zxid order, each change once: the zxids they
/// carry strictly increase over the watch's life. And the notification of the change a read
/// saw arrives before the read's reply, carrying that change's zxid: once a read returned a
/// version newer than the first read's, its `mzxid` is among the zxids notified so far.
pub fn watch_order(ops: &[Op]) -> Vec<Anomaly> {
    let mut out = Vec::new();
    // Per watch (session, key): the zxids notified so far, and the last to arrive.
    type Notified = (BTreeSet<u64>, Option<u64>);
    let mut so_far: BTreeMap<(u64, &str), Notified> = BTreeMap::new();
    for op in ops {
        let (Call::WatchCount { first, .. }, Outcome::Counted { seen, seen_zxid, zxids, .. }) = (&op.call, &op.outcome)
        else {
            continue;
        };
        let (all, last) = so_far.entry((op.session, op.key.as_str())).or_default();
        for &z in zxids {
            if let Some(l) = last.filter(|&l| z <= l) {
                let msg =
                    format!("persistent watch #{}: a notification of zxid {z:#x} came after one of {l:#x}", op.id);
                out.push(anomaly("watch-order", &op.key, msg, vec![op.id]));
            }
            all.insert(z);
            *last = Some(z);
        }
        if *seen > *first && *seen_zxid != 0 && !all.contains(seen_zxid) {
            let msg = format!(
                "persistent watch #{}: a read returned v{seen} written at {seen_zxid:#x}, but no notification \
                 carried that zxid before the read's reply",
                op.id
            );
            out.push(anomaly("watch-zxid", &op.key, msg, vec![op.id]));
        }
    }
    out
}
