//! The checks of each client write, in ZooKeeper 3.8's order (`PrepRequestProcessor`), each
//! turning a request into a [`Plan`] or the first failing check's error code.
//!
//! Section numbers are those of the wire reference. Permission checks use the requester's
//! identities carried in the txn (`Txn::auth`), see `acl::check_acl`.

use super::apply::{check_version, Plan};
use super::path::{self, fast_check, validate_path};
use super::stat::{Kind, CONTAINER_OWNER, MAX_TTL_MS};
use super::tree::DataTree;
use super::Data;
use crate::acl::{self, Acl, ADMIN, CREATE, DELETE, READ, WRITE};
use crate::ids::SessionId;
use crate::txn::{CreateMode, ErrorCode, Txn};

impl DataTree {
    /// `pRequest2TxnCreate` order (§7.1): ttl range (BadArguments), the session of an
    /// ephemeral create (SessionExpired), quick path check (BadArguments), ACL fixup
    /// (InvalidACL), parent exists (NoNode), CREATE on the parent (NoAuth), sequence suffix,
    /// full validation (BadArguments), node absent (NodeExists), parent not ephemeral
    /// (NoChildrenForEphemerals).
    ///
    /// The parent lookup comes *before* full validation, so `/e/` gives NoNode when `/e` is
    /// missing and BadArguments when it exists (✔wire), and `/` (whose parent is the root
    /// alias) gives NodeExists. A sequential `/e/` is fine: it becomes `/e/0000000000`.
    pub(super) fn check_create<'a>(
        &self,
        txn: &Txn,
        path: &'a str,
        data: &'a Data,
        acl: &[Acl],
        mode: CreateMode,
    ) -> Result<Plan<'a>, ErrorCode> {
        let owner = self.create_owner(txn.session, mode)?;
        let (parent, _) = fast_check(path)?;
        let acl = acl::fixup_acl(acl, &txn.auth)?;
        let parent = self.node(parent)?;
        acl::check_acl(&parent.acl, CREATE, &txn.auth)?;
        let path = if mode.is_sequential() { sequential_path(path, parent.stat.cversion) } else { path.to_string() };
        validate_path(&path)?;
        if self.nodes.contains_key(&path) {
            return Err(ErrorCode::NodeExists);
        }
        if matches!(Kind::of(parent.stat.ephemeral_owner), Kind::Ephemeral(_)) {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        Ok(Plan::Create { path, data, acl, owner })
    }

    /// The stored ephemeralOwner of a new node (§8.2), or why the mode is refused:
    /// `validateCreateRequest` wants a TTL in `1..=0xFF_FFFF_FFFF` (BadArguments; TTL nodes are
    /// taken as enabled) and, for an ephemeral, a live global session (`checkGlobalSession`:
    /// SessionExpired when the session is unknown, i.e. never created or already closed).
    fn create_owner(&self, session: SessionId, mode: CreateMode) -> Result<i64, ErrorCode> {
        match mode {
            CreateMode::Persistent | CreateMode::PersistentSequential => Ok(0),
            CreateMode::Ephemeral | CreateMode::EphemeralSequential => {
                if !self.sessions.contains_key(&session) {
                    return Err(ErrorCode::SessionExpired);
                }
                Ok(session.0 as i64)
            }
            CreateMode::Container => Ok(CONTAINER_OWNER),
            CreateMode::PersistentWithTtl { ttl_ms } | CreateMode::PersistentSequentialWithTtl { ttl_ms } => {
                if ttl_ms == 0 || ttl_ms > MAX_TTL_MS {
                    return Err(ErrorCode::BadArguments);
                }
                Ok(Kind::ttl_owner(ttl_ms))
            }
        }
    }

    /// Delete order (§7.2): quick check and special paths (BadArguments), parent exists
    /// (NoNode), DELETE on the parent (NoAuth, before the node's own existence), node exists
    /// (NoNode), version (BadVersion), no children (NotEmpty). There is no full path
    /// validation: a malformed path cannot name an existing node, so it ends in NoNode.
    pub(super) fn check_delete<'a>(&self, txn: &Txn, path: &'a str, version: i32) -> Result<Plan<'a>, ErrorCode> {
        let parent = self.node(delete_parent(path)?)?;
        acl::check_acl(&parent.acl, DELETE, &txn.auth)?;
        let node = self.node(path)?;
        check_version(node.stat.version, version)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        Ok(Plan::Delete { path })
    }

    /// setData order (§7.5): full validation (BadArguments), node exists (NoNode), WRITE
    /// (NoAuth), version (BadVersion). Quotas are not enforced.
    pub(super) fn check_set_data<'a>(
        &self,
        txn: &Txn,
        path: &'a str,
        data: &'a Data,
        version: i32,
    ) -> Result<Plan<'a>, ErrorCode> {
        validate_path(path)?;
        let node = self.node(path)?;
        acl::check_acl(&node.acl, WRITE, &txn.auth)?;
        check_version(node.stat.version, version)?;
        Ok(Plan::SetData { path, data })
    }

    /// setACL order (§7.7): full validation (BadArguments), ACL fixup (InvalidACL), node
    /// exists (NoNode), ADMIN (NoAuth, before the version), aversion (BadVersion).
    pub(super) fn check_set_acl<'a>(
        &self,
        txn: &Txn,
        path: &'a str,
        acl: &[Acl],
        version: i32,
    ) -> Result<Plan<'a>, ErrorCode> {
        validate_path(path)?;
        let acl = acl::fixup_acl(acl, &txn.auth)?;
        let node = self.node(path)?;
        acl::check_acl(&node.acl, ADMIN, &txn.auth)?;
        check_version(node.stat.aversion, version)?;
        Ok(Plan::SetAcl { path, acl })
    }

    /// check inside a multi (§7.12): full validation (BadArguments), node exists (NoNode),
    /// READ (NoAuth), version (BadVersion).
    pub(super) fn check_check(&self, txn: &Txn, path: &str, version: i32) -> Result<Plan<'static>, ErrorCode> {
        validate_path(path)?;
        let node = self.node(path)?;
        acl::check_acl(&node.acl, READ, &txn.auth)?;
        check_version(node.stat.version, version)?;
        Ok(Plan::Check)
    }

    /// The leader's deleteContainer (ZK op 20), re-checked at apply time with the txn's time:
    /// quick check and special paths (BadArguments, as `getParentPathAndValidate`), node exists
    /// (NoNode), no children (NotEmpty); then the node must still be reapable, i.e. a container
    /// whose child-create counter is above 0 or a TTL node with `now − mtime > ttl`; anything
    /// else is BadArguments. (ZooKeeper only refuses a normal ephemeral here, with BadVersion,
    /// and trusts its ContainerManager for the rest; we refuse every node `reapable` would not
    /// list, so a stale deleteContainer can never remove a node that became live again.)
    pub(super) fn check_delete_container(&self, path: &str, now_ms: u64) -> Result<(), ErrorCode> {
        delete_parent(path)?;
        let node = self.node(path)?;
        if !node.children.is_empty() {
            return Err(ErrorCode::NotEmpty);
        }
        if is_reapable(node, now_ms) {
            Ok(())
        } else {
            Err(ErrorCode::BadArguments)
        }
    }

    /// Containers and TTL nodes the leader should remove now (`ContainerManager.getCandidates`
    /// with `maxNeverUsedIntervalMs` 0, the 3.8 default): childless containers that have had a
    /// child (their child-create counter is above 0, so a fresh container is never removed),
    /// and childless TTL nodes with `now − mtime > ttl`. Sorted by path; each goes through a
    /// [`crate::txn::Op::DeleteContainer`] txn, which checks again.
    pub fn reapable(&self, now_ms: u64) -> Vec<String> {
        let candidates = self.containers.iter().chain(self.ttls.iter());
        let mut out: Vec<String> = candidates
            .filter(|p| self.nodes.get(p.as_str()).is_some_and(|n| n.children.is_empty() && is_reapable(n, now_ms)))
            .cloned()
            .collect();
        out.sort();
        out
    }
}

/// Whether a childless node may be reaped at `now_ms` (see [`DataTree::reapable`]).
fn is_reapable(node: &super::tree::Node, now_ms: u64) -> bool {
    match Kind::of(node.stat.ephemeral_owner) {
        Kind::Container => node.stat.cversion > 0,
        Kind::Ttl(ttl) => i128::from(now_ms) - i128::from(node.stat.mtime) > i128::from(ttl),
        Kind::Persistent | Kind::Ephemeral(_) => false,
    }
}

/// `getParentPathAndValidate`: the parent of a node to delete, BadArguments for a path without
/// `/`, with NUL, or naming `/`, `/zookeeper`, `/zookeeper/quota` or `/zookeeper/config`.
fn delete_parent(path: &str) -> Result<&str, ErrorCode> {
    let (parent, _) = fast_check(path)?;
    if path::is_special(path) {
        return Err(ErrorCode::BadArguments);
    }
    Ok(parent)
}

/// The requested path plus Java's `String.format("%010d", counter)` (§8.3): ten digits,
/// zero-padded after the sign, so -5 gives `-000000005` and `i32::MIN` `-2147483648`. Rust's
/// `{:010}` pads the same way.
pub(super) fn sequential_path(path: &str, counter: i32) -> String {
    format!("{path}{counter:010}")
}
