//! Canonical text for messages, ops, results, status and trees: shared by golden tests, logs
//! and the UI, so all three say the same thing the same way.
//!
//! Trace texts reach every viewer of a node's `/observe`, so they show a znode's contents —
//! its data, its child names, its ACL ids — only when its ACL grants world READ
//! (`world:anyone` with READ): the `*_shown` functions take a [`Shown`] that says so by
//! path, and write e.g. `<5 bytes, not world-readable>` otherwise. A create's data is judged
//! by the ACL it creates the node with. Paths themselves are shown: ZooKeeper lets anyone
//! learn them with `exists`, which checks no ACL; what READ protects is data and listing.
//! The plain functions show every node's contents (for the simulator's own views and tests),
//! except a create's data under an ACL without world READ, which no text shows.

use crate::acl::grants_world_read;
use crate::datatree::{Data, OpResult};
use crate::message::Message;
use crate::peer::{ClientOp, ClientResult, Status};
use crate::storage::PersistOp;
use crate::txn::Op;

/// FNV-1a 64: a fixed hash for digests and trace comparison (stable across versions/targets).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Whether a trace text may show the contents of the znode at a path (see the module docs).
pub type Shown<'a> = &'a dyn Fn(&str) -> bool;

fn everything(_: &str) -> bool {
    true
}

/// What a text says instead of contents it may not show.
const HIDDEN: &str = "not world-readable";

fn data_if(shown: bool, d: &Data) -> String {
    if shown {
        data(d)
    } else {
        format!("<{} bytes, {HIDDEN}>", d.len())
    }
}

fn data(d: &Data) -> String {
    let Some(d) = d.as_option() else { return "null".into() };
    match std::str::from_utf8(d) {
        Ok(s) if s.len() <= 24 => format!("{s:?}"),
        Ok(s) => format!("{:?}…({}B)", &s[..s.char_indices().nth(20).map_or(s.len(), |(i, _)| i)], d.len()),
        Err(_) => format!("<{} bytes>", d.len()),
    }
}

/// An op, every node's data shown but a create's under an ACL without world READ.
pub fn op(o: &Op) -> String {
    op_shown(o, &everything)
}

/// An op as a trace may show it: a create's data if its ACL grants world READ, a setData's
/// if `shown` says so for its path.
pub fn op_shown(o: &Op, shown: Shown) -> String {
    match o {
        Op::Create { path, data: d, mode, acl } => {
            let d = data_if(grants_world_read(acl), d);
            match mode {
                crate::txn::CreateMode::Persistent => format!("create {path} {d}"),
                m => format!("create {path} {d} {m:?}"),
            }
        }
        Op::Delete { path, version } => format!("delete {path} v{version}"),
        Op::SetData { path, data: d, version } => format!("set {path} {} v{version}", data_if(shown(path), d)),
        Op::SetAcl { path, acl, version } => format!("setAcl {path} {} entries v{version}", acl.len()),
        Op::Check { path, version } => format!("check {path} v{version}"),
        Op::Multi(ops) => format!("multi [{}]", ops.iter().map(|o| op_shown(o, shown)).collect::<Vec<_>>().join("; ")),
        Op::CreateSession { timeout_ms, .. } => format!("createSession timeout={timeout_ms}ms"),
        Op::CloseSession => "closeSession".into(),
        Op::DeleteContainer { path } => format!("deleteContainer {path}"),
    }
}

pub fn op_result(r: &OpResult) -> String {
    match r {
        OpResult::Created { path, .. } => format!("created {path}"),
        OpResult::Deleted => "deleted".into(),
        OpResult::SetData { stat } => format!("set v{}", stat.version),
        OpResult::SetAcl { stat } => format!("acl set av{}", stat.aversion),
        OpResult::Checked => "checked".into(),
        OpResult::RolledBack => "rolled back".into(),
        OpResult::Multi(rs) => format!("multi [{}]", rs.iter().map(op_result).collect::<Vec<_>>().join("; ")),
        OpResult::SessionCreated => "session created".into(),
        OpResult::SessionClosed => "session closed".into(),
        OpResult::Error(e) => format!("error {e:?}"),
    }
}

pub fn client_op(o: &ClientOp) -> String {
    client_op_shown(o, &everything)
}

/// A client request as a trace may show it (see [`op_shown`]; reads carry no contents).
pub fn client_op_shown(o: &ClientOp, shown: Shown) -> String {
    let w = |watch: &bool| if *watch { " watch" } else { "" };
    match o {
        ClientOp::Write(x) => op_shown(x, shown),
        ClientOp::GetData { path, watch } => format!("get {path}{}", w(watch)),
        ClientOp::Exists { path, watch } => format!("exists {path}{}", w(watch)),
        ClientOp::GetChildren { path, watch } => format!("ls {path}{}", w(watch)),
        ClientOp::GetAcl { path } => format!("getAcl {path}"),
        ClientOp::GetEphemerals { prefix } => format!("getEphemerals {prefix}"),
        ClientOp::GetAllChildrenNumber { path } => format!("getAllChildrenNumber {path}"),
        ClientOp::MultiRead(ops) => {
            format!("multiRead [{}]", ops.iter().map(|o| client_op_shown(o, shown)).collect::<Vec<_>>().join("; "))
        }
        ClientOp::Sync => "sync".into(),
        ClientOp::AddWatch { path, mode } => format!("addWatch {path} {mode:?}"),
        ClientOp::RemoveWatches { path, kind } => format!("removeWatches {path} {kind:?}"),
        ClientOp::CheckWatches { path, kind } => format!("checkWatches {path} {kind:?}"),
        ClientOp::SetWatches { relative_zxid, .. } => format!("setWatches since {relative_zxid}"),
        ClientOp::AddAuth { scheme, .. } => format!("addauth {scheme}"),
        ClientOp::WhoAmI => "whoami".into(),
        ClientOp::Ping => "ping".into(),
    }
}

/// ZooKeeper's letters for permission bits (`crwda` order as zkCli prints them).
fn perms(p: u32) -> String {
    use crate::acl::*;
    [(CREATE, 'c'), (DELETE, 'd'), (READ, 'r'), (WRITE, 'w'), (ADMIN, 'a')]
        .iter()
        .filter(|(b, _)| p & b != 0)
        .map(|(_, c)| *c)
        .collect()
}

/// A result with everything shown.
pub fn client_result(r: &ClientResult) -> String {
    client_result_shown(None, r, &everything)
}

/// The path whose contents a read's result shows, `""` (no node) when unknown.
fn read_path(op: Option<&ClientOp>) -> &str {
    match op {
        Some(ClientOp::GetData { path, .. } | ClientOp::GetChildren { path, .. } | ClientOp::GetAcl { path }) => path,
        _ => "",
    }
}

/// The result of `op` as a trace may show it: getData's data, getChildren's names and
/// getACL's entries only if `shown` says so for the path read (a result whose op is not
/// given is judged as the path `""`, which names no node), getEphemerals' paths only if it
/// does for each parent. Identities show a digest's user name, never its hash (as
/// ZooKeeper's whoAmI).
pub fn client_result_shown(op: Option<&ClientOp>, r: &ClientResult, shown: Shown) -> String {
    let visible = || shown(read_path(op));
    match r {
        ClientResult::Write(w) => op_result(w),
        ClientResult::Data { data: d, stat } => {
            format!("{} v{} mzxid={}", data_if(visible(), d), stat.version, stat.mzxid)
        }
        ClientResult::Exists(Some(s)) => format!("exists v{}", s.version),
        ClientResult::Exists(None) => "no node".into(),
        ClientResult::Children { children, .. } => match visible() {
            true => format!("[{}]", children.join(", ")),
            false => format!("<{} children, {HIDDEN}>", children.len()),
        },
        ClientResult::Acl { acl, .. } => match visible() {
            true => {
                let e: Vec<String> =
                    acl.iter().map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, perms(a.perms))).collect();
                format!("acl [{}]", e.join(", "))
            }
            false => format!("acl <{} entries, {HIDDEN}>", acl.len()),
        },
        ClientResult::Paths(p) => {
            let parent_shown = |q: &String| shown(crate::datatree::split_parent(q).map_or("", |(parent, _)| parent));
            match p.iter().all(parent_shown) {
                true => format!("[{}]", p.join(", ")),
                false => format!("<{} paths, not all {HIDDEN}>", p.len()),
            }
        }
        ClientResult::Count(n) => format!("{n}"),
        ClientResult::MultiRead(rs) => {
            let sub = |i: usize| match op {
                Some(ClientOp::MultiRead(ops)) => ops.get(i),
                _ => None,
            };
            let each: Vec<String> = rs.iter().enumerate().map(|(i, r)| client_result_shown(sub(i), r, shown)).collect();
            format!("[{}]", each.join("; "))
        }
        ClientResult::Identities(ids) => {
            let user = |i: &crate::acl::Id| match i.scheme.as_str() {
                "digest" => i.id.split(':').next().unwrap_or("").to_string(),
                _ => i.id.clone(),
            };
            format!("[{}]", ids.iter().map(|i| format!("{}:{}", i.scheme, user(i))).collect::<Vec<_>>().join(", "))
        }
        ClientResult::Synced => "synced".into(),
        ClientResult::Ok => "ok".into(),
        ClientResult::Error(e) => format!("error {e:?}"),
    }
}

fn zxids(entries: &[crate::log::Entry]) -> String {
    match entries {
        [] => "none".into(),
        [one] => format!("{}", one.zxid),
        [first, .., last] => format!("{}..{} ({})", first.zxid, last.zxid, entries.len()),
    }
}

/// One line per message, as the golden files show it (see [`op`]).
pub fn message(m: &Message) -> String {
    message_shown(m, &everything)
}

/// One line per message, as a trace may show it (see [`op_shown`]).
pub fn message_shown(m: &Message, shown: Shown) -> String {
    let op = |o: &Op| op_shown(o, shown);
    match m {
        Message::Notification { state, vote, round } => {
            format!("vote {} zxid={} epoch={} round={round} {state}", vote.leader, vote.zxid, vote.peer_epoch)
        }
        Message::FollowerInfo { accepted_epoch, last_zxid } => {
            format!("FollowerInfo accepted={accepted_epoch} last={last_zxid}")
        }
        Message::ObserverInfo { accepted_epoch, last_zxid } => {
            format!("ObserverInfo accepted={accepted_epoch} last={last_zxid}")
        }
        Message::LeaderInfo { epoch } => format!("LeaderInfo epoch={epoch}"),
        Message::AckEpoch { current_epoch, last_zxid, counted, .. } => {
            let c = if *counted { "" } else { " NOT-COUNTED" };
            format!("AckEpoch current={current_epoch} last={last_zxid}{c}")
        }
        Message::Diff { entries, .. } => format!("Diff {}", zxids(entries)),
        Message::Trunc { to, entries, .. } => format!("Trunc to={to} then {}", zxids(entries)),
        Message::Snap { snapshot, entries, .. } => format!("Snap at={} then {}", snapshot.zxid, zxids(entries)),
        Message::NewLeader { epoch, zxid } => format!("NewLeader epoch={epoch} zxid={zxid}"),
        Message::AckNewLeader { epoch } => format!("Ack(NewLeader) epoch={epoch}"),
        Message::UpToDate { committed, .. } => format!("UpToDate committed={committed}"),
        Message::Proposal { entry, .. } => format!("Proposal {} {}", entry.zxid, op(&entry.txn.op)),
        Message::Ack { zxid, .. } => format!("Ack {zxid}"),
        Message::Commit { zxid, .. } => format!("Commit {zxid}"),
        Message::Inform { entry, .. } => format!("Inform {} {}", entry.zxid, op(&entry.txn.op)),
        Message::Ping { round, .. } => format!("Ping round={round}"),
        Message::PingAck { round, .. } => format!("PingAck round={round}"),
        Message::Request { session, xid, op: o, .. } => format!("Request {session}#{xid} {}", op(o)),
        Message::Sync { session, xid, .. } => format!("Sync {session}#{xid}"),
        Message::SyncReply { session, xid, zxid, .. } => format!("SyncReply {session}#{xid} zxid={zxid}"),
    }
}

pub fn persist_op(o: &PersistOp) -> String {
    match o {
        PersistOp::AcceptedEpoch(e) => format!("accepted_epoch={e}"),
        PersistOp::CurrentEpoch(e) => format!("current_epoch={e}"),
        PersistOp::Append(es) => format!("append {}", zxids(es)),
        PersistOp::Truncate(z) => format!("truncate after {z}"),
        PersistOp::InstallSnapshot(s, es) => format!("install snapshot at {} then {}", s.zxid, zxids(es)),
        PersistOp::Checkpoint(s) => format!("checkpoint at {}", s.zxid),
    }
}

/// One line of peer status.
pub fn status(s: &Status) -> String {
    let leader = s.leader.map_or("-".to_string(), |l| l.to_string());
    format!(
        "{}: {} {:?} leader={} accepted={} current={} logged={} committed={}{}",
        s.sid,
        s.state,
        s.phase,
        leader,
        s.accepted_epoch,
        s.current_epoch,
        s.last_logged,
        s.last_committed,
        if s.serving { " serving" } else { "" }
    )
}
