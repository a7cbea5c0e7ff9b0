//! Jute primitives (wire reference §2): big-endian integers, length-prefixed buffers and
//! strings with -1 for null, counted vectors. Reading never panics and never allocates more
//! than the frame holds.

use crate::error::DecodeError;
use zabra_core::acl::{Acl, Id};
use zabra_core::datatree::{Data, Stat};
use zabra_core::Zxid;

/// A cursor over one frame's payload.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            let (offset, available) = (self.pos, self.remaining());
            return Err(DecodeError::Truncated { field, offset, needed: n, available });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    /// Java reads any non-zero byte as true.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u8(field)? != 0)
    }

    pub fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let b = self.take(8, field)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A length prefix: `None` for -1 (null); an error if negative otherwise or if more than
    /// `remaining / min_elem` elements could not possibly fit.
    fn len(&mut self, field: &'static str, min_elem: usize) -> Result<Option<usize>, DecodeError> {
        let offset = self.pos;
        let len = self.i32(field)?;
        if len == -1 {
            return Ok(None);
        }
        let fits = len >= 0 && (len as usize).saturating_mul(min_elem) <= self.remaining();
        if !fits {
            return Err(DecodeError::BadLength { field, offset, len });
        }
        Ok(Some(len as usize))
    }

    /// A jute `buffer`; null (-1) reads as `None`.
    pub fn buffer_opt(&mut self, field: &'static str) -> Result<Option<Vec<u8>>, DecodeError> {
        match self.len(field, 1)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.take(n, field)?.to_vec())),
        }
    }

    /// A jute `buffer` where ZooKeeper keeps no null apart (passwords, auth); null reads as
    /// empty. Znode data uses [`Reader::data`].
    pub fn buffer(&mut self, field: &'static str) -> Result<Vec<u8>, DecodeError> {
        Ok(self.buffer_opt(field)?.unwrap_or_default())
    }

    /// Znode data, a jute `buffer` where null (-1) stays null (ZooKeeper stores and returns it).
    pub fn data(&mut self, field: &'static str) -> Result<Data, DecodeError> {
        Ok(self.buffer_opt(field)?.into())
    }

    /// A jute `ustring`; null reads as `""` (kazoo sends `""` as null, §2). Invalid UTF-8 is
    /// replaced with U+FFFD, as Java's reader does (path validation then rejects it).
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        match self.len(field, 1)? {
            None => Ok(String::new()),
            Some(n) => Ok(String::from_utf8_lossy(self.take(n, field)?).into_owned()),
        }
    }

    /// A jute `vector`; null reads as empty. `min_elem` is the smallest encoded element.
    pub fn vec<T>(
        &mut self,
        field: &'static str,
        min_elem: usize,
        mut elem: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.len(field, min_elem.max(1))?.unwrap_or(0);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(elem(self)?);
        }
        Ok(out)
    }

    pub fn strings(&mut self, field: &'static str) -> Result<Vec<String>, DecodeError> {
        self.vec(field, 4, |r| r.string(field))
    }

    pub fn acl_list(&mut self) -> Result<Vec<Acl>, DecodeError> {
        self.vec("acl", 12, |r| {
            let perms = r.i32("acl.perms")? as u32;
            let scheme = r.string("acl.id.scheme")?;
            let id = r.string("acl.id.id")?;
            Ok(Acl { perms, id: Id { scheme, id } })
        })
    }
}

/// Appends jute fields to a byte vector.
#[derive(Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    /// A writer with room reserved for the 4-byte frame length, filled in by `finish`.
    pub fn framed() -> Self {
        Writer { buf: vec![0; 4] }
    }

    /// Fill in the length prefix and return the frame.
    pub fn finish(mut self) -> Vec<u8> {
        let n = (self.buf.len() - 4) as i32;
        self.buf[..4].copy_from_slice(&n.to_be_bytes());
        self.buf
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Always exactly 0 or 1 (kazoo compares with `== 1`).
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u8(v as u8)
    }

    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn zxid(&mut self, z: Zxid) -> &mut Self {
        self.i64(z.as_u64() as i64)
    }

    pub fn buffer(&mut self, b: &[u8]) -> &mut Self {
        self.i32(b.len() as i32);
        self.buf.extend_from_slice(b);
        self
    }

    /// Znode data: null as length -1, as ZooKeeper writes a null `byte[]`.
    pub fn data(&mut self, d: &Data) -> &mut Self {
        match d.as_option() {
            Some(b) => self.buffer(b),
            None => self.i32(-1),
        }
    }

    pub fn string(&mut self, s: &str) -> &mut Self {
        self.buffer(s.as_bytes())
    }

    pub fn strings(&mut self, v: &[String]) -> &mut Self {
        self.i32(v.len() as i32);
        for s in v {
            self.string(s);
        }
        self
    }

    pub fn acl_list(&mut self, acl: &[Acl]) -> &mut Self {
        self.i32(acl.len() as i32);
        for a in acl {
            self.i32(a.perms as i32).string(&a.id.scheme).string(&a.id.id);
        }
        self
    }

    /// The 68-byte `Stat` (§3.2).
    pub fn stat(&mut self, s: &Stat) -> &mut Self {
        self.zxid(s.czxid).zxid(s.mzxid).i64(s.ctime).i64(s.mtime);
        self.i32(s.version).i32(s.cversion).i32(s.aversion).i64(s.ephemeral_owner);
        self.i32(s.data_length).i32(s.num_children).zxid(s.pzxid)
    }
}
