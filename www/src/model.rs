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
use zabra_core::message::{MsgId, ServerState};
use zabra_core::sim::{CrashPoint, Sim};
use zabra_core::trace::TraceEvent;
use zabra_core::Instant;
use zabra_recipes::lesson::{ActorView, RecipeScenario};

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
    /// Any other scenario command (a client's ephemeral create, a session closing, ...), run
    /// as written by the core's scenario runner.
    Script(String),
}

impl Action {
    /// The action as a scenario command (`core/src/sim/script.rs`): what lessons, share
    /// links and uploaded scenarios are written in. The inverse of [`decode_line`].
    pub fn encode(&self) -> String {
        match self {
            Action::Step => "step".into(),
            Action::Deliver { from, to } => format!("deliver {from}->{to}"),
            Action::Drop { from, to } => format!("drop-vote {from}->{to}"),
            Action::LoseProposal { from, to } => format!("lose {from}->{to} kind=Proposal"),
            Action::Break { a, b } => format!("break {a}-{b}"),
            Action::Crash { sid } => format!("crash {sid}"),
            Action::Restart { sid } => format!("restart {sid}"),
            Action::StartAll => "start".into(),
            Action::Partition { groups } => format!("partition {}", groups_text(groups)),
            Action::SilentPartition { groups } => format!("partition {} silent", groups_text(groups)),
            Action::Heal => "heal".into(),
            Action::Stall { from, to } => format!("stall {from}->{to}"),
            Action::CrashAt { sid, point } => format!("crash {sid} at={point}"),
            Action::ClientWrite { sid, path, data } => format!("client {sid} write {path} {data}"),
            Action::ClientRead { sid, path } => format!("client {sid} get {path} watch"),
            Action::RunFor { ms } => format!("run {ms}ms"),
            Action::Stabilize => "stabilize".into(),
            Action::SlowDisk { sid, lo_ms, hi_ms } => format!("slowdisk {sid} {lo_ms}ms..{hi_ms}ms"),
            Action::FirstCounter { counter } => format!("counter {counter:#x}"),
            Action::Script(line) => line.clone(),
        }
    }

    /// One scenario command as an action (`step N` is N actions: see [`decode_line`]).
    pub fn decode(line: &str) -> Option<Action> {
        decode_line(line).ok().filter(|v| v.len() == 1).and_then(|mut v| v.pop())
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
            Action::Script(line) => line.clone(),
        }
    }
}

/// The commands the classroom never runs: comments, a lesson's `say`/`select`, and the
/// commands that only print or check for the golden transcripts (`expect-violation` would
/// clear the safety panel).
pub fn skipped_in_classroom(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    zabra_core::sim::script::is_annotation(line)
        || matches!(first, "expect-violation" | "check" | "status" | "log" | "tree" | "cluster")
}

/// One scenario command line as actions: the classroom's own actions where it has one (so
/// its buttons, labels and timeline know them), `step N` as N steps, anything else as the
/// command itself (run by the core's scenario runner). Lines the classroom skips give none.
pub fn decode_line(line: &str) -> Result<Vec<Action>, String> {
    let line = line.trim();
    if skipped_in_classroom(line) {
        return Ok(Vec::new());
    }
    let w: Vec<&str> = line.split_whitespace().collect();
    let num = |s: &str| s.parse::<u64>().map_err(|_| format!("bad number {s:?} in {line:?}"));
    let arrow = |s: &str| -> Result<(u64, u64), String> {
        let (a, b) = s.split_once("->").ok_or(format!("write A->B in {line:?}"))?;
        Ok((num(a)?, num(b)?))
    };
    let ms = |s: &str| match (s.strip_suffix("ms"), s.strip_suffix('s')) {
        (Some(ms), _) => num(ms),
        (None, Some(secs)) if !secs.ends_with('u') => num(secs).map(|n| n * 1000),
        _ => num(s),
    };
    let one = |a: Action| Ok(vec![a]);
    match w.as_slice() {
        ["step"] => one(Action::Step),
        ["step", n] => Ok(vec![Action::Step; num(n)?.min(10_000) as usize]),
        ["deliver", d] => arrow(d).and_then(|(from, to)| one(Action::Deliver { from, to })),
        ["drop-vote", d] => arrow(d).and_then(|(from, to)| one(Action::Drop { from, to })),
        ["lose", d, "kind=Proposal"] => arrow(d).and_then(|(from, to)| one(Action::LoseProposal { from, to })),
        ["break", ab] => {
            let (a, b) = ab.split_once('-').ok_or(format!("write break A-B in {line:?}"))?;
            one(Action::Break { a: num(a)?, b: num(b)? })
        }
        ["crash", s] if *s != "leader" => one(Action::Crash { sid: num(s)? }),
        ["crash", s, at] if at.starts_with("at=") && CrashPoint::parse(&at[3..]).is_some() => {
            one(Action::CrashAt { sid: num(s)?, point: at[3..].to_string() })
        }
        ["restart", s] if !s.contains(',') => one(Action::Restart { sid: num(s)? }),
        ["start"] => one(Action::StartAll),
        ["partition", rest @ ..] if !rest.is_empty() => {
            let silent = rest.last() == Some(&"silent");
            let text: String = rest.iter().filter(|a| **a != "silent").copied().collect();
            let groups = parse_groups(&text).ok_or(format!("write groups like 1,2|3 in {line:?}"))?;
            one(if silent { Action::SilentPartition { groups } } else { Action::Partition { groups } })
        }
        ["heal"] => one(Action::Heal),
        ["stall", d] => arrow(d).and_then(|(from, to)| one(Action::Stall { from, to })),
        ["client", s, "write", path, data] => {
            one(Action::ClientWrite { sid: num(s)?, path: path.to_string(), data: data.to_string() })
        }
        ["client", s, "get", path, "watch"] => one(Action::ClientRead { sid: num(s)?, path: path.to_string() }),
        ["run", t] => one(Action::RunFor { ms: ms(t)? }),
        ["stabilize"] => one(Action::Stabilize),
        ["slowdisk", s, range] => {
            let (lo, hi) = range.split_once("..").ok_or(format!("write slowdisk N LO..HI in {line:?}"))?;
            one(Action::SlowDisk { sid: num(s)?, lo_ms: ms(lo)?, hi_ms: ms(hi)? })
        }
        ["counter", c] => {
            let c = c.strip_prefix("0x").map_or_else(|| c.parse().ok(), |h| u32::from_str_radix(h, 16).ok());
            one(Action::FirstCounter { counter: c.filter(|c| (1..u32::MAX).contains(c)).ok_or("bad counter")? })
        }
        _ => one(Action::Script(line.to_string())),
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

/// Actions as scenario lines, one per line, consecutive steps as one `step N`.
pub fn encode_actions(actions: &[Action]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut steps = 0usize;
    for a in actions {
        if *a == Action::Step {
            steps += 1;
            continue;
        }
        if steps > 0 {
            lines.push(if steps == 1 { "step".into() } else { format!("step {steps}") });
            steps = 0;
        }
        lines.push(a.encode());
    }
    if steps > 0 {
        lines.push(if steps == 1 { "step".into() } else { format!("step {steps}") });
    }
    lines.join("\n")
}

/// Scenario lines as actions (the first bad line is the error).
pub fn decode_actions(text: &str) -> Result<Vec<Action>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        out.extend(decode_line(line)?);
    }
    Ok(out)
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

impl Setup {
    /// The scenario's first line: `cluster N seed=S [observers=O] [mutant=M] [manual]`.
    pub fn cluster_line(&self) -> String {
        let mut l = format!("cluster {} seed={}", self.nodes, self.seed);
        if self.observers > 0 {
            l.push_str(&format!(" observers={}", self.observers));
        }
        if let Some(m) = self.mutant {
            l.push_str(&format!(" mutant={}", m.name()));
        }
        if self.manual {
            l.push_str(" manual");
        }
        l
    }

    /// A `cluster` line as a setup, and the zxid counter it sets (`counter=`), if any.
    pub fn parse_cluster(line: &str) -> Result<(Setup, Option<u32>), String> {
        let w: Vec<&str> = line.split_whitespace().collect();
        if w.first() != Some(&"cluster") {
            return Err(format!("a scenario starts with `cluster N`, not {line:?}"));
        }
        let nodes =
            w.get(1).and_then(|n| n.parse().ok()).filter(|n| (1..=7).contains(n)).ok_or("cluster N: 1 to 7 voters")?;
        let mut s = Setup { nodes, seed: 1, ..Setup::default() };
        let mut counter = None;
        for a in &w[2..] {
            match a.split_once('=') {
                Some(("seed", v)) => s.seed = v.parse().map_err(|_| format!("bad seed {v:?}"))?,
                Some(("observers", v)) => {
                    s.observers = v.parse().ok().filter(|o| *o <= 3).ok_or("observers: 0 to 3")?
                }
                Some(("mutant", v)) => s.mutant = Some(mutant_by_name(v).ok_or(format!("no buggy mode {v:?}"))?),
                Some(("counter", v)) => {
                    let c = v.strip_prefix("0x").map_or_else(|| v.parse().ok(), |h| u32::from_str_radix(h, 16).ok());
                    counter = Some(c.filter(|c| (1..u32::MAX).contains(c)).ok_or("bad counter")?);
                }
                None if *a == "manual" => s.manual = true,
                _ => return Err(format!("unknown cluster option {a:?}")),
            }
        }
        Ok((s, counter))
    }
}

/// The classroom: a setup, the actions taken, the cursor, and the simulator at the cursor.
pub struct Classroom {
    pub setup: Setup,
    /// Applied before any action: start every peer, or a lesson's stored histories.
    pub prelude: Vec<Action>,
    pub actions: Vec<Action>,
    cursor: usize,
    /// The core's scenario runner (the same one the golden transcripts run through), wrapped
    /// so `recipe` lines run recipe clients from zabra-recipes on its simulator.
    scenario: RecipeScenario,
    sent: SentTimes,
    vm: Fed,
    /// What moved in the last move forward (the picture replays it as motion).
    motion: crate::motion::Motion,
    /// Clients' writes: pending, then how they ended.
    requests: crate::requests::Requests,
    /// What the last action answered when it could not do what it said (shown to the
    /// student, never silently dropped), with its index.
    last_error: Option<(usize, String)>,
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
        let (scenario, sent, vm) = fresh(&setup, &prelude);
        Classroom {
            setup,
            prelude,
            actions,
            cursor: 0,
            scenario,
            sent,
            vm,
            motion: Default::default(),
            requests: Default::default(),
            last_error: None,
        }
    }

    /// The run as a scenario file: its cluster, its prelude and its actions up to the cursor
    /// (what "download" gives; "run a scenario" takes it back).
    pub fn scenario_text(&self) -> String {
        let mut t = format!("# A Zabra classroom run\n{}\n", self.setup.cluster_line());
        for a in &self.prelude {
            t.push_str(&a.encode());
            t.push('\n');
        }
        let actions = encode_actions(&self.actions[..self.cursor]);
        if !actions.is_empty() {
            t.push_str(&actions);
            t.push('\n');
        }
        t
    }

    /// Why the action just before the cursor did nothing (or less than it says), if it did.
    pub fn last_error(&self) -> Option<(&Action, &str)> {
        let (i, e) = self.last_error.as_ref()?;
        (i + 1 == self.cursor).then(|| (&self.actions[*i], e.as_str()))
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn sim(&self) -> &Sim {
        self.scenario.simulator().expect("a classroom's scenario starts with its cluster")
    }

    /// The recipe clients a use-case lesson started, at the cursor.
    pub fn recipe_clients(&self) -> Vec<ActorView> {
        self.scenario.actors()
    }

    pub fn sent_times(&self) -> &SentTimes {
        &self.sent
    }

    /// Clients' writes at the cursor: pending ones, then the latest finished.
    pub fn requests(&self) -> &crate::requests::Requests {
        &self.requests
    }

    /// What moved in the last move forward.
    pub fn motion(&self) -> &crate::motion::Motion {
        &self.motion
    }

    /// The view model at the cursor.
    pub fn view_model(&self) -> &crate::viewmodel::ViewModel {
        &self.vm.vm
    }

    /// Show the cluster after `actions[..k]` (clamped to the list).
    pub fn seek(&mut self, k: usize) {
        let k = k.min(self.actions.len());
        if k < self.cursor {
            (self.scenario, self.sent, self.vm) = fresh(&self.setup, &self.prelude);
            self.cursor = 0;
            self.last_error = None;
            self.requests = Default::default();
            self.motion.begin(self.scenario.simulator().expect("a cluster"), usize::MAX);
        } else if k > self.cursor {
            self.motion.begin(self.scenario.simulator().expect("a cluster"), k - self.cursor);
        }
        while self.cursor < k {
            let a = self.actions[self.cursor].clone();
            match apply(&mut self.scenario, &a) {
                Ok(()) => self.last_error = None,
                Err(e) => self.last_error = Some((self.cursor, e)),
            }
            let sim = self.scenario.simulator().expect("a cluster");
            self.motion.track(sim, &self.sent.at);
            self.requests.track(sim);
            self.sent.track(sim);
            self.vm.track(sim);
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

fn fresh(setup: &Setup, prelude: &[Action]) -> (RecipeScenario, SentTimes, Fed) {
    let mut scenario = RecipeScenario::new(false);
    scenario.run(&setup.cluster_line()).expect("a valid setup makes a cluster");
    let mut sent = SentTimes::default();
    let mut vm = Fed::new(scenario.simulator().expect("a cluster"));
    for a in prelude {
        // A lesson's prelude was checked by its golden test; a failing line shows nothing.
        let _ = apply(&mut scenario, a);
        let sim = scenario.simulator().expect("a cluster");
        sent.track(sim);
        vm.track(sim);
    }
    (scenario, sent, vm)
}

/// Apply one action through the core's scenario runner. The simulator stops at the first
/// safety violation (the checkers have spoken); a student may still crash, restart and look
/// around. An action that cannot do what it says answers why.
pub fn apply(scenario: &mut RecipeScenario, a: &Action) -> Result<(), String> {
    a.encode().lines().try_for_each(|line| scenario.run(line))
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
    fn actions_round_trip_through_scenario_lines() {
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
            Action::Script("client 1 create -e /eph x".into()),
            Action::Step,
            Action::Step,
        ];
        let text = encode_actions(&all);
        assert_eq!(decode_actions(&text), Ok(all));
        assert!(text.ends_with("\nstep 2"), "steps in a row are one line: {text}");
        assert!(decode_actions("step\ndeliver 1->x").is_err());
        assert!(decode_actions("partition 1,x|2").is_err());
        // A lesson's own annotations and checks never run in the classroom.
        assert_eq!(decode_actions("# hi\nsay hello\nselect 2\nexpect-violation X\nstatus"), Ok(vec![]));
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
            assert!(c.sim().is_stable(), "silent={silent}: heal converges");
            assert!(c.sim().violations.is_empty(), "{:?}", c.sim().violations);
            let tree_has =
                |sid: u64| c.sim().peer(Sid(sid)).is_some_and(|p| p.tree().exists("/maj").ok().flatten().is_some());
            assert!((1..=5).all(tree_has), "silent={silent}: the majority's write reaches everyone");
        }
    }
}
