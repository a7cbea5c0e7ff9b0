//! Configuration publish/subscribe: a publisher writes `/examples/configuration/app`; two
//! subscribers, each with its own session, watch it and print every version they see; then
//! two writers increment a counter with version-checked writes and lose no update.
//!
//! `cargo run -p zabra-recipes --features zk --example configuration -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use zabra_recipes::config::{publish, update, Subscriber};
use zabra_recipes::Coord;

const ROOT: &str = "/examples/configuration";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let path = format!("{ROOT}/app");
    ok(publish(&admin, &path, b"color=red").await, "publish");
    println!("published version 0 of {path}");
    let mut subscribers =
        [Subscriber::new(session(&hosts).await, &path), Subscriber::new(session(&hosts).await, &path)];
    for (v, value) in ["color=red", "color=green", "color=blue"].iter().enumerate() {
        if v > 0 {
            ok(publish(&admin, &path, value.as_bytes()).await, "publish");
            println!("published version {v}: {value}");
        }
        for (i, s) in subscribers.iter_mut().enumerate() {
            let (data, stat) = ok(within(STEP, "a subscriber's next value", s.next()).await, "watch");
            println!("  subscriber {i} sees version {}: {}", stat.version, String::from_utf8_lossy(&data));
            check(data == value.as_bytes(), &format!("subscriber {i} sees version {v}"));
        }
    }

    let counter = format!("{ROOT}/counter");
    ok(publish(&admin, &counter, b"0").await, "publish");
    let increment =
        |old: &[u8]| (String::from_utf8_lossy(old).parse::<u64>().unwrap_or(0) + 1).to_string().into_bytes();
    let (w1, w2) = (session(&hosts).await, session(&hosts).await);
    let writer = |w| {
        let counter = counter.clone();
        async move {
            for _ in 0..10 {
                ok(update(&w, &counter, increment).await, "update");
            }
        }
    };
    within(STEP, "20 updates", async { tokio::join!(writer(w1), writer(w2)) }).await;
    // The writers' servers may be ahead of admin's: sync first (as any reader of others'
    // writes must in ZooKeeper).
    ok(admin.sync(&counter).await, "sync");
    let (total, stat) = ok(admin.get_data(&counter).await, "read");
    println!(
        "counter after 2 writers x 10 read-modify-writes: {} (version {})",
        String::from_utf8_lossy(&total),
        stat.version
    );
    check(total == b"20", "version-checked writes lost no update");
    fresh(&admin, ROOT).await;
}
