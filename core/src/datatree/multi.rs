//! multi (§7.13): all sub-ops at one zxid, all or nothing.
//!
//! Sub-ops run one after the other on the tree itself, each seeing the earlier ones' effects
//! (a sequential create gets the counter the earlier creates left). Before each sub-op runs,
//! what it is about to overwrite is saved in an undo log; when a sub-op fails, the log is
//! played backwards and the tree is exactly as before (digest included). Only the touched
//! nodes' stats and contents are saved, never a parent's children, so the cost is that of the
//! sub-ops themselves.

use super::apply::Plan;
use super::stat::NodeStat;
use super::tree::{DataTree, Node};
use super::{Change, Data, OpResult};
use crate::txn::{ErrorCode, Op, Txn};
use crate::zxid::Zxid;

/// What a path held before a sub-op changed it.
enum Saved {
    /// Nothing: the sub-op creates it.
    Absent,
    /// Only the stat changes (the parent of a create or delete).
    Stat(NodeStat),
    Data(Data, NodeStat),
    Acl(crate::acl::SharedAcl, NodeStat),
    /// The whole node, which the sub-op deletes (it has no children).
    Node(Node),
}

impl DataTree {
    /// ZooKeeper's multi. Any sub-op other than create, delete, setData and check (a nested
    /// multi, setACL, session ops, deleteContainer) makes the whole request unreadable for
    /// ZooKeeper (`MultiOperationRecord` refuses the type): `Error(MarshallingError)` and
    /// nothing else, as for a mixed read/write multi (✔wire). An empty multi succeeds.
    ///
    /// On success: `Multi` with each sub-op's own result. On the first failing sub-op the tree
    /// is left untouched, no change is listed, and the results are as ZooKeeper's
    /// (✔wire, §20.10): the failing sub-op gets `Error(its code)`, every later one
    /// `Error(RuntimeInconsistency)` (not attempted), and every earlier one `RolledBack`
    /// (ZooKeeper's error result with code 0, kazoo's `RolledBackError`).
    pub(super) fn apply_multi(
        &mut self,
        zxid: Zxid,
        time: i64,
        txn: &Txn,
        ops: &[Op],
        changes: &mut Vec<Change>,
    ) -> OpResult {
        let allowed =
            |op: &Op| matches!(op, Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::Check { .. });
        if !ops.iter().all(allowed) {
            return OpResult::Error(ErrorCode::MarshallingError);
        }
        let mut undo: Vec<(String, Saved)> = Vec::new();
        let mut results = Vec::with_capacity(ops.len());
        let mut mine = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            let plan = match op {
                Op::Check { path, version } => self.check_check(txn, path, *version),
                op => self.plan(op, txn),
            };
            match plan {
                Ok(plan) => {
                    self.save(&plan, &mut undo);
                    results.push(self.execute(zxid, time, plan, &mut mine));
                }
                Err(e) => {
                    self.roll_back(undo);
                    results.iter_mut().for_each(|r| *r = OpResult::RolledBack);
                    results.push(OpResult::Error(e));
                    results.resize(ops.len(), OpResult::Error(ErrorCode::RuntimeInconsistency));
                    debug_assert_eq!(results.len(), ops.len(), "sub-op {i}");
                    return OpResult::Multi(results);
                }
            }
        }
        changes.extend(mine);
        OpResult::Multi(results)
    }

    /// Records what `plan` will overwrite, parent first, so that undoing in reverse restores
    /// the node before its parent.
    fn save(&self, plan: &Plan<'_>, undo: &mut Vec<(String, Saved)>) {
        let node = |p: &str| self.node(p).expect("checked: the node exists");
        let parent = |p: &str| super::path::split_parent(p).expect("checked: the path has a parent").0.to_string();
        match plan {
            Plan::Create { path, .. } => {
                let parent = parent(path);
                undo.push((parent.clone(), Saved::Stat(node(&parent).stat)));
                undo.push((path.clone(), Saved::Absent));
            }
            Plan::Delete { path } => {
                let parent = parent(path);
                undo.push((parent.clone(), Saved::Stat(node(&parent).stat)));
                undo.push((path.to_string(), Saved::Node(node(path).clone())));
            }
            Plan::SetData { path, .. } => {
                let n = node(path);
                undo.push((path.to_string(), Saved::Data(n.data.clone(), n.stat)));
            }
            Plan::SetAcl { path, .. } => {
                let n = node(path);
                undo.push((path.to_string(), Saved::Acl(n.acl.clone(), n.stat)));
            }
            Plan::Check => {}
        }
    }

    /// Plays the undo log backwards (through the digest- and index-keeping primitives).
    fn roll_back(&mut self, undo: Vec<(String, Saved)>) {
        for (path, saved) in undo.into_iter().rev() {
            match saved {
                Saved::Absent => {
                    self.remove_node(&path);
                }
                Saved::Stat(stat) => self.update_node(&path, |n| n.stat = stat),
                Saved::Data(data, stat) => self.update_node(&path, |n| {
                    n.data = data;
                    n.stat = stat;
                }),
                Saved::Acl(acl, stat) => self.update_node(&path, |n| {
                    n.acl = acl;
                    n.stat = stat;
                }),
                Saved::Node(node) => self.insert_node(&path, node),
            }
        }
    }
}

/// The error of a failed multi's results, if it failed: the first `Error` (the failing
/// sub-op's code). When it is `Some`, nothing was applied.
pub fn multi_failure(results: &[OpResult]) -> Option<ErrorCode> {
    results.iter().find_map(|r| match r {
        OpResult::Error(e) => Some(*e),
        _ => None,
    })
}
