//! Test helpers: hex, a client-side reply decoder (to re-encode captured replies), and the
//! capture logs of `zk-wire/`.
#![allow(dead_code)]

use zabra_core::acl::{Acl, Id};
use zabra_core::datatree::{Data, OpResult, Stat};
use zabra_core::peer::ClientResult;
use zabra_core::Zxid;
use zabra_zkwire::{error_from_code, opcode::*, ReplyKind};

pub fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The payload of a framed hex string (drops the 4-byte length, checking it).
pub fn payload(framed_hex: &str) -> Vec<u8> {
    let b = unhex(framed_hex);
    let n = i32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    assert_eq!(n, b.len() - 4, "length prefix");
    b[4..].to_vec()
}

pub fn stat(v: [i64; 11]) -> Stat {
    Stat {
        czxid: Zxid::from_u64(v[0] as u64),
        mzxid: Zxid::from_u64(v[1] as u64),
        ctime: v[2],
        mtime: v[3],
        version: v[4] as i32,
        cversion: v[5] as i32,
        aversion: v[6] as i32,
        ephemeral_owner: v[7],
        data_length: v[8] as i32,
        num_children: v[9] as i32,
        pzxid: Zxid::from_u64(v[10] as u64),
    }
}

/// A minimal jute reader for replies (the client side, which the crate does not need).
pub struct R<'a>(pub &'a [u8]);

impl R<'_> {
    pub fn i32(&mut self) -> i32 {
        let (h, t) = self.0.split_at(4);
        self.0 = t;
        i32::from_be_bytes(h.try_into().unwrap())
    }
    pub fn i64(&mut self) -> i64 {
        let (h, t) = self.0.split_at(8);
        self.0 = t;
        i64::from_be_bytes(h.try_into().unwrap())
    }
    pub fn u8(&mut self) -> u8 {
        let v = self.0[0];
        self.0 = &self.0[1..];
        v
    }
    /// Znode data: -1 is null.
    pub fn data(&mut self) -> Data {
        if self.0[..4] == [0xff; 4] {
            self.i32();
            return Data::NULL;
        }
        self.buf().into()
    }

    pub fn buf(&mut self) -> Vec<u8> {
        let n = self.i32();
        if n < 0 {
            return Vec::new();
        }
        let (h, t) = self.0.split_at(n as usize);
        self.0 = t;
        h.to_vec()
    }
    pub fn s(&mut self) -> String {
        String::from_utf8(self.buf()).unwrap()
    }
    pub fn strings(&mut self) -> Vec<String> {
        let n = self.i32().max(0);
        (0..n).map(|_| self.s()).collect()
    }
    pub fn stat(&mut self) -> Stat {
        let mut v = [0i64; 11];
        for (i, x) in v.iter_mut().enumerate() {
            *x = if matches!(i, 4 | 5 | 6 | 8 | 9) { self.i32() as i64 } else { self.i64() };
        }
        stat(v)
    }
}

/// Decode a reply payload to (xid, zxid, result), given the request's opcode and kind.
pub fn decode_reply(p: &[u8], opcode: i32, kind: &ReplyKind) -> (i32, i64, ClientResult) {
    let mut r = R(p);
    let (xid, zxid, err) = (r.i32(), r.i64(), r.i32());
    if err != 0 {
        return (xid, zxid, ClientResult::Error(error_from_code(err).expect("known code")));
    }
    let res = match (opcode, kind) {
        (CREATE, _) => ClientResult::Write(OpResult::Created { path: r.s(), stat: Stat::default() }),
        (CREATE2 | CREATE_CONTAINER | CREATE_TTL, _) => {
            ClientResult::Write(OpResult::Created { path: r.s(), stat: r.stat() })
        }
        (DELETE, _) => ClientResult::Write(OpResult::Deleted),
        (EXISTS, _) => ClientResult::Exists(Some(r.stat())),
        (SET_DATA, _) => ClientResult::Write(OpResult::SetData { stat: r.stat() }),
        (SET_ACL, _) => ClientResult::Write(OpResult::SetAcl { stat: r.stat() }),
        (GET_DATA, _) => ClientResult::Data { data: r.data(), stat: r.stat() },
        (GET_ACL, _) => {
            let n = r.i32().max(0);
            let acl = (0..n).map(|_| Acl { perms: r.i32() as u32, id: Id { scheme: r.s(), id: r.s() } }).collect();
            ClientResult::Acl { acl, stat: r.stat() }
        }
        (GET_CHILDREN, _) => ClientResult::Children { children: r.strings(), stat: Stat::default() },
        (GET_CHILDREN2, _) => ClientResult::Children { children: r.strings(), stat: r.stat() },
        (SYNC, _) => {
            r.s();
            ClientResult::Synced
        }
        (MULTI, ReplyKind::Multi(_)) => ClientResult::Write(OpResult::Multi(multi(&mut r))),
        (MULTI_READ, _) => ClientResult::MultiRead(multi_read(&mut r)),
        (CLOSE_SESSION, _) => ClientResult::Write(OpResult::SessionClosed),
        (GET_EPHEMERALS, _) => ClientResult::Paths(r.strings()),
        (GET_ALL_CHILDREN_NUMBER, _) => ClientResult::Count(r.i32() as usize),
        (WHO_AM_I, _) => {
            let n = r.i32().max(0);
            ClientResult::Identities((0..n).map(|_| Id { scheme: r.s(), id: r.s() }).collect())
        }
        _ => ClientResult::Ok,
    };
    (xid, zxid, res)
}

fn multi(r: &mut R) -> Vec<OpResult> {
    let mut out = Vec::new();
    loop {
        let (t, done, err) = (r.i32(), r.u8(), r.i32());
        if done != 0 {
            return out;
        }
        out.push(match t {
            CREATE => OpResult::Created { path: r.s(), stat: Stat::default() },
            CREATE2 => OpResult::Created { path: r.s(), stat: r.stat() },
            DELETE => OpResult::Deleted,
            SET_DATA => OpResult::SetData { stat: r.stat() },
            CHECK => OpResult::Checked,
            _ => {
                assert_eq!(r.i32(), err);
                match err {
                    0 => OpResult::RolledBack,
                    e => OpResult::Error(error_from_code(e).unwrap()),
                }
            }
        });
    }
}

fn multi_read(r: &mut R) -> Vec<ClientResult> {
    let mut out = Vec::new();
    loop {
        let (t, done, err) = (r.i32(), r.u8(), r.i32());
        if done != 0 {
            return out;
        }
        out.push(match t {
            GET_DATA => ClientResult::Data { data: r.data(), stat: r.stat() },
            GET_CHILDREN => ClientResult::Children { children: r.strings(), stat: Stat::default() },
            _ => {
                assert_eq!(r.i32(), err);
                ClientResult::Error(error_from_code(err).unwrap())
            }
        });
    }
}

/// One recorded frame: connection, direction (true = client to server), framed bytes.
pub struct Rec {
    pub conn: u64,
    pub c2s: bool,
    pub bytes: Vec<u8>,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let k = format!("\"{key}\": ");
    let i = line.find(&k).expect("field") + k.len();
    let rest = &line[i..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    let end = rest.find(['"', ',', '}']).unwrap_or(rest.len());
    &rest[..end]
}

/// The frames of a capture log (`zk-wire/*.jsonl`), or `None` if the reference folder is
/// not next to the workspace.
pub fn capture(name: &str) -> Option<Vec<Rec>> {
    let dir = std::env::var("ZK_WIRE_DIR")
        .unwrap_or_else(|_| format!("{}/../../../shared/zk-wire", env!("CARGO_MANIFEST_DIR")));
    let text = std::fs::read_to_string(format!("{dir}/{name}")).ok()?;
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if !field(line, "note").is_empty() {
            continue;
        }
        let conn = field(line, "conn").trim().parse().expect("conn");
        out.push(Rec { conn, c2s: field(line, "dir") == "c2s", bytes: unhex(field(line, "hex")) });
    }
    Some(out)
}
