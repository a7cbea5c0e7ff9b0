//! Messages between peers as a trace stream reports them (`MsgSent` from the sender,
//! `MsgDelivered` from the receiver), for views that have no simulator to ask: Live mode and
//! replays of its recordings.
//!
//! Between native nodes a message arrives within a millisecond, far too fast for a page that
//! redraws every 200 ms, so each message is drawn for [`SHOWN_MS`] after it was sent,
//! travelling from sender to receiver over that time; one still not delivered by then (its
//! receiver is paused, partitioned or gone) stays near the receiver, marked stalled, until
//! [`STALE_MS`]. At most [`MAX_MSGS`] are kept, so a busy cluster costs a bounded amount of
//! work per event and per drawing.

use crate::view::{kind_label, MsgView};
use std::collections::VecDeque;
use zabra_core::message::{MsgId, MsgKind};

/// Messages kept (the oldest go first).
pub const MAX_MSGS: usize = 96;
/// How long a message is drawn after it was sent (ms, on the events' clocks).
pub const SHOWN_MS: f64 = 600.0;
/// How long an undelivered message is kept (ms).
pub const STALE_MS: f64 = 5_000.0;

#[derive(Clone, Debug, PartialEq)]
struct Msg {
    id: MsgId,
    to: u64,
    kind: MsgKind,
    detail: String,
    sent_ms: f64,
    delivered: bool,
}

/// The recent messages, in the order they were sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MsgTrail {
    msgs: VecDeque<Msg>,
}

impl MsgTrail {
    pub fn sent(&mut self, id: MsgId, to: u64, kind: MsgKind, detail: &str, at_ms: f64) {
        self.forget_old(at_ms);
        if self.msgs.len() == MAX_MSGS {
            self.msgs.pop_front();
        }
        let detail = detail.chars().take(120).collect();
        self.msgs.push_back(Msg { id, to, kind, detail, sent_ms: at_ms, delivered: false });
    }

    /// The receiver took it (a delivery whose send was not seen, e.g. before the viewer
    /// joined, is ignored).
    pub fn delivered(&mut self, id: MsgId, to: u64) {
        if let Some(m) = self.msgs.iter_mut().rev().find(|m| m.id == id && m.to == to) {
            m.delivered = true;
        }
    }

    /// A crashed peer's messages will never arrive, nor will those sent to it.
    pub fn peer_down(&mut self, sid: u64) {
        self.msgs.retain(|m| m.delivered || (m.id.from.0 != sid && m.to != sid));
    }

    fn forget_old(&mut self, now_ms: f64) {
        let old = |m: &Msg| {
            let age = now_ms - m.sent_ms;
            (m.delivered && age > SHOWN_MS) || age > STALE_MS
        };
        // Sent in order, so the old ones are in front (clocks of several nodes may disagree by
        // a little: then one waits for the next call).
        while self.msgs.front().is_some_and(old) {
            self.msgs.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.msgs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.msgs.is_empty()
    }

    /// What to draw at `now_ms`: messages sent in the last [`SHOWN_MS`], and undelivered
    /// ones (stalled once older than that).
    pub fn views(&self, now_ms: f64) -> Vec<MsgView> {
        self.msgs
            .iter()
            .filter(|m| !m.delivered || now_ms - m.sent_ms <= SHOWN_MS)
            .filter(|m| now_ms - m.sent_ms <= STALE_MS)
            .map(|m| {
                let progress = ((now_ms - m.sent_ms) / SHOWN_MS).clamp(0.0, 1.0);
                let stalled = !m.delivered && progress >= 1.0;
                MsgView {
                    id: format!("{:?}", m.id),
                    from: m.id.from.0,
                    to: m.to,
                    kind: format!("{:?}", m.kind),
                    label: kind_label(m.kind),
                    detail: m.detail.clone(),
                    position: 0,
                    stalled,
                    progress: if m.delivered { progress } else { progress.min(0.9) },
                    enter: None,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zabra_core::Sid;

    fn id(from: u64, seq: u64) -> MsgId {
        MsgId { from: Sid(from), seq }
    }

    #[test]
    fn a_delivered_message_travels_for_a_while_then_goes() {
        let mut t = MsgTrail::default();
        t.sent(id(1, 1), 2, MsgKind::Proposal, "p", 1000.0);
        t.delivered(id(1, 1), 2);
        let v = t.views(1000.0 + SHOWN_MS / 2.0);
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].from, v[0].to, v[0].progress, v[0].stalled), (1, 2, 0.5, false));
        assert!(t.views(1000.0 + SHOWN_MS + 1.0).is_empty());
        t.sent(id(2, 1), 1, MsgKind::Ack, "a", 1000.0 + SHOWN_MS + 1.0);
        assert_eq!(t.len(), 1, "the delivered one is forgotten");
    }

    #[test]
    fn an_undelivered_message_stalls_near_its_receiver_until_stale_or_its_peer_goes() {
        let mut t = MsgTrail::default();
        t.sent(id(1, 7), 3, MsgKind::Ping, "", 0.0);
        let v = t.views(2.0 * SHOWN_MS);
        assert_eq!((v.len(), v[0].stalled, v[0].progress), (1, true, 0.9));
        assert!(t.views(STALE_MS + 1.0).is_empty());
        t.peer_down(3);
        assert!(t.is_empty());
    }

    #[test]
    fn the_trail_is_bounded() {
        let mut t = MsgTrail::default();
        for i in 0..(MAX_MSGS as u64 * 3) {
            t.sent(id(1, i), 2, MsgKind::Ping, "", 0.0);
        }
        assert_eq!(t.len(), MAX_MSGS);
        assert_eq!(t.views(0.0).len(), MAX_MSGS);
    }
}
