//! The node's configuration file (TOML, then `validate`), as `zabra serve --config` reads
//! it. A configuration that validates yields the core's configuration without a panic, and
//! survives a round trip through TOML.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use zabra_node::config::NodeConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(cfg) = NodeConfig::parse(text, Path::new("fuzz.toml")) else { return };
    let _ = cfg.me();
    let _ = cfg.member_origins();
    let _ = cfg.peer_config();
    let again = toml::to_string(&cfg).expect("a parsed config serializes");
    let back = NodeConfig::parse(&again, Path::new("fuzz.toml")).expect("a serialized config parses");
    assert_eq!(back, cfg);
});
