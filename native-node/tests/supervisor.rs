//! The `zabra cluster` supervisor as an operator (and kazoo's test harness) uses it: a node
//! stopped and started through its HTTP control keeps the log of its earlier run.

mod support;

use std::time::{Duration, Instant};
use support::*;

/// Port offset of this file's cluster (clients 3281-3283, HTTP 9181-9183, supervisor 9180).
const OFFSET: u16 = 1100;

/// Lines of node 1's log announcing a start.
fn starts(c: &Cluster) -> usize {
    let log = std::fs::read_to_string(c.dir.path().join("node-1.log")).unwrap_or_default();
    log.lines().filter(|l| l.contains("node 1 serving clients on")).count()
}

#[test]
fn a_restarted_node_keeps_the_log_of_its_earlier_run() {
    let c = Cluster::start(3, OFFSET);
    c.wait_leader(Duration::from_secs(30));
    assert_eq!(starts(&c), 1, "node 1 logged its start");
    c.control(1, "kill");
    c.control(1, "restart");
    let until = Instant::now() + Duration::from_secs(30);
    while starts(&c) < 2 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(starts(&c), 2, "both runs of node 1 are in its log (a restart appends, never truncates)");
}
