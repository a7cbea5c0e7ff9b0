//! Sessions as replicated state: createSession and closeSession (§15).
//!
//! Liveness, timeouts and expiry are the leader's; what every peer agrees on is which sessions
//! exist (with their timeout and password, so a client can reattach anywhere) and which
//! ephemeral nodes each owns.

use super::stat::Kind;
use super::tree::DataTree;
use super::{Change, OpResult, SessionInfo};
use crate::ids::SessionId;
use crate::txn::ErrorCode;
use crate::zxid::Zxid;

impl DataTree {
    /// createSession: adds `session` to the table. An id that could not own ephemerals (0,
    /// or one the ephemeralOwner encoding would read as a container or TTL marker, §8.2) is
    /// BadArguments, and an id already in the table is NodeExists with the old entry kept.
    /// (ZooKeeper's `commitSession` silently keeps an existing session; the leader never
    /// reuses an id, so a duplicate here is a bug worth seeing.)
    pub(super) fn create_session(&mut self, session: SessionId, timeout_ms: u32, password: &[u8]) -> OpResult {
        if let Err(e) = self.check_create_session(session) {
            return OpResult::Error(e);
        }
        self.sessions.insert(session, SessionInfo { timeout_ms, password: password.to_vec() });
        OpResult::SessionCreated
    }

    pub(super) fn check_create_session(&self, session: SessionId) -> Result<(), ErrorCode> {
        if !Kind::is_session_id(session.0) {
            return Err(ErrorCode::BadArguments);
        }
        if self.sessions.contains_key(&session) {
            return Err(ErrorCode::NodeExists);
        }
        Ok(())
    }

    /// closeSession (`DataTree.killSession`): the session leaves the table and each of its
    /// ephemerals is deleted at this zxid, in path order, as a normal delete (the parent's pzxid
    /// becomes `zxid`; its visible cversion rises as numChildren falls). Closing a session
    /// that is not in the table is not an error, as in ZooKeeper (whose closeSession txn for an
    /// unknown session finds no ephemerals and removes nothing): `SessionClosed`, no change.
    pub(super) fn close_session(&mut self, zxid: Zxid, session: SessionId, changes: &mut Vec<Change>) -> OpResult {
        self.sessions.remove(&session);
        for path in self.ephemerals(session) {
            self.on_delete(zxid, &path);
            changes.push(Change::Deleted(path));
        }
        OpResult::SessionClosed
    }
}
