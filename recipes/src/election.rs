//! Leader election without herd effect (ZooKeeper recipes, "Leader Election").
//!
//! Znodes: `dir/n_{session}.{n}-NNNNNNNNNN`, ephemeral sequential, holding the candidate's
//! id. The lowest sequence leads. Every other candidate watches only the candidate just before
//! it, so the leader's failure notifies one client: the next in line, which checks the
//! listing and, finding no one before it, leads.
//!
//! Failure: the leader's session ending (crash, or a pause longer than its session timeout)
//! deletes its znode; exactly one candidate, the next, becomes leader. A candidate that
//! crashes while waiting only makes the one behind it watch the one before it instead. A
//! paused leader learns of its demotion late; anything it writes elsewhere should carry
//! [`Leadership::epoch`] (its znode's czxid) the way a lock holder carries a fencing token.

use crate::ticket::{give_back, take, wait_turn};
use crate::{by_sequence, join, Coord, Error, Mode, Result, Ticket};

pub struct Candidate<C: Coord> {
    c: C,
    dir: String,
    id: String,
    ticket: Option<Ticket>,
}

/// What a candidate gets on winning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leadership {
    pub node: String,
    /// The czxid of the winning znode: larger for every later leader of this election.
    pub epoch: i64,
}

impl<C: Coord> Candidate<C> {
    pub fn new(c: C, dir: &str, id: &str) -> Self {
        Candidate { c, dir: dir.to_string(), id: id.to_string(), ticket: None }
    }

    /// Enters the election and waits until this candidate leads. Dropping the future stops
    /// waiting; [`Candidate::resign`] then leaves the election.
    pub async fn campaign(&mut self) -> Result<Leadership> {
        if self.ticket.is_none() {
            self.ticket = Some(take(&self.c, &self.dir, "n_", self.id.as_bytes(), Mode::EphemeralSequential).await?);
        }
        let ticket = self.ticket.clone().expect("just taken");
        if let Err(e) = wait_turn(&self.c, &self.dir, &ticket, |_| true).await {
            self.ticket = None;
            let _ = give_back(&self.c, &ticket).await;
            return Err(e);
        }
        Ok(Leadership { node: ticket.path, epoch: ticket.czxid })
    }

    /// Steps down (or leaves the line): the next candidate is notified.
    pub async fn resign(&mut self) -> Result<()> {
        match self.ticket.take() {
            Some(t) => give_back(&self.c, &t).await,
            None => Ok(()),
        }
    }

    pub fn ticket(&self) -> Option<&Ticket> {
        self.ticket.as_ref()
    }
}

/// The id of the current leader, read from the lowest candidate znode (`None` with no
/// candidates). One observation: it may change right after.
pub async fn current_leader<C: Coord>(c: &C, dir: &str) -> Result<Option<String>> {
    for _ in 0..crate::RETRIES {
        let line = by_sequence(retry!(c, c.get_children(dir))?);
        let Some((_, first)) = line.first() else { return Ok(None) };
        let path = join(dir, first);
        match retry!(c, c.get_data(&path)) {
            Ok((data, _)) => return Ok(Some(String::from_utf8_lossy(&data).into_owned())),
            Err(Error::NoNode) => continue, // it left between the listing and the read
            Err(e) => return Err(e),
        }
    }
    Err(Error::Other("the election kept changing".into()))
}

/// The ids of all candidates in line order.
pub async fn candidates<C: Coord>(c: &C, dir: &str) -> Result<Vec<String>> {
    let line = by_sequence(retry!(c, c.get_children(dir))?);
    let mut ids = Vec::new();
    for (_, name) in line {
        let path = join(dir, &name);
        match retry!(c, c.get_data(&path)) {
            Ok((data, _)) => ids.push(String::from_utf8_lossy(&data).into_owned()),
            Err(Error::NoNode) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(ids)
}
