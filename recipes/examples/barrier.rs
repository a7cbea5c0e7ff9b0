//! A double barrier for 3 under `/examples/barrier` (ephemeral znode per participant, a
//! `ready` znode once all arrived): nobody starts before all 3 have entered; the two who
//! finish first wait at the exit for the third, which crashes: its session expiring lets
//! them leave.
//!
//! `cargo run -p zabra-recipes --features zk --example barrier -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zabra_recipes::barrier::DoubleBarrier;
use zabra_recipes::zk::ZkClient;

const ROOT: &str = "/examples/barrier";
const GRACE: Duration = Duration::from_millis(500);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let (entered, left) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let participant = |client: ZkClient, name: &'static str, crashes: bool| {
        let barrier = DoubleBarrier::new(client, ROOT, name, 3);
        let (entered, left) = (entered.clone(), left.clone());
        tokio::spawn(async move {
            ok(barrier.enter().await, "enter");
            println!("  {name} entered");
            entered.fetch_add(1, Ordering::SeqCst);
            if crashes {
                std::future::pending::<()>().await; // still working when it crashes
            }
            ok(barrier.leave().await, "leave");
            println!("  {name} left");
            left.fetch_add(1, Ordering::SeqCst);
        })
    };
    let a = participant(session(&hosts).await, "a", false);
    let b = participant(session(&hosts).await, "b", false);
    wait_children(&admin, ROOT, 2).await;
    tokio::time::sleep(GRACE).await;
    check(entered.load(Ordering::SeqCst) == 0, "2 of 3 arrived: nobody entered");
    let c = participant(crashable(&hosts).await, "c", true);
    within(STEP, "all 3 enter", async {
        while entered.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    check(true, "the 3rd arrival let all 3 in");
    tokio::time::sleep(GRACE).await;
    check(left.load(Ordering::SeqCst) == 0, "a and b are done, c is not: nobody left");
    println!("c crashes; its znode goes when its session expires ({CRASH_SESSION:?})");
    c.abort();
    let (ra, rb) = within(AFTER_CRASH, "a and b leave", async { tokio::join!(a, b) }).await;
    check(ra.is_ok() && rb.is_ok() && left.load(Ordering::SeqCst) == 2, "c's expiry let a and b leave");
    fresh(&admin, ROOT).await;
}
