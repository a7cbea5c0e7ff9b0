//! Naming: unique names from sequential znodes (ZooKeeper recipes, "Name Service"; the
//! programmer's guide on sequence flags).
//!
//! Znodes: `dir/{prefix}NNNNNNNNNN`, persistent sequential. The server appends the parent's
//! child counter, so every name in `dir` is distinct whichever client asks and through
//! whichever server, and names given later are larger (the counter only grows).
//!
//! Failure: if a create's reply is lost, asking again takes a new number; the first one stays
//! allocated (a gap, never a duplicate). Deleting a name does not free its number.

use crate::{ensure_path, Coord, Error, Mode, Result};

/// A name given out by [`unique_name`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name {
    pub path: String,
    pub sequence: u64,
}

/// Allocates a new unique name under `dir` (created if missing), holding `data`.
pub async fn unique_name<C: Coord>(c: &C, dir: &str, prefix: &str, data: &[u8]) -> Result<Name> {
    let base = crate::join(dir, prefix);
    for _ in 0..crate::RETRIES {
        match c.create(&base, data, Mode::PersistentSequential).await {
            Ok((path, _)) => {
                let name = path.rsplit('/').next().unwrap_or_default();
                let sequence =
                    name[prefix.len()..].parse().map_err(|_| Error::Other(format!("{path}: no sequence")))?;
                return Ok(Name { path, sequence });
            }
            Err(Error::NoNode) => ensure_path(c, dir).await?,
            Err(Error::ConnectionLoss) => c.sleep(crate::RETRY_PAUSE_MS).await,
            Err(e) => return Err(e),
        }
    }
    Err(Error::ConnectionLoss)
}
