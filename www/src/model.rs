//! The classroom model, outside Yew: a seed, a cluster size, an optional buggy mode and the
//! list of what the student (or a lesson) did. The view at step `k` is always the real
//! simulator of `zabra-core` replayed from the seed with `actions[..k]`, so scrubbing back and
//! forth, reloading a shared URL and running a lesson all show the same, deterministic cluster.
//!
//! Moving forward applies only the new actions to the live simulator; moving back replays from
//! the seed (the simulator cannot be cloned, and a replay of a few thousand events is fast).

use std::collections::BTreeMap;
use zabra_core::config::Mutant;
use zabra_core::ids::Sid;
use zabra_core::message::{MsgId, MsgKind, ServerState};
use zabra_core::peer::ClientOp;
use zabra_core::sim::{CrashPoint, Sim};
use zabra_core::trace::TraceEvent;
use zabra_core::txn::{CreateMode, Op};
use zabra_core::{Duration, Instant, Zxid};

/// One thing a student (or a lesson) does to the cluster. Every action is deterministic given
/// the simulator state it is applied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Process the next simulator event (a delivery, a disk write finishing, a timer).
    Step,
    /// "You are the network": deliver the head message of `from → to` (FIFO, as over TCP).
    Deliver {
        from: u64,
        to: u64,
    },
    /// "You are the network": lose the head message of `from → to` if it is an election
    /// notification (FLE resends votes, so a lone lost vote is harmless); otherwise nothing.
    Drop {
        from: u64,
        to: u64,
    },
    /// The first proposal on `from → to` vanishes while the connection stays up: what TCP
    /// never does but a faulty driver might (case G5); the receiver sees a gap.
    LoseProposal {
        from: u64,
        to: u64,
    },
    /// Break the connection `a – b`: what was in flight is lost and both ends see it close
    /// (in ZAB a lost message means a broken connection).
    Break {
        a: u64,
        b: u64,
    },
    Crash {
        sid: u64,
    },
    /// Start a stopped peer from what it had made durable (a restart after a crash).
    Restart {
        sid: u64,
    },
    /// Start every peer that is not running.
    StartAll,
    Partition {
        groups: Vec<Vec<u64>>,
    },
    /// A silent partition: packets across groups are black-holed (no connection reset), so
    /// peers notice only through their timeouts.
    SilentPartition {
        groups: Vec<Vec<u64>>,
    },
    /// A one-way cut: messages `from → to` wait (as on a stalled TCP stream) until healed.
    Stall {
        from: u64,
        to: u64,
    },
    Heal,
    /// Arm a named crash point (core `CrashPoint`): the peer crashes when it gets there.
    CrashAt {
        sid: u64,
        point: String,
    },
    /// A client of peer `sid` writes `data` at `path` (create, or setData if it exists there).
    ClientWrite {
        sid: u64,
        path: String,
        data: String,
    },
    ClientRead {
        sid: u64,
        path: String,
    },
    /// Let virtual time pass, processing every event on the way.
    RunFor {
        ms: u64,
    },
    /// Run until every running peer serves one leader at one committed zxid (at most 10 s).
    Stabilize,
    /// Give a peer a slow disk (fsync latency range in ms), to make write orders visible.
    SlowDisk {
        sid: u64,
        lo_ms: u64,
        hi_ms: u64,
    },
    /// Where every epoch's zxid counter starts (core `Sim::first_counter`), for peers started
    /// afterwards: lessons set it near the end of the counter (ZOOKEEPER-1277).
    FirstCounter {
        counter: u32,
    },
    /// Set a stopped peer's durable state (lessons start from known failure histories). The
    /// log holds one create per zxid, named after it, as the core's scenario `set` does.
    SetStorage {
        sid: u64,
        accepted: u32,
        current: u32,
        log: Vec<(u32, u32, u32)>,
    },
}

impl Action {
    /// The compact, URL-safe text of an action (the inverse of [`Action::decode`]).
    pub fn encode(&self) -> String {
        match self {
            Action::Step => "s".into(),
            Action::Deliver { from, to } => format!("d{from}-{to}"),
            Action::Drop { from, to } => format!("l{from}-{to}"),
            Action::LoseProposal { from, to } => format!("v{from}-{to}"),
            Action::Break { a, b } => format!("x{a}-{b}"),
            Action::Crash { sid } => format!("c{sid}"),
            Action::Restart { sid } => format!("r{sid}"),
            Action::StartAll => "u".into(),
            Action::Partition { groups } => format!("p{}", groups_text(groups)),
            Action::SilentPartition { groups } => format!("q{}", groups_text(groups)),
            Action::Heal => "h".into(),
            Action::Stall { from, to } => format!("y{from}-{to}"),
            Action::CrashAt { sid, point } => format!("a{sid}:{point}"),
            Action::ClientWrite { sid, path, data } => format!("w{sid}:{path}={data}"),
            Action::ClientRead { sid, path } => format!("g{sid}:{path}"),
            Action::RunFor { ms } => format!("t{ms}"),
            Action::Stabilize => "z".into(),
            Action::SlowDisk { sid, lo_ms, hi_ms } => format!("k{sid}:{lo_ms}-{hi_ms}"),
            Action::FirstCounter { counter } => format!("f{counter}"),
            Action::SetStorage { sid, accepted, current, log } => {
                let ranges: Vec<String> = log.iter().map(|(e, a, b)| format!("{e}.{a}-{b}")).collect();
                format!("e{sid}:{accepted}:{current}:{}", ranges.join(","))
            }
        }
    }

    pub fn decode(s: &str) -> Option<Action> {
        let (tag, rest) = s.split_at(s.char_indices().nth(1).map_or(s.len(), |(i, _)| i));
        let pair = |r: &str| -> Option<(u64, u64)> {
            let (a, b) = r.split_once('-')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        };
        Some(match tag {
            "s" => Action::Step,
            "d" => pair(rest).map(|(from, to)| Action::Deliver { from, to })?,
            "l" => pair(rest).map(|(from, to)| Action::Drop { from, to })?,
            "v" => pair(rest).map(|(from, to)| Action::LoseProposal { from, to })?,
            "x" => pair(rest).map(|(a, b)| Action::Break { a, b })?,
            "c" => Action::Crash { sid: rest.parse().ok()? },
            "r" => Action::Restart { sid: rest.parse().ok()? },
            "u" => Action::StartAll,
            "p" => Action::Partition { groups: parse_groups(rest)? },
            "q" => Action::SilentPartition { groups: parse_groups(rest)? },
            "h" => Action::Heal,
            "y" => pair(rest).map(|(from, to)| Action::Stall { from, to })?,
            "a" => {
                let (sid, point) = rest.split_once(':')?;
                CrashPoint::parse(point)?;
                Action::CrashAt { sid: sid.parse().ok()?, point: point.into() }
            }
            "w" => {
                let (sid, pd) = rest.split_once(':')?;
                let (path, data) = pd.split_once('=')?;
                Action::ClientWrite { sid: sid.parse().ok()?, path: path.into(), data: data.into() }
            }
            "g" => {
                let (sid, path) = rest.split_once(':')?;
                Action::ClientRead { sid: sid.parse().ok()?, path: path.into() }
            }
            "t" => Action::RunFor { ms: rest.parse().ok()? },
            "z" => Action::Stabilize,
            "k" => {
                let (sid, r) = rest.split_once(':')?;
                let (lo_ms, hi_ms) = pair(r)?;
                Action::SlowDisk { sid: sid.parse().ok()?, lo_ms, hi_ms }
            }
            "f" => Action::FirstCounter { counter: rest.parse().ok().filter(|c| (1..u32::MAX).contains(c))? },
            "e" => decode_storage(rest)?,
            _ => return None,
        })
    }

    /// A short label for the timeline and the action list.
    pub fn label(&self) -> String {
        match self {
            Action::Step => "step".into(),
            Action::Deliver { from, to } => format!("deliver {from}→{to}"),
            Action::Drop { from, to } => format!("drop vote {from}→{to}"),
            Action::LoseProposal { from, to } => format!("lose a proposal {from}→{to}"),
            Action::Break { a, b } => format!("break {a}–{b}"),
            Action::Crash { sid } => format!("crash {sid}"),
            Action::Restart { sid } => format!("restart {sid}"),
            Action::StartAll => "start all".into(),
            Action::Partition { groups } => format!("partition {}", groups_text(groups)),
            Action::SilentPartition { groups } => format!("silent partition {}", groups_text(groups)),
            Action::Heal => "heal".into(),
            Action::Stall { from, to } => format!("cut {from}→{to}"),
            Action::CrashAt { sid, point } => format!("{sid} will crash at {point}"),
            Action::ClientWrite { sid, path, data } => format!("write {path}={data} via {sid}"),
            Action::ClientRead { sid, path } => format!("read {path} via {sid}"),
            Action::RunFor { ms } => format!("run {ms} ms"),
            Action::Stabilize => "run until stable".into(),
            Action::SlowDisk { sid, lo_ms, hi_ms } => format!("slow disk on {sid} ({lo_ms}–{hi_ms} ms)"),
            Action::FirstCounter { counter } => format!("zxid counters start at {counter:#x}"),
            Action::SetStorage { sid, .. } => format!("set the disk of {sid}"),
        }
    }
}

fn groups_text(groups: &[Vec<u64>]) -> String {
    let gs: Vec<String> = groups.iter().map(|g| g.iter().map(u64::to_string).collect::<Vec<_>>().join(",")).collect();
    gs.join("|")
}

fn parse_groups(s: &str) -> Option<Vec<Vec<u64>>> {
    s.split('|').map(|g| g.split(',').map(|x| x.parse().ok()).collect()).collect()
}

/// What a student typed as partition groups (`1,2|3`), checked against a cluster of `nodes`
/// peers: known sids, none twice, at least two groups. Peers left out form one more group.
pub fn parse_partition(text: &str, nodes: usize) -> Result<Vec<Vec<u64>>, String> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let groups = parse_groups(&text).ok_or("write groups like 1,2|3")?;
    let mut seen = std::collections::BTreeSet::new();
    for s in groups.iter().flatten() {
        if *s < 1 || *s > nodes as u64 {
            return Err(format!("no peer {s} (peers are 1..{nodes})"));
        }
        if !seen.insert(*s) {
            return Err(format!("peer {s} is in two groups"));
        }
    }
    if groups.len() < 2 && seen.len() == nodes {
        return Err("give at least two groups".into());
    }
    Ok(groups)
}

fn decode_storage(s: &str) -> Option<Action> {
    let mut it = s.splitn(4, ':');
    let sid = it.next()?.parse().ok()?;
    let accepted = it.next()?.parse().ok()?;
    let current = it.next()?.parse().ok()?;
    let mut log = Vec::new();
    for r in it.next()?.split(',').filter(|r| !r.is_empty()) {
        let (e, ab) = r.split_once('.')?;
        let (a, b) = ab.split_once('-')?;
        log.push((e.parse().ok()?, a.parse().ok()?, b.parse().ok()?));
    }
    Some(Action::SetStorage { sid, accepted, current, log })
}

/// Actions joined by `~` (none of the action texts contain it).
pub fn encode_actions(actions: &[Action]) -> String {
    actions.iter().map(Action::encode).collect::<Vec<_>>().join("~")
}

pub fn decode_actions(s: &str) -> Option<Vec<Action>> {
    s.split('~').filter(|a| !a.is_empty()).map(Action::decode).collect()
}

/// Keeps client paths and data URL-safe and readable: letters, digits, `/ _ - .` only.
pub fn sanitize(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || "/_-.".contains(*c)).collect()
}

/// What defines a run: change any of these and the cluster starts again from the seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    pub seed: u64,
    pub nodes: usize,
    /// Non-voting peers (observers), numbered after the voters.
    pub observers: usize,
    pub mutant: Option<Mutant>,
    /// "You are the network": messages wait until the student delivers them.
    pub manual: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Setup { seed: 7, nodes: 3, observers: 0, mutant: None, manual: false }
    }
}

/// The classroom: a setup, the actions taken, the cursor, and the simulator at the cursor.
pub struct Classroom {
    pub setup: Setup,
    /// Applied before any action: start every peer, or a lesson's stored histories.
    pub prelude: Vec<Action>,
    pub actions: Vec<Action>,
    cursor: usize,
    sim: Sim,
    clients: BTreeMap<u64, usize>,
    sent: SentTimes,
    vm: Fed,
}

/// The view model, fed each new event of the simulator's trace once (at the virtual time the
/// action ended: exact for a single step).
#[derive(Default)]
struct Fed {
    vm: crate::viewmodel::ViewModel,
    seen: usize,
    notes: usize,
}

impl Fed {
    fn new(sim: &Sim) -> Fed {
        Fed { vm: crate::viewmodel::ViewModel::with_peers(sim.sids().into_iter().map(|s| s.0)), seen: 0, notes: 0 }
    }

    /// Feeds the new events and notes in the order they happened, each at its own time.
    fn track(&mut self, sim: &Sim) {
        let ms = |t: Instant| t.0 as f64 / 1000.0;
        while self.seen < sim.trace.len() || self.notes < sim.notes.len() {
            let event_at = sim.trace_at.get(self.seen).copied();
            match sim.notes.get(self.notes) {
                Some((at, text)) if event_at.is_none_or(|e| *at <= e) => {
                    self.vm.note(text, ms(*at));
                    self.notes += 1;
                }
                _ => {
                    self.vm.feed(&sim.trace[self.seen], ms(event_at.unwrap_or(sim.now)));
                    self.seen += 1;
                }
            }
        }
    }
}

/// When each message still in flight was sent (keyed by id and receiver: ids count per
/// destination), read from the trace's `MsgSent` events as
/// they appear: exact for a single step (the event's time), the end of the action otherwise.
#[derive(Default)]
pub struct SentTimes {
    pub at: BTreeMap<(MsgId, Sid), Instant>,
    seen: usize,
}

impl SentTimes {
    fn track(&mut self, sim: &Sim) {
        let new = sim.trace.get(self.seen..).unwrap_or_default();
        for e in new {
            match e {
                TraceEvent::MsgSent { id, to, .. } => {
                    self.at.insert((*id, *to), sim.now);
                }
                TraceEvent::MsgDelivered { id, to, .. } => {
                    self.at.remove(&(*id, *to));
                }
                _ => {}
            }
        }
        self.seen = sim.trace.len();
        // Messages lost with a broken connection are never delivered: forget them sometimes.
        if self.at.len() > 4096 {
            let live: std::collections::BTreeSet<(MsgId, Sid)> =
                sim.in_flight_messages().into_iter().map(|m| (m.id, m.to)).collect();
            self.at.retain(|id, _| live.contains(id));
        }
    }
}

impl Classroom {
    pub fn new(setup: Setup, prelude: Vec<Action>, actions: Vec<Action>) -> Classroom {
        let (sim, clients, sent, vm) = fresh(&setup, &prelude);
        Classroom { setup, prelude, actions, cursor: 0, sim, clients, sent, vm }
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    pub fn sent_times(&self) -> &SentTimes {
        &self.sent
    }

    /// The view model at the cursor.
    pub fn view_model(&self) -> &crate::viewmodel::ViewModel {
        &self.vm.vm
    }

    /// Show the cluster after `actions[..k]` (clamped to the list).
    pub fn seek(&mut self, k: usize) {
        let k = k.min(self.actions.len());
        if k < self.cursor {
            let (sim, clients, sent, vm) = fresh(&self.setup, &self.prelude);
            self.sim = sim;
            self.clients = clients;
            self.sent = sent;
            self.vm = vm;
            self.cursor = 0;
        }
        while self.cursor < k {
            let a = self.actions[self.cursor].clone();
            apply(&mut self.sim, &mut self.clients, &a);
            self.sent.track(&self.sim);
            self.vm.track(&self.sim);
            self.cursor += 1;
        }
    }

    /// Do something new at the cursor: what came after it is forgotten (a new branch).
    pub fn push(&mut self, a: Action) {
        self.actions.truncate(self.cursor);
        self.actions.push(a);
        self.seek(self.cursor + 1);
    }
}

fn fresh(setup: &Setup, prelude: &[Action]) -> (Sim, BTreeMap<u64, usize>, SentTimes, Fed) {
    let mut sim = Sim::new(setup.seed, setup.nodes, setup.observers, setup.mutant.into_iter().collect());
    sim.record = true;
    sim.manual_network = setup.manual;
    let mut clients = BTreeMap::new();
    let mut sent = SentTimes::default();
    let mut vm = Fed::new(&sim);
    for a in prelude {
        apply(&mut sim, &mut clients, a);
        sent.track(&sim);
        vm.track(&sim);
    }
    (sim, clients, sent, vm)
}

/// Apply one action. The simulator stops at the first safety violation (the checkers have
/// spoken); a student may still crash, restart and look around.
pub fn apply(sim: &mut Sim, clients: &mut BTreeMap<u64, usize>, a: &Action) {
    let known = |s: u64| s >= 1 && s <= sim.sids().len() as u64;
    match a {
        Action::Step if sim.violations.is_empty() => {
            sim.step_one();
        }
        Action::Deliver { from, to } => {
            sim.deliver_one(Sid(*from), Sid(*to), None);
        }
        Action::Drop { from, to } => {
            sim.drop_notification(Sid(*from), Sid(*to));
        }
        Action::LoseProposal { from, to } => {
            sim.lose_one(Sid(*from), Sid(*to), Some(MsgKind::Proposal));
        }
        Action::Break { a, b } => sim.break_link(Sid(*a), Sid(*b), true),
        Action::Crash { sid } if known(*sid) => sim.crash(Sid(*sid)),
        Action::Restart { sid } if known(*sid) => sim.start(Sid(*sid)),
        Action::StartAll => sim.start_all(),
        Action::Partition { groups } => {
            let gs: Vec<Vec<Sid>> = groups.iter().map(|g| g.iter().map(|s| Sid(*s)).collect()).collect();
            sim.partition(&gs);
        }
        Action::SilentPartition { groups } => {
            let gs: Vec<Vec<Sid>> = groups.iter().map(|g| g.iter().map(|s| Sid(*s)).collect()).collect();
            sim.silent_partition(&gs);
        }
        Action::Heal => sim.heal(),
        Action::Stall { from, to } => sim.stall(Sid(*from), Sid(*to)),
        Action::CrashAt { sid, point } if known(*sid) => {
            if let Some(p) = CrashPoint::parse(point) {
                sim.arm(Sid(*sid), p);
            }
        }
        Action::ClientWrite { sid, path, data } if known(*sid) => on_write(sim, clients, *sid, path, data),
        Action::ClientRead { sid, path } if known(*sid) => {
            let c = client_of(sim, clients, *sid);
            sim.client_request(c, ClientOp::GetData { path: path.clone(), watch: true });
        }
        Action::RunFor { ms } => sim.run_for(Duration::from_millis(*ms)),
        Action::Stabilize => stabilize(sim),
        Action::SlowDisk { sid, lo_ms, hi_ms } => sim.set_fsync(Sid(*sid), lo_ms * 1000, hi_ms * 1000),
        Action::FirstCounter { counter } => sim.first_counter = (*counter).clamp(1, u32::MAX - 1),
        Action::SetStorage { sid, accepted, current, log } => on_set_storage(sim, *sid, *accepted, *current, log),
        _ => {}
    }
}

fn client_of(sim: &mut Sim, clients: &mut BTreeMap<u64, usize>, sid: u64) -> usize {
    *clients.entry(sid).or_insert_with(|| {
        let c = sim.add_client(Sid(sid));
        // Let the session be granted before the first request.
        if !sim.manual_network {
            sim.run_for(Duration::from_millis(50));
        }
        c
    })
}

fn on_write(sim: &mut Sim, clients: &mut BTreeMap<u64, usize>, sid: u64, path: &str, data: &str) {
    let c = client_of(sim, clients, sid);
    let exists = sim.peer(Sid(sid)).is_some_and(|p| p.tree().exists(path).ok().flatten().is_some());
    let op = if exists {
        Op::SetData { path: path.to_string(), data: data.into(), version: -1 }
    } else {
        Op::create(path, data.as_bytes(), CreateMode::Persistent)
    };
    sim.client_request(c, ClientOp::Write(op));
}

fn on_set_storage(sim: &mut Sim, sid: u64, accepted: u32, current: u32, log: &[(u32, u32, u32)]) {
    let Some(mut st) = sim.storage(Sid(sid)).cloned() else { return };
    st.accepted_epoch = accepted;
    st.current_epoch = current;
    st.log = log
        .iter()
        .flat_map(|(e, a, b)| (*a..=*b).map(move |c| zabra_core::sim::script::seeded_entry(Zxid::new(*e, c))))
        .collect();
    sim.set_storage(Sid(sid), st);
}

/// As the core's scenario `stabilize`: one live leader, everyone serving it at one committed
/// zxid, no client request pending. Gives up after 10 s of virtual time.
pub fn stable(sim: &Sim) -> bool {
    let st = sim.statuses();
    let Some(leader) = sim.leader() else { return false };
    !st.is_empty()
        && st.iter().all(|s| s.serving && s.leader == Some(leader))
        && st.windows(2).all(|w| w[0].last_committed == w[1].last_committed)
        && sim.clients.iter().all(|c| c.outstanding.is_empty())
}

fn stabilize(sim: &mut Sim) {
    if sim.manual_network {
        return;
    }
    let deadline = sim.now + Duration::from_millis(10_000);
    while sim.now < deadline && !stable(sim) && sim.violations.is_empty() {
        sim.run_for(Duration::from_millis(10));
    }
}

/// The role as the page shows it (and as `data-role` reports it).
pub fn role_name(state: Option<ServerState>) -> &'static str {
    match state {
        None => "DOWN",
        Some(ServerState::Looking) => "LOOKING",
        Some(ServerState::Following) => "FOLLOWING",
        Some(ServerState::Leading) => "LEADING",
        Some(ServerState::Observing) => "OBSERVING",
    }
}

pub fn mutant_by_name(name: &str) -> Option<Mutant> {
    Mutant::ALL.into_iter().find(|m| m.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_through_text() {
        let all = vec![
            Action::Step,
            Action::Deliver { from: 1, to: 3 },
            Action::Drop { from: 2, to: 1 },
            Action::LoseProposal { from: 3, to: 1 },
            Action::Break { a: 2, b: 3 },
            Action::Crash { sid: 2 },
            Action::Restart { sid: 2 },
            Action::StartAll,
            Action::Partition { groups: vec![vec![1, 2], vec![3]] },
            Action::SilentPartition { groups: vec![vec![1], vec![2, 3]] },
            Action::Stall { from: 3, to: 1 },
            Action::Heal,
            Action::CrashAt { sid: 2, point: "after-current-epoch".into() },
            Action::ClientWrite { sid: 1, path: "/a/b".into(), data: "x1".into() },
            Action::ClientRead { sid: 3, path: "/a".into() },
            Action::RunFor { ms: 250 },
            Action::Stabilize,
            Action::SlowDisk { sid: 1, lo_ms: 80, hi_ms: 90 },
            Action::FirstCounter { counter: 0xffff_fff0 },
            Action::SetStorage { sid: 1, accepted: 7, current: 7, log: vec![(7, 1, 4), (8, 1, 1)] },
        ];
        let text = encode_actions(&all);
        assert_eq!(decode_actions(&text), Some(all));
        assert_eq!(decode_actions("s~j9"), None);
        assert_eq!(decode_actions("s~q1,x"), None);
    }

    #[test]
    fn replay_is_deterministic_and_seek_back_matches() {
        let actions: Vec<Action> = std::iter::repeat_n(Action::Step, 60).collect();
        let mut a = Classroom::new(Setup::default(), vec![Action::StartAll], actions.clone());
        a.seek(60);
        let at60 = a.sim().statuses();
        a.seek(20);
        let at20 = a.sim().statuses();
        let mut b = Classroom::new(Setup::default(), vec![Action::StartAll], actions);
        b.seek(20);
        assert_eq!(format!("{at20:?}"), format!("{:?}", b.sim().statuses()));
        b.seek(60);
        assert_eq!(format!("{at60:?}"), format!("{:?}", b.sim().statuses()));
    }

    #[test]
    fn stabilize_elects_a_leader_and_a_write_commits() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        c.push(Action::Stabilize);
        assert!(c.sim().leader().is_some());
        c.push(Action::ClientWrite { sid: 1, path: "/a".into(), data: "x".into() });
        c.push(Action::Stabilize);
        let t = c.sim().peer(Sid(2)).expect("up").tree().get_data("/a").expect("committed");
        assert_eq!(t.0.bytes(), b"x");
    }

    #[test]
    fn push_after_seek_back_forgets_the_future() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![Action::Step; 5]);
        c.seek(2);
        c.push(Action::Crash { sid: 1 });
        assert_eq!(c.actions.len(), 3);
        assert_eq!(c.cursor(), 3);
        assert!(!c.sim().is_up(Sid(1)));
    }

    #[test]
    fn partition_text_is_checked() {
        assert_eq!(parse_partition("1,2|3", 3), Ok(vec![vec![1, 2], vec![3]]));
        assert_eq!(parse_partition(" 1, 2 | 3,4,5 ", 5), Ok(vec![vec![1, 2], vec![3, 4, 5]]));
        assert_eq!(parse_partition("1", 3), Ok(vec![vec![1]]), "the others form the second group");
        for bad in ["", "1,,2|3", "a|b", "1|4", "0|1", "1,2|2,3", "1,2,3"] {
            assert!(parse_partition(bad, 3).is_err(), "{bad:?}");
        }
    }

    fn leaders(sim: &Sim) -> Vec<u64> {
        sim.statuses().iter().filter(|s| s.state == ServerState::Leading).map(|s| s.sid.0).collect()
    }

    #[test]
    fn five_peer_partition_leaves_a_leader_only_in_the_majority_and_heals() {
        for silent in [false, true] {
            let groups = parse_partition("1,2|3,4,5", 5).expect("valid");
            let setup = Setup { nodes: 5, ..Setup::default() };
            let mut c = Classroom::new(setup, vec![Action::StartAll], vec![]);
            c.push(Action::Stabilize);
            c.push(if silent {
                Action::SilentPartition { groups: groups.clone() }
            } else {
                Action::Partition { groups: groups.clone() }
            });
            c.push(Action::RunFor { ms: 6000 });
            let ls = leaders(c.sim());
            assert_eq!(ls.len(), 1, "silent={silent}: {ls:?}");
            assert!([3, 4, 5].contains(&ls[0]), "silent={silent}: leader {ls:?} in the majority");
            for s in c.sim().statuses() {
                if s.sid.0 <= 2 {
                    assert!(!s.serving, "silent={silent}: minority peer {} must not serve", s.sid);
                }
            }
            c.push(Action::ClientWrite { sid: ls[0], path: "/maj".into(), data: "1".into() });
            c.push(Action::Heal);
            c.push(Action::Stabilize);
            assert!(stable(c.sim()), "silent={silent}: heal converges");
            assert!(c.sim().violations.is_empty(), "{:?}", c.sim().violations);
            let tree_has =
                |sid: u64| c.sim().peer(Sid(sid)).is_some_and(|p| p.tree().exists("/maj").ok().flatten().is_some());
            assert!((1..=5).all(tree_has), "silent={silent}: the majority's write reaches everyone");
        }
    }
}
