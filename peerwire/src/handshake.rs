//! The handshake: `Hello` both ways and a mutual challenge–response.
//!
//! Each side proves it holds the key (the cluster secret; a browser tab's join token later)
//! with HMAC-SHA256 over a transcript of both hellos (cluster, sids, roles, protocol version
//! and both fresh nonces) and the prover's side. So a proof is good for this one connection
//! and this one direction: an old proof does not match a fresh nonce (replay), the acceptor's
//! proof is not a dialer's proof (reflection), and a proof made for another pair of sids does
//! not match (relay to a third peer). The caller draws the nonces from the OS random source;
//! this crate does no IO.

use crate::codec::{from_bytes, to_bytes};
use crate::WireError;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The peer wire's version; a peer with another one is refused at `Hello`. 3: the messages
/// of a leader–learner session carry its epoch. 4: Ack and Commit are cumulative (an older
/// leader would wait forever for the per-zxid Acks a newer follower no longer sends).
pub const PROTOCOL_VERSION: u32 = 4;
/// Bytes of a nonce (256 bits from the OS random source).
pub const NONCE_LEN: usize = 32;
/// The largest handshake message accepted (a `Hello` is far smaller).
pub const MAX_HANDSHAKE: usize = 4096;
/// Separates these proofs from any other use of the same key.
const DOMAIN: &str = "zabra peer handshake v2";

pub type Proof = [u8; 32];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Voter,
    Observer,
}

/// The first thing each side says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub cluster: String,
    pub sid: u64,
    pub role: Role,
    pub protocol_version: u32,
    pub nonce: [u8; NONCE_LEN],
}

/// The handshake's messages, each one WebSocket binary message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Handshake {
    /// Dialer → acceptor.
    Hello(Hello),
    /// Acceptor → dialer: its own hello, and its proof over both.
    Challenge { hello: Hello, proof: Proof },
    /// Dialer → acceptor: the dialer's proof over both hellos.
    Proof(Proof),
    /// Either way, then the connection closes: why the sender refused.
    Refused { reason: String },
}

impl Handshake {
    pub fn to_bytes(&self) -> Vec<u8> {
        to_bytes(self).expect("handshake messages encode")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Handshake, WireError> {
        if bytes.len() > MAX_HANDSHAKE {
            return Err(WireError::Oversize { what: "handshake message", size: bytes.len(), limit: MAX_HANDSHAKE });
        }
        from_bytes(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("peer is in cluster {theirs:?}, this node in {ours:?}")]
    Cluster { ours: String, theirs: String },
    #[error("peer speaks protocol version {theirs}, this node {ours}")]
    Version { ours: u32, theirs: u32 },
    #[error("expected sid {expected}, the peer says it is {got}")]
    WrongSid { expected: u64, got: u64 },
    #[error("the peer echoed this side's nonce")]
    EchoedNonce,
    #[error("wrong proof: the peer does not hold this cluster's secret (or replayed or reflected a proof)")]
    BadProof,
    #[error("unexpected handshake message: {0}")]
    Unexpected(&'static str),
    #[error("refused by the peer: {0}")]
    RefusedByPeer(String),
}

impl Handshake {
    fn name(&self) -> &'static str {
        match self {
            Handshake::Hello(_) => "Hello",
            Handshake::Challenge { .. } => "Challenge",
            Handshake::Proof(_) => "Proof",
            Handshake::Refused { .. } => "Refused",
        }
    }
}

/// Which side a proof is made by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
enum Side {
    Dialer,
    Acceptor,
}

fn mac(key: &[u8], side: Side, dialer: &Hello, acceptor: &Hello) -> Hmac<Sha256> {
    let transcript = to_bytes(&(DOMAIN, side, dialer, acceptor)).expect("hellos encode");
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(&transcript);
    m
}

fn prove(key: &[u8], side: Side, dialer: &Hello, acceptor: &Hello) -> Proof {
    mac(key, side, dialer, acceptor).finalize().into_bytes().into()
}

/// Constant-time comparison (the `hmac` crate's `verify_slice`).
fn verify(key: &[u8], side: Side, dialer: &Hello, acceptor: &Hello, proof: &Proof) -> Result<(), HandshakeError> {
    mac(key, side, dialer, acceptor).verify_slice(proof).map_err(|_| HandshakeError::BadProof)
}

/// What both sides check of the other's hello before any proof.
pub fn check_hello(mine: &Hello, theirs: &Hello) -> Result<(), HandshakeError> {
    if theirs.protocol_version != mine.protocol_version {
        return Err(HandshakeError::Version { ours: mine.protocol_version, theirs: theirs.protocol_version });
    }
    if theirs.cluster != mine.cluster {
        return Err(HandshakeError::Cluster { ours: mine.cluster.clone(), theirs: theirs.cluster.clone() });
    }
    if theirs.nonce == mine.nonce {
        return Err(HandshakeError::EchoedNonce);
    }
    Ok(())
}

fn unexpected(m: &Handshake) -> HandshakeError {
    match m {
        Handshake::Refused { reason } => HandshakeError::RefusedByPeer(reason.clone()),
        other => HandshakeError::Unexpected(other.name()),
    }
}

/// The side that opened the connection.
#[derive(Debug)]
pub struct Dialer {
    me: Hello,
    peer_sid: u64,
}

impl Dialer {
    /// Dial `peer_sid` as `me` (with a fresh nonce); send the returned `Hello`.
    pub fn new(me: Hello, peer_sid: u64) -> (Dialer, Handshake) {
        let hello = Handshake::Hello(me.clone());
        (Dialer { me, peer_sid }, hello)
    }

    /// The acceptor's `Challenge`: on success, the peer's hello and the `Proof` to send,
    /// after which the connection is authenticated.
    pub fn on_challenge(self, msg: Handshake, key: &[u8]) -> Result<(Hello, Handshake), HandshakeError> {
        let Handshake::Challenge { hello, proof } = msg else { return Err(unexpected(&msg)) };
        if hello.sid != self.peer_sid {
            return Err(HandshakeError::WrongSid { expected: self.peer_sid, got: hello.sid });
        }
        check_hello(&self.me, &hello)?;
        verify(key, Side::Acceptor, &self.me, &hello, &proof)?;
        let mine = prove(key, Side::Dialer, &self.me, &hello);
        Ok((hello, Handshake::Proof(mine)))
    }
}

/// The side that accepted the connection.
#[derive(Debug)]
pub struct Acceptor {
    me: Hello,
    peer: Hello,
    key: Vec<u8>,
}

impl Acceptor {
    /// The dialer's `Hello` (which the caller has checked against its membership and used to
    /// choose `key`): the `Challenge` to send.
    pub fn new(me: Hello, msg: Handshake, key: &[u8]) -> Result<(Acceptor, Handshake), HandshakeError> {
        let Handshake::Hello(peer) = msg else { return Err(unexpected(&msg)) };
        check_hello(&me, &peer)?;
        let proof = prove(key, Side::Acceptor, &peer, &me);
        let challenge = Handshake::Challenge { hello: me.clone(), proof };
        Ok((Acceptor { me, peer, key: key.to_vec() }, challenge))
    }

    /// The dialer's hello, to decide on before answering with [`Acceptor::new`].
    pub fn hello_of(msg: &Handshake) -> Result<&Hello, HandshakeError> {
        match msg {
            Handshake::Hello(h) => Ok(h),
            other => Err(unexpected(other)),
        }
    }

    /// The dialer's `Proof`: on success the connection is authenticated, as the returned hello.
    pub fn on_proof(self, msg: Handshake) -> Result<Hello, HandshakeError> {
        let Handshake::Proof(proof) = msg else { return Err(unexpected(&msg)) };
        verify(&self.key, Side::Dialer, &self.peer, &self.me, &proof)?;
        Ok(self.peer)
    }
}

#[cfg(test)]
mod tests;
