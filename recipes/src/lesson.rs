//! Recipe lessons: the classroom's scenario commands (zabra-core's [`Scenario`]) plus
//! `recipe` lines that start clients running this crate's recipes on the scenario's own
//! simulator, so a lesson shows what the same code an example runs against a real cluster
//! does to the znode tree, the watches and the protocol.
//!
//! ```text
//! recipe lock NAME PEER            contend for the lock /lock; hold it until released
//! recipe candidate NAME PEER       campaign in /election; lead until released
//! recipe member NAME PEER          join the group /group as NAME; stay until released
//! recipe watch-group NAME PEER     list /group and follow it through child watches
//! recipe subscribe NAME PEER       follow the configuration /app/config through data watches
//! recipe publish NAME PEER VALUE   publish VALUE as /app/config (create, or a versioned set)
//! recipe put NAME PEER ITEM        add ITEM to the queue /queue
//! recipe consume NAME PEER         take items from /queue, in order, as they come
//! recipe barrier NAME PEER COUNT   enter the double barrier /barrier for COUNT; leave when released
//! recipe release NAME              the client lets go (unlock, resign, leave)
//! recipe crash NAME                the client's process dies: no more heartbeats, so its
//!                                  session expires after its timeout and its ephemerals go
//! ```
//!
//! A client connects to peer PEER with a 2 s session. Once a recipe line has run, `run`,
//! `advance` and `stabilize` let the recipe clients act as time passes (the core's runner
//! alone would move the simulator without them); every other line is the core's.
//!
//! The core has no async runtime and cannot depend on this crate, so this runner wraps its
//! [`Scenario`] and lends the scenario's simulator to a detached [`SimWorld`] for each line
//! that runs recipe code. The lessons' golden transcripts are checked by
//! `tests/lessons.rs`; the UI (www/) runs the same files through this runner.

use crate::counting::Counted;
use crate::sim::{SimCoord, SimWorld};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::Poll;
use zabra_core::sim::script::{is_annotation, Scenario};
use zabra_core::sim::Sim;
use zabra_core::zxid::Zxid;
use zabra_core::{Duration, Sid};

mod tasks;

/// The session timeout of a lesson's recipe clients (short, so a crash shows within a step).
pub const SESSION_MS: u32 = 2_000;
/// How long a recipe line waits for its client's session (a cluster without quorum grants none).
const CONNECT: Duration = Duration(10_000_000);

/// What a recipe client's task reports, shared with the runner.
#[derive(Default)]
struct Shared {
    phase: RefCell<String>,
    /// Set by `recipe release`: the task lets go at its next poll.
    release: Cell<bool>,
}

struct Actor {
    recipe: &'static str,
    /// The peer it started on (a crashed client's simulator entry wanders off to others).
    peer: u64,
    coord: SimCoord,
    notified: Arc<AtomicU64>,
    shared: Rc<Shared>,
    crashed: bool,
    /// What the transcript last said about it (phase, notifications).
    told: (String, u64),
}

/// One recipe client as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorView {
    pub name: String,
    pub recipe: &'static str,
    /// The peer it is connected to (or trying).
    pub peer: u64,
    pub session: String,
    /// What it is doing, in plain words.
    pub phase: String,
    /// Watch notifications its recipe has received.
    pub notified: u64,
    /// Its process crashed (the session lives on until it times out).
    pub crashed: bool,
    /// The znodes its session owns (ephemerals), as a live peer sees them.
    pub znodes: Vec<String>,
    /// The watches its peer holds for it: "exists /lock/…".
    pub watches: Vec<String>,
}

/// A scenario with recipe clients: see the module docs.
pub struct RecipeScenario {
    scenario: Scenario,
    world: Option<SimWorld>,
    actors: BTreeMap<String, Actor>,
    transcript: bool,
    /// The recipe clients' news since the last [`RecipeScenario::take_transcript`].
    news: String,
}

impl RecipeScenario {
    /// As [`Scenario::new`]: with `transcript`, lines write what happened (golden tests);
    /// without, the simulator records its trace for a page to draw.
    pub fn new(transcript: bool) -> RecipeScenario {
        RecipeScenario {
            scenario: Scenario::new(transcript),
            world: None,
            actors: BTreeMap::new(),
            transcript,
            news: String::new(),
        }
    }

    pub fn simulator(&self) -> Option<&Sim> {
        self.scenario.simulator()
    }

    /// Runs one line: a `recipe` line here, time with the recipe clients acting once there are
    /// any, anything else through the core's runner.
    pub fn run(&mut self, line: &str) -> Result<(), String> {
        if is_annotation(line) {
            return Ok(());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let r = match (words[0], self.world.is_some()) {
            ("recipe", _) => self.recipe(&words[1..]),
            ("run" | "advance", true) => {
                let d = parse_ms(words.get(1).ok_or("duration needed")?)?;
                self.lend(|w, _| {
                    w.run_for(d);
                    Ok(())
                })
            }
            ("stabilize", true) => self.stabilize(&words[1..]),
            _ => self.scenario.run(line),
        };
        self.report();
        r
    }

    /// The transcript written since the last call (transcript mode).
    pub fn take_transcript(&mut self) -> String {
        self.scenario.take_transcript() + &std::mem::take(&mut self.news)
    }

    /// The recipe clients, by name.
    pub fn actors(&self) -> Vec<ActorView> {
        let Some(sim) = self.simulator() else { return Vec::new() };
        self.actors.iter().map(|(name, a)| view(sim, name, a)).collect()
    }

    /// Runs `f` with the scenario's simulator lent to the recipe world (made on first use).
    fn lend<T>(&mut self, f: impl FnOnce(&SimWorld, &mut BTreeMap<String, Actor>) -> T) -> T {
        let world = self.world.get_or_insert_with(SimWorld::detached).clone();
        let sim = self.scenario.simulator_mut().expect("checked by the caller");
        world.swap_sim(sim);
        let r = f(&world, &mut self.actors);
        world.swap_sim(self.scenario.simulator_mut().expect("still there"));
        r
    }

    fn recipe(&mut self, args: &[&str]) -> Result<(), String> {
        if self.scenario.simulator().is_none() {
            return Err("no cluster yet: start with `cluster N`".into());
        }
        match args {
            ["crash", name] => {
                let a = self.actors.get_mut(*name).ok_or(format!("no recipe client {name:?}"))?;
                a.crashed = true;
                let coord = a.coord.clone();
                self.lend(|w, _| w.crash(&coord));
                Ok(())
            }
            ["release", name] => {
                let a = self.actors.get(*name).ok_or(format!("no recipe client {name:?}"))?;
                a.shared.release.set(true);
                self.lend(|w, _| w.run_for(Duration::from_millis(1)));
                Ok(())
            }
            [kind, name, peer, rest @ ..] => {
                let peer: u64 = peer.parse().map_err(|_| format!("bad peer {peer:?}"))?;
                if !self.simulator().expect("cluster").sids().contains(&Sid(peer)) {
                    return Err(format!("no peer {peer}"));
                }
                let kind = tasks::Kind::parse(kind, rest)?;
                let name = name.to_string();
                self.lend(|w, actors| start(w, actors, name, peer, kind))
            }
            _ => Err("recipe KIND NAME PEER [ARG], recipe release NAME or recipe crash NAME".into()),
        }
    }

    fn stabilize(&mut self, args: &[&str]) -> Result<(), String> {
        let limit = args.first().map(|a| parse_ms(a)).transpose()?.unwrap_or(Duration::from_millis(10_000));
        self.lend(|w, _| {
            let mut left = limit.0 / 10_000;
            while !w.with_sim(|s| s.is_stable()) && left > 0 {
                w.run_for(Duration::from_millis(10));
                left -= 1;
            }
            match w.with_sim(|s| s.is_stable() || !s.violations.is_empty()) {
                true => Ok(()),
                false => Err(format!("not stable after {}ms", limit.as_millis())),
            }
        })
    }

    /// Writes what changed for each recipe client into the transcript.
    fn report(&mut self) {
        if !self.transcript {
            return;
        }
        let out = &mut self.news;
        for (name, a) in self.actors.iter_mut() {
            let now = (a.shared.phase.borrow().clone(), a.notified.load(Ordering::SeqCst));
            if now.1 != a.told.1 {
                let _ = writeln!(out, "recipe: {name} was notified by a watch ({} so far)", now.1);
            }
            if now.0 != a.told.0 {
                let _ = writeln!(out, "recipe: {name}: {}", now.0);
            }
            a.told = now;
        }
    }
}

/// Starts a recipe client (or, for `publish` and `put` with a known name, reuses it).
fn start(
    w: &SimWorld,
    actors: &mut BTreeMap<String, Actor>,
    name: String,
    peer: u64,
    kind: tasks::Kind,
) -> Result<(), String> {
    let coord = match actors.get(&name) {
        Some(a) if kind.reuses() && !a.crashed => a.coord.clone(),
        Some(_) => return Err(format!("recipe client {name:?} exists already")),
        None => w.try_client(peer, SESSION_MS, CONNECT).ok_or(format!("no session for {name} from peer {peer}"))?,
    };
    let counted = Counted::new(coord.clone());
    let shared = match actors.get(&name) {
        Some(a) => a.shared.clone(),
        None => Rc::new(Shared::default()),
    };
    let notified = match actors.get(&name) {
        Some(a) => a.notified.clone(),
        None => counted.counter(),
    };
    let recipe = kind.recipe();
    w.spawn(tasks::run(kind, counted, name.clone(), shared.clone()));
    actors.entry(name).or_insert(Actor {
        recipe,
        peer,
        coord,
        notified,
        shared,
        crashed: false,
        told: Default::default(),
    });
    // Let the task send its first request (the page shows it leave).
    w.run_for(Duration::from_millis(1));
    Ok(())
}

fn view(sim: &Sim, name: &str, a: &Actor) -> ActorView {
    let c = &sim.clients[a.coord.id()];
    let session = c.session;
    let up = |s: Sid| sim.peer(s).is_some();
    let reader = if up(c.peer) { Some(c.peer) } else { sim.sids().into_iter().find(|s| up(*s)) };
    let znodes = reader
        .and_then(|s| sim.peer(s))
        .map(|p| {
            p.tree()
                .rows(usize::MAX)
                .into_iter()
                .filter(|r| session.0 != 0 && r.ephemeral_owner == session.0 as i64)
                .map(|r| r.path)
                .collect()
        })
        .unwrap_or_default();
    let watches = sim
        .peer(c.peer)
        .map(|p| {
            p.watch_list()
                .into_iter()
                .filter(|(_, _, s)| *s == session && session.0 != 0)
                .map(|(path, table, _)| format!("{table} {path}"))
                .collect()
        })
        .unwrap_or_default();
    ActorView {
        name: name.to_string(),
        recipe: a.recipe,
        peer: if a.crashed { a.peer } else { c.peer.0 },
        session: session.to_string(),
        phase: a.shared.phase.borrow().clone(),
        notified: a.notified.load(Ordering::SeqCst),
        crashed: a.crashed,
        znodes,
        watches,
    }
}

/// A fencing token (a czxid) as the page writes zxids.
pub fn zxid_text(z: i64) -> String {
    Zxid::from_u64(z as u64).to_string()
}

/// Waits until the client is told to let go.
async fn released(shared: &Shared) {
    poll_fn(|_| if shared.release.get() { Poll::Ready(()) } else { Poll::Pending }).await
}

fn parse_ms(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "ms"), |i| s.split_at(i));
    let n: u64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_millis(n * 1000)),
        _ => Err(format!("bad duration unit in {s:?}")),
    }
}

/// Runs a recipe lesson file as a golden transcript: the core's `run_script` format, with
/// the recipe clients' news after each line. The first error stops it (with its line number).
pub fn run_lesson(text: &str) -> Result<String, String> {
    let mut r = RecipeScenario::new(true);
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.trim().is_empty() || line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let _ = writeln!(out, "> {line}");
        r.run(line).map_err(|e| format!("line {}: {line}: {e}", i + 1))?;
        out.push_str(&r.take_transcript());
        if let Some(v) = r.simulator().and_then(|s| s.violations.first()) {
            let _ = writeln!(out, "VIOLATION: {v}");
            return Ok(out);
        }
    }
    Ok(out)
}
