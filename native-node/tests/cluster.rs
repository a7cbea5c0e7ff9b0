//! Multi-process tests: real `zabra` processes on loopback. Writes under load while leaders
//! and followers are killed with SIGKILL and restarted and a node is paused with SIGSTOP;
//! afterwards every acknowledged write is on every node and the tree digests are equal.

mod support;

use std::time::{Duration, Instant};
use support::*;

/// Write through any node that answers; returns the paths whose create was acknowledged.
async fn write_some(c: &Cluster, prefix: &str, n: usize, acked: &mut Vec<String>) {
    let mut i = 0;
    let until = Instant::now() + Duration::from_secs(30);
    while i < n && Instant::now() < until {
        let node = 1 + (i as u64 % c.nodes);
        let Ok(mut cl) = Client::connect(&c.http(node), None).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            i += 1;
            continue;
        };
        while i < n {
            let path = format!("/{prefix}-{i}");
            match cl.call(create(&path, "v")).await {
                Ok(r) if r["Write"]["Created"].is_object() => acked.push(path),
                Ok(_) => {}
                Err(_) => break,
            }
            i += 1;
        }
    }
}

async fn check_everywhere(c: &Cluster, acked: &[String]) {
    let ids: Vec<u64> = (1..=c.nodes).collect();
    let st = c.wait_converged(&ids, Duration::from_secs(30));
    assert_eq!(st.len(), ids.len(), "every node answers");
    let digests: Vec<_> = st.iter().map(|s| s["status"]["digest"].clone()).collect();
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "equal tree digests: {digests:?}");
    for id in ids {
        // A node that was just resumed may still step down (and drop its clients) once it
        // notices it lost its followers: like a real client, retry on a fresh session.
        let mut missing = Vec::new();
        for attempt in 0..10 {
            match read_all(&c.http(id), acked).await {
                Ok(m) => {
                    missing = m;
                    break;
                }
                Err(e) => assert!(attempt < 9, "node {id} kept refusing reads: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        assert!(missing.is_empty(), "acknowledged writes missing on node {id}: {missing:?}");
    }
}

/// Sync, then read every path on one node; the paths that are not there.
async fn read_all(addr: &str, acked: &[String]) -> Result<Vec<String>, String> {
    let mut cl = Client::connect(addr, None).await?;
    cl.call(sync()).await?;
    let mut missing = Vec::new();
    for p in acked {
        if !cl.call(get(p)).await?["Data"].is_object() {
            missing.push(p.clone());
        }
    }
    Ok(missing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_survive_kill_pause_restart() {
    let c = Cluster::start(3, 100);
    assert_eq!(c.wait_converged(&[1, 2, 3], Duration::from_secs(30)).len(), 3, "cluster up");
    let mut acked = Vec::new();
    write_some(&c, "a", 30, &mut acked).await;
    for round in 0..2 {
        let leader = c.wait_leader(Duration::from_secs(30));
        c.control(leader, "kill");
        write_some(&c, &format!("k{round}"), 20, &mut acked).await;
        c.control(leader, "restart");
        let follower = (1..=3).find(|i| Some(*i) != c.leader()).expect("a follower");
        c.control(follower, "kill");
        write_some(&c, &format!("f{round}"), 10, &mut acked).await;
        c.control(follower, "restart");
    }
    let paused = c.wait_leader(Duration::from_secs(30));
    c.control(paused, "pause");
    write_some(&c, "p", 20, &mut acked).await;
    c.control(paused, "resume");
    assert!(acked.len() >= 60, "the cluster stayed available: {} writes acknowledged", acked.len());
    check_everywhere(&c, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_survive_two_failures_at_a_time() {
    let c = Cluster::start(5, 200);
    let all = [1, 2, 3, 4, 5];
    assert_eq!(c.wait_converged(&all, Duration::from_secs(30)).len(), 5, "cluster up");
    let mut acked = Vec::new();
    write_some(&c, "a", 20, &mut acked).await;
    for round in 0..2 {
        let leader = c.wait_leader(Duration::from_secs(30));
        let other = all.iter().copied().find(|i| *i != leader).expect("another node");
        c.control(leader, "kill");
        c.control(other, "kill");
        write_some(&c, &format!("k{round}"), 20, &mut acked).await;
        c.control(leader, "restart");
        c.control(other, "restart");
    }
    let paused = c.wait_leader(Duration::from_secs(30));
    c.control(paused, "pause");
    write_some(&c, "p", 10, &mut acked).await;
    c.control(paused, "resume");
    assert!(acked.len() >= 40, "the cluster stayed available: {} writes acknowledged", acked.len());
    check_everywhere(&c, &acked).await;
}
