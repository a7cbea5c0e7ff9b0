//! # zabra-wasm
//!
//! The browser runtime for a core `Peer`: a `BrowserNode` will carry `Output::Send` over
//! BroadcastChannel or a WebSocket, `Output::Persist` to browser storage, and deadlines to
//! timers (DESIGN.md, "Browser"). It holds no protocol logic of its own.
//!
//! Placeholder until the browser issue: it only proves that the core links into a wasm32
//! crate.

/// The core crate this runtime drives, re-exported so browser code has one import path.
pub use zabra_core as core;
