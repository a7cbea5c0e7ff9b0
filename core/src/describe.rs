//! Canonical text for messages, ops, results, status and trees: shared by golden tests, logs
//! and the UI, so all three say the same thing the same way.

use crate::datatree::OpResult;
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

fn data(d: &crate::datatree::Data) -> String {
    let Some(d) = d.as_option() else { return "null".into() };
    match std::str::from_utf8(d) {
        Ok(s) if s.len() <= 24 => format!("{s:?}"),
        Ok(s) => format!("{:?}…({}B)", &s[..s.char_indices().nth(20).map_or(s.len(), |(i, _)| i)], d.len()),
        Err(_) => format!("<{} bytes>", d.len()),
    }
}

pub fn op(o: &Op) -> String {
    match o {
        Op::Create { path, data: d, mode, .. } => match mode {
            crate::txn::CreateMode::Persistent => format!("create {path} {}", data(d)),
            m => format!("create {path} {} {m:?}", data(d)),
        },
        Op::Delete { path, version } => format!("delete {path} v{version}"),
        Op::SetData { path, data: d, version } => format!("set {path} {} v{version}", data(d)),
        Op::SetAcl { path, acl, version } => format!("setAcl {path} {} entries v{version}", acl.len()),
        Op::Check { path, version } => format!("check {path} v{version}"),
        Op::Multi(ops) => format!("multi [{}]", ops.iter().map(op).collect::<Vec<_>>().join("; ")),
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
    let w = |watch: &bool| if *watch { " watch" } else { "" };
    match o {
        ClientOp::Write(x) => op(x),
        ClientOp::GetData { path, watch } => format!("get {path}{}", w(watch)),
        ClientOp::Exists { path, watch } => format!("exists {path}{}", w(watch)),
        ClientOp::GetChildren { path, watch } => format!("ls {path}{}", w(watch)),
        ClientOp::GetAcl { path } => format!("getAcl {path}"),
        ClientOp::GetEphemerals { prefix } => format!("getEphemerals {prefix}"),
        ClientOp::GetAllChildrenNumber { path } => format!("getAllChildrenNumber {path}"),
        ClientOp::MultiRead(ops) => format!("multiRead [{}]", ops.iter().map(client_op).collect::<Vec<_>>().join("; ")),
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

pub fn client_result(r: &ClientResult) -> String {
    match r {
        ClientResult::Write(w) => op_result(w),
        ClientResult::Data { data: d, stat } => format!("{} v{} mzxid={}", data(d), stat.version, stat.mzxid),
        ClientResult::Exists(Some(s)) => format!("exists v{}", s.version),
        ClientResult::Exists(None) => "no node".into(),
        ClientResult::Children { children, .. } => format!("[{}]", children.join(", ")),
        ClientResult::Acl { acl, .. } => {
            let e: Vec<String> =
                acl.iter().map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, perms(a.perms))).collect();
            format!("acl [{}]", e.join(", "))
        }
        ClientResult::Paths(p) => format!("[{}]", p.join(", ")),
        ClientResult::Count(n) => format!("{n}"),
        ClientResult::MultiRead(rs) => format!("[{}]", rs.iter().map(client_result).collect::<Vec<_>>().join("; ")),
        ClientResult::Identities(ids) => {
            format!("[{}]", ids.iter().map(|i| format!("{}:{}", i.scheme, i.id)).collect::<Vec<_>>().join(", "))
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

/// One line per message, as the trace and the golden files show it.
pub fn message(m: &Message) -> String {
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
        Message::AckEpoch { current_epoch, last_zxid, counted } => {
            let c = if *counted { "" } else { " NOT-COUNTED" };
            format!("AckEpoch current={current_epoch} last={last_zxid}{c}")
        }
        Message::Diff { entries } => format!("Diff {}", zxids(entries)),
        Message::Trunc { to, entries } => format!("Trunc to={to} then {}", zxids(entries)),
        Message::Snap { snapshot, entries } => format!("Snap at={} then {}", snapshot.zxid, zxids(entries)),
        Message::NewLeader { epoch, zxid } => format!("NewLeader epoch={epoch} zxid={zxid}"),
        Message::AckNewLeader { epoch } => format!("Ack(NewLeader) epoch={epoch}"),
        Message::UpToDate { committed } => format!("UpToDate committed={committed}"),
        Message::Proposal { entry } => format!("Proposal {} {}", entry.zxid, op(&entry.txn.op)),
        Message::Ack { zxid } => format!("Ack {zxid}"),
        Message::Commit { zxid } => format!("Commit {zxid}"),
        Message::Inform { entry } => format!("Inform {} {}", entry.zxid, op(&entry.txn.op)),
        Message::Ping { round } => format!("Ping round={round}"),
        Message::PingAck { round, .. } => format!("PingAck round={round}"),
        Message::Request { session, xid, op: o, .. } => format!("Request {session}#{xid} {}", op(o)),
        Message::Sync { session, xid } => format!("Sync {session}#{xid}"),
        Message::SyncReply { session, xid, zxid } => format!("SyncReply {session}#{xid} zxid={zxid}"),
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
