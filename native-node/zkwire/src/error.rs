//! Errors of the codec. Any of them means the connection is unusable: the node logs it and
//! closes that one connection (issue 4; ZooKeeper also drops a connection whose frames it
//! cannot read).

use thiserror::Error;

/// A frame or record that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// A field runs past the end of the frame.
    #[error("truncated frame: {field} needs {needed} bytes at offset {offset}, {available} left")]
    Truncated { field: &'static str, offset: usize, needed: usize, available: usize },
    /// A buffer, string or vector length that is negative (other than -1 for null) or larger
    /// than what is left of the frame.
    #[error("bad length {len} for {field} at offset {offset}")]
    BadLength { field: &'static str, offset: usize, len: i32 },
    /// A request frame shorter than its 8-byte header.
    #[error("request frame of {len} bytes is shorter than the 8-byte header")]
    ShortHeader { len: usize },
}

/// The length prefix of a frame is out of range (ZooKeeper closes the connection).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("frame length {len} outside 0..={max}")]
    BadLength { len: i64, max: usize },
}
