//! The recipes on the in-tab simulator: the same code the examples run against a real
//! cluster, on 3 simulated peers in virtual time, deterministic for a seed. The crash cases
//! of the real-cluster test (native-node/tests/recipes.rs) again: a lock holder and a leader
//! crash and only the next in line is notified; a member's crash removes it.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use zabra_core::Duration;
use zabra_recipes::counting::Counted;
use zabra_recipes::election::{current_leader, Candidate};
use zabra_recipes::lock::{FencingToken, Lock};
use zabra_recipes::membership::Group;
use zabra_recipes::sim::{SimCoord, SimWorld};
use zabra_recipes::{queue, Coord};

/// Session timeout of simulated clients (the simulator's peers accept short sessions).
const SESSION_MS: u32 = 2_000;
/// Virtual time for a step with no crash, and for one with a session expiring.
const STEP: Duration = Duration(10_000_000);
const AFTER_CRASH: Duration = Duration(30_000_000);

type Slot<T> = Rc<RefCell<Option<T>>>;
/// A spawned contender: its watch notifications, its token once it holds, and its lock.
type Contender = (Arc<AtomicU64>, Slot<FencingToken>, Slot<Lock<Counted<SimCoord>>>);

/// A contender for the lock in `dir`, spawned: its notification count and where its token lands.
fn contend(world: &SimWorld, peer: u64, dir: &'static str) -> Contender {
    let c = Counted::new(world.client(peer, SESSION_MS));
    let notified = c.counter();
    let (token, holder): (Slot<FencingToken>, _) = (Rc::default(), Rc::new(RefCell::new(None)));
    let (t, h) = (token.clone(), holder.clone());
    world.spawn(async move {
        let mut lock = Lock::new(c, dir);
        *t.borrow_mut() = Some(lock.acquire().await.expect("acquired"));
        *h.borrow_mut() = Some(lock);
    });
    (notified, token, holder)
}

fn line(world: &SimWorld, c: &SimCoord, dir: &str, n: usize) {
    let ok = world.block_on(STEP, async {
        while c.get_children(dir).await.map(|v| v.len()).unwrap_or(0) < n {
            c.sleep(5).await;
        }
    });
    assert!(ok.is_some(), "{n} contenders in {dir}");
}

fn lock_scenario(seed: u64) -> Vec<FencingToken> {
    let world = SimWorld::new(seed, 3);
    let admin = world.client(1, SESSION_MS);
    let holder = world.client(2, SESSION_MS);
    let mut lock = Lock::new(holder.clone(), "/lock");
    let first = world.block_on(STEP, lock.acquire()).expect("in time").expect("acquired");
    let waiters: Vec<_> = (0..3u64)
        .map(|i| {
            let w = contend(&world, 1 + i % 3, "/lock");
            line(&world, &admin, "/lock", i as usize + 2);
            w
        })
        .collect();
    world.crash(&holder);
    drop(lock);
    let got = world.block_on(AFTER_CRASH, async {
        while waiters[0].1.borrow().is_none() {
            admin.sleep(5).await;
        }
    });
    assert!(got.is_some(), "the next in line gets the lock after the holder's session expired");
    world.run_for(Duration::from_millis(500));
    let counts: Vec<u64> = waiters.iter().map(|w| w.0.load(Ordering::SeqCst)).collect();
    assert_eq!(counts, [1, 0, 0], "only the next in line was notified");
    assert!(waiters[1].1.borrow().is_none() && waiters[2].1.borrow().is_none(), "one holder at a time");
    let second = waiters[0].1.borrow().expect("token");
    assert!(second > first, "the fencing token grows");
    let mut next = waiters[0].2.borrow_mut().take().expect("lock");
    world.block_on(STEP, next.release()).expect("in time").expect("released");
    let got = world.block_on(STEP, async {
        while waiters[1].1.borrow().is_none() {
            admin.sleep(5).await;
        }
    });
    assert!(got.is_some(), "a release passes the lock on");
    world.run_for(Duration::from_millis(500));
    assert_eq!(waiters[2].0.load(Ordering::SeqCst), 0, "a release notified only the next in line");
    let third = waiters[1].1.borrow().expect("token");
    vec![first, second, third]
}

#[test]
fn lock_holder_crash_wakes_only_the_next() {
    lock_scenario(7);
}

#[test]
fn one_seed_one_run() {
    assert_eq!(lock_scenario(11), lock_scenario(11), "the same seed gives the same tokens");
}

#[test]
fn leader_crash_elects_the_next_and_a_crashed_member_leaves() {
    let world = SimWorld::new(3, 3);
    let admin = world.client(3, SESSION_MS);
    let (first, second) = (world.client(1, SESSION_MS), world.client(2, SESSION_MS));
    let group = Group::new(admin.clone(), "/group");
    world.block_on(STEP, Group::new(first.clone(), "/group").join("first", b"")).expect("in time").expect("joined");
    world.block_on(STEP, Group::new(second.clone(), "/group").join("second", b"")).expect("in time").expect("joined");
    let mut c1 = Candidate::new(first.clone(), "/election", "first");
    world.block_on(STEP, c1.campaign()).expect("in time").expect("leads");
    let won = Rc::new(RefCell::new(false));
    let w = won.clone();
    let c2 = Counted::new(second.clone());
    let notified = c2.counter();
    world.spawn(async move {
        let mut c2 = Candidate::new(c2, "/election", "second");
        c2.campaign().await.expect("leads");
        *w.borrow_mut() = true;
        std::future::pending::<()>().await; // keeps leading
    });
    line(&world, &admin, "/election", 2);
    world.crash(&first);
    let gone = world.block_on(AFTER_CRASH, group.wait_until(|m| m == ["second"]));
    assert_eq!(gone.expect("in time").expect("watched"), ["second"], "a crashed member is removed");
    world.block_on(STEP, async {
        while !*won.borrow() {
            admin.sleep(5).await;
        }
    });
    assert!(*won.borrow(), "the next candidate leads once the leader's session expired");
    assert_eq!(notified.load(Ordering::SeqCst), 1);
    let leader = world.block_on(STEP, current_leader(&admin, "/election")).expect("in time").expect("read");
    assert_eq!(leader.as_deref(), Some("second"));
}

#[test]
fn queue_order_on_the_simulator() {
    let world = SimWorld::new(5, 3);
    let producer = queue::Queue::new(world.client(1, SESSION_MS), "/q");
    let consumer = queue::Queue::new(world.client(2, SESSION_MS), "/q");
    world.block_on(STEP, async {
        for i in 0..5 {
            producer.put(format!("job-{i}").as_bytes()).await.expect("put");
        }
    });
    let taken = world.block_on(STEP, async {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(String::from_utf8(consumer.take().await.expect("taken")).expect("text"));
        }
        v
    });
    assert_eq!(taken.expect("in time"), (0..5).map(|i| format!("job-{i}")).collect::<Vec<_>>());
}
