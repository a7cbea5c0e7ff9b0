//! What moved during the last move forward, so the picture can replay it as motion: the
//! messages delivered (each flies from where it was drawn to its receiver, then fades) and
//! the messages sent that are still in flight (each enters from its sender). A move forward
//! may be one event or a whole lesson step of many; every send and delivery gets its place in
//! the order they happened, and the page spreads them over a short time in that order, so a
//! reply visibly leaves after the request arrived.
//!
//! Bounded: at most [`MAX_FLIGHTS`] deliveries are kept (the latest), and a move over more
//! than [`MAX_ACTIONS`] actions (a shared link being restored) records nothing.

use crate::view::{kind_label, progress};
use std::collections::BTreeMap;
use zabra_core::ids::Sid;
use zabra_core::message::{MsgId, MsgKind};
use zabra_core::sim::Sim;
use zabra_core::trace::TraceEvent;
use zabra_core::Instant;

/// Deliveries kept for one move (the latest).
pub const MAX_FLIGHTS: usize = 40;
/// A move over more actions than this is a jump, not a motion to replay.
pub const MAX_ACTIONS: usize = 60;
/// With more deliveries than this in one move, pings (heartbeats) are not flown.
const PINGS_UP_TO: usize = 8;

/// One message delivered during the last move.
#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    /// Unique per move (so the page restarts its animation on the next move).
    pub key: String,
    pub from: u64,
    pub to: u64,
    /// The core's message kind (`k-<kind>` colours it as the dots are coloured).
    pub kind: String,
    pub label: String,
    /// Where along its link it was drawn before the move (0 when it was sent in this move).
    pub from_progress: f64,
    /// When it left (0 if before the move) and arrived, as fractions of the move, in order.
    pub start: f64,
    pub end: f64,
}

#[derive(Clone, Debug, Default)]
pub struct Motion {
    /// Counts moves, to key flights.
    serial: u64,
    /// The virtual time the move began at.
    began: Instant,
    /// The moment of the last send or delivery: events at one virtual instant share a slot
    /// (the votes a peer sends at once leave together).
    last_at: Option<Instant>,
    /// Distinct moments of sends and deliveries in this move so far.
    ordinal: u32,
    flights: Vec<(Flight, u32, u32)>,
    /// Messages sent in this move, with the ordinal of their send.
    sent: BTreeMap<(MsgId, Sid), u32>,
    seen: usize,
    recording: bool,
}

impl Motion {
    /// A move forward over `actions` actions begins (`sim` as it is before the first).
    pub fn begin(&mut self, sim: &Sim, actions: usize) {
        self.serial += 1;
        self.began = sim.now;
        self.ordinal = 0;
        self.last_at = None;
        self.flights.clear();
        self.sent.clear();
        self.seen = sim.trace.len();
        self.recording = actions <= MAX_ACTIONS;
    }

    /// Nothing to replay (a move back replays from the seed: nothing travels).
    pub fn clear(&mut self) {
        self.flights.clear();
        self.sent.clear();
        self.recording = false;
    }

    /// Reads the events of the action just applied. `sent_at`: when each message still in
    /// flight before this action was sent (read before those delivered are forgotten).
    pub fn track(&mut self, sim: &Sim, sent_at: &BTreeMap<(MsgId, Sid), Instant>) {
        let new = sim.trace.get(self.seen..).unwrap_or_default();
        let first = self.seen;
        self.seen = sim.trace.len();
        if !self.recording {
            return;
        }
        for (i, e) in new.iter().enumerate() {
            let at = sim.trace_at.get(first + i).copied().unwrap_or(sim.now);
            match e {
                TraceEvent::MsgSent { id, to, .. } => {
                    self.slot(at);
                    self.sent.insert((*id, *to), self.ordinal);
                }
                TraceEvent::MsgDelivered { id, from, to, kind } => {
                    self.slot(at);
                    self.delivered(*id, from.0, *to, *kind, at, sent_at);
                }
                _ => {}
            }
        }
    }

    fn slot(&mut self, at: Instant) {
        if self.last_at != Some(at) {
            self.ordinal += 1;
            self.last_at = Some(at);
        }
    }

    /// How many distinct moments the last move's motion has (1 for a single event).
    pub fn moments(&self) -> u32 {
        self.ordinal
    }

    fn delivered(&mut self, id: MsgId, from: u64, to: Sid, kind: MsgKind, at: Instant, sent_at: &SentAt) {
        let (start, from_progress) = match self.sent.remove(&(id, to)) {
            Some(ordinal) => (ordinal, 0.0),
            None => (0, sent_at.get(&(id, to)).map_or(0.5, |s| progress(self.began, *s, at))),
        };
        let flight = Flight {
            key: format!("f{}-{id:?}>{}", self.serial, to.0),
            from,
            to: to.0,
            kind: format!("{kind:?}"),
            label: kind_label(kind),
            from_progress,
            start: 0.0,
            end: 0.0,
        };
        self.flights.push((flight, start, self.ordinal));
        if self.flights.len() > 4 * MAX_FLIGHTS {
            self.flights.drain(..self.flights.len() - MAX_FLIGHTS);
        }
    }

    /// The deliveries of the last move, in order, with their fractions of it.
    pub fn flights(&self) -> Vec<Flight> {
        let total = self.ordinal.max(1) as f64;
        let busy = self.flights.len() > PINGS_UP_TO;
        let kept: Vec<&(Flight, u32, u32)> =
            self.flights.iter().filter(|(f, _, _)| !(busy && f.kind == "Ping")).collect();
        kept[kept.len().saturating_sub(MAX_FLIGHTS)..]
            .iter()
            .map(|(f, s, e)| Flight { start: *s as f64 / total, end: *e as f64 / total, ..f.clone() })
            .collect()
    }

    /// When a message still in flight left, as a fraction of the last move, if it left in it.
    pub fn entered(&self, id: MsgId, to: Sid) -> Option<f64> {
        let total = self.ordinal.max(1) as f64;
        self.sent.get(&(id, to)).map(|o| *o as f64 / total)
    }

    /// Counts moves: a new value means new motion to draw.
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

type SentAt = BTreeMap<(MsgId, Sid), Instant>;

#[cfg(test)]
mod tests {
    use crate::model::{Action, Classroom, Setup};

    /// One step that delivers a message flies it; a reply sent in the same move leaves after
    /// the request arrived; a move back records nothing.
    #[test]
    fn a_step_flies_what_it_delivered_in_order() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        let mut flew = 0;
        for _ in 0..30 {
            c.push(Action::Step);
            let f = c.motion().flights();
            assert!(f.iter().all(|f| (0.0..=1.0).contains(&f.from_progress) && f.start <= f.end && f.end <= 1.0));
            flew += f.len();
        }
        assert!(flew > 0, "single steps deliver messages");
        // A lesson-sized move: many deliveries, each in its place in the order.
        c.push(Action::RunFor { ms: 30 });
        let f = c.motion().flights();
        assert!(f.len() > 1, "{f:?}");
        assert!(f.windows(2).all(|w| w[0].end <= w[1].end), "in the order they arrived");
        assert!(c.motion().moments() > 1, "a run of 30 ms has several moments");
        assert!(f.iter().any(|f| f.start > 0.0), "some were sent within the move");
        let n = c.cursor();
        c.seek(n - 5);
        assert!(c.motion().flights().is_empty(), "a move back flies nothing");
    }

    /// Messages sent in the last move enter from their sender; older ones do not.
    #[test]
    fn new_messages_enter_and_old_ones_do_not() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        c.push(Action::Step);
        let sim = c.sim();
        let fresh = sim.in_flight_messages().into_iter().filter(|m| c.motion().entered(m.id, m.to).is_some()).count();
        assert!(fresh > 0, "the first step sends votes");
        c.push(Action::Step);
        let sim = c.sim();
        let old = sim.in_flight_messages().into_iter().filter(|m| c.motion().entered(m.id, m.to).is_none()).count();
        assert!(old > 0, "messages sent before the move do not enter again");
    }

    #[test]
    fn a_long_jump_records_nothing() {
        let actions = vec![Action::Step; super::MAX_ACTIONS + 5];
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], actions);
        c.seek(super::MAX_ACTIONS + 5);
        assert!(c.motion().flights().is_empty());
    }
}
