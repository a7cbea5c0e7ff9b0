//! Server frames after the handshake (wire reference §5-§7, §12): `ReplyHeader{xid, zxid,
//! err}` plus the op's response record, and watch notifications.

use crate::jute::Writer;
use crate::opcode::*;
use zabra_core::acl::Id;
use zabra_core::datatree::OpResult;
use zabra_core::peer::ClientResult;
use zabra_core::txn::ErrorCode;
use zabra_core::watch::WatchedEvent;
use zabra_core::Zxid;

/// The shape of a reply body, fixed by the request (the core's results do not say, e.g.,
/// whether a create was op 1 or op 15). Decoding a request gives it; keep it with the
/// pending request until its result comes back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyKind {
    /// Header only: delete, setWatches, checkWatches, removeWatches, refusals.
    Empty,
    /// create (1): `CreateResponse{path}`.
    Create,
    /// create2 (15), createContainer (19), createTTL (21): `Create2Response{path, Stat}`.
    Create2,
    /// exists (3), setData (5), setACL (7): `Stat`.
    Stat,
    /// getData (4): `GetDataResponse{data, Stat}`.
    GetData,
    /// getACL (6): `GetACLResponse{acl, Stat}`.
    GetAcl,
    /// getChildren (8): names only.
    GetChildren,
    /// getChildren2 (12): names and the node's `Stat`.
    GetChildren2,
    /// sync (9): the request's path echoed.
    Sync { path: String },
    /// ping (11): the reply xid is always -2.
    Ping,
    /// auth (100): the reply zxid is always 0; AUTHFAILED closes the connection.
    Auth,
    /// addWatch (106): a 4-byte `ErrorResponse{0}` body even on success.
    AddWatch,
    /// multi (14), with each sub-op's opcode (a create result is shaped by op 1 vs 15/19/21).
    Multi(Vec<i32>),
    /// multiRead (22).
    MultiRead,
    /// getEphemerals (103): `vector<ustring>`.
    Paths,
    /// getAllChildrenNumber (104): `int`.
    Count,
    /// whoAmI (107): `vector<ClientInfo{authScheme, user}>`.
    WhoAmI,
    /// closeSession (-11): header only; the node closes the connection after it.
    CloseSession,
}

/// What the node does with a reply once the request's result is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Send it; the connection carries on.
    Send,
    /// Send it, then close the connection: after closeSession (§7.11) and after a failed
    /// auth (§7.14).
    SendAndClose,
    /// Send nothing and close: SESSIONMOVED, which ZooKeeper answers by dropping the
    /// connection (§7, §15).
    CloseSilently,
}

impl ReplyKind {
    /// What to do with the reply carrying `result`.
    pub fn disposition(&self, result: &ClientResult) -> Disposition {
        let code = result_code(result);
        if code == ErrorCode::SessionMoved.code() {
            return Disposition::CloseSilently;
        }
        match self {
            ReplyKind::CloseSession => Disposition::SendAndClose,
            ReplyKind::Auth if code != 0 => Disposition::SendAndClose,
            _ => Disposition::Send,
        }
    }
}

/// The error with wire code `code` (the inverse of `ErrorCode::code`), if it is one.
pub fn error_from_code(code: i32) -> Option<ErrorCode> {
    ErrorCode::from_code(code)
}

/// The `ReplyHeader.err` of a result: 0 on success (and for a failed multi, whose body
/// carries the codes), else the error's code. `Exists(None)` is NONODE.
pub fn result_code(result: &ClientResult) -> i32 {
    match result {
        ClientResult::Error(e) | ClientResult::Write(OpResult::Error(e)) => e.code(),
        ClientResult::Exists(None) => ErrorCode::NoNode.code(),
        _ => 0,
    }
}

/// The framed reply to request `xid` with the serving peer's applied `zxid`. Errors are the
/// 16-byte header alone (§10); a failed multi has err 0 and a body of error results
/// (§7.13). A result that does not fit `kind` gets the header alone (never a panic).
pub fn encode_reply(xid: i32, zxid: Zxid, kind: &ReplyKind, result: &ClientResult) -> Vec<u8> {
    let (xid, zxid) = match kind {
        ReplyKind::Ping => (PING_XID, zxid.as_u64() as i64),
        ReplyKind::Auth => (xid, 0),
        _ => (xid, zxid.as_u64() as i64),
    };
    let err = result_code(result);
    let mut w = Writer::framed();
    w.i32(xid).i64(zxid).i32(err);
    if err == 0 {
        body(&mut w, kind, result);
    }
    w.finish()
}

/// A header-only error reply (for refusals the node makes itself, e.g. a request on a
/// connection whose session is gone). `zxid` is written as given.
pub fn encode_error(xid: i32, zxid: i64, code: ErrorCode) -> Vec<u8> {
    let mut w = Writer::framed();
    w.i32(xid).i64(zxid).i32(code.code());
    w.finish()
}

/// ZooKeeper's answer to an opcode it does not serve: `{xid, -1, UNIMPLEMENTED}` (✔wire with
/// op 99). The node then closes the connection.
pub fn encode_unimplemented(xid: i32) -> Vec<u8> {
    encode_error(xid, -1, ErrorCode::Unimplemented)
}

/// A watch notification: `ReplyHeader{-1, zxid, 0}` and `WatcherEvent{type, state 3, path}`.
///
/// `zxid: None` writes -1, as ZooKeeper 3.8 does (§13.6, vector §20.8); `Some(z)` writes the
/// txn's zxid, as 3.9+ does (`WatchedEvent.getZxid()`). No client raises its lastZxidSeen
/// from a notification, so older clients ignore it. Zabra sends the zxid: a client can then
/// order notifications against the stats it reads (the chaos campaign checks that it can).
pub fn encode_watch_event(event: &WatchedEvent, zxid: Option<Zxid>) -> Vec<u8> {
    let mut w = Writer::framed();
    w.i32(NOTIFICATION_XID).i64(zxid.map_or(-1, |z| z.as_u64() as i64)).i32(0);
    w.i32(event.kind.code()).i32(SYNC_CONNECTED).string(&event.path);
    w.finish()
}

/// `KeeperState.SyncConnected`, the state of every server notification.
const SYNC_CONNECTED: i32 = 3;

fn body(w: &mut Writer, kind: &ReplyKind, result: &ClientResult) {
    use ClientResult as R;
    match (kind, result) {
        (ReplyKind::Create, R::Write(OpResult::Created { path, .. })) => {
            w.string(path);
        }
        (_, R::Write(OpResult::Created { path, stat })) => {
            w.string(path).stat(stat);
        }
        (_, R::Write(OpResult::SetData { stat } | OpResult::SetAcl { stat })) | (_, R::Exists(Some(stat))) => {
            w.stat(stat);
        }
        (ReplyKind::Multi(subs), R::Write(OpResult::Multi(results))) => multi_body(w, subs, results),
        (_, R::Data { data, stat }) => {
            w.data(data).stat(stat);
        }
        (ReplyKind::GetChildren2, R::Children { children, stat }) => {
            w.strings(children).stat(stat);
        }
        (_, R::Children { children, .. }) | (_, R::Paths(children)) => {
            w.strings(children);
        }
        (_, R::Acl { acl, stat }) => {
            w.acl_list(acl).stat(stat);
        }
        (_, R::Count(n)) => {
            w.i32((*n).min(i32::MAX as usize) as i32);
        }
        (_, R::Identities(ids)) => client_infos(w, ids),
        (_, R::MultiRead(results)) => multi_read_body(w, results),
        (ReplyKind::Sync { path }, R::Synced) => {
            w.string(path);
        }
        (ReplyKind::AddWatch, R::Ok) => {
            w.i32(0);
        }
        _ => {}
    }
}

fn multi_header(w: &mut Writer, t: i32, done: bool, err: i32) {
    w.i32(t).bool(done).i32(err);
}

/// An error result: type -1, the code in the header and again in the body.
fn multi_error(w: &mut Writer, code: i32) {
    multi_header(w, ERROR, false, code);
    w.i32(code);
}

fn multi_body(w: &mut Writer, subs: &[i32], results: &[OpResult]) {
    for (i, r) in results.iter().enumerate() {
        match r {
            OpResult::Created { path, stat } => match subs.get(i) {
                Some(&CREATE) | None => {
                    multi_header(w, CREATE, false, 0);
                    w.string(path);
                }
                Some(_) => {
                    multi_header(w, CREATE2, false, 0);
                    w.string(path).stat(stat);
                }
            },
            OpResult::Deleted => multi_header(w, DELETE, false, 0),
            OpResult::SetData { stat } => {
                multi_header(w, SET_DATA, false, 0);
                w.stat(stat);
            }
            OpResult::Checked => multi_header(w, CHECK, false, 0),
            OpResult::RolledBack => multi_error(w, 0),
            OpResult::Error(e) => multi_error(w, e.code()),
            _ => multi_error(w, ErrorCode::RuntimeInconsistency.code()),
        }
    }
    multi_header(w, ERROR, true, -1);
}

fn multi_read_body(w: &mut Writer, results: &[ClientResult]) {
    for r in results {
        match r {
            ClientResult::Data { data, stat } => {
                multi_header(w, GET_DATA, false, 0);
                w.data(data).stat(stat);
            }
            ClientResult::Children { children, .. } => {
                multi_header(w, GET_CHILDREN, false, 0);
                w.strings(children);
            }
            other => match result_code(other) {
                0 => multi_error(w, ErrorCode::RuntimeInconsistency.code()),
                code => multi_error(w, code),
            },
        }
    }
    multi_header(w, ERROR, true, -1);
}

/// whoAmI: one `ClientInfo{authScheme, user}` per identity; a digest's user is the part
/// before `:`, any other identity's user is its id (e.g. the ip address).
fn client_infos(w: &mut Writer, ids: &[Id]) {
    w.i32(ids.len() as i32);
    for id in ids {
        let user = match id.scheme.as_str() {
            "digest" => id.id.split(':').next().unwrap_or(""),
            _ => id.id.as_str(),
        };
        w.string(&id.scheme).string(user);
    }
}
