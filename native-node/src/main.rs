//! `zabra`: the native node (tokio driver, WebSocket peers, disk storage, the ZooKeeper
//! client port, HTTP API and CLI — DESIGN.md, "Native node").
//!
//! Placeholder until the native-node issue: it answers `--version` and `--help`, and says
//! that everything else comes later.

use std::process::ExitCode;

const LATER: &str = "zabra: the native node arrives with a later issue; \
                     for now run the simulated demo with `cargo xtask demo`";

fn main() -> ExitCode {
    let arg = std::env::args().nth(1);
    match arg.as_deref() {
        Some("--version" | "-V") => {
            println!("zabra {}", env!("CARGO_PKG_VERSION"));
            println!("{LATER}");
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!("usage: zabra --version");
            println!("{LATER}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{LATER}");
            ExitCode::from(2)
        }
    }
}
