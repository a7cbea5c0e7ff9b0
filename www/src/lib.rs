//! # zabra-www
//!
//! The Yew UI that draws what ZAB does — votes, epochs, proposals, ACK quorums, commits,
//! recovery, the znode tree — for a simulated cluster, a cluster of tabs, or a live native
//! cluster (DESIGN.md, "Browser").
//!
//! Placeholder until the UI issue: it only proves that the core links into a wasm32 crate.

/// The core crate the UI draws, re-exported so UI code has one import path.
pub use zabra_core as core;
