//! `zabra cli` speaks the ZooKeeper wire protocol: one command per run against a real
//! cluster's client ports, data with spaces quoted, zkCli's flags, errors as zkCli words them.

mod support;

use std::process::Command;
use std::time::Duration;
use support::Cluster;

/// Runs `zabra cli --server HOSTS ARGS...`; (success, stdout, stderr). What a command
/// prints is on stdout; errors (and the client's warnings, e.g. a server not serving yet
/// that it moves on from) are on stderr.
fn run_cli(hosts: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(support::zabra_bin())
        .args(["cli", "--server", hosts, "--timeout-ms", "10000"])
        .args(args)
        .output()
        .expect("zabra cli runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// (success, stdout and stderr together): for the error cases.
fn cli(hosts: &str, args: &[&str]) -> (bool, String) {
    let (ok, out, err) = run_cli(hosts, args);
    (ok, format!("{out}{err}"))
}

#[test]
fn the_cli_speaks_the_zookeeper_wire_protocol() {
    let c = Cluster::start(3, 1950);
    c.wait_leader(Duration::from_secs(30));
    c.wait_converged(&[1, 2, 3], Duration::from_secs(30));
    let hosts: String = (1..=3).map(|i| format!("127.0.0.1:{}", 2180 + 1950 + i)).collect::<Vec<_>>().join(",");
    let ok = |args: &[&str]| {
        let (ok, out, err) = run_cli(&hosts, args);
        assert!(ok, "zabra cli {args:?} failed: {out}{err}");
        out
    };
    assert_eq!(ok(&["create", "/cli", "hello world"]), "Created /cli\n");
    let got = ok(&["get", "-s", "/cli"]);
    assert!(got.starts_with("hello world\n") && got.contains("dataVersion = 0"), "{got}");
    ok(&["set", "-v", "0", "/cli", "second value"]);
    let (bad, out) = cli(&hosts, &["set", "-v", "0", "/cli", "x"]);
    assert!(!bad && out.contains("version No is not valid"), "a stale version is refused: {out}");
    let seq = ok(&["create", "-s", "/cli/item-", "a"]);
    assert!(seq.starts_with("Created /cli/item-000000000"), "{seq}");
    assert_eq!(ok(&["ls", "/cli"]), format!("[{}]\n", seq.trim().trim_start_matches("Created /cli/")));
    let (bad, out) = cli(&hosts, &["get", "/nope"]);
    assert!(!bad && out.contains("Node does not exist: /nope"), "{out}");
    ok(&["setAcl", "/cli", "world:anyone:cdra"]);
    assert!(ok(&["getAcl", "/cli"]).contains("'world,'anyone\n: cdra"));
    // A one-shot command's session ends with it: its ephemeral is gone at once.
    ok(&["create", "-e", "/cli/eph", "x"]);
    assert!(ok(&["stat", "/cli/eph"]).contains("Node does not exist"), "the ephemeral outlived its command");
    ok(&["deleteall", "/cli"]);
    assert!(ok(&["stat", "/cli"]).contains("Node does not exist"));
    let (bad, out) = cli(&hosts, &["frobnicate", "/x"]);
    assert!(!bad && out.contains("unknown command"), "{out}");
}
