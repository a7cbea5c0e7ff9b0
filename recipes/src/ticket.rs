//! A place in line: the ephemeral sequential znode that election, the lock and the
//! read/write lock are built on, and the wait for one's turn that watches a single
//! predecessor (ZooKeeper recipes, "Locks": no herd effect, each deletion wakes one client).

use crate::{by_sequence, ensure_path, join, Coord, Error, EventKind, Mode, Result, RETRIES, RETRY_PAUSE_MS};

/// One participant's sequential znode in a recipe's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub path: String,
    /// The last path component, `prefix` + tag + sequence.
    pub name: String,
    pub seq: u64,
    /// The zxid that created it: larger for every later ticket in the same directory.
    pub czxid: i64,
}

/// Creates a sequential znode `dir/{prefix}{session}.{n}-NNNNNNNNNN`.
///
/// The session and a counter in the name make it findable when the reply is lost: ZooKeeper's
/// recipes page warns that a create may succeed while its answer does not arrive, and a
/// client that simply tried again would leave an orphan that blocks everyone behind it until
/// its session ends (Curator's "protected" mode does the same with a GUID).
pub(crate) async fn take<C: Coord>(c: &C, dir: &str, prefix: &str, data: &[u8], mode: Mode) -> Result<Ticket> {
    debug_assert!(mode.is_sequential());
    let tag = format!("{prefix}{:x}.{}-", c.session_id() as u64, c.next_tag());
    let base = join(dir, &tag);
    for _ in 0..RETRIES {
        match c.create(&base, data, mode).await {
            Ok((path, stat)) => return from_path(path, stat.czxid),
            Err(Error::ConnectionLoss) => {
                c.sleep(RETRY_PAUSE_MS).await;
                if let Some(t) = find(c, dir, &tag).await? {
                    return Ok(t);
                }
            }
            Err(Error::NoNode) => ensure_path(c, dir).await?,
            Err(e) => return Err(e),
        }
    }
    Err(Error::ConnectionLoss)
}

fn from_path(path: String, czxid: i64) -> Result<Ticket> {
    let name = path.rsplit('/').next().unwrap_or_default().to_string();
    let seq = crate::sequence(&name).ok_or_else(|| Error::Other(format!("{path}: no sequence number")))?;
    Ok(Ticket { path, name, seq, czxid })
}

/// The ticket whose name starts with `tag`, if the create went through after all.
async fn find<C: Coord>(c: &C, dir: &str, tag: &str) -> Result<Option<Ticket>> {
    let children = retry!(c, c.get_children(dir))?;
    let Some(name) = children.into_iter().find(|n| n.starts_with(tag)) else { return Ok(None) };
    let path = join(dir, &name);
    match retry!(c, c.exists(&path))? {
        Some(stat) => from_path(path, stat.czxid).map(Some),
        None => Ok(None),
    }
}

/// Waits until no znode in `dir` that `blocks` precedes `mine`. Watches only the nearest
/// blocking predecessor, so a deletion wakes exactly one waiter; on a wake-up it lists the
/// directory again, because that predecessor may have left early (a crashed waiter) while the
/// one before it still holds. Fails with [`Error::NoNode`] if `mine` is gone (the session
/// expired) and [`Error::SessionExpired`] if the watch reports the session lost.
pub(crate) async fn wait_turn<C: Coord>(c: &C, dir: &str, mine: &Ticket, blocks: impl Fn(&str) -> bool) -> Result<()> {
    loop {
        let line = by_sequence(retry!(c, c.get_children(dir))?);
        if !line.iter().any(|(_, n)| *n == mine.name) {
            return Err(Error::NoNode);
        }
        let before = line.iter().rfind(|(s, n)| *s < mine.seq && blocks(n));
        let Some((_, predecessor)) = before else { return Ok(()) };
        let path = join(dir, predecessor);
        let (stat, watch) = retry!(c, c.exists_watch(&path))?;
        if stat.is_none() {
            continue; // gone between the listing and the watch
        }
        if watch.await.kind == EventKind::SessionLost {
            return Err(Error::SessionExpired);
        }
    }
}

/// Deletes the ticket's znode; one already gone (its session expired) is fine.
pub(crate) async fn give_back<C: Coord>(c: &C, ticket: &Ticket) -> Result<()> {
    match retry!(c, c.delete(&ticket.path, None)) {
        Ok(()) | Err(Error::NoNode) => Ok(()),
        Err(e) => Err(e),
    }
}

/// A contender's place in a lock's line: its ticket, kept as soon as created (so a cancelled
/// wait can still be cleaned up by [`Place::leave`] instead of leaving a znode that blocks
/// the line until the session ends), and whether it holds. The exclusive and the read/write
/// locks differ only in their prefix and in which predecessors block them.
#[derive(Debug, Default)]
pub(crate) struct Place {
    pub ticket: Option<Ticket>,
    pub held: bool,
}

impl Place {
    /// Takes a ticket under `prefix` (once) and waits until no predecessor that `blocks`
    /// precedes it; on failure the ticket is given back. The held ticket's czxid is the
    /// fencing token.
    pub async fn wait<C: Coord>(
        &mut self,
        c: &C,
        dir: &str,
        prefix: &str,
        blocks: impl Fn(&str) -> bool,
    ) -> Result<i64> {
        if self.held {
            return Err(Error::Other("already held".into()));
        }
        if self.ticket.is_none() {
            self.ticket = Some(take(c, dir, prefix, b"", Mode::EphemeralSequential).await?);
        }
        let ticket = self.ticket.clone().expect("just taken");
        if let Err(e) = wait_turn(c, dir, &ticket, blocks).await {
            self.ticket = None;
            let _ = give_back(c, &ticket).await;
            return Err(e);
        }
        self.held = true;
        Ok(ticket.czxid)
    }

    /// Releases, or leaves the line if still waiting.
    pub async fn leave<C: Coord>(&mut self, c: &C) -> Result<()> {
        self.held = false;
        match self.ticket.take() {
            Some(t) => give_back(c, &t).await,
            None => Ok(()),
        }
    }
}
