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

/// Two readers share; a writer waits for both and is woken once; a later reader waits for it.
#[test]
fn read_write_lock_on_the_simulator() {
    use zabra_recipes::rwlock::RwLock;
    let world = SimWorld::new(9, 3);
    let admin = world.client(1, SESSION_MS);
    let mut r1 = RwLock::reader(world.client(1, SESSION_MS), "/rw");
    let mut r2 = RwLock::reader(world.client(2, SESSION_MS), "/rw");
    world.block_on(STEP, r1.acquire()).expect("in time").expect("read lock");
    world.block_on(STEP, r2.acquire()).expect("readers share").expect("read lock");
    let wc = Counted::new(world.client(3, SESSION_MS));
    let writer_notified = wc.counter();
    let wrote: Slot<bool> = Rc::default();
    let w = wrote.clone();
    world.spawn(async move {
        let mut writer = RwLock::writer(wc, "/rw");
        writer.acquire().await.expect("write lock");
        *w.borrow_mut() = Some(true);
        std::future::pending::<()>().await; // holds it
    });
    line(&world, &admin, "/rw", 3);
    world.block_on(STEP, r1.release()).expect("in time").expect("released");
    world.run_for(Duration::from_millis(300));
    assert!(wrote.borrow().is_none(), "the writer waits for the second reader");
    world.block_on(STEP, r2.release()).expect("in time").expect("released");
    world.block_on(STEP, async {
        while wrote.borrow().is_none() {
            admin.sleep(5).await;
        }
    });
    assert_eq!(*wrote.borrow(), Some(true), "the writer gets it after both readers");
    assert_eq!(writer_notified.load(Ordering::SeqCst), 1, "woken once, by the last reader");
    let mut late = RwLock::reader(world.client(2, SESSION_MS), "/rw");
    assert!(world.block_on(Duration::from_millis(500), late.acquire()).is_none(), "a reader waits for the writer");
}

/// A double barrier for 3: nobody enters before the 3rd arrives; all leave together.
#[test]
fn double_barrier_on_the_simulator() {
    use zabra_recipes::barrier::DoubleBarrier;
    let world = SimWorld::new(13, 3);
    let (entered, left) = (Rc::new(RefCell::new(0)), Rc::new(RefCell::new(0)));
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        if i == 2 {
            world.run_for(Duration::from_millis(500));
            assert_eq!(*entered.borrow(), 0, "2 of 3 arrived: nobody entered");
        }
        let b = DoubleBarrier::new(world.client(1 + i as u64, SESSION_MS), "/barrier", name, 3);
        let (e, l) = (entered.clone(), left.clone());
        world.spawn(async move {
            b.enter().await.expect("entered");
            *e.borrow_mut() += 1;
            b.leave().await.expect("left");
            *l.borrow_mut() += 1;
        });
    }
    world.run_for(STEP);
    assert_eq!((*entered.borrow(), *left.borrow()), (3, 3), "all entered and all left");
}

/// A configuration subscriber sees each published version in order.
#[test]
fn configuration_on_the_simulator() {
    use zabra_recipes::config::{publish, Subscriber};
    let world = SimWorld::new(17, 3);
    let publisher = world.client(1, SESSION_MS);
    let mut sub = Subscriber::new(world.client(2, SESSION_MS), "/app/config");
    for v in 0..3 {
        world
            .block_on(STEP, publish(&publisher, "/app/config", format!("v{v}").as_bytes()))
            .expect("in time")
            .expect("published");
        let (data, _) = world.block_on(STEP, sub.next()).expect("in time").expect("next");
        assert_eq!(data, format!("v{v}").as_bytes());
    }
}
