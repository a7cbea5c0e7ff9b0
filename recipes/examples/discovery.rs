//! Service discovery and load balancing: three instances of a "web" service register under
//! `/examples/discovery/web` (ephemeral sequential znodes holding their address); a client's
//! balancer follows the list with a child watch and sends requests round robin. One instance
//! shuts down cleanly, another crashes: the balancer stops picking each.
//!
//! `cargo run -p zabra-recipes --features zk --example discovery -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use zabra_recipes::discovery::{deregister, register, Balancer};

const ROOT: &str = "/examples/discovery";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let dir = format!("{ROOT}/web");
    let (a, b, c) = (session(&hosts).await, session(&hosts).await, crashable(&hosts).await);
    let a_node = ok(register(&a, &dir, "10.0.0.1:8080").await, "register");
    ok(register(&b, &dir, "10.0.0.2:8080").await, "register");
    ok(register(&c, &dir, "10.0.0.3:8080").await, "register");
    println!("3 instances registered; a's znode is {}", a_node.path);

    let mut lb = ok(Balancer::new(session(&hosts).await, &dir).await, "balancer");
    let picks: Vec<String> = (0..6).filter_map(|_| lb.pick()).collect();
    println!("6 requests go to {picks:?}");
    let mut distinct = picks.clone();
    distinct.sort();
    distinct.dedup();
    check(distinct.len() == 3, "round robin over the 3 instances");

    ok(deregister(&a, &a_node).await, "deregister");
    drop(a);
    ok(within(STEP, "the list shrinks", lb.wait_until(|l| l.len() == 2)).await, "watch");
    let picks: Vec<String> = (0..4).filter_map(|_| lb.pick()).collect();
    println!("10.0.0.1 shut down; requests go to {picks:?}");
    check(!picks.contains(&"10.0.0.1:8080".to_string()), "a deregistered instance is not picked");

    println!("10.0.0.3 crashes; its znode stays until its session expires ({CRASH_SESSION:?})");
    drop(c);
    ok(within(AFTER_CRASH, "the crashed instance leaves", lb.wait_until(|l| l.len() == 1)).await, "watch");
    let picks: Vec<String> = (0..3).filter_map(|_| lb.pick()).collect();
    println!("requests go to {picks:?}");
    check(picks.iter().all(|p| p == "10.0.0.2:8080"), "a crashed instance is not picked once its session expired");
    fresh(&admin, ROOT).await;
}
