//! ZooKeeper's recipes from `zabra-recipes` (written once against its client trait) on the
//! real client `zookeeper-client`, against a 3-node zabra cluster (port offset 2100), with a
//! participant crashing where the use case is about failure: the lock holder, the elected
//! leader, a group member, a service instance. A crash is a session that is never closed (the
//! client is dropped without `closeSession`): the server ends it after its 4 s timeout and
//! deletes its ephemerals. "No herd" is checked by counting the watch notifications each
//! waiter receives. Outcomes only; every wait is bounded and generous.
//!
//! Run under the port lock: `flock /tmp/zabra-ports.lock cargo test -p zabra-node --test recipes`.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::Cluster;
use zabra_recipes::counting::Counted;
use zabra_recipes::lock::{FencedResource, Lock};
use zabra_recipes::zk::ZkClient;
use zabra_recipes::{barrier, config, discovery, election, membership, naming, queue, rwlock, Coord};

const OFFSET: u16 = 2100;
/// The shortest session zabra grants (its minimum session timeout): a crash is noticed soon.
const CRASH_SESSION: Duration = Duration::from_secs(4);
/// Long enough for a crashed session to expire and its watchers to act, on a loaded machine.
const AFTER_CRASH: Duration = Duration::from_secs(30);
/// For a step with no crash in it.
const STEP: Duration = Duration::from_secs(15);
/// How long a waiter that must not move is given to (wrongly) move.
const GRACE: Duration = Duration::from_millis(700);

fn hosts(c: &Cluster) -> String {
    (1..=c.nodes).map(|i| format!("127.0.0.1:{}", 2180 + i as u16 + c.offset)).collect::<Vec<_>>().join(",")
}

async fn connect(hosts: &str) -> ZkClient {
    ZkClient::connect(hosts).await.expect("connects")
}

/// A session that ends by expiring when its client is dropped, as if the process crashed.
async fn crashable(hosts: &str) -> ZkClient {
    ZkClient::connect_with(hosts, CRASH_SESSION, true).await.expect("connects")
}

/// Awaits `f` for at most `limit`, failing the test with `what` otherwise.
async fn within<T>(limit: Duration, what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f).await.unwrap_or_else(|_| panic!("{what}: not within {limit:?}"))
}

/// Polls `done` (bounded) until it holds.
async fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    within(limit, what, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

async fn children(c: &ZkClient, dir: &str) -> usize {
    c.get_children(dir).await.map(|v| v.len()).unwrap_or(0)
}

/// The children count after a `sync`: what every write acknowledged so far left behind, on
/// whichever server `c` reads from (a follower may otherwise still be applying the last commit).
async fn settled_children(c: &ZkClient, dir: &str) -> usize {
    c.sync(dir).await.expect("sync");
    children(c, dir).await
}

async fn wait_children(c: &ZkClient, dir: &str, n: usize) {
    within(STEP, &format!("{n} children in {dir}"), async {
        while children(c, dir).await != n {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipes_against_a_cluster() {
    let cluster = tokio::task::block_in_place(|| {
        let c = Cluster::start(3, OFFSET);
        c.wait_leader(Duration::from_secs(60));
        c
    });
    let hosts = hosts(&cluster);
    let admin = connect(&hosts).await;
    zabra_recipes::delete_all(&admin, "/recipes").await.expect("clean");
    configuration(&hosts).await;
    naming_is_unique(&hosts).await;
    discovery_follows_instances(&hosts).await;
    membership_follows_sessions(&hosts).await;
    election_without_herd(&hosts, &cluster).await;
    lock_excludes(&hosts).await;
    lock_passes_to_the_next_only(&hosts).await;
    read_write_lock(&hosts).await;
    queue_in_order(&hosts).await;
    double_barrier(&hosts).await;
}

/// Two subscribers see every one of 5 updates in order (each published after both saw the
/// previous one); two writers incrementing with version checks lose no update.
async fn configuration(hosts: &str) {
    let path = "/recipes/config/app";
    let publisher = connect(hosts).await;
    config::publish(&publisher, path, b"v0").await.expect("published");
    let mut subs = Vec::new();
    for _ in 0..2 {
        subs.push(config::Subscriber::new(connect(hosts).await, path));
    }
    for v in 0..=5 {
        if v > 0 {
            config::publish(&publisher, path, format!("v{v}").as_bytes()).await.expect("published");
        }
        for s in &mut subs {
            let (data, _) = within(STEP, "a subscriber sees the update", s.next()).await.expect("next");
            assert_eq!(data, format!("v{v}").as_bytes(), "configuration: subscribers see each version in order");
        }
    }
    let counter = "/recipes/config/counter";
    config::publish(&publisher, counter, b"0").await.expect("published");
    let inc = |old: &[u8]| (String::from_utf8_lossy(old).parse::<u32>().unwrap() + 1).to_string().into_bytes();
    let writers = [connect(hosts).await, connect(hosts).await];
    let work = writers.iter().map(|w| async move {
        for _ in 0..10 {
            config::update(w, counter, inc).await.expect("updated");
        }
    });
    within(STEP, "20 conditional updates", futures_util::future::join_all(work)).await;
    publisher.sync(counter).await.expect("sync");
    let (total, _) = publisher.get_data(counter).await.expect("read");
    assert_eq!(total, b"20", "configuration: version-checked updates from 2 writers lose none");
}

/// 3 clients asking at once for 20 names each get 60 distinct names, increasing per client.
async fn naming_is_unique(hosts: &str) {
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(connect(hosts).await);
    }
    let ask = clients.iter().map(|c| async move {
        let mut seqs = Vec::new();
        for _ in 0..20 {
            seqs.push(naming::unique_name(c, "/recipes/names", "job-", b"").await.expect("named").sequence);
        }
        seqs
    });
    let got = within(STEP, "60 names", futures_util::future::join_all(ask)).await;
    assert!(got.iter().all(|s| s.windows(2).all(|w| w[0] < w[1])), "naming: each client's names increase: {got:?}");
    let mut all: Vec<u64> = got.concat();
    all.sort();
    all.dedup();
    assert_eq!(all, (0..60).collect::<Vec<u64>>(), "naming: 60 distinct names");
}

/// 3 instances register; a balancer spreads picks over all 3; one instance shuts down (session
/// closed) and one crashes (session expires): the balancer stops picking each.
async fn discovery_follows_instances(hosts: &str) {
    let dir = "/recipes/services/web";
    let (a, b, c) = (connect(hosts).await, connect(hosts).await, crashable(hosts).await);
    for (client, addr) in [(&a, "10.0.0.1:80"), (&b, "10.0.0.2:80"), (&c, "10.0.0.3:80")] {
        discovery::register(client, dir, addr).await.expect("registered");
    }
    let mut lb = discovery::Balancer::new(connect(hosts).await, dir).await.expect("balancer");
    within(STEP, "3 instances listed", lb.wait_until(|a| a.len() == 3)).await.expect("follows");
    let mut picks: Vec<String> = (0..6).filter_map(|_| lb.pick()).collect();
    picks.sort();
    picks.dedup();
    assert_eq!(picks, ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], "discovery: round robin over the 3");
    drop(a);
    within(STEP, "a closed instance leaves", lb.wait_until(|a| a.len() == 2)).await.expect("follows");
    assert!((0..4).filter_map(|_| lb.pick()).all(|p| p != "10.0.0.1:80"), "discovery: the closed one is not picked");
    drop(c);
    within(AFTER_CRASH, "a crashed instance leaves", lb.wait_until(|a| a.len() == 1)).await.expect("follows");
    let left: Vec<String> = (0..4).filter_map(|_| lb.pick()).collect();
    assert_eq!(left, ["10.0.0.2:80"; 4], "discovery: after a crash only the live instance is picked");
    drop(b);
}

/// Members join; a duplicate name is refused; a member that closes and one that crashes are
/// both removed.
async fn membership_follows_sessions(hosts: &str) {
    let dir = "/recipes/group";
    let (alice, bob, carol) = (connect(hosts).await, connect(hosts).await, crashable(hosts).await);
    for (c, name) in [(&alice, "alice"), (&bob, "bob"), (&carol, "carol")] {
        membership::Group::new(c, dir).join(name, b"").await.expect("joined");
    }
    let dup = membership::Group::new(&bob, dir).join("alice", b"").await;
    assert_eq!(dup, Err(zabra_recipes::Error::NodeExists), "membership: a member name is unique");
    let view = membership::Group::new(connect(hosts).await, dir);
    assert_eq!(view.members().await.expect("members"), ["alice", "bob", "carol"]);
    drop(bob);
    let two = within(STEP, "bob leaves", view.wait_until(|m| m.len() == 2)).await.expect("watched");
    assert_eq!(two, ["alice", "carol"], "membership: a closed member leaves at once");
    drop(carol);
    let one = within(AFTER_CRASH, "carol's session expires", view.wait_until(|m| m.len() == 1)).await.expect("watched");
    assert_eq!(one, ["alice"], "membership: a crashed member is removed when its session expires");
    drop(alice);
}

type Campaign =
    tokio::task::JoinHandle<(zabra_recipes::Result<election::Leadership>, election::Candidate<Counted<ZkClient>>)>;

/// Queues a candidate `name` behind those already in `dir` (there are `ahead`); returns its
/// watch-notification count and its campaign.
async fn candidate(
    hosts: &str,
    admin: &ZkClient,
    dir: &str,
    name: &str,
    ahead: usize,
) -> (Arc<std::sync::atomic::AtomicU64>, Campaign) {
    let c = Counted::new(connect(hosts).await);
    let notified = c.counter();
    let mut cand = election::Candidate::new(c, dir, name);
    let run = tokio::spawn(async move { (cand.campaign().await, cand) });
    wait_children(admin, dir, ahead + 1).await;
    (notified, run)
}

/// 4 candidates; the leader crashes: the next one, and only it, is notified and leads. The
/// zabra leader is killed: sessions survive, leadership stays, nobody is notified. The new
/// leader resigns: again only the next one is notified.
async fn election_without_herd(hosts: &str, cluster: &Cluster) {
    let dir = "/recipes/election";
    let admin = connect(hosts).await;
    let mut first = election::Candidate::new(crashable(hosts).await, dir, "c1");
    within(STEP, "the first candidate leads", first.campaign()).await.expect("leads");
    let (n2, c2) = candidate(hosts, &admin, dir, "c2", 1).await;
    let (n3, c3) = candidate(hosts, &admin, dir, "c3", 2).await;
    let (n4, c4) = candidate(hosts, &admin, dir, "c4", 3).await;
    assert_eq!(election::candidates(&admin, dir).await.expect("listed"), ["c1", "c2", "c3", "c4"]);
    drop(first);
    let (won, mut second) = within(AFTER_CRASH, "c2 leads after c1 crashed", c2).await.expect("joined");
    won.expect("c2 leads");
    tokio::time::sleep(GRACE).await;
    assert_eq!(election::current_leader(&admin, dir).await.expect("read"), Some("c2".into()));
    let counts = [n2.load(Ordering::SeqCst), n3.load(Ordering::SeqCst), n4.load(Ordering::SeqCst)];
    assert_eq!(counts, [1, 0, 0], "election: the leader's crash notified only the next candidate");
    assert!(!c3.is_finished() && !c4.is_finished(), "election: one leader at a time");

    let old = cluster.wait_leader(STEP);
    tokio::task::block_in_place(|| cluster.control(old, "kill"));
    let new = tokio::task::block_in_place(|| cluster.wait_leader(AFTER_CRASH));
    assert_ne!(new, old);
    let leader = within(STEP, "read after failover", election::current_leader(&admin, dir)).await;
    assert_eq!(leader.expect("read"), Some("c2".into()), "election: a zabra failover keeps the elected leader");
    tokio::time::sleep(GRACE).await;
    assert_eq!([n3.load(Ordering::SeqCst), n4.load(Ordering::SeqCst)], [0, 0], "election: a failover notifies nobody");
    tokio::task::block_in_place(|| cluster.control(old, "restart"));

    second.resign().await.expect("resigned");
    let (won, mut third) = within(STEP, "c3 leads after c2 resigned", c3).await.expect("joined");
    won.expect("c3 leads");
    tokio::time::sleep(GRACE).await;
    assert_eq!(n4.load(Ordering::SeqCst), 0, "election: a resignation notifies only the next candidate");
    third.resign().await.expect("resigned");
    let (won, mut fourth) = within(STEP, "c4 leads", c4).await.expect("joined");
    won.expect("c4 leads");
    fourth.resign().await.expect("resigned");
    tokio::task::block_in_place(|| cluster.wait_converged(&[1, 2, 3], AFTER_CRASH));
}

/// 3 clients x 3 critical sections that read a counter, pause, and write it + 1: never two
/// inside at once, no lost update.
async fn lock_excludes(hosts: &str) {
    let (dir, counter) = ("/recipes/lock", "/recipes/lock-counter");
    let admin = connect(hosts).await;
    config::publish(&admin, counter, b"0").await.expect("created");
    let (inside, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut workers = Vec::new();
    for _ in 0..3 {
        let client = connect(hosts).await;
        let (inside, most) = (inside.clone(), most.clone());
        workers.push(tokio::spawn(async move {
            let mut lock = Lock::new(client.clone(), dir);
            for _ in 0..3 {
                lock.acquire().await.expect("acquired");
                most.fetch_max(inside.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                let (v, _) = client.get_data(counter).await.expect("read");
                tokio::time::sleep(Duration::from_millis(20)).await;
                let next = String::from_utf8_lossy(&v).parse::<u32>().expect("number") + 1;
                client.set_data(counter, next.to_string().as_bytes(), None).await.expect("written");
                inside.fetch_sub(1, Ordering::SeqCst);
                lock.release().await.expect("released");
            }
        }));
    }
    within(STEP * 2, "9 critical sections", futures_util::future::join_all(workers)).await;
    admin.sync(counter).await.expect("sync");
    let (total, _) = admin.get_data(counter).await.expect("read");
    assert_eq!(
        (most.load(Ordering::SeqCst), total.as_slice()),
        (1, &b"9"[..]),
        "lock: mutual exclusion, no lost update"
    );
}

type Acquire =
    tokio::task::JoinHandle<(zabra_recipes::Result<zabra_recipes::lock::FencingToken>, Lock<Counted<ZkClient>>)>;

async fn waiter(
    hosts: &str,
    admin: &ZkClient,
    dir: &str,
    ahead: usize,
) -> (Arc<std::sync::atomic::AtomicU64>, Acquire) {
    let c = Counted::new(connect(hosts).await);
    let notified = c.counter();
    let mut lock = Lock::new(c, dir);
    let run = tokio::spawn(async move { (lock.acquire().await, lock) });
    wait_children(admin, dir, ahead + 1).await;
    (notified, run)
}

/// The holder crashes with 3 waiters in line: the first waiter, and only it, is notified and
/// gets the lock with a larger fencing token; the crashed holder's late write is fenced off.
/// A release then wakes only the next waiter.
async fn lock_passes_to_the_next_only(hosts: &str) {
    let dir = "/recipes/fenced-lock";
    let admin = connect(hosts).await;
    let mut holder = Lock::new(crashable(hosts).await, dir);
    let old = within(STEP, "the first holder", holder.acquire()).await.expect("acquired");
    let mut store = FencedResource::default();
    assert!(store.write(old), "fencing: the holder writes with its token");
    let (n1, w1) = waiter(hosts, &admin, dir, 1).await;
    let (n2, w2) = waiter(hosts, &admin, dir, 2).await;
    let (n3, w3) = waiter(hosts, &admin, dir, 3).await;
    drop(holder);
    let (got, mut first) = within(AFTER_CRASH, "the next in line after the crash", w1).await.expect("joined");
    let new = got.expect("acquired");
    tokio::time::sleep(GRACE).await;
    let counts = [n1.load(Ordering::SeqCst), n2.load(Ordering::SeqCst), n3.load(Ordering::SeqCst)];
    assert_eq!(counts, [1, 0, 0], "lock: the holder's crash notified only the next in line");
    assert!(!w2.is_finished() && !w3.is_finished(), "lock: one holder at a time");
    assert!(new > old && store.write(new), "fencing: the new holder's token is larger: {new:?} > {old:?}");
    assert!(!store.write(old), "fencing: the crashed holder's late write is rejected");
    first.release().await.expect("released");
    let (got, mut second) = within(STEP, "the second waiter after a release", w2).await.expect("joined");
    assert!(got.expect("acquired") > new, "fencing: tokens grow with each holder");
    tokio::time::sleep(GRACE).await;
    assert_eq!(n3.load(Ordering::SeqCst), 0, "lock: a release notified only the next in line");
    second.release().await.expect("released");
    let (got, mut third) = within(STEP, "the last waiter", w3).await.expect("joined");
    got.expect("acquired");
    third.release().await.expect("released");
    assert_eq!(settled_children(&admin, dir).await, 0, "lock: every znode released");
}

type Shared = tokio::task::JoinHandle<(
    zabra_recipes::Result<zabra_recipes::lock::FencingToken>,
    rwlock::RwLock<Counted<ZkClient>>,
)>;

fn shared(mut lock: rwlock::RwLock<Counted<ZkClient>>) -> Shared {
    tokio::spawn(async move { (lock.acquire().await, lock) })
}

/// Two readers share; a writer waits for both (woken once, by the last reader's release); a
/// reader arriving after the writer waits behind it (no writer starvation).
async fn read_write_lock(hosts: &str) {
    let dir = "/recipes/rwlock";
    let admin = connect(hosts).await;
    let mut r1 = rwlock::RwLock::reader(connect(hosts).await, dir);
    let mut r2 = rwlock::RwLock::reader(connect(hosts).await, dir);
    within(STEP, "reader 1", r1.acquire()).await.expect("read lock");
    within(STEP, "reader 2 with reader 1", r2.acquire()).await.expect("read locks are shared");
    let wc = Counted::new(connect(hosts).await);
    let writer_notified = wc.counter();
    let w = shared(rwlock::RwLock::writer(wc, dir));
    wait_children(&admin, dir, 3).await;
    let lc = Counted::new(connect(hosts).await);
    let late_notified = lc.counter();
    let late = shared(rwlock::RwLock::reader(lc, dir));
    wait_children(&admin, dir, 4).await;
    tokio::time::sleep(GRACE).await;
    assert!(
        !w.is_finished() && !late.is_finished(),
        "rwlock: the writer waits for readers, a later reader for the writer"
    );
    r1.release().await.expect("released");
    tokio::time::sleep(GRACE).await;
    assert!(!w.is_finished(), "rwlock: the writer waits for the other reader");
    r2.release().await.expect("released");
    let (got, mut writer) = within(STEP, "the writer", w).await.expect("joined");
    got.expect("write lock");
    assert_eq!(writer_notified.load(Ordering::SeqCst), 1, "rwlock: the writer was woken once");
    tokio::time::sleep(GRACE).await;
    assert!(!late.is_finished(), "rwlock: the later reader waits for the writer");
    assert_eq!(late_notified.load(Ordering::SeqCst), 0, "rwlock: the later reader was not woken by readers");
    writer.release().await.expect("released");
    let (got, mut reader) = within(STEP, "the later reader", late).await.expect("joined");
    got.expect("read lock");
    reader.release().await.expect("released");
}

/// 10 items taken by 2 consumers at once: each taken once, each consumer's in order; a take
/// on an empty queue waits for the next put.
async fn queue_in_order(hosts: &str) {
    let dir = "/recipes/queue";
    let producer = queue::Queue::new(connect(hosts).await, dir);
    for i in 0..10 {
        producer.put(format!("job-{i:02}").as_bytes()).await.expect("put");
    }
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let q = queue::Queue::new(connect(hosts).await, dir);
        consumers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = q.try_take().await.expect("take") {
                got.push(String::from_utf8(item).expect("text"));
            }
            got
        }));
    }
    let logs: Vec<Vec<String>> = within(STEP, "10 items", futures_util::future::join_all(consumers))
        .await
        .into_iter()
        .map(|r| r.expect("joined"))
        .collect();
    assert!(logs.iter().all(|l| l.windows(2).all(|w| w[0] < w[1])), "queue: each consumer takes in order: {logs:?}");
    let mut all = logs.concat();
    all.sort();
    assert_eq!(all, (0..10).map(|i| format!("job-{i:02}")).collect::<Vec<_>>(), "queue: every item taken exactly once");
    let q = queue::Queue::new(connect(hosts).await, dir);
    let waiting = tokio::spawn(async move { q.take().await });
    tokio::time::sleep(GRACE).await;
    assert!(!waiting.is_finished(), "queue: a take on an empty queue waits");
    producer.put(b"late").await.expect("put");
    let item = within(STEP, "the waiting take", waiting).await.expect("joined").expect("taken");
    assert_eq!(item, b"late", "queue: the waiting consumer gets the next item");
}

/// A double barrier for 3: nobody enters before the third arrives; the two who finish first
/// wait for the third, which crashes inside: its session expiring lets them leave.
async fn double_barrier(hosts: &str) {
    let dir = "/recipes/barrier";
    let admin = connect(hosts).await;
    let (entered, left) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let member = |client: ZkClient, name: &str, leaves: bool| {
        let b = barrier::DoubleBarrier::new(client, dir, name, 3);
        let (entered, left) = (entered.clone(), left.clone());
        tokio::spawn(async move {
            b.enter().await.expect("entered");
            entered.fetch_add(1, Ordering::SeqCst);
            if !leaves {
                std::future::pending::<()>().await; // busy inside until it crashes
            }
            b.leave().await.expect("left");
            left.fetch_add(1, Ordering::SeqCst);
        })
    };
    let a = member(connect(hosts).await, "a", true);
    let b = member(connect(hosts).await, "b", true);
    wait_children(&admin, dir, 2).await;
    tokio::time::sleep(GRACE).await;
    assert_eq!(entered.load(Ordering::SeqCst), 0, "barrier: 2 of 3 arrived, nobody entered");
    let c = member(crashable(hosts).await, "c", false);
    eventually(STEP, "all 3 entered", || entered.load(Ordering::SeqCst) == 3).await;
    tokio::time::sleep(GRACE).await;
    assert_eq!(left.load(Ordering::SeqCst), 0, "barrier: 2 done, the 3rd not: nobody left");
    c.abort(); // the 3rd crashes inside: its client is dropped without closing the session
    within(AFTER_CRASH, "the 2 others leave", futures_util::future::join_all([a, b])).await;
    assert_eq!(left.load(Ordering::SeqCst), 2, "barrier: the crashed member's expiry lets the others leave");
    eventually(STEP, "barrier znodes gone", || true).await;
    assert_eq!(settled_children(&admin, dir).await, 0, "barrier: the last one out removed `ready`");
}
