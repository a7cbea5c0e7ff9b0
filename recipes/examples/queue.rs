//! A FIFO queue under `/examples/queue` (persistent sequential `item-` znodes): a producer
//! puts 10 jobs, two consumers take them at once, each job is taken once and each consumer
//! takes its jobs in order; a consumer waiting on an empty queue gets the next job put.
//!
//! `cargo run -p zabra-recipes --features zk --example queue -- --connect 127.0.0.1:2181`

mod common;
use common::*;
use zabra_recipes::queue::Queue;

const ROOT: &str = "/examples/queue";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hosts = hosts();
    let admin = session(&hosts).await;
    fresh(&admin, ROOT).await;
    let producer = Queue::new(session(&hosts).await, ROOT);
    for i in 0..10 {
        ok(producer.put(format!("job-{i:02}").as_bytes()).await, "put");
    }
    println!("put 10 jobs");
    let consume = |q: Queue<zabra_recipes::zk::ZkClient>| async move {
        let mut taken = Vec::new();
        while let Some(job) = ok(q.try_take().await, "take") {
            taken.push(String::from_utf8_lossy(&job).into_owned());
        }
        taken
    };
    let (q1, q2) = (Queue::new(session(&hosts).await, ROOT), Queue::new(session(&hosts).await, ROOT));
    let (a, b) = within(STEP, "10 jobs taken", async { tokio::join!(consume(q1), consume(q2)) }).await;
    println!("consumer 1 took {a:?}\nconsumer 2 took {b:?}");
    check(
        a.windows(2).all(|w| w[0] < w[1]) && b.windows(2).all(|w| w[0] < w[1]),
        "each consumer took its jobs in order",
    );
    let mut all = [a, b].concat();
    all.sort();
    check(all == (0..10).map(|i| format!("job-{i:02}")).collect::<Vec<_>>(), "every job taken exactly once");

    let waiting = Queue::new(session(&hosts).await, ROOT);
    let take = tokio::spawn(async move { waiting.take().await });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    check(!take.is_finished(), "a consumer waits on an empty queue (a child watch, no polling)");
    ok(producer.put(b"job-late").await, "put");
    let job = ok(within(STEP, "the waiting consumer", take).await.unwrap_or_else(|e| fail(&e.to_string())), "take");
    check(job == b"job-late", "the waiting consumer gets the next job");
    fresh(&admin, ROOT).await;
}
