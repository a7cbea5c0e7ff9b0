//! Every check over one history, partitioned per key for linearizability (registers are
//! independent, so the history is linearizable iff each key's is: Herlihy–Wing locality).

use crate::checks::{self, Anomaly, FinalView};
use crate::history::{Call, Op, Outcome};
use crate::linear::{self, Verdict};
use crate::model::Reg;
use serde::Serialize;
use std::collections::BTreeMap;

/// Every register starts as value 0 at version 0 (the harness creates them so).
pub const INITIAL: Reg = (0, 0);

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    pub ops: usize,
    pub keys: usize,
    /// Keys shown linearizable by the zxid order alone, and by the search.
    pub by_witness: usize,
    pub by_search: usize,
    /// Why the zxid order was no witness for the keys the search decided.
    pub witness_misses: Vec<String>,
    /// Keys the search could not decide within its budget.
    pub undecided: Vec<String>,
    pub anomalies: Vec<Anomaly>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.anomalies.is_empty() && self.undecided.is_empty()
    }
}

/// What ZooKeeper promises to be linearizable: writes (blind or conditional), and a read
/// right after a sync of the same key in the same session, as one op from the sync's
/// invocation to the read's completion. A plain read may be served by a lagging follower
/// (sequential consistency only), so it is left to the per-session checks.
pub fn linearizable_ops(ops: &[Op]) -> Vec<Op> {
    let mut out: Vec<Op> = ops.iter().filter(|o| matches!(o.call, Call::Write { .. })).cloned().collect();
    let mut last: BTreeMap<u64, &Op> = BTreeMap::new();
    let mut in_order: Vec<&Op> = ops.iter().collect();
    in_order.sort_by_key(|o| (o.invoke, o.id));
    for op in in_order {
        if let (Call::Read, Some(sync)) = (&op.call, last.get(&op.session)) {
            if matches!((&sync.call, &sync.outcome), (Call::Sync, Outcome::Synced)) && sync.key == op.key {
                out.push(Op { invoke: sync.invoke, ..op.clone() });
            }
        }
        last.insert(op.session, op);
    }
    out.sort_by_key(|o| o.id);
    out
}

pub fn check(ops: &[Op], finals: &[FinalView], budget: u64) -> Report {
    let mut r = Report { ops: ops.len(), ..Report::default() };
    let mut per_key: BTreeMap<String, Vec<Op>> = BTreeMap::new();
    for op in linearizable_ops(ops) {
        per_key.entry(op.key.clone()).or_default().push(op);
    }
    r.keys = per_key.len();
    for (key, list) in per_key {
        match linear::check(&list, INITIAL, budget) {
            Verdict::Ok { by_witness: true } => r.by_witness += 1,
            Verdict::Ok { by_witness: false } => {
                r.by_search += 1;
                let refs: Vec<&Op> = list.iter().filter(|o| crate::model::relevant(o)).collect();
                let why = linear::witness_explained(&refs, INITIAL).err().unwrap_or_default();
                r.witness_misses.push(format!("{key}: {why}"));
            }
            Verdict::Undecided => r.undecided.push(key.clone()),
            Verdict::Violation => {
                let window = crate::window::smallest(&list, INITIAL);
                let refs: Vec<&Op> = list.iter().filter(|o| crate::model::relevant(o)).collect();
                let why = linear::witness_explained(&refs, INITIAL).err().unwrap_or_default();
                let message = format!(
                    "no linearization of the {} ops on {key}; {} of them fail already (zxid order: {why})",
                    list.len(),
                    window.len()
                );
                let ids = window.iter().map(|o| o.id).collect();
                r.anomalies.push(Anomaly { kind: "not-linearizable".into(), key: key.clone(), message, window: ids });
            }
        }
    }
    r.anomalies.extend(checks::lost_writes(ops, finals));
    r.anomalies.extend(checks::reads_written(ops));
    r.anomalies.extend(checks::session_order(ops));
    r.anomalies.extend(checks::sync_reads(ops));
    r.anomalies.extend(checks::sequential_creates(ops));
    r.anomalies.extend(checks::watches(ops));
    r.anomalies.extend(checks::multis(ops));
    r.anomalies.extend(checks::watch_counts(ops));
    r.anomalies.extend(checks::watch_order(ops));
    let eph_parents: std::collections::BTreeSet<&str> =
        ops.iter().filter(|o| o.call == Call::Ephemeral).map(|o| o.key.as_str()).collect();
    for parent in eph_parents {
        r.anomalies.extend(checks::ephemerals_gone(ops, finals, parent));
    }
    r
}

/// The report as text: each anomaly with its window, one op a line.
pub fn describe(r: &Report, ops: &[Op]) -> String {
    let by_id: BTreeMap<usize, &Op> = ops.iter().map(|o| (o.id, o)).collect();
    let mut out = format!(
        "{} ops on {} keys: {} linearizable by zxid order, {} by search, {} undecided, {} anomalies\n",
        r.ops,
        r.keys,
        r.by_witness,
        r.by_search,
        r.undecided.len(),
        r.anomalies.len()
    );
    for m in &r.witness_misses {
        out.push_str(&format!("by search, zxid order no witness: {m}\n"));
    }
    for k in &r.undecided {
        out.push_str(&format!("UNDECIDED {k}: the search ran out of steps\n"));
    }
    for a in &r.anomalies {
        out.push_str(&format!("ANOMALY {} on {}: {}\n", a.kind, a.key, a.message));
        for id in &a.window {
            if let Some(op) = by_id.get(id) {
                out.push_str(&format!("    {}\n", crate::history::describe(op)));
            }
        }
    }
    out
}
