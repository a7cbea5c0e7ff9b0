//! A znode's data as ZooKeeper keeps it: bytes, or null.
//!
//! ZooKeeper's `DataNode.data` is a Java `byte[]` that may be null: a create or setData with
//! null data stores null, getData gives it back as a null buffer (jute length -1), the
//! `Stat`'s dataLength is 0, and the digest hashes it as no bytes at all
//! (`DigestCalculator` skips a null array), so null and empty hash alike. Clients tell them
//! apart (kazoo's `test_create_null_data` and `test_set_null_data` check the round trip), so
//! the tree keeps them apart. Whatever only needs the bytes reads [`Data::bytes`], where null
//! is empty; only the client encodings ask [`Data::as_option`].
//!
//! Serde: `null` or the bytes, as a byte string in binary encodings and an array of numbers
//! in JSON (the `/api` form: `"data": null` or `"data": [104, 105]`).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Data(#[serde(with = "serde_bytes")] Option<Vec<u8>>);

impl Data {
    /// Null data (a Java `null` byte array).
    pub const NULL: Data = Data(None);

    /// No bytes (not null).
    pub fn empty() -> Data {
        Data(Some(Vec::new()))
    }

    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    /// The bytes; null reads as none.
    pub fn bytes(&self) -> &[u8] {
        self.0.as_deref().unwrap_or_default()
    }

    /// The length ZooKeeper reports as `Stat.dataLength` (0 for null).
    pub fn len(&self) -> usize {
        self.bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `None` for null: for encodings that carry null (jute's -1 length, JSON's `null`).
    pub fn as_option(&self) -> Option<&[u8]> {
        self.0.as_deref()
    }
}

impl From<Vec<u8>> for Data {
    fn from(v: Vec<u8>) -> Data {
        Data(Some(v))
    }
}

impl From<&[u8]> for Data {
    fn from(v: &[u8]) -> Data {
        Data(Some(v.to_vec()))
    }
}

impl<const N: usize> From<&[u8; N]> for Data {
    fn from(v: &[u8; N]) -> Data {
        Data(Some(v.to_vec()))
    }
}

impl From<&str> for Data {
    fn from(v: &str) -> Data {
        Data(Some(v.as_bytes().to_vec()))
    }
}

impl From<Option<Vec<u8>>> for Data {
    fn from(v: Option<Vec<u8>>) -> Data {
        Data(v)
    }
}

/// As the `Vec<u8>` it replaced prints (`[104, 105]`), and `null` for null.
impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Data;

    #[test]
    fn null_is_kept_apart_from_empty() {
        assert!(Data::NULL.is_null() && !Data::empty().is_null());
        assert_ne!(Data::NULL, Data::empty());
        assert_eq!((Data::NULL.len(), Data::NULL.bytes()), (0, &[][..]));
        assert_eq!(Data::from("hi").as_option(), Some(&b"hi"[..]));
        assert_eq!(Data::NULL.as_option(), None);
    }

    #[test]
    fn json_is_null_or_an_array_of_numbers() {
        assert_eq!(serde_json::to_string(&Data::NULL).unwrap(), "null");
        assert_eq!(serde_json::to_string(&Data::from("hi")).unwrap(), "[104,105]");
        assert_eq!(serde_json::from_str::<Data>("null").unwrap(), Data::NULL);
        assert_eq!(serde_json::from_str::<Data>("[104,105]").unwrap(), Data::from("hi"));
        assert_eq!(serde_json::from_str::<Data>("[]").unwrap(), Data::empty());
        assert!(serde_json::from_str::<Data>("[256]").is_err());
    }
}
