//! The nemesis: faults drawn from the seed, one at a time, each held for a few seconds, then
//! healed, then a quiet spell. Every action goes to the log with its time. Which node is the
//! leader is found at run time (from `/healthz`), so the schedule of kinds and durations is
//! the seed's and the victims are logged as they are chosen.

use crate::net::Net;
use crate::nodes::{Nodes, HTTP_PORT};
use crate::rng::Rng;
use crate::status;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The network and the processes, shared by the nemesis and the run (which heals and drops
/// them at the end). Fields drop in order: the processes end before their namespaces go.
pub struct World {
    pub nodes: Nodes,
    pub net: Net,
}

pub type Shared = Arc<Mutex<World>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// The leader's link down: no peer and no client reaches it.
    IsolateLeader,
    /// The leader cut from its peers by routes, still reachable by clients: a deposed leader
    /// that clients keep talking to.
    PartitionLeader,
    /// A random node cut from the others (clients still reach it): a minority of one.
    Minority,
    /// Peers in a ring, each cut from those not next to it (with 3 nodes: one pair cut).
    Ring,
    /// A random node's link going down and up every few hundred milliseconds.
    Flap,
    KillLeader,
    KillRandom,
    /// SIGSTOP the leader; it wakes (SIGCONT) believing it still leads.
    PauseLeader,
    PauseRandom,
    /// A node's data disk (a small tmpfs) filled to the last byte, then emptied.
    DiskFull,
    /// kill -9, a torn record appended to the newest log segment, restart.
    TornTail,
}

pub const ALL: [Fault; 11] = [
    Fault::IsolateLeader,
    Fault::PartitionLeader,
    Fault::Minority,
    Fault::Ring,
    Fault::Flap,
    Fault::KillLeader,
    Fault::KillRandom,
    Fault::PauseLeader,
    Fault::PauseRandom,
    Fault::DiskFull,
    Fault::TornTail,
];

pub struct Log {
    start: Instant,
    pub lines: Mutex<Vec<String>>,
    pub counts: Mutex<BTreeMap<String, u64>>,
}

impl Log {
    pub fn new(start: Instant) -> Log {
        Log { start, lines: Mutex::new(Vec::new()), counts: Mutex::new(BTreeMap::new()) }
    }

    pub fn say(&self, what: String) {
        let t = self.start.elapsed();
        let line = format!("{:>4}.{:03}s {what}", t.as_secs(), t.subsec_millis());
        println!("  nemesis {line}");
        self.lines.lock().expect("log lock").push(line);
    }

    fn count(&self, f: Fault) {
        *self.counts.lock().expect("log lock").entry(format!("{f:?}")).or_default() += 1;
    }
}

fn addr(world: &Shared, i: u64) -> SocketAddr {
    SocketAddr::from((world.lock().expect("world lock").net.addr(i), HTTP_PORT))
}

/// The node that says it leads and serves, if one answers.
pub async fn leader(world: &Shared, n: u64) -> Option<u64> {
    for i in 1..=n {
        if status::get(addr(world, i)).await.is_some_and(|s| s.leading && s.serving) {
            return Some(i);
        }
    }
    None
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn act(log: &Log, what: String, r: Result<(), String>) {
    match r {
        Ok(()) => log.say(what),
        Err(e) => log.say(format!("{what} FAILED: {e}")),
    }
}

/// Fault kinds by name (`torn-tail`, `TornTail`, …), comma-separated; empty: all.
pub fn parse_kinds(text: &str) -> Result<Vec<Fault>, String> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', '_'], "");
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let f = ALL.iter().find(|f| norm(&format!("{f:?}")) == norm(name)).ok_or_else(|| {
            format!(
                "no fault {name:?}; the faults: {}",
                ALL.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ")
            )
        })?;
        out.push(*f);
    }
    Ok(if out.is_empty() { ALL.to_vec() } else { out })
}

/// Faults of `kinds` until `stop`; heals after each.
pub async fn run(world: Shared, n: u64, seed: u64, kinds: Vec<Fault>, log: Arc<Log>, stop: Arc<AtomicBool>) {
    let mut rng = Rng::new(seed ^ 0x6e656d65736973);
    // Let the workload start on a healthy cluster.
    sleep_ms(3000).await;
    while !stop.load(Ordering::Relaxed) {
        let f = *rng.pick(&kinds);
        let hold = rng.range(2000, 8000);
        let random = rng.range(1, n + 1);
        let needs_leader =
            matches!(f, Fault::IsolateLeader | Fault::PartitionLeader | Fault::KillLeader | Fault::PauseLeader);
        let victim = match needs_leader {
            true => match leader(&world, n).await {
                Some(l) => l,
                None => {
                    log.say(format!("{f:?}: no leader answers; skipped"));
                    sleep_ms(1000).await;
                    continue;
                }
            },
            false => random,
        };
        log.count(f);
        inject(&world, n, f, victim, hold, &mut rng, &log).await;
        heal(&world, &log);
        sleep_ms(rng.range(1000, 5000)).await;
    }
}

async fn inject(world: &Shared, n: u64, f: Fault, v: u64, hold: u64, rng: &mut Rng, log: &Log) {
    let with = |g: &dyn Fn(&mut World) -> Result<(), String>| g(&mut world.lock().expect("world lock"));
    match f {
        Fault::IsolateLeader => {
            act(log, format!("{f:?}: link of node {v} down for {hold} ms"), with(&|w| w.net.set_link(v, false)));
        }
        Fault::PartitionLeader | Fault::Minority => {
            let size = if f == Fault::Minority { (n - 1) / 2 } else { 1 };
            let (side, rest) = split(n, v, size, rng);
            let cut =
                with(&|w| side.iter().try_for_each(|&a| rest.iter().try_for_each(|&b| w.net.set_blocked(a, b, true))));
            act(log, format!("{f:?}: nodes {side:?} cut from {rest:?} for {hold} ms"), cut);
        }
        Fault::Ring => {
            let (order, pairs) = ring(n, rng);
            let cut = with(&|w| pairs.iter().try_for_each(|&(a, b)| w.net.set_blocked(a, b, true)));
            act(log, format!("{f:?}: ring {order:?}, pairs cut {pairs:?} for {hold} ms"), cut);
        }
        Fault::Flap => return flap(world, v, hold, rng, log).await,
        Fault::KillLeader | Fault::KillRandom => {
            world.lock().expect("world lock").nodes.kill(v);
            log.say(format!("{f:?}: kill -9 node {v}, restart in {hold} ms"));
        }
        Fault::PauseLeader | Fault::PauseRandom => {
            world.lock().expect("world lock").nodes.pause(v);
            log.say(format!("{f:?}: SIGSTOP node {v} for {hold} ms"));
        }
        Fault::DiskFull => match world.lock().expect("world lock").nodes.fill_disk(v) {
            Ok(bytes) => log.say(format!("{f:?}: data disk of node {v} filled ({bytes} bytes) for {hold} ms")),
            Err(e) => log.say(format!("{f:?}: filling node {v}'s disk FAILED: {e}")),
        },
        Fault::TornTail => torn_tail(world, v, hold, rng, log),
    }
    sleep_ms(hold).await;
}

/// `v` and `size - 1` other random nodes, and the rest.
fn split(n: u64, v: u64, size: u64, rng: &mut Rng) -> (Vec<u64>, Vec<u64>) {
    let mut side = vec![v];
    while (side.len() as u64) < size {
        let o = rng.range(1, n + 1);
        if !side.contains(&o) {
            side.push(o);
        }
    }
    let rest = (1..=n).filter(|o| !side.contains(o)).collect();
    (side, rest)
}

/// A random ring of the nodes and the pairs to cut so each sees only its neighbours (with 3
/// nodes, which all neighbour each other, one pair: the third node bridges the two).
fn ring(n: u64, rng: &mut Rng) -> (Vec<u64>, Vec<(u64, u64)>) {
    let mut order: Vec<u64> = (1..=n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.range(0, i as u64 + 1) as usize);
    }
    let pos = |x: u64| order.iter().position(|&o| o == x).unwrap_or(0) as u64;
    let next_to = |a: u64, b: u64| (pos(a) + 1) % n == pos(b) || (pos(b) + 1) % n == pos(a);
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    for a in 1..=n {
        for b in a + 1..=n {
            if !next_to(a, b) {
                pairs.push((a, b));
            }
        }
    }
    if pairs.is_empty() {
        pairs.push((order[0].min(order[2]), order[0].max(order[2])));
    }
    (order, pairs)
}

async fn flap(world: &Shared, v: u64, hold: u64, rng: &mut Rng, log: &Log) {
    log.say(format!("Flap: link of node {v} flapping for {hold} ms"));
    let until = Instant::now() + Duration::from_millis(hold);
    let mut up = false;
    while Instant::now() < until {
        if let Err(e) = world.lock().expect("world lock").net.set_link(v, up) {
            log.say(format!("flap FAILED: {e}"));
        }
        up = !up;
        sleep_ms(rng.range(200, 900)).await;
    }
}

/// kill -9, then a record header promising more payload than follows, and noise.
fn torn_tail(world: &Shared, v: u64, hold: u64, rng: &mut Rng, log: &Log) {
    let mut torn = vec![0u8; rng.range(21, 120) as usize];
    torn.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
    torn[..4].copy_from_slice(&4096u32.to_le_bytes());
    let r = {
        let mut w = world.lock().expect("world lock");
        w.nodes.kill(v);
        w.nodes.tear_log(v, &torn)
    };
    match r {
        Ok((seg, n)) => {
            log.say(format!("TornTail: kill -9 node {v}, {n} torn bytes after {}, restart in {hold} ms", seg.display()))
        }
        Err(e) => log.say(format!("TornTail: kill -9 node {v}, tearing its log FAILED: {e}")),
    }
}

/// Every link up, every cut restored, every node running and resumed.
pub fn heal(world: &Shared, log: &Log) {
    let mut w = world.lock().expect("world lock");
    // A node that ended without being killed crashed: say so before restarting it.
    for (id, status, disk_full) in w.nodes.exited() {
        if disk_full {
            log.say(format!("node {id} exited on its full disk ({status}), as expected"));
            continue;
        }
        log.say(format!("CRASH: node {id} exited by itself ({status}); see {}", w.nodes.log_path(id).display()));
        *log.counts.lock().expect("log lock").entry("crash".into()).or_default() += 1;
    }
    let r = w.net.heal().and_then(|()| w.nodes.revive_all());
    act(log, "heal: links up, cuts restored, nodes resumed/restarted".into(), r);
}
