//! `DataTree::apply` and `DataTree::validate`: ZooKeeper's `PrepRequestProcessor` checks and
//! `DataTree.processTxn` effects in one place.
//!
//! ZooKeeper checks a write on the leader against its outstanding changes and logs either the
//! txn or an error txn; every peer then applies the result. Here the txn carries the request
//! itself and every peer runs the same checks against the same tree at the same zxid, which
//! gives the same outcome without the leader keeping a second, speculative copy of the tree.
//! Checks run in ZooKeeper's order (wire reference §7.1, §7.2, §7.5), so the first failing
//! check picks the error code a ZooKeeper client expects.

use super::path::{self, fast_check, validate_path};
use super::stat::NodeStat;
use super::tree::{DataTree, Node};
use super::OpResult;
use crate::txn::{CreateMode, ErrorCode, Op, Txn};
use crate::zxid::Zxid;

impl DataTree {
    /// Applies a committed transaction at `zxid`.
    ///
    /// Deterministic: the same tree and the same `(zxid, txn)` give the same result and the
    /// same new tree on every peer. A failing op changes nothing and returns
    /// [`OpResult::Error`]; ZooKeeper still spends the zxid on it (§16, ✔wire), and so do we,
    /// since the caller has already assigned it. `ctime`/`mtime` come from `txn.time_ms`, the
    /// leader's clock when it assigned the zxid.
    pub fn apply(&mut self, zxid: Zxid, txn: &Txn) -> OpResult {
        if let Err(e) = self.validate(&txn.op) {
            return OpResult::Error(e);
        }
        let time = i64::try_from(txn.time_ms).unwrap_or(i64::MAX);
        match &txn.op {
            Op::Create { path, data, mode, .. } => self.on_create(zxid, time, path, data, *mode),
            Op::Delete { path, .. } => self.on_delete(zxid, path),
            Op::SetData { path, data, .. } => self.on_set_data(zxid, time, path, data),
            _ => OpResult::Error(ErrorCode::Unimplemented),
        }
    }

    /// Checks an op against the current tree without applying it: exactly the checks
    /// [`DataTree::apply`] runs, so `validate(op).is_ok()` now means `apply` would succeed if
    /// nothing else committed in between. The leader can use it to answer hopeless requests
    /// (bad paths above all) at once instead of proposing them.
    pub fn validate(&self, op: &Op) -> Result<(), ErrorCode> {
        match op {
            Op::Create { path, mode, .. } => self.check_create(path, *mode),
            Op::Delete { path, version } => self.check_delete(path, *version),
            Op::SetData { path, version, .. } => self.check_set_data(path, *version),
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    /// `pRequest2TxnCreate` order (§7.1): quick check, parent exists, full validation, node
    /// absent. The parent lookup comes *before* full validation, so `/e/` gives NoNode when
    /// `/e` is missing and BadArguments when it exists (✔wire), and `/` (whose parent is the
    /// root alias) gives NodeExists.
    fn check_create(&self, path: &str, mode: CreateMode) -> Result<(), ErrorCode> {
        let (parent, _) = fast_check(path)?;
        self.node(parent)?;
        validate_path(path)?;
        if self.nodes.contains_key(path) {
            return Err(ErrorCode::NodeExists);
        }
        match mode {
            // Ephemeral parents (NoChildrenForEphemerals) arrive with ephemeral modes.
            CreateMode::Persistent => Ok(()),
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    /// Delete order (§7.2): quick check and special paths (BadArguments), parent exists, node
    /// exists, version, no children. There is no full path validation: a malformed path
    /// cannot name an existing node, so it ends in NoNode.
    fn check_delete(&self, path: &str, version: i32) -> Result<(), ErrorCode> {
        let (parent, _) = fast_check(path)?;
        if path::is_special(path) {
            return Err(ErrorCode::BadArguments);
        }
        self.node(parent)?;
        let node = self.node(path)?;
        check_version(node.stat.version, version)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        Ok(())
    }

    /// setData order (§7.5): full validation, node exists, version.
    fn check_set_data(&self, path: &str, version: i32) -> Result<(), ErrorCode> {
        validate_path(path)?;
        let node = self.node(path)?;
        check_version(node.stat.version, version)
    }

    /// `DataTree.createNode`: the child starts with every zxid at `zxid`, both times at
    /// `time` and versions 0; the parent's child-create counter goes up by one (so the
    /// cversion clients see goes up by one) and its pzxid becomes `zxid`.
    ///
    /// ZooKeeper only raises the parent's counter and pzxid when the new counter is larger,
    /// to survive replaying txns over a fuzzy snapshot. Our snapshots are exact, so the plain
    /// update is the same thing.
    fn on_create(&mut self, zxid: Zxid, time: i64, path: &str, data: &[u8], mode: CreateMode) -> OpResult {
        let owner = match mode {
            CreateMode::Persistent => 0,
            _ => unreachable!("rejected by check_create until implemented"),
        };
        let (parent, _) = path::split_parent(path).expect("checked: path has a parent");
        self.update_node(parent, |p| {
            p.stat.cversion = p.stat.cversion.wrapping_add(1);
            p.stat.pzxid = zxid;
        });
        let node = Node::new(data.to_vec(), NodeStat::created(zxid, time, owner));
        let stat = node.client_stat();
        self.insert_node(path, node);
        OpResult::Created { path: path.to_string(), stat }
    }

    /// `DataTree.deleteNode`: the node goes and the parent's pzxid becomes `zxid`. The
    /// parent's child-create counter is untouched; the cversion clients see still goes up by
    /// one because numChildren went down (`2·creates − numChildren`, §8.3).
    fn on_delete(&mut self, zxid: Zxid, path: &str) -> OpResult {
        let (parent, _) = path::split_parent(path).expect("checked: path has a parent");
        self.remove_node(path);
        self.update_node(parent, |p| p.stat.pzxid = zxid);
        OpResult::Deleted
    }

    /// `DataTree.setData`: new data, `version + 1`, mzxid and mtime from this txn.
    fn on_set_data(&mut self, zxid: Zxid, time: i64, path: &str, data: &[u8]) -> OpResult {
        let stat = self.update_node(path, |n| {
            n.data = data.to_vec();
            n.stat.version = next_version(n.stat.version);
            n.stat.mzxid = zxid;
            n.stat.mtime = time;
            n.client_stat()
        });
        OpResult::SetData { stat }
    }
}

/// `PrepRequestProcessor.checkAndIncVersion`: `-1` matches any version.
fn check_version(current: i32, expected: i32) -> Result<(), ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(())
}

/// ZooKeeper 3.8 computes `currentVersion + 1` in Java `int` arithmetic, which wraps.
fn next_version(v: i32) -> i32 {
    v.wrapping_add(1)
}
