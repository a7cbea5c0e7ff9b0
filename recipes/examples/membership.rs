//! Group membership: alice, bob and carol join `/examples/membership/workers` (ephemeral
//! znodes); bob leaves by closing his session, carol crashes; an observer's child watch sees
//! each departure.
//!
//! `cargo run -p zabra-recipes --features zk --example membership -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use zabra_recipes::membership::Group;

const ROOT: &str = "/examples/membership";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let dir = format!("{ROOT}/workers");
    let (alice, bob, carol) = (session(&hosts).await, session(&hosts).await, crashable(&hosts).await);
    for (c, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        ok(Group::new(c, &dir).join(name, b"").await, "join");
    }
    let observer = Group::new(session(&hosts).await, &dir);
    let members = ok(observer.members().await, "members");
    println!("members: {members:?}");
    check(members == ["alice", "bob", "carol"], "3 members joined");
    check(Group::new(&bob, &dir).join("alice", b"").await.is_err(), "a second 'alice' is refused");

    drop(bob);
    let members = ok(within(STEP, "bob leaves", observer.wait_until(|m| m.len() == 2)).await, "watch");
    println!("bob closed his session: {members:?}");
    check(members == ["alice", "carol"], "a member whose session closes leaves at once");

    println!("carol crashes; she stays listed until her session expires ({CRASH_SESSION:?})");
    drop(carol);
    let members = ok(within(AFTER_CRASH, "carol is removed", observer.wait_until(|m| m.len() == 1)).await, "watch");
    println!("members: {members:?}");
    check(members == ["alice"], "a crashed member is removed when its session expires");
    drop(alice);
    fresh(&admin, ROOT).await;
}
