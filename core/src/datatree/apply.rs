//! `DataTree::apply`: ZooKeeper's `PrepRequestProcessor` checks and `DataTree.processTxn`
//! effects in one place.
//!
//! ZooKeeper checks a write on the leader against its outstanding changes and logs either the
//! txn or an error txn; every peer then applies the result. Here the txn carries the request
//! itself (with the requester's identities for the ACL checks) and every peer runs the same
//! checks against the same tree at the same zxid, which gives the same outcome without the
//! leader keeping a second, speculative copy of the tree.
//!
//! Each write is first turned into a [`Plan`] by the checks (`checks.rs`, in ZooKeeper's order
//! so the first failing check picks the error code a ZooKeeper client expects), then executed
//! here. A plan has passed every check, so executing it cannot fail; `multi.rs` also asks a
//! plan what it is about to overwrite, so that a failing multi can be undone.

use super::path;
use super::stat::NodeStat;
use super::tree::{DataTree, Node};
use super::{multi_failure, Change, Data, OpResult};
use crate::acl::Acl;
use crate::txn::{ErrorCode, Op, Txn};
use crate::zxid::Zxid;

/// A write that passed its checks, with everything the effect needs.
#[derive(Debug)]
pub(super) enum Plan<'a> {
    /// `path` is the actual path (sequence suffix included), `acl` the fixed-up ACL and
    /// `owner` the stored ephemeralOwner (§8.2).
    Create {
        path: String,
        data: &'a Data,
        acl: Vec<Acl>,
        owner: i64,
    },
    Delete {
        path: &'a str,
    },
    SetData {
        path: &'a str,
        data: &'a Data,
    },
    SetAcl {
        path: &'a str,
        acl: Vec<Acl>,
    },
    Check,
}

impl DataTree {
    /// Applies a committed transaction at `zxid`; the result only (see
    /// [`DataTree::apply_with_changes`]).
    pub fn apply(&mut self, zxid: Zxid, txn: &Txn) -> OpResult {
        self.apply_with_changes(zxid, txn).0
    }

    /// Applies a committed transaction at `zxid` and lists what changed, in order, for the
    /// watches (§13.4): a create gives `Created(path)`, a delete (also one by closeSession or
    /// deleteContainer) `Deleted(path)`, a setData `DataChanged(path)`; the parent's child
    /// change is implied by the first two. setACL and session ops list nothing else; a multi
    /// lists its sub-ops' changes in order, and only if it succeeded.
    ///
    /// Deterministic: the same tree and the same `(zxid, txn)` give the same result and the
    /// same new tree on every peer. A failing op changes nothing, lists no change and returns
    /// [`OpResult::Error`] (a failed multi returns [`OpResult::Multi`] with an error inside);
    /// ZooKeeper still spends the zxid on it (§16, ✔wire), and so do we, since the caller has
    /// already assigned it. `ctime`/`mtime` come from `txn.time_ms`, the leader's clock when it
    /// assigned the zxid.
    pub fn apply_with_changes(&mut self, zxid: Zxid, txn: &Txn) -> (OpResult, Vec<Change>) {
        let time = i64::try_from(txn.time_ms).unwrap_or(i64::MAX);
        let mut changes = Vec::new();
        let result = match &txn.op {
            Op::Multi(ops) => self.apply_multi(zxid, time, txn, ops, &mut changes),
            Op::CreateSession { timeout_ms, password } => self.create_session(txn.session, *timeout_ms, password),
            Op::CloseSession => self.close_session(zxid, txn.session, &mut changes),
            Op::DeleteContainer { path } => match self.check_delete_container(path, txn.time_ms) {
                Ok(()) => self.execute(zxid, time, Plan::Delete { path }, &mut changes),
                Err(e) => OpResult::Error(e),
            },
            op => match self.plan(op, txn) {
                Ok(plan) => self.execute(zxid, time, plan, &mut changes),
                Err(e) => OpResult::Error(e),
            },
        };
        (result, changes)
    }

    /// Checks a transaction against the current tree without applying it: exactly the checks
    /// [`DataTree::apply`] runs, so `validate(txn).is_ok()` now means `apply` would succeed if
    /// nothing else committed in between. The leader can use it to answer hopeless requests
    /// (bad paths, missing permissions) at once instead of proposing them. For a multi it is
    /// the first failing sub-op's code (this dry run copies the tree, so it costs O(tree)).
    pub fn validate(&self, txn: &Txn) -> Result<(), ErrorCode> {
        match &txn.op {
            Op::Multi(_) => match self.clone().apply(Zxid::ZERO, txn) {
                OpResult::Error(e) => Err(e),
                OpResult::Multi(rs) => multi_failure(&rs).map_or(Ok(()), Err),
                _ => Ok(()),
            },
            Op::CreateSession { .. } => self.check_create_session(txn.session),
            Op::CloseSession => Ok(()),
            Op::DeleteContainer { path } => self.check_delete_container(path, txn.time_ms),
            op => self.plan(op, txn).map(|_| ()),
        }
    }

    /// The checks of one create, delete, setData, setACL or check (`checks.rs`). A check
    /// outside a multi is UNIMPLEMENTED, as ZooKeeper 3.9.3+ answers it (§7.12).
    pub(super) fn plan<'a>(&self, op: &'a Op, txn: &Txn) -> Result<Plan<'a>, ErrorCode> {
        match op {
            Op::Create { path, data, acl, mode } => self.check_create(txn, path, data, acl, *mode),
            Op::Delete { path, version } => self.check_delete(txn, path, *version),
            Op::SetData { path, data, version } => self.check_set_data(txn, path, data, *version),
            Op::SetAcl { path, acl, version } => self.check_set_acl(txn, path, acl, *version),
            Op::Check { .. } => Err(ErrorCode::Unimplemented),
            Op::Multi(_) | Op::CreateSession { .. } | Op::CloseSession | Op::DeleteContainer { .. } => {
                Err(ErrorCode::MarshallingError)
            }
        }
    }

    /// Carries out a checked plan at `zxid`, recording its change.
    pub(super) fn execute(&mut self, zxid: Zxid, time: i64, plan: Plan<'_>, changes: &mut Vec<Change>) -> OpResult {
        match plan {
            Plan::Create { path, data, acl, owner } => {
                let stat = self.on_create(zxid, time, &path, data, acl, owner);
                changes.push(Change::Created(path.clone()));
                OpResult::Created { path, stat }
            }
            Plan::Delete { path } => {
                self.on_delete(zxid, path);
                changes.push(Change::Deleted(path.to_string()));
                OpResult::Deleted
            }
            Plan::SetData { path, data } => {
                let stat = self.on_set_data(zxid, time, path, data);
                changes.push(Change::DataChanged(path.to_string()));
                OpResult::SetData { stat }
            }
            Plan::SetAcl { path, acl } => {
                let stat = self.update_node(path, |n| {
                    n.acl = crate::acl::shared(acl);
                    n.stat.aversion = next_version(n.stat.aversion);
                    n.client_stat()
                });
                OpResult::SetAcl { stat }
            }
            Plan::Check => OpResult::Checked,
        }
    }

    /// `DataTree.createNode`: the child starts with every zxid at `zxid`, both times at
    /// `time` and versions 0; the parent's child-create counter goes up by one (so the
    /// cversion clients see goes up by one) and its pzxid becomes `zxid`.
    ///
    /// ZooKeeper only raises the parent's counter and pzxid when the new counter is larger,
    /// to survive replaying txns over a fuzzy snapshot. Our snapshots are exact, so the plain
    /// update is the same thing.
    fn on_create(&mut self, zxid: Zxid, time: i64, path: &str, data: &Data, acl: Vec<Acl>, owner: i64) -> super::Stat {
        let (parent, _) = path::split_parent(path).expect("checked: path has a parent");
        self.update_node(parent, |p| {
            p.stat.cversion = p.stat.cversion.wrapping_add(1);
            p.stat.pzxid = zxid;
        });
        let node = Node::new(data.clone(), acl, NodeStat::created(zxid, time, owner));
        let stat = node.client_stat();
        self.insert_node(path, node);
        stat
    }

    /// `DataTree.deleteNode`: the node goes and the parent's pzxid becomes `zxid`. The
    /// parent's child-create counter is untouched; the cversion clients see still goes up by
    /// one because numChildren went down (`2·creates − numChildren`, §8.3).
    pub(super) fn on_delete(&mut self, zxid: Zxid, path: &str) {
        let (parent, _) = path::split_parent(path).expect("checked: path has a parent");
        self.remove_node(path);
        self.update_node(parent, |p| p.stat.pzxid = zxid);
    }

    /// `DataTree.setData`: new data, `version + 1`, mzxid and mtime from this txn.
    fn on_set_data(&mut self, zxid: Zxid, time: i64, path: &str, data: &Data) -> super::Stat {
        self.update_node(path, |n| {
            n.data = data.clone();
            n.stat.version = next_version(n.stat.version);
            n.stat.mzxid = zxid;
            n.stat.mtime = time;
            n.client_stat()
        })
    }
}

/// `PrepRequestProcessor.checkAndIncVersion`: `-1` matches any version.
pub(super) fn check_version(current: i32, expected: i32) -> Result<(), ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(())
}

/// ZooKeeper 3.8 computes `currentVersion + 1` in Java `int` arithmetic, which wraps.
fn next_version(v: i32) -> i32 {
    v.wrapping_add(1)
}
