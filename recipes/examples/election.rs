//! Leader election: candidates c1, c2, c3 line up under `/examples/election` (ephemeral
//! sequential znodes, lowest leads). Each watches only the candidate before it. c1 leads and
//! crashes: only c2 is notified, and leads; c3 keeps waiting. Then c2 steps down and c3 leads.
//!
//! `cargo run -p zabra-recipes --features zk --example election -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use std::sync::atomic::Ordering;
use zabra_recipes::counting::Counted;
use zabra_recipes::election::{candidates, current_leader, Candidate};

const ROOT: &str = "/examples/election";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let mut c1 = Candidate::new(crashable(&hosts).await, ROOT, "c1");
    let won = ok(within(STEP, "c1 leads", c1.campaign()).await, "campaign");
    println!("c1 leads with {} (epoch {})", won.node, won.epoch);
    let (s2, s3) = (Counted::new(session(&hosts).await), Counted::new(session(&hosts).await));
    let (n2, n3) = (s2.counter(), s3.counter());
    let mut c2 = Candidate::new(s2, ROOT, "c2");
    let mut c3 = Candidate::new(s3, ROOT, "c3");
    let c2_runs = tokio::spawn(async move { (c2.campaign().await, c2) });
    wait_children(&admin, ROOT, 2).await;
    let c3_runs = tokio::spawn(async move { (c3.campaign().await, c3) });
    wait_children(&admin, ROOT, 3).await;
    println!("candidates in line: {:?}", ok(candidates(&admin, ROOT).await, "list"));

    println!("c1 crashes; its znode goes when its session expires ({CRASH_SESSION:?})");
    drop(c1);
    let (won, mut c2) = within(AFTER_CRASH, "c2 leads", c2_runs).await.unwrap_or_else(|e| fail(&e.to_string()));
    let won = ok(won, "campaign");
    println!("c2 leads with {} (epoch {})", won.node, won.epoch);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let (w2, w3) = (n2.load(Ordering::SeqCst), n3.load(Ordering::SeqCst));
    println!("watch notifications: c2 {w2}, c3 {w3}");
    check(w2 == 1 && w3 == 0 && !c3_runs.is_finished(), "only the next candidate was notified (no herd)");
    check(ok(current_leader(&admin, ROOT).await, "leader") == Some("c2".into()), "everyone reads c2 as leader");

    ok(c2.resign().await, "resign");
    let (won, mut c3) = within(STEP, "c3 leads", c3_runs).await.unwrap_or_else(|e| fail(&e.to_string()));
    println!("c2 stepped down; c3 leads with epoch {}", ok(won, "campaign").epoch);
    check(n3.load(Ordering::SeqCst) == 1, "c3 was notified once");
    ok(c3.resign().await, "resign");
    fresh(&admin, ROOT).await;
}
