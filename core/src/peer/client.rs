//! Client requests at the serving peer.
//!
//! ZooKeeper's ordering promise: a session's requests take effect and are answered in the
//! order sent. Writes (and `sync`) are forwarded to the leader; reads are served from the
//! local committed tree, but only once every earlier request of the same session is done,
//! and a write is never submitted while an earlier read of its session is unanswered (it
//! could otherwise be applied before that read is served). Watch events for a change are
//! emitted when the change is applied, so they precede any later reply (§14.2).

use super::{Peer, Phase, Role};
use crate::acl::{self, Acl, Id};
use crate::datatree::{OpResult, Stat};
use crate::ids::SessionId;
use crate::log::{Entry, Origin};
use crate::message::Message;
use crate::trace::TraceEvent;
use crate::txn::{ErrorCode, Op, Txn};
use crate::watch::{AddWatchMode, WatcherType};
use crate::zxid::Zxid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientOp {
    /// create, delete, setData, setACL, multi (check only inside multi), closeSession.
    Write(Op),
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    /// getChildren2: the children and the node's stat.
    GetChildren {
        path: String,
        watch: bool,
    },
    GetAcl {
        path: String,
    },
    GetEphemerals {
        prefix: String,
    },
    GetAllChildrenNumber {
        path: String,
    },
    /// Reads only; each answered on its own (§7.13).
    MultiRead(Vec<ClientOp>),
    /// Catch up with the leader: later reads see every write acknowledged before the sync.
    Sync,
    AddWatch {
        path: String,
        mode: AddWatchMode,
    },
    RemoveWatches {
        path: String,
        kind: WatcherType,
    },
    CheckWatches {
        path: String,
        kind: WatcherType,
    },
    /// Re-register watches after a reconnect (§7.15).
    SetWatches {
        relative_zxid: Zxid,
        data: Vec<String>,
        exist: Vec<String>,
        child: Vec<String>,
        persistent: Vec<String>,
        recursive: Vec<String>,
    },
    AddAuth {
        scheme: String,
        auth: Vec<u8>,
    },
    WhoAmI,
    Ping,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRequest {
    pub session: SessionId,
    pub xid: i64,
    pub op: ClientOp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientResult {
    Write(OpResult),
    Data {
        data: crate::datatree::Data,
        stat: Stat,
    },
    Exists(Option<Stat>),
    Children {
        children: Vec<String>,
        stat: Stat,
    },
    Acl {
        acl: Vec<Acl>,
        stat: Stat,
    },
    Paths(Vec<String>),
    Count(usize),
    MultiRead(Vec<ClientResult>),
    Identities(Vec<Id>),
    Synced,
    /// Done, with no body (addWatch, removeWatches, setWatches, addAuth, ping).
    Ok,
    Error(ErrorCode),
}

/// A reply, with the zxid the serving peer had applied (ZooKeeper's `ReplyHeader.zxid`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub session: SessionId,
    pub xid: i64,
    pub zxid: Zxid,
    pub result: ClientResult,
}

#[derive(Debug)]
struct Pending {
    xid: i64,
    op: ClientOp,
    submitted: bool,
    /// A confirmed sync waits until the peer has applied this zxid.
    sync_until: Option<Zxid>,
    result: Option<ClientResult>,
}

/// One session's requests, in arrival order. The first `submitted` of them went to the leader:
/// writes are submitted in order up to the first local op, so those form a prefix, and a new
/// request is submitted without walking every write still in flight before it.
#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<Pending>,
    submitted: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Clients {
    sessions: BTreeMap<SessionId, Queue>,
    /// Confirmed syncs waiting for commits (never fewer than there are; recounted on every
    /// scan), so that a commit with none waiting does not walk every queued request.
    syncs_waiting: usize,
}

impl Peer {
    /// Serving clients: a leader with an established epoch, or a learner past UpToDate.
    pub(crate) fn serving(&self) -> bool {
        match &self.role {
            Role::Looking(_) => false,
            Role::Following(l) | Role::Observing(l) => l.phase() == Phase::Broadcast,
            Role::Leading(l) => l.phase() == Phase::Broadcast,
        }
    }

    pub(super) fn on_client(&mut self, req: ClientRequest) {
        let op = self.detail(|| crate::describe::client_op_shown(&req.op, &|p| self.world_readable(p)));
        self.trace(TraceEvent::ClientRequest { sid: self.cfg.sid, session: req.session, xid: req.xid, op });
        if !self.serving() {
            self.reply(req.session, req.xid, &req.op, ClientResult::Error(ErrorCode::ConnectionLoss));
            return;
        }
        if let Err(e) = self.session_request(req.session) {
            self.reply(req.session, req.xid, &req.op, ClientResult::Error(e));
            return;
        }
        if self.mutant(crate::config::Mutant::ReadsBypassWrites) && is_read(&req.op) && self.writes_pending(req.session)
        {
            let r = self.local_op(req.session, &req.op);
            self.reply(req.session, req.xid, &req.op, r);
            return;
        }
        let p = Pending { xid: req.xid, op: req.op, submitted: false, sync_until: None, result: None };
        self.clients.sessions.entry(req.session).or_default().pending.push_back(p);
        self.pump(req.session);
    }

    /// Answers request `xid` (whose op was `op`) with `result`.
    pub(crate) fn reply(&mut self, session: SessionId, xid: i64, op: &ClientOp, result: ClientResult) {
        let zxid = self.last_committed;
        let shown = |p: &str| self.world_readable(p);
        let summary = self.detail(|| crate::describe::client_result_shown(Some(op), &result, &shown));
        self.trace(TraceEvent::ClientReply { sid: self.cfg.sid, session, xid, zxid, result: summary });
        self.out.push(super::Output::Reply(Reply { session, xid, zxid, result }));
    }

    /// Answer what can be answered, in order; submit writes up to the first unanswered read.
    fn pump(&mut self, session: SessionId) {
        loop {
            let Some(q) = self.clients.sessions.get(&session) else { return };
            let Some(front) = q.pending.front() else {
                self.clients.sessions.remove(&session);
                return;
            };
            if front.result.is_none() && is_local(&front.op) {
                let op = front.op.clone();
                let r = self.local_op(session, &op);
                let q = self.clients.sessions.get_mut(&session);
                q.and_then(|q| q.pending.front_mut()).expect("front").result = Some(r);
            }
            let q = self.clients.sessions.get_mut(&session).expect("session");
            if q.pending.front().expect("front exists").result.is_none() {
                break;
            }
            let p = q.pending.pop_front().expect("front exists");
            q.submitted = q.submitted.saturating_sub(1);
            let closed = matches!(p.op, ClientOp::Write(Op::CloseSession));
            self.reply(session, p.xid, &p.op, p.result.expect("answered"));
            if closed {
                self.session_ended(session, false);
            }
        }
        self.submit_writes(session);
    }

    fn submit_writes(&mut self, session: SessionId) {
        let mut to_submit = Vec::new();
        if let Some(q) = self.clients.sessions.get_mut(&session) {
            for p in q.pending.iter_mut().skip(q.submitted) {
                if is_local(&p.op) {
                    break;
                }
                if !p.submitted {
                    p.submitted = true;
                    to_submit.push((p.xid, p.op.clone()));
                }
                q.submitted += 1;
            }
        }
        for (xid, op) in to_submit {
            self.submit(session, xid, op);
        }
    }

    pub(crate) fn submit(&mut self, session: SessionId, xid: i64, op: ClientOp) {
        let (leader, epoch) = match &self.role {
            Role::Following(l) | Role::Observing(l) => match l.epoch() {
                Some(e) => (l.leader, e),
                None => return,
            },
            Role::Leading(_) => (self.cfg.sid, self.current_epoch),
            Role::Looking(_) => return,
        };
        let auth = self.session_auth(session);
        match op {
            ClientOp::Write(op) if leader == self.cfg.sid => {
                let origin = Origin { sid: self.cfg.sid, session, xid };
                self.leader_propose(session, op, auth, Some(origin));
            }
            ClientOp::Write(op) => self.send(leader, Message::Request { epoch, session, xid, op, auth }),
            ClientOp::Sync if leader == self.cfg.sid => self.leader_sync(self.cfg.sid, session, xid),
            ClientOp::Sync => self.send(leader, Message::Sync { epoch, session, xid }),
            _ => unreachable!("local ops are not submitted"),
        }
    }

    /// Serve an op from local state: reads, watch bookkeeping, auth, ping.
    fn local_op(&mut self, session: SessionId, op: &ClientOp) -> ClientResult {
        let auth = self.session_auth(session);
        match op {
            ClientOp::AddWatch { path, mode } => {
                self.watches.add_persistent(path, session, *mode);
                ClientResult::Ok
            }
            ClientOp::RemoveWatches { path, kind } | ClientOp::CheckWatches { path, kind } => {
                let dry = matches!(op, ClientOp::CheckWatches { .. });
                match self.watches.remove(path, session, *kind, dry) {
                    true => ClientResult::Ok,
                    false => ClientResult::Error(ErrorCode::NoWatcher),
                }
            }
            ClientOp::SetWatches { relative_zxid, data, exist, child, persistent, recursive } => {
                self.set_watches(session, *relative_zxid, [data, exist, child, persistent, recursive]);
                ClientResult::Ok
            }
            ClientOp::AddAuth { scheme, auth: a } => self.add_auth(session, scheme, a),
            ClientOp::WhoAmI => ClientResult::Identities(auth),
            ClientOp::Ping => ClientResult::Ok,
            ClientOp::MultiRead(ops) => {
                ClientResult::MultiRead(ops.iter().map(|o| self.read(session, o, &auth)).collect())
            }
            read => self.read(session, read, &auth),
        }
    }

    fn read(&mut self, session: SessionId, op: &ClientOp, auth: &[Id]) -> ClientResult {
        let t = &self.tree;
        let r = match op {
            ClientOp::GetData { path, watch } => t.check_perm(path, acl::READ, auth).and_then(|_| {
                let (data, stat) = t.get_data(path)?;
                if *watch {
                    self.watches.add_data(path, session);
                }
                Ok(ClientResult::Data { data, stat })
            }),
            // No ACL check: ZooKeeper 3.6–3.8 checks none for exists (Curator's checkExists
            // relies on it); the stat reveals no data.
            ClientOp::Exists { path, watch } => t.exists(path).map(|stat| {
                if *watch {
                    self.watches.add_data(path, session);
                }
                ClientResult::Exists(stat)
            }),
            ClientOp::GetChildren { path, watch } => t.check_perm(path, acl::READ, auth).and_then(|_| {
                let (children, stat) = t.get_children(path)?;
                if *watch {
                    self.watches.add_child(path, session);
                }
                Ok(ClientResult::Children { children, stat })
            }),
            ClientOp::GetAcl { path } => t
                .check_perm(path, acl::READ, auth)
                .or_else(|_| t.check_perm(path, acl::ADMIN, auth))
                .and_then(|_| t.get_acl(path))
                .map(|(acl, stat)| ClientResult::Acl { acl, stat }),
            ClientOp::GetEphemerals { prefix } => {
                let all = t.ephemerals(session);
                let p = prefix.trim();
                let keep = |e: &String| p.is_empty() || p == "/" || e.starts_with(p);
                Ok(ClientResult::Paths(all.into_iter().filter(keep).collect()))
            }
            ClientOp::GetAllChildrenNumber { path } => {
                t.check_perm(path, acl::READ, auth).and_then(|_| t.all_children_number(path)).map(ClientResult::Count)
            }
            _ => Err(ErrorCode::BadArguments),
        };
        r.unwrap_or_else(ClientResult::Error)
    }

    /// A write (or sync) of the session is queued here, not yet answered.
    fn writes_pending(&self, session: SessionId) -> bool {
        let q = self.clients.sessions.get(&session);
        q.is_some_and(|q| q.pending.iter().any(|p| !is_local(&p.op) && p.result.is_none()))
    }

    fn find(&mut self, session: SessionId, xid: i64) -> Option<&mut Pending> {
        self.clients.sessions.get_mut(&session)?.pending.iter_mut().find(|p| p.xid == xid && p.submitted)
    }

    /// A transaction this peer submitted was applied.
    pub(crate) fn client_write_done(&mut self, session: SessionId, xid: i64, result: OpResult) {
        if xid == super::session::CONNECT_XID {
            self.connect_done(session, result);
            return;
        }
        if let Some(p) = self.find(session, xid) {
            p.result = Some(ClientResult::Write(result));
            self.pump(session);
        }
    }

    /// The leader confirmed a sync: answer once everything up to `zxid` is applied here.
    pub(crate) fn client_sync_done(&mut self, session: SessionId, xid: i64, zxid: Zxid) {
        let applied = self.last_committed;
        if let Some(p) = self.find(session, xid) {
            let wait = applied < zxid;
            if wait {
                p.sync_until = Some(zxid);
            } else {
                p.result = Some(ClientResult::Synced);
            }
            self.clients.syncs_waiting += usize::from(wait);
            self.pump(session);
        }
    }

    /// New commits may release syncs waiting to catch up.
    pub(crate) fn clients_committed(&mut self) {
        if self.clients.syncs_waiting == 0 {
            return;
        }
        let applied = self.last_committed;
        let (mut ready, mut waiting) = (Vec::new(), 0);
        for (s, q) in self.clients.sessions.iter_mut() {
            for p in q.pending.iter_mut() {
                if p.sync_until.is_some_and(|z| z <= applied) {
                    p.sync_until = None;
                    p.result = Some(ClientResult::Synced);
                    ready.push(*s);
                }
                waiting += usize::from(p.sync_until.is_some());
            }
        }
        self.clients.syncs_waiting = waiting;
        for s in ready {
            self.pump(s);
        }
    }

    /// The peer stopped serving: every pending request ends with ConnectionLoss (its outcome
    /// is unknown to the client, as in ZooKeeper).
    pub(crate) fn clients_lost_service(&mut self) {
        let sessions = std::mem::take(&mut self.clients.sessions);
        self.clients.syncs_waiting = 0;
        for (s, q) in sessions {
            for p in q.pending {
                let r = p.result.unwrap_or(ClientResult::Error(ErrorCode::ConnectionLoss));
                self.reply(s, p.xid, &p.op, r);
            }
        }
        self.sessions_lost_service();
    }

    /// Forget a session's queued requests (its connection is gone; replies would go nowhere).
    pub(crate) fn drop_requests(&mut self, session: SessionId) {
        self.clients.sessions.remove(&session);
    }

    /// Build the entry a leader proposes for a client op.
    pub(crate) fn make_entry(
        &self,
        zxid: Zxid,
        session: SessionId,
        op: Op,
        auth: Vec<Id>,
        origin: Option<Origin>,
    ) -> Entry {
        Entry { zxid, txn: Txn { session, time_ms: self.now.wall_ms, auth, op }.into(), origin }
    }
}

/// Reads of the tree (what the ReadsBypassWrites mutant answers out of turn).
fn is_read(op: &ClientOp) -> bool {
    matches!(op, ClientOp::GetData { .. } | ClientOp::Exists { .. } | ClientOp::GetChildren { .. })
}

/// Served by the peer itself, in session order (everything but writes and sync).
fn is_local(op: &ClientOp) -> bool {
    !matches!(op, ClientOp::Write(_) | ClientOp::Sync)
}
