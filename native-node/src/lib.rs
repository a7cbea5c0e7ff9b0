//! The parts of the `zabra` binary that other crates use: the node's configuration and its
//! limits (the fuzz target `config` in `fuzz/` feeds the parser arbitrary text).

pub mod config;
pub mod limits;
