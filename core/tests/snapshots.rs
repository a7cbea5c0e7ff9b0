//! Peers of one cluster take their checkpoints at different zxids (ZooKeeper draws each
//! server's snapshot interval at random between snapCount/2 and snapCount), so a cluster never
//! pauses everywhere at once for a snapshot.

use std::collections::BTreeSet;
use zabra_core::ids::Sid;
use zabra_core::peer::ClientOp;
use zabra_core::sim::Sim;
use zabra_core::time::Duration;
use zabra_core::txn::{CreateMode, Op};

#[test]
fn peers_checkpoint_at_different_zxids() {
    let mut sim = Sim::new(11, 3, 0, Vec::new());
    sim.snapshot_every = 40;
    sim.start_all();
    sim.run_for(Duration::from_millis(2_000));
    let leader = sim.leader().expect("a leader within 2 s");
    let c = sim.add_client(leader);
    sim.run_for(Duration::from_millis(200));
    for i in 0..300 {
        let op = ClientOp::Write(Op::create(&format!("/n{i}"), b"v", CreateMode::Persistent));
        sim.client_request(c, op).expect("the client is connected");
        sim.run_for(Duration::from_millis(5));
    }
    sim.run_for(Duration::from_millis(1_000));
    assert!(sim.violations.is_empty(), "{:?}", sim.violations);
    let committed: BTreeSet<_> = sim.statuses().iter().map(|s| s.last_committed).collect();
    assert_eq!(committed.len(), 1, "every peer committed the same history: {committed:?}");
    let snaps: Vec<_> =
        (1..=3).map(|s| sim.storage(Sid(s)).and_then(|st| st.snapshot.as_ref()).map(|s| s.zxid)).collect();
    assert!(snaps.iter().all(Option::is_some), "every peer took a checkpoint: {snaps:?}");
    let distinct: BTreeSet<_> = snaps.iter().collect();
    assert!(distinct.len() > 1, "all peers checkpointed at the same zxid: {snaps:?}");
}
