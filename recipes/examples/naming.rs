//! Naming: three clients ask for names at once under `/examples/naming/jobs`; the server's
//! sequence numbers make every name unique and each client's names increasing.
//!
//! `cargo run -p zabra-recipes --features zk --example naming -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use zabra_recipes::naming::unique_name;

const ROOT: &str = "/examples/naming";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let dir = format!("{ROOT}/jobs");
    let clients = [session(&hosts).await, session(&hosts).await, session(&hosts).await];
    let ask = |i: usize| {
        let (c, dir) = (&clients[i], dir.clone());
        async move {
            let mut names = Vec::new();
            for _ in 0..5 {
                names.push(ok(unique_name(c, &dir, "job-", format!("client {i}").as_bytes()).await, "name"));
            }
            names
        }
    };
    let (a, b, c) = within(STEP, "15 names", async { tokio::join!(ask(0), ask(1), ask(2)) }).await;
    let mut all = Vec::new();
    for (i, names) in [a, b, c].iter().enumerate() {
        println!("client {i}: {}", names.iter().map(|n| n.path.as_str()).collect::<Vec<_>>().join(" "));
        check(names.windows(2).all(|w| w[0].sequence < w[1].sequence), &format!("client {i}'s names increase"));
        all.extend(names.iter().map(|n| n.sequence));
    }
    all.sort();
    all.dedup();
    check(all.len() == 15, "15 names, all distinct");
    fresh(&admin, ROOT).await;
}
