//! A lock with a fencing token: a holder and two waiters under `/examples/lock` (ephemeral
//! sequential znodes; each waiter watches only the one before it). The holder writes to a
//! "storage service" with its token, then stalls and its session expires (a crash, or a
//! pause longer than the session timeout): only the first waiter is notified and gets the
//! lock with a larger token; the old holder's late write is rejected by the storage.
//!
//! `cargo run -p zabra-recipes --features zk --example lock -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use std::sync::atomic::Ordering;
use zabra_recipes::counting::Counted;
use zabra_recipes::lock::{FencedResource, Lock};
use zabra_recipes::Coord;

const ROOT: &str = "/examples/lock";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let mut storage = FencedResource::default();
    let mut holder = Lock::new(crashable(&hosts).await, ROOT);
    let old = ok(within(STEP, "the first holder", holder.acquire()).await, "acquire");
    println!("holder has the lock: {} (token {})", holder.ticket().expect("held").path, old.0);
    check(storage.write(old), "the holder writes with its token");

    let (s1, s2) = (Counted::new(session(&hosts).await), Counted::new(session(&hosts).await));
    let (n1, n2) = (s1.counter(), s2.counter());
    let (mut l1, mut l2) = (Lock::new(s1, ROOT), Lock::new(s2, ROOT));
    let first = tokio::spawn(async move { (l1.acquire().await, l1) });
    wait_children(&admin, ROOT, 2).await;
    let second = tokio::spawn(async move { (l2.acquire().await, l2) });
    wait_children(&admin, ROOT, 3).await;
    println!("line: {:?}", zabra_recipes::by_sequence(ok(admin.get_children(ROOT).await, "list")));

    println!("the holder stalls; its session expires after {CRASH_SESSION:?}");
    drop(holder);
    let (got, mut l1) = within(AFTER_CRASH, "the next in line", first).await.unwrap_or_else(|e| fail(&e.to_string()));
    let new = ok(got, "acquire");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    println!(
        "waiter 1 has the lock (token {}); notifications: waiter 1 {}, waiter 2 {}",
        new.0,
        n1.load(Ordering::SeqCst),
        n2.load(Ordering::SeqCst)
    );
    check(n2.load(Ordering::SeqCst) == 0 && !second.is_finished(), "only the next in line was notified (no herd)");
    check(new > old && storage.write(new), "the new holder's token is larger and its write accepted");
    check(!storage.write(old), "the old holder, resuming, writes with its old token: rejected");

    ok(l1.release().await, "release");
    let (got, mut l2) = within(STEP, "the last waiter", second).await.unwrap_or_else(|e| fail(&e.to_string()));
    println!("released; waiter 2 has the lock (token {})", ok(got, "acquire").0);
    ok(l2.release().await, "release");
    fresh(&admin, ROOT).await;
}
