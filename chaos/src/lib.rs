//! `zabra-chaos`: a Jepsen-style campaign against real `zabra serve` processes.
//!
//! The checker half (`history`, `model`, `linear`, `window`, `checks`, `check`) is pure code:
//! it reads a recorded history and says whether it is linearizable and what else is wrong.
//! The harness half (`net`, `nodes`, `nemesis`, `workload`, `campaign`) runs the nodes in
//! network namespaces, injects faults and records the history.

pub mod check;
pub mod checks;
pub mod history;
pub mod linear;
pub mod model;
pub mod window;

pub mod campaign;
pub mod nemesis;
pub mod net;
pub mod nodes;
pub mod rng;
pub mod status;
pub mod watchers;
pub mod workload;

#[cfg(test)]
mod tests;
