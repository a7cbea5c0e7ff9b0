//! Client requests after the handshake (wire reference §6, §7): `RequestHeader{xid, type}`
//! and the op's record, decoded into the core's [`ClientOp`].

use crate::error::DecodeError;
use crate::jute::Reader;
use crate::opcode::*;
use crate::reply::ReplyKind;
use zabra_core::datatree::{OpResult, MAX_TTL_MS};
use zabra_core::peer::{ClientOp, ClientResult};
use zabra_core::txn::{CreateMode, ErrorCode, Op};
use zabra_core::watch::{AddWatchMode, WatcherType};
use zabra_core::Zxid;

/// One decoded request frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Echo it in the reply (kazoo restarts xids at 1 per connection; C uses -8 for
    /// setWatches). `encode_reply` replaces it with -2 for pings, as ZooKeeper does.
    pub xid: i32,
    /// The raw opcode from the header.
    pub opcode: i32,
    pub body: RequestBody,
    /// How to shape the reply body: keep it with the pending request and pass it to
    /// [`crate::encode_reply`].
    pub kind: ReplyKind,
}

/// What the node does with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestBody {
    /// Hand it to the core (`Input` with a `ClientRequest`).
    Op(ClientOp),
    /// Answer with this result without the core, but **in order** with the connection's
    /// other replies (§14: queue it behind earlier pending requests). Used for requests that
    /// ZooKeeper refuses before they reach the tree: bad create flags or TTL
    /// (BADARGUMENTS), a multi mixing reads and writes (MARSHALLINGERROR), a bad addWatch
    /// mode, reconfig (RECONFIGDISABLED), and a multi with a sub-op failing those checks
    /// (a failed-multi result).
    Immediate(ClientResult),
    /// An opcode we do not serve (unknown, standalone check, sasl, deleteContainer,
    /// createSession): ZooKeeper answers `{xid, -1, UNIMPLEMENTED}` and closes the
    /// connection. Use [`crate::encode_unimplemented`], then close.
    Unimplemented,
}

type Decoded = (RequestBody, ReplyKind);

/// Decode one request frame's payload (without its length prefix). A frame that cannot be
/// read is an error: the node closes the connection.
pub fn decode_request(payload: &[u8]) -> Result<Request, DecodeError> {
    if payload.len() < 8 {
        return Err(DecodeError::ShortHeader { len: payload.len() });
    }
    let mut r = Reader::new(payload);
    let xid = r.i32("xid")?;
    let opcode = r.i32("type")?;
    let (body, kind) = decode_body(opcode, &mut r)?;
    Ok(Request { xid, opcode, body, kind })
}

fn op(o: ClientOp, kind: ReplyKind) -> Result<Decoded, DecodeError> {
    Ok((RequestBody::Op(o), kind))
}

fn refuse(code: ErrorCode) -> Result<Decoded, DecodeError> {
    Ok((RequestBody::Immediate(ClientResult::Error(code)), ReplyKind::Empty))
}

fn path_watch(r: &mut Reader) -> Result<(String, bool), DecodeError> {
    Ok((r.string("path")?, r.bool("watch")?))
}

fn decode_body(opcode: i32, r: &mut Reader) -> Result<Decoded, DecodeError> {
    match opcode {
        CREATE | CREATE2 | CREATE_CONTAINER | CREATE_TTL => {
            let kind = if opcode == CREATE { ReplyKind::Create } else { ReplyKind::Create2 };
            match decode_create(opcode, r)? {
                Ok(o) => op(ClientOp::Write(o), kind),
                Err(e) => refuse(e),
            }
        }
        DELETE => op(ClientOp::Write(decode_write(opcode, r)?), ReplyKind::Empty),
        SET_DATA => op(ClientOp::Write(decode_write(opcode, r)?), ReplyKind::Stat),
        SET_ACL => {
            let (path, acl, version) = (r.string("path")?, r.acl_list()?, r.i32("version")?);
            op(ClientOp::Write(Op::SetAcl { path, acl, version }), ReplyKind::Stat)
        }
        EXISTS => path_watch(r).and_then(|(path, watch)| op(ClientOp::Exists { path, watch }, ReplyKind::Stat)),
        GET_DATA => path_watch(r).and_then(|(path, watch)| op(ClientOp::GetData { path, watch }, ReplyKind::GetData)),
        GET_CHILDREN | GET_CHILDREN2 => {
            let kind = if opcode == GET_CHILDREN { ReplyKind::GetChildren } else { ReplyKind::GetChildren2 };
            path_watch(r).and_then(|(path, watch)| op(ClientOp::GetChildren { path, watch }, kind))
        }
        GET_ACL => op(ClientOp::GetAcl { path: r.string("path")? }, ReplyKind::GetAcl),
        SYNC => op(ClientOp::Sync, ReplyKind::Sync { path: r.string("path")? }),
        PING => op(ClientOp::Ping, ReplyKind::Ping),
        CLOSE_SESSION => op(ClientOp::Write(Op::CloseSession), ReplyKind::CloseSession),
        MULTI => decode_multi(r),
        MULTI_READ => decode_multi_read(r),
        RECONFIG => refuse(ErrorCode::ReconfigDisabled),
        _ => decode_session_op(opcode, r),
    }
}

/// Auth, watch bookkeeping and the 3.5+ extras.
fn decode_session_op(opcode: i32, r: &mut Reader) -> Result<Decoded, DecodeError> {
    match opcode {
        AUTH => {
            let _type = r.i32("auth.type")?;
            let (scheme, auth) = (r.string("auth.scheme")?, r.buffer("auth.auth")?);
            op(ClientOp::AddAuth { scheme, auth }, ReplyKind::Auth)
        }
        SET_WATCHES | SET_WATCHES2 => {
            let relative_zxid = Zxid::from_u64(r.i64("relativeZxid")?.max(0) as u64);
            let (data, exist, child) =
                (r.strings("dataWatches")?, r.strings("existWatches")?, r.strings("childWatches")?);
            let (persistent, recursive) = match opcode {
                SET_WATCHES2 => (r.strings("persistentWatches")?, r.strings("persistentRecursiveWatches")?),
                _ => (Vec::new(), Vec::new()),
            };
            let o = ClientOp::SetWatches { relative_zxid, data, exist, child, persistent, recursive };
            op(o, ReplyKind::Empty)
        }
        ADD_WATCH => {
            let path = r.string("path")?;
            match r.i32("mode")? {
                0 => op(ClientOp::AddWatch { path, mode: AddWatchMode::Persistent }, ReplyKind::AddWatch),
                1 => op(ClientOp::AddWatch { path, mode: AddWatchMode::PersistentRecursive }, ReplyKind::AddWatch),
                _ => refuse(ErrorCode::MarshallingError),
            }
        }
        CHECK_WATCHES | REMOVE_WATCHES => {
            let path = r.string("path")?;
            let Some(kind) = watcher_type(r.i32("type")?) else { return refuse(ErrorCode::MarshallingError) };
            match opcode {
                CHECK_WATCHES => op(ClientOp::CheckWatches { path, kind }, ReplyKind::Empty),
                _ => op(ClientOp::RemoveWatches { path, kind }, ReplyKind::Empty),
            }
        }
        GET_EPHEMERALS => op(ClientOp::GetEphemerals { prefix: r.string("prefixPath")? }, ReplyKind::Paths),
        GET_ALL_CHILDREN_NUMBER => op(ClientOp::GetAllChildrenNumber { path: r.string("path")? }, ReplyKind::Count),
        WHO_AM_I => op(ClientOp::WhoAmI, ReplyKind::WhoAmI),
        _ => Ok((RequestBody::Unimplemented, ReplyKind::Empty)),
    }
}

fn watcher_type(t: i32) -> Option<WatcherType> {
    Some(match t {
        1 => WatcherType::Children,
        2 => WatcherType::Data,
        3 => WatcherType::Any,
        4 => WatcherType::Persistent,
        5 => WatcherType::PersistentRecursive,
        _ => return None,
    })
}

/// `CreateRequest` / `CreateTTLRequest`. The inner error is a refusal (BADARGUMENTS).
fn decode_create(opcode: i32, r: &mut Reader) -> Result<Result<Op, ErrorCode>, DecodeError> {
    let path = r.string("path")?;
    let data = r.data("data")?;
    let acl = r.acl_list()?;
    let flags = r.i32("flags")?;
    let ttl = if opcode == CREATE_TTL { r.i64("ttl")? } else { -1 };
    Ok(create_mode(opcode, flags, ttl).map(|mode| Op::Create { path, data, acl, mode }))
}

/// Flags to mode, with ZooKeeper's checks (§7.1 step 1-2). Unlike ZooKeeper, the mode comes
/// from the flags; op 19 needs flags 4 and op 21 flags 5 or 6 (the reference's advice).
fn create_mode(opcode: i32, flags: i32, ttl: i64) -> Result<CreateMode, ErrorCode> {
    let ttl_ms = ttl as u64;
    let mode = match flags {
        0 => CreateMode::Persistent,
        1 => CreateMode::Ephemeral,
        2 => CreateMode::PersistentSequential,
        3 => CreateMode::EphemeralSequential,
        4 => CreateMode::Container,
        5 => CreateMode::PersistentWithTtl { ttl_ms },
        6 => CreateMode::PersistentSequentialWithTtl { ttl_ms },
        _ => return Err(ErrorCode::BadArguments),
    };
    let is_ttl = matches!(flags, 5 | 6);
    let ttl_ok = if is_ttl { (1..=MAX_TTL_MS as i64).contains(&ttl) } else { ttl < 0 };
    let op_ok = match opcode {
        CREATE_CONTAINER => flags == 4,
        CREATE_TTL => is_ttl,
        _ => true,
    };
    if ttl_ok && op_ok {
        Ok(mode)
    } else {
        Err(ErrorCode::BadArguments)
    }
}

/// delete, setData and check records.
fn decode_write(opcode: i32, r: &mut Reader) -> Result<Op, DecodeError> {
    let path = r.string("path")?;
    Ok(match opcode {
        DELETE => Op::Delete { path, version: r.i32("version")? },
        SET_DATA => {
            let data = r.data("data")?;
            Op::SetData { path, data, version: r.i32("version")? }
        }
        _ => Op::Check { path, version: r.i32("version")? },
    })
}

/// Reads `MultiHeader{type, done, err}`; `None` at the end marker (done = true).
fn multi_header(r: &mut Reader) -> Result<Option<i32>, DecodeError> {
    let t = r.i32("multi.type")?;
    let done = r.bool("multi.done")?;
    let _err = r.i32("multi.err")?;
    Ok(if done { None } else { Some(t) })
}

/// multi (14): writes only; all or nothing (§7.13).
fn decode_multi(r: &mut Reader) -> Result<Decoded, DecodeError> {
    let mut ops: Vec<Result<Op, ErrorCode>> = Vec::new();
    let mut subs = Vec::new();
    while let Some(t) = multi_header(r)? {
        let o = match t {
            CREATE | CREATE2 | CREATE_CONTAINER | CREATE_TTL => decode_create(t, r)?,
            DELETE | SET_DATA | CHECK => Ok(decode_write(t, r)?),
            _ => return refuse(ErrorCode::MarshallingError),
        };
        ops.push(o);
        subs.push(t);
    }
    let kind = ReplyKind::Multi(subs);
    match ops.iter().position(|o| o.is_err()) {
        None => op(ClientOp::Write(Op::Multi(ops.into_iter().flatten().collect())), kind),
        Some(bad) => {
            let results = ops.iter().enumerate().map(|(i, o)| match (i.cmp(&bad), o) {
                (std::cmp::Ordering::Less, _) => OpResult::RolledBack,
                (std::cmp::Ordering::Equal, Err(e)) => OpResult::Error(*e),
                _ => OpResult::Error(ErrorCode::RuntimeInconsistency),
            });
            Ok((RequestBody::Immediate(ClientResult::Write(OpResult::Multi(results.collect()))), kind))
        }
    }
}

/// multiRead (22): getData and getChildren only; each answered on its own.
fn decode_multi_read(r: &mut Reader) -> Result<Decoded, DecodeError> {
    let mut ops = Vec::new();
    while let Some(t) = multi_header(r)? {
        let (path, watch) = match t {
            GET_DATA | GET_CHILDREN => path_watch(r)?,
            _ => return refuse(ErrorCode::MarshallingError),
        };
        ops.push(match t {
            GET_DATA => ClientOp::GetData { path, watch },
            _ => ClientOp::GetChildren { path, watch },
        });
    }
    op(ClientOp::MultiRead(ops), ReplyKind::MultiRead)
}
