//! What tab peers say to each other on their cluster's BroadcastChannel.
//!
//! A BroadcastChannel reaches every other tab of the origin that listens on that name, so
//! each message names its sender and (except beacons) its one receiver; the others drop it.
//! A tab peer is an *incarnation*: a sid plus a random number drawn when its worker starts,
//! so a reloaded tab (same sid, new incarnation) is told apart from the one it replaces and a
//! late message of the old one never reaches the new one's connection.
//!
//! On top of this, [`crate::links`] makes one logical, authenticated, FIFO connection per
//! pair of tabs, with the peer wire of `zabra-peerwire` inside: its handshake (`Hello`, a
//! challenge–response keyed by the cluster secret) and its chunked postcard envelopes.

use serde::{Deserialize, Serialize};

/// One end of a logical connection: a sid and the incarnation running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct End {
    pub sid: u64,
    pub inc: u64,
}

/// Everything on the channel. `from` is the sender; `to` the receiver's incarnation as the
/// sender knows it (a message for an older incarnation of the receiver is dropped).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BusMsg {
    /// "I am here": sent by every tab peer at a fixed interval, to everyone. A tab that stops
    /// beaconing is gone (closed, crashed, frozen) after [`crate::links::LinkTimings::dead_after`].
    Beacon { from: End },
    /// A handshake message of `zabra_peerwire::Handshake`, encoded.
    Handshake { from: End, to: End, body: Vec<u8> },
    /// One chunk (`zabra_peerwire::frames`) of an encoded envelope; `seq` counts the chunks of
    /// this connection from 1, so a gap (a message lost) breaks the connection.
    Data { from: End, to: End, seq: u64, chunk: Vec<u8> },
    /// The sender closed the connection (its core said `Disconnect`, or it found a fault).
    Close { from: End, to: End },
    /// The sender's tab is going away (the page sends it on `pagehide`): every connection
    /// with it is over.
    Bye { from: End },
}

impl BusMsg {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("bus messages encode")
    }

    /// Refuses anything that is not exactly one message (other origins' code cannot post
    /// here, but a tab of another build can).
    pub fn decode(bytes: &[u8]) -> Option<BusMsg> {
        match postcard::take_from_bytes(bytes) {
            Ok((m, [])) => Some(m),
            _ => None,
        }
    }

    pub fn sender(&self) -> End {
        match self {
            BusMsg::Beacon { from }
            | BusMsg::Handshake { from, .. }
            | BusMsg::Data { from, .. }
            | BusMsg::Close { from, .. }
            | BusMsg::Bye { from } => *from,
        }
    }

    /// The receiver, for the messages of one connection.
    pub fn receiver(&self) -> Option<End> {
        match self {
            BusMsg::Handshake { to, .. } | BusMsg::Data { to, .. } | BusMsg::Close { to, .. } => Some(*to),
            BusMsg::Beacon { .. } | BusMsg::Bye { .. } => None,
        }
    }
}

/// The channel's name for a cluster: tabs of other clusters never see its traffic.
pub fn channel_name(cluster: &str) -> String {
    format!("zabra-tabs/{cluster}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let m = BusMsg::Data { from: End { sid: 2, inc: 7 }, to: End { sid: 1, inc: 9 }, seq: 3, chunk: vec![0, 1, 2] };
        assert_eq!(BusMsg::decode(&m.encode()), Some(m.clone()));
        let mut longer = m.encode();
        longer.push(0);
        assert_eq!(BusMsg::decode(&longer), None);
        assert_eq!(BusMsg::decode(&[200, 1]), None);
    }
}
