//! An obviously correct reference model of the data tree, for `model_tests.rs`.
//!
//! A flat `BTreeMap<path, node>` that finds children by scanning every key, recomputes each
//! visible `Stat` field from first principles, keeps the node kind as an enum (not ZooKeeper's
//! owner encoding), does a multi on a copy of itself, and knows only the ACL ids the test
//! alphabet uses. Every rule is written out once, in ZooKeeper's check order.

use super::{validate_path, Change, Data, OpResult, SessionInfo, Stat};
use crate::acl::{Acl, Id, ADMIN, CREATE, DELETE, READ, WRITE};
use crate::ids::SessionId;
use crate::txn::{CreateMode, ErrorCode, Op, Txn};
use crate::zxid::Zxid;
use std::collections::BTreeMap;
use ErrorCode::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MKind {
    Persistent,
    Ephemeral(SessionId),
    Container,
    Ttl(u64),
}

#[derive(Clone, Debug)]
pub struct MNode {
    pub data: Data,
    pub acl: Vec<Acl>,
    pub kind: MKind,
    czxid: Zxid,
    mzxid: Zxid,
    ctime: i64,
    mtime: i64,
    version: i32,
    /// Successful child creates ever (deletes do not count), per ZooKeeper's StatPersisted.
    creates: i32,
    aversion: i32,
    pzxid: Zxid,
}

impl MNode {
    fn new(data: &Data, acl: Vec<Acl>, kind: MKind, zxid: Zxid, time: i64) -> Self {
        MNode {
            data: data.clone(),
            acl,
            kind,
            czxid: zxid,
            mzxid: zxid,
            ctime: time,
            mtime: time,
            version: 0,
            creates: 0,
            aversion: 0,
            pzxid: zxid,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Model {
    pub nodes: BTreeMap<String, MNode>,
    pub sessions: BTreeMap<SessionId, SessionInfo>,
}

pub fn parent_of(path: &str) -> Option<String> {
    let i = path.rfind('/')?;
    Some(if i == 0 { "/".to_string() } else { path[..i].to_string() })
}

const SPECIAL: [&str; 4] = ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"];

fn open() -> Vec<Acl> {
    vec![Acl { perms: 31, id: Id::new("world", "anyone") }]
}

/// fixupACL for the test alphabet: dedupe, empty, world/anyone, auth → the caller's digest ids,
/// digest ids with exactly one inner `:`, ip ids that are `10.0.0.0/8` or a plain address.
fn fixup(acl: &[Acl], auth: &[Id]) -> Result<Vec<Acl>, ErrorCode> {
    let mut uniq: Vec<Acl> = Vec::new();
    for a in acl {
        if !uniq.contains(a) {
            uniq.push(a.clone());
        }
    }
    if uniq.is_empty() {
        return Err(InvalidAcl);
    }
    let mut out = Vec::new();
    for a in uniq {
        match (a.id.scheme.as_str(), a.id.id.as_str()) {
            ("world", "anyone") => out.push(a),
            ("auth", _) => {
                let mine: Vec<&Id> = auth.iter().filter(|i| i.scheme == "digest").collect();
                if mine.is_empty() {
                    return Err(InvalidAcl);
                }
                out.extend(mine.into_iter().map(|i| Acl { perms: a.perms, id: i.clone() }));
            }
            ("digest", id) if id.matches(':').count() == 1 && !id.ends_with(':') => out.push(a),
            ("ip", "10.0.0.0/8") => out.push(a),
            _ => return Err(InvalidAcl),
        }
    }
    Ok(out)
}

fn allowed(acl: &[Acl], perm: u32, auth: &[Id]) -> Result<(), ErrorCode> {
    let matches = |a: &Acl| match a.id.scheme.as_str() {
        "world" => true,
        "digest" => auth.contains(&a.id),
        "ip" => auth.iter().any(|i| i.scheme == "ip" && i.id.starts_with("10.")),
        _ => false,
    };
    let super_user = auth.iter().any(|i| i.scheme == "super");
    if acl.is_empty() || super_user || acl.iter().any(|a| a.perms & perm != 0 && matches(a)) {
        Ok(())
    } else {
        Err(NoAuth)
    }
}

fn version_ok(current: i32, expected: i32) -> Result<(), ErrorCode> {
    if expected == -1 || expected == current {
        Ok(())
    } else {
        Err(BadVersion)
    }
}

impl Model {
    pub fn new() -> Self {
        let mut nodes = BTreeMap::new();
        for p in SPECIAL {
            nodes.insert(p.to_string(), MNode::new(&Data::empty(), open(), MKind::Persistent, Zxid::ZERO, 0));
        }
        let config = nodes.get_mut("/zookeeper/config").unwrap();
        config.aversion = -1;
        config.acl = vec![Acl { perms: READ, id: Id::new("world", "anyone") }];
        Model { nodes, sessions: BTreeMap::new() }
    }

    pub fn children(&self, path: &str) -> Vec<String> {
        let names = self.nodes.keys().filter(|k| k.as_str() != "/");
        let mine = names.filter(|k| parent_of(k).as_deref() == Some(path));
        mine.map(|k| k[k.rfind('/').unwrap() + 1..].to_string()).collect()
    }

    pub fn stat(&self, path: &str) -> Option<Stat> {
        let n = self.nodes.get(path)?;
        let kids = self.children(path).len() as i32;
        let owner = match n.kind {
            MKind::Ephemeral(s) => s.0 as i64,
            _ => 0,
        };
        Some(Stat {
            czxid: n.czxid,
            mzxid: n.mzxid,
            ctime: n.ctime,
            mtime: n.mtime,
            version: n.version,
            cversion: 2 * n.creates - kids,
            aversion: n.aversion,
            ephemeral_owner: owner,
            data_length: n.data.as_option().map_or(0, |d| d.len()) as i32,
            num_children: kids,
            pzxid: n.pzxid,
        })
    }

    fn get(&self, path: &str) -> Result<&MNode, ErrorCode> {
        self.nodes.get(path).ok_or(NoNode)
    }

    /// Applies `txn` (the model's whole `apply_with_changes`).
    pub fn apply(&mut self, zxid: Zxid, txn: &Txn) -> (OpResult, Vec<Change>) {
        let time = txn.time_ms as i64;
        let mut changes = Vec::new();
        let r = match &txn.op {
            Op::Multi(ops) => self.multi(zxid, time, txn, ops, &mut changes),
            Op::Check { .. } => Err(Unimplemented),
            Op::CreateSession { timeout_ms, password } => {
                let id = txn.session;
                if id.0 == 0 || id.0 >> 56 == 0xFF || id.0 == 1 << 63 {
                    Err(BadArguments)
                } else if let std::collections::btree_map::Entry::Vacant(e) = self.sessions.entry(id) {
                    e.insert(SessionInfo { timeout_ms: *timeout_ms, password: password.clone() });
                    Ok(OpResult::SessionCreated)
                } else {
                    Err(NodeExists)
                }
            }
            Op::CloseSession => Ok(self.close(zxid, txn.session, &mut changes)),
            Op::DeleteContainer { path } => self.delete_container(zxid, txn.time_ms, path, &mut changes),
            op => self.one(zxid, time, txn, op, &mut changes),
        };
        (r.unwrap_or_else(OpResult::Error), changes)
    }

    fn one(&mut self, zxid: Zxid, time: i64, txn: &Txn, op: &Op, ch: &mut Vec<Change>) -> Result<OpResult, ErrorCode> {
        match op {
            Op::Create { path, data, acl, mode } => self.create(zxid, time, txn, path, data, acl, *mode, ch),
            Op::Delete { path, version } => self.delete(zxid, &txn.auth, path, *version, ch),
            Op::SetData { path, data, version } => self.set(zxid, time, &txn.auth, path, data, *version, ch),
            Op::SetAcl { path, acl, version } => self.set_acl(&txn.auth, path, acl, *version),
            Op::Check { path, version } => {
                validate_path(path)?;
                let n = self.get(path)?;
                allowed(&n.acl, READ, &txn.auth)?;
                version_ok(n.version, *version)?;
                Ok(OpResult::Checked)
            }
            _ => Err(MarshallingError),
        }
    }

    fn multi(
        &mut self,
        zxid: Zxid,
        time: i64,
        txn: &Txn,
        ops: &[Op],
        ch: &mut Vec<Change>,
    ) -> Result<OpResult, ErrorCode> {
        let ok = |op: &Op| matches!(op, Op::Create { .. } | Op::Delete { .. } | Op::SetData { .. } | Op::Check { .. });
        if !ops.iter().all(ok) {
            return Err(MarshallingError);
        }
        let before = self.clone();
        let mut results = Vec::new();
        let mut mine = Vec::new();
        for op in ops {
            match self.one(zxid, time, txn, op, &mut mine) {
                Ok(r) => results.push(r),
                Err(e) => {
                    *self = before;
                    results = vec![OpResult::RolledBack; results.len()];
                    results.push(OpResult::Error(e));
                    while results.len() < ops.len() {
                        results.push(OpResult::Error(RuntimeInconsistency));
                    }
                    return Ok(OpResult::Multi(results));
                }
            }
        }
        ch.extend(mine);
        Ok(OpResult::Multi(results))
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        zxid: Zxid,
        time: i64,
        txn: &Txn,
        path: &str,
        data: &Data,
        acl: &[Acl],
        mode: CreateMode,
        ch: &mut Vec<Change>,
    ) -> Result<OpResult, ErrorCode> {
        let kind = match mode {
            CreateMode::PersistentWithTtl { ttl_ms } | CreateMode::PersistentSequentialWithTtl { ttl_ms } => {
                if ttl_ms == 0 || ttl_ms > 0xFF_FFFF_FFFF {
                    return Err(BadArguments);
                }
                MKind::Ttl(ttl_ms)
            }
            CreateMode::Ephemeral | CreateMode::EphemeralSequential => {
                if !self.sessions.contains_key(&txn.session) {
                    return Err(SessionExpired);
                }
                MKind::Ephemeral(txn.session)
            }
            CreateMode::Container => MKind::Container,
            CreateMode::Persistent | CreateMode::PersistentSequential => MKind::Persistent,
        };
        if !path.contains('/') || path.contains('\0') {
            return Err(BadArguments);
        }
        let acl = fixup(acl, &txn.auth)?;
        let parent = parent_of(path).unwrap();
        let p = self.get(&parent)?;
        allowed(&p.acl, CREATE, &txn.auth)?;
        let path = if mode.is_sequential() { format!("{path}{:0>10}", p.creates) } else { path.to_string() };
        validate_path(&path).map_err(|_| BadArguments)?;
        if self.nodes.contains_key(&path) {
            return Err(NodeExists);
        }
        if matches!(p.kind, MKind::Ephemeral(_)) {
            return Err(NoChildrenForEphemerals);
        }
        let p = self.nodes.get_mut(&parent).unwrap();
        p.creates += 1;
        p.pzxid = zxid;
        self.nodes.insert(path.clone(), MNode::new(data, acl, kind, zxid, time));
        ch.push(Change::Created(path.clone()));
        Ok(OpResult::Created { stat: self.stat(&path).unwrap(), path })
    }

    fn delete(
        &mut self,
        zxid: Zxid,
        auth: &[Id],
        path: &str,
        version: i32,
        ch: &mut Vec<Change>,
    ) -> Result<OpResult, ErrorCode> {
        if !path.contains('/') || path.contains('\0') || SPECIAL.contains(&path) {
            return Err(BadArguments);
        }
        let parent = parent_of(path).unwrap();
        allowed(&self.get(&parent)?.acl, DELETE, auth)?;
        version_ok(self.get(path)?.version, version)?;
        if !self.children(path).is_empty() {
            return Err(NotEmpty);
        }
        self.remove(zxid, path, ch);
        Ok(OpResult::Deleted)
    }

    fn remove(&mut self, zxid: Zxid, path: &str, ch: &mut Vec<Change>) {
        self.nodes.remove(path);
        self.nodes.get_mut(&parent_of(path).unwrap()).unwrap().pzxid = zxid;
        ch.push(Change::Deleted(path.to_string()));
    }

    #[allow(clippy::too_many_arguments)]
    fn set(
        &mut self,
        zxid: Zxid,
        time: i64,
        auth: &[Id],
        path: &str,
        data: &Data,
        version: i32,
        ch: &mut Vec<Change>,
    ) -> Result<OpResult, ErrorCode> {
        validate_path(path)?;
        let n = self.get(path)?;
        allowed(&n.acl, WRITE, auth)?;
        version_ok(n.version, version)?;
        let n = self.nodes.get_mut(path).unwrap();
        n.data = data.clone();
        n.version += 1;
        n.mzxid = zxid;
        n.mtime = time;
        ch.push(Change::DataChanged(path.to_string()));
        Ok(OpResult::SetData { stat: self.stat(path).unwrap() })
    }

    fn set_acl(&mut self, auth: &[Id], path: &str, acl: &[Acl], version: i32) -> Result<OpResult, ErrorCode> {
        validate_path(path)?;
        let acl = fixup(acl, auth)?;
        let n = self.get(path)?;
        allowed(&n.acl, ADMIN, auth)?;
        version_ok(n.aversion, version)?;
        let n = self.nodes.get_mut(path).unwrap();
        n.acl = acl;
        n.aversion += 1;
        Ok(OpResult::SetAcl { stat: self.stat(path).unwrap() })
    }

    fn close(&mut self, zxid: Zxid, session: SessionId, ch: &mut Vec<Change>) -> OpResult {
        self.sessions.remove(&session);
        for p in self.ephemerals(session) {
            self.remove(zxid, &p, ch);
        }
        OpResult::SessionClosed
    }

    pub fn ephemerals(&self, session: SessionId) -> Vec<String> {
        self.nodes.iter().filter(|(_, n)| n.kind == MKind::Ephemeral(session)).map(|(p, _)| p.clone()).collect()
    }

    pub fn reapable(&self, path: &str, now: u64) -> bool {
        let Some(n) = self.nodes.get(path) else { return false };
        self.children(path).is_empty()
            && match n.kind {
                MKind::Container => n.creates > 0,
                MKind::Ttl(ttl) => now as i64 - n.mtime > ttl as i64,
                _ => false,
            }
    }

    fn delete_container(
        &mut self,
        zxid: Zxid,
        now: u64,
        path: &str,
        ch: &mut Vec<Change>,
    ) -> Result<OpResult, ErrorCode> {
        if !path.contains('/') || path.contains('\0') || SPECIAL.contains(&path) {
            return Err(BadArguments);
        }
        self.get(path)?;
        if !self.children(path).is_empty() {
            return Err(NotEmpty);
        }
        if !self.reapable(path, now) {
            return Err(BadArguments);
        }
        self.remove(zxid, path, ch);
        Ok(OpResult::Deleted)
    }
}
