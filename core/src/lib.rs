//! # zabra-core
//!
//! ZooKeeper Atomic Broadcast (ZAB) and the znode data model as a sans-IO state machine,
//! plus a deterministic simulator that drives many peers through faults and checks safety.
//!
//! The core never touches a socket, file, clock, thread or OS random source: the driver
//! feeds [`peer::Input`]s with the time, and performs the [`peer::Output`]s it gets back.

pub mod acl;
pub mod config;
pub mod datatree;
pub mod describe;
pub mod ids;
pub mod log;
pub mod message;
pub mod peer;
pub mod quorum;
pub mod rng;
pub mod sim;
pub mod storage;
pub mod time;
pub mod trace;
pub mod txn;
pub mod watch;
pub mod zxid;

pub use ids::{ConnId, SessionId, Sid, Token};
pub use time::{Duration, Instant};
pub use zxid::{Epoch, Zxid};
