//! The one wire enum between peers. Each variant says its phase and direction.
//!
//! Messages on one connection are FIFO. Losing a ZAB message means the connection broke (both
//! ends see `Disconnected` and resync); election notifications may be lost alone, since FLE
//! resends them.

use crate::datatree::DataTree;
use crate::ids::{SessionId, Sid};
use crate::log::Entry;
use crate::txn::Op;
use crate::zxid::{Epoch, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The state a peer reports in its election notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ServerState {
    Looking,
    Following,
    Leading,
    Observing,
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServerState::Looking => "LOOKING",
            ServerState::Following => "FOLLOWING",
            ServerState::Leading => "LEADING",
            ServerState::Observing => "OBSERVING",
        })
    }
}

/// A vote `(leader, zxid, peer_epoch)`, ordered as FLE orders them: peer_epoch, then zxid,
/// then sid (FastLeaderElection.totalOrderPredicate).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    pub leader: Sid,
    pub zxid: Zxid,
    pub peer_epoch: Epoch,
}

impl Vote {
    pub fn beats(&self, other: &Vote) -> bool {
        (self.peer_epoch, self.zxid, self.leader) > (other.peer_epoch, other.zxid, other.leader)
    }
}

/// A durable snapshot: the committed tree at `zxid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub zxid: Zxid,
    pub tree: DataTree,
}

/// A message id for viewers: sender plus a per-destination sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MsgId {
    pub from: Sid,
    pub seq: u64,
}

/// What travels on a connection: the message and its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: MsgId,
    pub msg: Message,
}

/// Every message after LeaderInfo belongs to one leader–learner session and names its epoch;
/// receivers drop (and trace) a message of another epoch (see [`Message::session_epoch`]).
/// With a correct driver none arrives, since a lost or late message means a broken connection
/// and `Disconnected` comes before the next `Connected`; the tag is defence in depth against a
/// driver that gets this wrong (a stale Proposal applied in a new epoch diverges silently).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// Phase 0, any → any voter: an FLE notification.
    Notification { state: ServerState, vote: Vote, round: u64 },
    /// Phase 1, follower → leader (paper CEPOCH).
    FollowerInfo { accepted_epoch: Epoch, last_zxid: Zxid },
    /// Phase 1, observer → leader.
    ObserverInfo { accepted_epoch: Epoch, last_zxid: Zxid },
    /// Phase 1, leader → learner (paper NEWEPOCH): proposes the session's epoch.
    LeaderInfo { epoch: Epoch },
    /// Phase 1, learner → leader (paper ACK-E), answering LeaderInfo(`epoch`). `counted ==
    /// false` is ZooKeeper's "-1": the learner had already accepted this epoch from another
    /// leader, so it must not count.
    AckEpoch { epoch: Epoch, current_epoch: Epoch, last_zxid: Zxid, counted: bool },
    /// Phase 2, leader → learner: the leader's entries after the learner's last zxid.
    Diff { epoch: Epoch, entries: Vec<Entry> },
    /// Phase 2, leader → learner: drop everything after `to`, then append `entries`.
    Trunc { epoch: Epoch, to: Zxid, entries: Vec<Entry> },
    /// Phase 2, leader → learner: replace everything with the snapshot, then append `entries`.
    Snap { epoch: Epoch, snapshot: Box<Snapshot>, entries: Vec<Entry> },
    /// Phase 2, leader → learner: the sync stream up to `zxid` is complete for `epoch`.
    NewLeader { epoch: Epoch, zxid: Zxid },
    /// Phase 2, learner → leader (paper ACK-LD): sent only once the synced history and
    /// current_epoch are durable.
    AckNewLeader { epoch: Epoch },
    /// Phase 2 → 3, leader → learner: start serving; everything up to `committed` is committed.
    UpToDate { epoch: Epoch, committed: Zxid },
    /// Phase 3, leader → follower.
    Proposal { epoch: Epoch, entry: Entry },
    /// Phase 3, follower → leader: every proposal of this epoch up to `zxid` is durable here.
    /// Cumulative: sent once per durable batch, for its highest zxid (a follower persists in
    /// zxid order), and counted by the leader for each outstanding zxid up to `zxid`.
    Ack { epoch: Epoch, zxid: Zxid },
    /// Phase 3, leader → follower: everything up to `zxid` is committed (one Commit for the
    /// highest zxid an ack newly committed).
    Commit { epoch: Epoch, zxid: Zxid },
    /// Phase 3, leader → observer: a committed entry.
    Inform { epoch: Epoch, entry: Entry },
    /// Leader → learner liveness, in every phase once the learner was told the epoch; `round`
    /// numbers the leader's confirmation rounds (used to answer `sync` only after a quorum
    /// confirmed the leadership).
    Ping { epoch: Epoch, round: u64 },
    /// Learner → leader: the answer to `Ping`, carrying the sessions it serves.
    PingAck { epoch: Epoch, round: u64, sessions: Vec<SessionId> },
    /// Phase 3, follower → leader: a client write to propose.
    Request { epoch: Epoch, session: SessionId, xid: i64, op: Op, auth: Vec<crate::acl::Id> },
    /// Phase 3, follower → leader: a client `sync`.
    Sync { epoch: Epoch, session: SessionId, xid: i64 },
    /// Phase 3, leader → follower: the sync is confirmed; everything up to `zxid` was sent.
    SyncReply { epoch: Epoch, session: SessionId, xid: i64, zxid: Zxid },
}

/// Message kinds, for traces and the UI (no integer kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MsgKind {
    Notification,
    FollowerInfo,
    ObserverInfo,
    LeaderInfo,
    AckEpoch,
    Diff,
    Trunc,
    Snap,
    NewLeader,
    AckNewLeader,
    UpToDate,
    Proposal,
    Ack,
    Commit,
    Inform,
    Ping,
    PingAck,
    Request,
    Sync,
    SyncReply,
}

impl MsgKind {
    pub const ALL: [MsgKind; 20] = [
        MsgKind::Notification,
        MsgKind::FollowerInfo,
        MsgKind::ObserverInfo,
        MsgKind::LeaderInfo,
        MsgKind::AckEpoch,
        MsgKind::Diff,
        MsgKind::Trunc,
        MsgKind::Snap,
        MsgKind::NewLeader,
        MsgKind::AckNewLeader,
        MsgKind::UpToDate,
        MsgKind::Proposal,
        MsgKind::Ack,
        MsgKind::Commit,
        MsgKind::Inform,
        MsgKind::Ping,
        MsgKind::PingAck,
        MsgKind::Request,
        MsgKind::Sync,
        MsgKind::SyncReply,
    ];
}

impl Message {
    pub fn kind(&self) -> MsgKind {
        match self {
            Message::Notification { .. } => MsgKind::Notification,
            Message::FollowerInfo { .. } => MsgKind::FollowerInfo,
            Message::ObserverInfo { .. } => MsgKind::ObserverInfo,
            Message::LeaderInfo { .. } => MsgKind::LeaderInfo,
            Message::AckEpoch { .. } => MsgKind::AckEpoch,
            Message::Diff { .. } => MsgKind::Diff,
            Message::Trunc { .. } => MsgKind::Trunc,
            Message::Snap { .. } => MsgKind::Snap,
            Message::NewLeader { .. } => MsgKind::NewLeader,
            Message::AckNewLeader { .. } => MsgKind::AckNewLeader,
            Message::UpToDate { .. } => MsgKind::UpToDate,
            Message::Proposal { .. } => MsgKind::Proposal,
            Message::Ack { .. } => MsgKind::Ack,
            Message::Commit { .. } => MsgKind::Commit,
            Message::Inform { .. } => MsgKind::Inform,
            Message::Ping { .. } => MsgKind::Ping,
            Message::PingAck { .. } => MsgKind::PingAck,
            Message::Request { .. } => MsgKind::Request,
            Message::Sync { .. } => MsgKind::Sync,
            Message::SyncReply { .. } => MsgKind::SyncReply,
        }
    }

    /// The epoch of the leader–learner session this message belongs to; `None` for those
    /// that come before one is agreed (notifications, FollowerInfo, ObserverInfo) and for
    /// LeaderInfo, which proposes it.
    pub fn session_epoch(&self) -> Option<Epoch> {
        match self {
            Message::Notification { .. }
            | Message::FollowerInfo { .. }
            | Message::ObserverInfo { .. }
            | Message::LeaderInfo { .. } => None,
            Message::AckEpoch { epoch, .. }
            | Message::Diff { epoch, .. }
            | Message::Trunc { epoch, .. }
            | Message::Snap { epoch, .. }
            | Message::NewLeader { epoch, .. }
            | Message::AckNewLeader { epoch }
            | Message::UpToDate { epoch, .. }
            | Message::Proposal { epoch, .. }
            | Message::Ack { epoch, .. }
            | Message::Commit { epoch, .. }
            | Message::Inform { epoch, .. }
            | Message::Ping { epoch, .. }
            | Message::PingAck { epoch, .. }
            | Message::Request { epoch, .. }
            | Message::Sync { epoch, .. }
            | Message::SyncReply { epoch, .. } => Some(*epoch),
        }
    }

    /// Election notifications may be lost alone; losing anything else breaks the connection.
    pub fn may_drop_alone(&self) -> bool {
        matches!(self, Message::Notification { .. })
    }
}

impl fmt::Display for MsgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
