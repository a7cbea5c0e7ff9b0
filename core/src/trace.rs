//! `TraceEvent`: the single event schema that the UI, the logs and the golden tests read.
//!
//! Every protocol step a viewer needs is here, so a viewer can rebuild each view (roles,
//! votes, epochs, per-peer history with ACK counts, sync modes, messages in flight) from the
//! stream alone.

use crate::ids::{SessionId, Sid, Token};
use crate::log::Origin;
use crate::message::{MsgId, MsgKind, ServerState, Vote};
use crate::time::Instant;
use crate::zxid::{Epoch, Zxid};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a leader synchronizes one learner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMode {
    Diff,
    Trunc,
    Snap,
}

/// Which timer fired.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeoutKind {
    /// FLE resends its notification.
    NotificationResend,
    /// FLE's finalize window closed.
    Finalize,
    /// A learner heard nothing from its leader within the sync limit.
    LeaderSilent,
    /// A leader has not heard from a quorum within the sync limit.
    QuorumSilent,
    /// Discovery or synchronization did not finish within the init limit.
    InitLimit,
    /// A leader dropped one silent learner.
    LearnerSilent,
}

/// Why a peer went LOOKING (a new election). ZooKeeper logs every such move with its cause;
/// so does the node, from this. Times are in milliseconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LookingReason {
    /// The peer started, fresh or from its storage.
    Started,
    /// A learner heard nothing from its leader for `silent_ms` (the sync limit is `limit_ms`).
    LeaderSilent { leader: Sid, silent_ms: u64, limit_ms: u64 },
    /// The connection to the leader closed (the driver logs the link's own cause).
    LeaderDisconnected { leader: Sid },
    /// Discovery and synchronization did not finish within the init limit: a learner that
    /// was not synced by `leader`, or a leader without a quorum of synced followers.
    InitLimit { leader: Sid, limit_ms: u64 },
    /// A leader in broadcast no longer has a quorum of synced voters (itself included):
    /// only `synced` remain of the `quorum` needed; `after` says what was lost last, if a
    /// learner was just dropped.
    QuorumLost { synced: Vec<Sid>, quorum: usize, after: Option<String> },
    /// A leader stood down for a learner that is ahead of it or promised a later epoch.
    Abdicated { because: Sid },
    /// A learner refused its leader's epoch: below the one it already accepted.
    StaleEpoch { leader: Sid, epoch: Epoch, accepted: Epoch },
    /// A learner saw what only lost messages explain (a gap, a commit beyond its log): it
    /// resyncs through a new election. (A message of another epoch is dropped, not resynced.)
    LostMessages { leader: Sid, what: String },
    /// The zxid counter of the epoch is exhausted (ZOOKEEPER-1277): a new epoch is needed.
    ZxidExhausted { last: Zxid },
    /// A learner refused a TRUNC below what it had committed: a leader holding every committed
    /// txn never sends one, so it resyncs through a new election instead.
    TruncBelowCommitted { leader: Sid, to: Zxid, committed: Zxid },
}

impl fmt::Display for LookingReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookingReason::Started => write!(f, "started"),
            LookingReason::LeaderSilent { leader, silent_ms, limit_ms } => {
                write!(f, "leader {leader} silent for {silent_ms} ms (sync limit {limit_ms} ms)")
            }
            LookingReason::LeaderDisconnected { leader } => write!(f, "connection to leader {leader} closed"),
            LookingReason::InitLimit { leader, limit_ms } => {
                write!(f, "not synced with leader {leader} within the init limit ({limit_ms} ms)")
            }
            LookingReason::QuorumLost { synced, quorum, after } => {
                let s: Vec<String> = synced.iter().map(|s| s.to_string()).collect();
                write!(f, "quorum lost: synced voters [{}], {quorum} needed", s.join(", "))?;
                after.as_ref().map_or(Ok(()), |a| write!(f, ", after {a}"))
            }
            LookingReason::Abdicated { because } => write!(f, "abdicated: learner {because} is ahead"),
            LookingReason::StaleEpoch { leader, epoch, accepted } => {
                write!(f, "leader {leader} offered epoch {epoch}, below the accepted epoch {accepted}")
            }
            LookingReason::LostMessages { leader, what } => write!(f, "lost messages from leader {leader}: {what}"),
            LookingReason::ZxidExhausted { last } => write!(f, "zxid counter exhausted at {last}"),
            LookingReason::TruncBelowCommitted { leader, to, committed } => {
                write!(f, "leader {leader} asked to truncate to {to}, below the committed {committed}")
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TraceEvent {
    /// A peer started (fresh or restarted from durable state).
    Started {
        sid: Sid,
        at: Instant,
        accepted_epoch: Epoch,
        current_epoch: Epoch,
        last_zxid: Zxid,
        /// What it had committed: its snapshot's zxid (nothing beyond the snapshot counts as
        /// committed until a leader says so), so a viewer shows the right figure from the
        /// start rather than zero until the next commit.
        #[serde(default)]
        committed: Zxid,
    },
    /// The driver saw a crash (no peer can report its own).
    Crashed {
        sid: Sid,
        at: Instant,
    },
    /// A connection to another peer came up or went down.
    Connection {
        sid: Sid,
        peer: Sid,
        up: bool,
    },
    RoleChanged {
        sid: Sid,
        at: Instant,
        from: ServerState,
        to: ServerState,
        leader: Option<Sid>,
        /// Set whenever `to` is LOOKING.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<LookingReason>,
    },
    NewRound {
        sid: Sid,
        round: u64,
        vote: Vote,
    },
    VoteChanged {
        sid: Sid,
        round: u64,
        vote: Vote,
    },
    VoteReceived {
        sid: Sid,
        from: Sid,
        state: ServerState,
        round: u64,
        vote: Vote,
    },
    ElectionDecided {
        sid: Sid,
        round: u64,
        leader: Sid,
        state: ServerState,
    },
    MsgSent {
        id: MsgId,
        from: Sid,
        to: Sid,
        kind: MsgKind,
        detail: String,
    },
    MsgDelivered {
        id: MsgId,
        from: Sid,
        to: Sid,
        kind: MsgKind,
    },
    EpochProposed {
        sid: Sid,
        epoch: Epoch,
    },
    EpochAccepted {
        sid: Sid,
        epoch: Epoch,
        leader: Sid,
    },
    AckEpochReceived {
        sid: Sid,
        from: Sid,
        counted: bool,
        current_epoch: Epoch,
        last_zxid: Zxid,
    },
    Abdicated {
        sid: Sid,
        because: Sid,
    },
    SyncModeChosen {
        leader: Sid,
        learner: Sid,
        mode: SyncMode,
        learner_zxid: Zxid,
        to: Zxid,
    },
    NewLeaderAcked {
        leader: Sid,
        from: Sid,
        acks: usize,
        quorum: usize,
    },
    EpochEstablished {
        sid: Sid,
        epoch: Epoch,
        committed: Zxid,
    },
    CurrentEpochSet {
        sid: Sid,
        epoch: Epoch,
    },
    Proposed {
        sid: Sid,
        zxid: Zxid,
        op: String,
    },
    /// An entry joined this peer's in-memory history (leader proposal, follower proposal, sync).
    Logged {
        sid: Sid,
        zxid: Zxid,
    },
    AckReceived {
        leader: Sid,
        from: Sid,
        zxid: Zxid,
        acks: usize,
        quorum: usize,
    },
    QuorumReached {
        leader: Sid,
        zxid: Zxid,
    },
    Committed {
        sid: Sid,
        zxid: Zxid,
    },
    /// A committed transaction applied to the tree; `digest` is the tree's digest after it.
    Applied {
        sid: Sid,
        zxid: Zxid,
        digest: u64,
        path: String,
        session: SessionId,
        origin: Option<Origin>,
        result: String,
        changes: Vec<crate::datatree::Change>,
    },
    Truncated {
        sid: Sid,
        to: Zxid,
    },
    SnapshotInstalled {
        sid: Sid,
        zxid: Zxid,
    },
    UpToDate {
        sid: Sid,
        committed: Zxid,
    },
    PersistStarted {
        sid: Sid,
        token: Token,
        op: String,
    },
    PersistDone {
        sid: Sid,
        token: Token,
    },
    Timeout {
        sid: Sid,
        kind: TimeoutKind,
    },
    LearnerDropped {
        leader: Sid,
        learner: Sid,
        why: String,
    },
    ClientRequest {
        sid: Sid,
        session: SessionId,
        xid: i64,
        op: String,
    },
    ClientReply {
        sid: Sid,
        session: SessionId,
        xid: i64,
        zxid: Zxid,
        result: String,
    },
    ClientConnected {
        sid: Sid,
        conn: crate::ids::ConnId,
        result: String,
    },
    WatchFired {
        sid: Sid,
        session: SessionId,
        zxid: Zxid,
        event: String,
    },
    SessionEnded {
        sid: Sid,
        session: SessionId,
        expired: bool,
    },
    SessionExpiring {
        leader: Sid,
        session: SessionId,
    },
    ContainerReaped {
        leader: Sid,
        path: String,
    },
    /// A message that does not fit the current phase (stale epoch, wrong phase): ignored.
    Anomaly {
        sid: Sid,
        what: String,
    },
}
