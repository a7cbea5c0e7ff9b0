//! A read/write lock under `/examples/rwlock` (`read-`/`write-` ephemeral sequential
//! znodes): two readers share it; a writer queues behind them and a later reader queues
//! behind the writer, so writers are not starved. Each waiter watches one znode.
//!
//! `cargo run -p zabra-recipes --features zk --example rwlock -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use std::time::Duration;
use zabra_recipes::rwlock::RwLock;
use zabra_recipes::Coord;

const ROOT: &str = "/examples/rwlock";
const GRACE: Duration = Duration::from_millis(500);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let mut r1 = RwLock::reader(session(&hosts).await, ROOT);
    let mut r2 = RwLock::reader(session(&hosts).await, ROOT);
    ok(within(STEP, "reader 1", r1.acquire()).await, "read lock");
    ok(within(STEP, "reader 2", r2.acquire()).await, "read lock");
    check(r1.is_held() && r2.is_held(), "two readers hold the lock together");

    let mut writer = RwLock::writer(session(&hosts).await, ROOT);
    let writing = tokio::spawn(async move { (writer.acquire().await, writer) });
    wait_children(&admin, ROOT, 3).await;
    let mut late = RwLock::reader(session(&hosts).await, ROOT);
    let reading = tokio::spawn(async move { (late.acquire().await, late) });
    wait_children(&admin, ROOT, 4).await;
    println!("line: {:?}", zabra_recipes::by_sequence(ok(admin.get_children(ROOT).await, "list")));
    tokio::time::sleep(GRACE).await;
    check(
        !writing.is_finished() && !reading.is_finished(),
        "the writer waits for readers; a later reader waits for the writer",
    );

    ok(r1.release().await, "release");
    ok(r2.release().await, "release");
    let (got, mut writer) = within(STEP, "the writer", writing).await.unwrap_or_else(|e| fail(&e.to_string()));
    println!("both readers released; the writer has the lock (token {})", ok(got, "write lock").0);
    tokio::time::sleep(GRACE).await;
    check(!reading.is_finished(), "the later reader still waits for the writer");
    ok(writer.release().await, "release");
    let (got, mut late) = within(STEP, "the later reader", reading).await.unwrap_or_else(|e| fail(&e.to_string()));
    ok(got, "read lock");
    check(late.is_held(), "the later reader gets it after the writer");
    ok(late.release().await, "release");
    fresh(&admin, ROOT).await;
}
