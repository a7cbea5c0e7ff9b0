//! The replicated payload: what a proposal carries and what `DataTree::apply` consumes.
//!
//! A transaction is decided by the leader (who stamps its wall-clock time into it) and applied
//! identically by every peer in zxid order, so every peer computes the same tree and `Stat`.
//! Conditional operations (versions) are checked at apply time against the state at that
//! zxid; a failed check is a deterministic error result, like ZooKeeper's error txn.

use crate::acl::{Acl, Id};
use crate::datatree::Data;
use crate::ids::SessionId;
use serde::{Deserialize, Serialize};

/// How a znode is created (ZooKeeper's `CreateMode`, wire reference §8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    /// Removed by the leader after its last child goes (once it has had one).
    Container,
    /// Removed by the leader once `ttl_ms` passed with no change and no children.
    PersistentWithTtl {
        ttl_ms: u64,
    },
    PersistentSequentialWithTtl {
        ttl_ms: u64,
    },
}

impl CreateMode {
    pub fn is_ephemeral(self) -> bool {
        matches!(self, CreateMode::Ephemeral | CreateMode::EphemeralSequential)
    }
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl { .. }
        )
    }
    /// The mode zkCli's create flags name (`-e`, `-s`, `-c`, `-t TTL`), if they combine.
    pub fn from_flags(ephemeral: bool, sequential: bool, container: bool, ttl_ms: Option<u64>) -> Option<CreateMode> {
        Some(match (ephemeral, sequential, container, ttl_ms) {
            (false, false, false, None) => CreateMode::Persistent,
            (true, false, false, None) => CreateMode::Ephemeral,
            (false, true, false, None) => CreateMode::PersistentSequential,
            (true, true, false, None) => CreateMode::EphemeralSequential,
            (false, false, true, None) => CreateMode::Container,
            (false, false, false, Some(ttl_ms)) => CreateMode::PersistentWithTtl { ttl_ms },
            (false, true, false, Some(ttl_ms)) => CreateMode::PersistentSequentialWithTtl { ttl_ms },
            _ => return None,
        })
    }

    /// The wire flag (§8.1).
    pub fn flag(self) -> i32 {
        match self {
            CreateMode::Persistent => 0,
            CreateMode::Ephemeral => 1,
            CreateMode::PersistentSequential => 2,
            CreateMode::EphemeralSequential => 3,
            CreateMode::Container => 4,
            CreateMode::PersistentWithTtl { .. } => 5,
            CreateMode::PersistentSequentialWithTtl { .. } => 6,
        }
    }
}

/// One state-changing client operation (or a session/cleanup operation of the servers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// `data` may be null (ZooKeeper keeps a null apart from no bytes, see [`Data`]).
    Create {
        path: String,
        data: Data,
        acl: Vec<Acl>,
        mode: CreateMode,
    },
    /// `version == -1` matches any version (ZooKeeper's convention).
    Delete {
        path: String,
        version: i32,
    },
    SetData {
        path: String,
        data: Data,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    /// Only inside `Multi`: fails the whole multi unless the version matches.
    Check {
        path: String,
        version: i32,
    },
    /// All or nothing (§7.13). Read from bytes, it nests at most [`MAX_MULTI_DEPTH`] deep.
    Multi(#[serde(deserialize_with = "multi_ops")] Vec<Op>),
    /// `txn.session` is the new session; the password lets a client reattach anywhere.
    CreateSession {
        timeout_ms: u32,
        #[serde(with = "serde_bytes")]
        password: Vec<u8>,
    },
    /// Ends `txn.session`: its ephemeral nodes go on every peer.
    CloseSession,
    /// Leader-initiated removal of an empty container or an expired TTL node (ZK op 20).
    DeleteContainer {
        path: String,
    },
}

impl Op {
    /// The path the op names ("" for session ops and multi).
    pub fn path(&self) -> &str {
        match self {
            Op::Create { path, .. }
            | Op::Delete { path, .. }
            | Op::SetData { path, .. }
            | Op::SetAcl { path, .. }
            | Op::Check { path, .. }
            | Op::DeleteContainer { path } => path,
            Op::Multi(_) | Op::CreateSession { .. } | Op::CloseSession => "",
        }
    }

    /// A create with the open ACL, as most callers want.
    pub fn create(path: &str, data: &[u8], mode: CreateMode) -> Op {
        Op::Create { path: path.to_string(), data: data.into(), acl: crate::acl::open_acl_unsafe(), mode }
    }
}

/// A transaction as logged and replicated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    /// The session that asked for it (0 for transactions the leader makes itself).
    pub session: SessionId,
    /// Leader wall-clock milliseconds when it assigned the zxid (ctime/mtime come from here).
    pub time_ms: u64,
    /// The requester's identities (from its connection and `addauth`), for ACL checks, which
    /// happen where every peer computes the same answer: at apply time.
    #[serde(default)]
    pub auth: Vec<Id>,
    pub op: Op,
}

/// Declares `ErrorCode` once: the variants with their wire numbers, `ALL` and `code()` all
/// come from this one list.
macro_rules! error_codes {
    ($($name:ident = $code:expr),* $(,)?) => {
        /// ZooKeeper's error codes (`KeeperException.Code`), numbered as on the wire.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[repr(i32)]
        pub enum ErrorCode {
            $($name = $code),*
        }

        impl ErrorCode {
            /// Every code, in ZooKeeper's order.
            pub const ALL: [ErrorCode; [$(ErrorCode::$name),*].len()] = [$(ErrorCode::$name),*];
        }
    };
}

error_codes! {
    SystemError = -1,
    RuntimeInconsistency = -2,
    DataInconsistency = -3,
    ConnectionLoss = -4,
    MarshallingError = -5,
    Unimplemented = -6,
    OperationTimeout = -7,
    BadArguments = -8,
    NewConfigNoQuorum = -13,
    ReconfigInProgress = -14,
    UnknownSession = -12,
    NoNode = -101,
    NoAuth = -102,
    BadVersion = -103,
    NoChildrenForEphemerals = -108,
    NodeExists = -110,
    NotEmpty = -111,
    SessionExpired = -112,
    InvalidCallback = -113,
    InvalidAcl = -114,
    AuthFailed = -115,
    SessionMoved = -118,
    NotReadOnly = -119,
    EphemeralOnLocalSession = -120,
    NoWatcher = -121,
    RequestTimeout = -122,
    ReconfigDisabled = -123,
    SessionClosedRequireSaslAuth = -124,
    QuotaExceeded = -125,
    Throttled = -127,
}

impl ErrorCode {
    /// The number ZooKeeper puts in `ReplyHeader.err`.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The error with wire code `code` (the inverse of [`ErrorCode::code`]), if it is one.
    pub fn from_code(code: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|e| e.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn codes_are_zookeepers_and_round_trip() {
        assert_eq!(ErrorCode::NoNode.code(), -101);
        assert_eq!(ErrorCode::UnknownSession.code(), -12);
        assert_eq!(ErrorCode::Throttled.code(), -127);
        assert_eq!(ErrorCode::ALL.len(), 30);
        for e in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(e.code()), Some(e));
        }
        assert_eq!(ErrorCode::from_code(0), None);
    }
}

/// How deep a `Multi` may nest when read from bytes (the peer wire, the disk). ZooKeeper's
/// multi is flat (the client port refuses a multi inside one), so this is slack. Without a
/// limit, a message nesting Multi a few hundred thousand times, a few hundred KB, overflowed
/// the stack of the thread decoding it and aborted the node (serde recursion in postcard has
/// no depth limit).
pub const MAX_MULTI_DEPTH: usize = 8;

std::thread_local! {
    /// Multis being read on this thread, outermost included.
    static MULTI_DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one level of nesting for as long as it lives.
struct Nested;

impl Drop for Nested {
    fn drop(&mut self) {
        MULTI_DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

fn multi_ops<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Op>, D::Error> {
    let depth = MULTI_DEPTH.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let _nested = Nested;
    if depth > MAX_MULTI_DEPTH {
        return Err(serde::de::Error::custom(format!("a multi nested more than {MAX_MULTI_DEPTH} deep")));
    }
    Vec::<Op>::deserialize(d)
}
