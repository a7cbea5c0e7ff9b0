//! Opcodes (`ZooDefs.OpCode`, wire reference §6) and special xids (§5).

pub const NOTIFICATION: i32 = 0;
pub const CREATE: i32 = 1;
pub const DELETE: i32 = 2;
pub const EXISTS: i32 = 3;
pub const GET_DATA: i32 = 4;
pub const SET_DATA: i32 = 5;
pub const GET_ACL: i32 = 6;
pub const SET_ACL: i32 = 7;
pub const GET_CHILDREN: i32 = 8;
pub const SYNC: i32 = 9;
pub const PING: i32 = 11;
pub const GET_CHILDREN2: i32 = 12;
pub const CHECK: i32 = 13;
pub const MULTI: i32 = 14;
pub const CREATE2: i32 = 15;
pub const RECONFIG: i32 = 16;
pub const CHECK_WATCHES: i32 = 17;
pub const REMOVE_WATCHES: i32 = 18;
pub const CREATE_CONTAINER: i32 = 19;
pub const DELETE_CONTAINER: i32 = 20;
pub const CREATE_TTL: i32 = 21;
pub const MULTI_READ: i32 = 22;
pub const AUTH: i32 = 100;
pub const SET_WATCHES: i32 = 101;
pub const SASL: i32 = 102;
pub const GET_EPHEMERALS: i32 = 103;
pub const GET_ALL_CHILDREN_NUMBER: i32 = 104;
pub const SET_WATCHES2: i32 = 105;
pub const ADD_WATCH: i32 = 106;
pub const WHO_AM_I: i32 = 107;
pub const CREATE_SESSION: i32 = -10;
pub const CLOSE_SESSION: i32 = -11;
/// `MultiHeader.type` of an error result and of the end marker.
pub const ERROR: i32 = -1;

/// xid of a watch notification (server to client).
pub const NOTIFICATION_XID: i32 = -1;
/// xid of a ping and its reply (the reply always carries -2, whatever the request had).
pub const PING_XID: i32 = -2;
/// xid of an auth packet and its reply.
pub const AUTH_XID: i32 = -4;
/// xid the C client gives setWatches (echoed in the reply).
pub const SET_WATCHES_XID: i32 = -8;

/// ZooKeeper's name for an opcode (as `cons` prints it in `lop=`), or `"UNKNOWN"`.
pub fn name(opcode: i32) -> &'static str {
    match opcode {
        NOTIFICATION => "NOTIFICATION",
        CREATE => "CREA",
        DELETE => "DELE",
        EXISTS => "EXIS",
        GET_DATA => "GETD",
        SET_DATA => "SETD",
        GET_ACL => "GETA",
        SET_ACL => "SETA",
        GET_CHILDREN => "GETC",
        SYNC => "SYNC",
        PING => "PING",
        GET_CHILDREN2 => "GET2",
        CHECK => "CKVR",
        MULTI => "MULT",
        CREATE2 => "CRE2",
        RECONFIG => "RCFG",
        CHECK_WATCHES => "CHKW",
        REMOVE_WATCHES => "REMW",
        CREATE_CONTAINER => "CCON",
        DELETE_CONTAINER => "DCON",
        CREATE_TTL => "CTTL",
        MULTI_READ => "MLTR",
        AUTH => "AUTH",
        SET_WATCHES => "SETW",
        SASL => "SASL",
        GET_EPHEMERALS => "GETE",
        GET_ALL_CHILDREN_NUMBER => "GETACN",
        SET_WATCHES2 => "STW2",
        ADD_WATCH => "ADDW",
        WHO_AM_I => "HOMI",
        CREATE_SESSION => "SESS",
        CLOSE_SESSION => "CLOS",
        _ => "UNKNOWN",
    }
}
