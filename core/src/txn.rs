//! The replicated payload: what a proposal carries and what `DataTree::apply` consumes.
//!
//! A transaction is decided by the leader (who stamps its wall-clock time into it) and applied
//! identically by every peer in zxid order, so every peer computes the same tree and `Stat`.
//! Conditional operations (versions) are checked at apply time against the state at that
//! zxid; a failed check is a deterministic error result, like ZooKeeper's error txn.

use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// How a znode is created. Issue 3 adds ephemeral, sequential, container and TTL modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
}

/// One state-changing client operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Create {
        path: String,
        data: Vec<u8>,
        mode: CreateMode,
    },
    /// `version == -1` matches any version (ZooKeeper's convention).
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Vec<u8>,
        version: i32,
    },
}

impl Op {
    pub fn path(&self) -> &str {
        match self {
            Op::Create { path, .. } | Op::Delete { path, .. } | Op::SetData { path, .. } => path,
        }
    }
}

/// A transaction as logged and replicated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    /// The session that asked for it (0 for transactions the leader makes itself).
    pub session: SessionId,
    /// Leader wall-clock milliseconds when it assigned the zxid (ctime/mtime come from here).
    pub time_ms: u64,
    pub op: Op,
}

/// ZooKeeper's error codes (`KeeperException.Code`), numbered as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    SystemError,
    RuntimeInconsistency,
    DataInconsistency,
    ConnectionLoss,
    MarshallingError,
    Unimplemented,
    OperationTimeout,
    BadArguments,
    NewConfigNoQuorum,
    ReconfigInProgress,
    UnknownSession,
    NoNode,
    NoAuth,
    BadVersion,
    NoChildrenForEphemerals,
    NodeExists,
    NotEmpty,
    SessionExpired,
    InvalidCallback,
    InvalidAcl,
    AuthFailed,
    SessionMoved,
    NotReadOnly,
    EphemeralOnLocalSession,
    NoWatcher,
    RequestTimeout,
    ReconfigDisabled,
    SessionClosedRequireSaslAuth,
    QuotaExceeded,
    Throttled,
}

impl ErrorCode {
    /// The number ZooKeeper puts in `ReplyHeader.err`.
    pub fn code(self) -> i32 {
        use ErrorCode::*;
        match self {
            SystemError => -1,
            RuntimeInconsistency => -2,
            DataInconsistency => -3,
            ConnectionLoss => -4,
            MarshallingError => -5,
            Unimplemented => -6,
            OperationTimeout => -7,
            BadArguments => -8,
            NewConfigNoQuorum => -13,
            ReconfigInProgress => -14,
            UnknownSession => -99,
            NoNode => -101,
            NoAuth => -102,
            BadVersion => -103,
            NoChildrenForEphemerals => -108,
            NodeExists => -110,
            NotEmpty => -111,
            SessionExpired => -112,
            InvalidCallback => -113,
            InvalidAcl => -114,
            AuthFailed => -115,
            SessionMoved => -118,
            NotReadOnly => -119,
            EphemeralOnLocalSession => -120,
            NoWatcher => -121,
            RequestTimeout => -122,
            ReconfigDisabled => -123,
            SessionClosedRequireSaslAuth => -124,
            QuotaExceeded => -125,
            Throttled => -127,
        }
    }
}
