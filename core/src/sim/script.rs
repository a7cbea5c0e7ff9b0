//! Scenario scripts: a small command language over the simulator, in the style of
//! etcd-io/raft's data-driven tests. Each command's output (and the protocol steps it caused)
//! is printed under the command; golden files hold the expected transcript.
//!
//! ```text
//! # comment                          echoed
//! cluster 3 [observers=1] [seed=7] [manual] [mutant=NAME] [counter=0xfffffff0] [quiet: only what clients see]
//! set 1 accepted=7 current=7 log=(7,1)..(7,4) [committed=(7,3)]
//! start [1,2]                        start peers (all by default) from their storage
//! advance 150ms | run 2s             let time pass (timers, deliveries, disk)
//! deliver 2->1 [kind=Ack] [all]      manual network: deliver the head message(s)
//! lose 3->1 [kind=Proposal]          a message vanishes, the connection stays up (G5)
//! break 1-2 | partition 1,2 | 3 [silent] | stall 1->2 | heal
//! crash 2|leader [at=after-fsync-before-ack] | restart 2 | slowdisk 2 5ms..40ms
//! netdelay 2 20ms..40ms              every message peer 2 sends takes that much longer
//! config 3 [tick=100ms] [init_limit=10] [sync_limit=20]   timings, from the peer's next start
//! client 1 create [-e] [-s] [-c] [-t MS] /a x | set /a y [v] | get /a [watch] ... (see script_client.rs)
//! client 1 write /a x                create /a, or set its data if peer 1 has it (the UI's write)
//! stabilize [10s]                    run until every peer serves at one committed zxid
//! counter 0xfffffff0                 where the zxid counter of each new epoch starts
//! step [N]                           process the next N events (deliveries, disk, timers), one by one
//! drop-vote 2->1                     lose the head message 2->1 if it is a vote (FLE resends votes)
//! status | log 1 | tree 2 | check | expect-violation SUBSTRING
//! say TEXT                           a lesson's narration: the page shows TEXT once the commands
//!                                    before it ran (the end of a lesson step); no effect here
//! select 2                           a lesson points the page at peer 2; no effect here
//! ```
//!
//! The classroom (www/) runs the same commands through [`Scenario`], one line at a time:
//! its lessons are scenario files (`core/testdata/lessons/`), its share links and its
//! timeline carry these lines, so every lesson is also a golden test here.

use super::{CrashPoint, Sim};
use crate::config::Mutant;
use crate::ids::{SessionId, Sid};
use crate::log::Entry;
use crate::message::MsgKind;
use crate::peer::ClientOp;
use crate::storage::PersistedState;
use crate::time::Duration;
use crate::txn::{CreateMode, Op, Txn};
use crate::zxid::Zxid;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A scenario being run, one command at a time: what scripts and the classroom share.
pub struct Scenario {
    sim: Option<Sim>,
    clients: BTreeMap<Sid, usize>,
    out: String,
    /// Whether commands write a transcript (scripts) or only act (the classroom, which draws
    /// the trace itself).
    transcript: bool,
}

/// The commands that only speak to a reader of the scenario (a lesson's page), never to the
/// cluster.
pub fn is_annotation(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    line.trim().is_empty() || line.trim_start().starts_with('#') || first == "say" || first == "select"
}

impl Scenario {
    /// A scenario with no cluster yet (its first command is `cluster N ...`). With
    /// `transcript` off, commands act without writing text, and the simulator records its
    /// trace and notes instead (`Sim::record`).
    pub fn new(transcript: bool) -> Scenario {
        Scenario { sim: None, clients: BTreeMap::new(), out: String::new(), transcript }
    }

    /// Runs one command line (comments and annotations do nothing).
    pub fn run(&mut self, line: &str) -> Result<(), String> {
        if is_annotation(line) {
            return Ok(());
        }
        let r = self.command(line.trim());
        if !self.transcript {
            self.out.clear();
        }
        r
    }

    /// The simulator, once a `cluster` command made it.
    pub fn simulator(&self) -> Option<&Sim> {
        self.sim.as_ref()
    }

    /// The simulator, for a driver that runs more than these commands on it between lines
    /// (the recipe lessons of `zabra-recipes` run recipe clients on it).
    pub fn simulator_mut(&mut self) -> Option<&mut Sim> {
        self.sim.as_mut()
    }

    /// The transcript written since the last call, with the simulator's narration so far
    /// (a driver that interleaves its own lines with these commands' output).
    pub fn take_transcript(&mut self) -> String {
        self.flush();
        std::mem::take(&mut self.out)
    }
}

/// Run a script; returns its transcript, or the first error (with its line number).
pub fn run_script(text: &str) -> Result<String, String> {
    let mut r = Scenario::new(true);
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        i += 1;
        if line.trim().is_empty() || line.starts_with('#') {
            r.out.push_str(line);
            r.out.push('\n');
            continue;
        }
        let _ = writeln!(r.out, "> {line}");
        if is_annotation(line) {
            continue;
        }
        r.command(line).map_err(|e| format!("line {i}: {line}: {e}"))?;
        r.flush();
        if r.sim.as_ref().is_none_or(|s| s.violations.is_empty()) || line.starts_with("expect-violation") {
            continue;
        }
        // A violation: a script that expects one goes on at its `expect-violation` line (the
        // simulation stops at the first violation, so the commands in between have no effect).
        match lines[i..].iter().position(|l| l.trim_start().starts_with("expect-violation")) {
            Some(j) => {
                let _ = writeln!(r.out, "(violation found: skipping to the expect-violation line)");
                i += j;
            }
            None => {
                for v in &r.sim.as_ref().expect("sim").violations {
                    let _ = writeln!(r.out, "VIOLATION: {v}");
                }
                return Ok(r.out);
            }
        }
    }
    Ok(r.out)
}

/// The longest duration a line may name. Lines also come from what students type and from
/// share links, and the classroom records every trace event of the time they run (about
/// 200 000 for 10 minutes of 5 peers): ten minutes keeps one line within a browser tab.
const MAX_DURATION_US: u64 = 600_000_000;
/// The most entries a `set ... log=` may make.
const MAX_LOG_ENTRIES: usize = 100_000;

fn parse_ms(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.find(|c: char| !c.is_ascii_digit()).map_or((s, "ms"), |i| s.split_at(i));
    let n: u64 = n.parse().map_err(|_| format!("bad duration {s:?}"))?;
    let us = match unit {
        "ms" => n.checked_mul(1000),
        "s" => n.checked_mul(1_000_000),
        "us" => Some(n),
        _ => return Err(format!("bad duration unit in {s:?}")),
    };
    let us = us.ok_or(format!("bad duration {s:?}"))?;
    if us > MAX_DURATION_US {
        return Err(format!("{s}: durations are at most 10 minutes"));
    }
    Ok(Duration::from_micros(us))
}

fn parse_sid(s: &str) -> Result<Sid, String> {
    s.parse().map(Sid).map_err(|_| format!("bad peer {s:?}"))
}

fn parse_sids(s: &str) -> Result<Vec<Sid>, String> {
    s.split(',').filter(|x| !x.is_empty()).map(parse_sid).collect()
}

fn parse_zxid(s: &str) -> Result<Zxid, String> {
    let inner = s.trim().strip_prefix('(').and_then(|x| x.strip_suffix(')')).ok_or(format!("bad zxid {s:?}"))?;
    let (e, c) = inner.split_once(',').ok_or(format!("bad zxid {s:?}"))?;
    let e = e.trim().parse().map_err(|_| format!("bad epoch in {s:?}"))?;
    let c = if let Some(h) = c.trim().strip_prefix("0x") {
        u32::from_str_radix(h, 16).map_err(|_| format!("bad counter in {s:?}"))?
    } else {
        c.trim().parse().map_err(|_| format!("bad counter in {s:?}"))?
    };
    Ok(Zxid::new(e, c))
}

/// `(7,1)..(7,4),(8,1)`: zxids; a range stays within one epoch.
fn parse_log(s: &str) -> Result<Vec<Zxid>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(')').ok_or(format!("bad log {s:?}"))? + 1;
        let first = parse_zxid(&rest[..end])?;
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix("..") {
            let end = r.find(')').ok_or(format!("bad log {s:?}"))? + 1;
            let last = parse_zxid(&r[..end])?;
            let n = last.counter.saturating_sub(first.counter) as usize + 1;
            if out.len() + n > MAX_LOG_ENTRIES {
                return Err(format!("bad log {s:?}: at most {MAX_LOG_ENTRIES} entries"));
            }
            out.extend((first.counter..=last.counter).map(|c| Zxid::new(first.epoch, c)));
            rest = &r[end..];
        } else {
            out.push(first);
        }
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(out)
}

/// The entry a scenario's `set` puts at a zxid: a create of a node named after it, so every
/// peer given the same zxid holds the same transaction (the UI's lessons use it too).
pub fn seeded_entry(z: Zxid) -> Entry {
    let op = Op::create(&format!("/e{}-{}", z.epoch, z.counter), b"", CreateMode::Persistent);
    Entry {
        zxid: z,
        txn: Txn { session: SessionId(0), time_ms: 1_700_000_000_000, auth: Vec::new(), op }.into(),
        origin: None,
    }
}

impl Scenario {
    fn sim(&mut self) -> Result<&mut Sim, String> {
        self.sim.as_mut().ok_or_else(|| "no cluster yet: start with `cluster N`".to_string())
    }

    fn flush(&mut self) {
        if let Some(sim) = &mut self.sim {
            for l in sim.narration.drain(..) {
                self.out.push_str(&l);
                self.out.push('\n');
            }
        }
    }

    /// Every peer a command names must be a member (the classroom passes what students type).
    fn check_members(&mut self, words: &[&str]) -> Result<(), String> {
        let Some(sim) = self.sim.as_ref() else { return Ok(()) };
        let named: Vec<&str> = match words {
            ["client", a, "move", to, ..] => vec![a, to],
            ["crash" | "restart" | "start" | "slowdisk" | "netdelay" | "set" | "config" | "client", a, ..]
                if *a != "leader" =>
            {
                a.split(',').collect()
            }
            ["deliver" | "lose" | "stall" | "drop-vote", a, ..] => a.split("->").collect(),
            ["break", a, ..] => a.split('-').collect(),
            _ => Vec::new(),
        };
        let members = sim.sids();
        for n in named.iter().filter(|n| !n.is_empty()) {
            let s = parse_sid(n)?;
            if !members.contains(&s) {
                return Err(format!(
                    "no peer {s} (peers are {})",
                    members.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(",")
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self, line: &str) -> Result<(), String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        self.check_members(&words)?;
        let args = &words[1..];
        match words[0] {
            "cluster" => self.cmd_cluster(args),
            "set" => self.cmd_set(args),
            "start" => self.cmd_start(args),
            "advance" | "run" => {
                let d = parse_ms(args.first().ok_or("duration needed")?)?;
                self.sim()?.run_for(d);
                Ok(())
            }
            "deliver" => self.cmd_deliver(args),
            "lose" => self.cmd_lose(args),
            "break" => {
                let (a, b) = args.first().and_then(|s| s.split_once('-')).ok_or("break A-B")?;
                let (a, b) = (parse_sid(a)?, parse_sid(b)?);
                self.sim()?.break_link(a, b, true);
                Ok(())
            }
            "partition" => self.cmd_partition(args),
            "stall" => {
                let (a, b) = args.first().and_then(|s| s.split_once("->")).ok_or("stall A->B")?;
                let (a, b) = (parse_sid(a)?, parse_sid(b)?);
                self.sim()?.stall(a, b);
                Ok(())
            }
            "heal" => {
                self.sim()?.heal();
                Ok(())
            }
            "crash" => self.cmd_crash(args),
            "counter" => {
                let v = args.first().ok_or("counter N")?;
                let v = v.strip_prefix("0x").map_or_else(|| v.parse().ok(), |h| u32::from_str_radix(h, 16).ok());
                self.sim()?.first_counter = v.filter(|c| (1..u32::MAX).contains(c)).ok_or("bad counter")?;
                Ok(())
            }
            "step" => {
                let n: u64 = args.first().map_or(Ok(1), |n| n.parse().map_err(|_| format!("bad count {n:?}")))?;
                let sim = self.sim()?;
                for _ in 0..n.min(100_000) {
                    // The simulator stops at the first violation (the checkers have spoken).
                    if !sim.violations.is_empty() || !sim.step_one() {
                        break;
                    }
                }
                Ok(())
            }
            "drop-vote" => {
                let (a, b) = args.first().and_then(|s| s.split_once("->")).ok_or("drop-vote A->B")?;
                let (a, b) = (parse_sid(a)?, parse_sid(b)?);
                if !self.sim()?.drop_notification(a, b) {
                    return Err(format!("the next message {a}->{b} is not a vote: nothing dropped"));
                }
                Ok(())
            }
            "restart" => {
                for s in parse_sids(args.first().ok_or("restart N")?)? {
                    self.sim()?.note(format!("{s} restarts"));
                    self.sim()?.start(s);
                }
                Ok(())
            }
            "config" => self.cmd_config(args),
            "slowdisk" => {
                let s = parse_sid(args.first().ok_or("slowdisk N LO..HI")?)?;
                let (lo, hi) = args.get(1).and_then(|r| r.split_once("..")).ok_or("slowdisk N LO..HI")?;
                let (lo, hi) = (parse_ms(lo)?, parse_ms(hi)?);
                self.sim()?.set_fsync(s, lo.as_micros(), hi.as_micros());
                Ok(())
            }
            "netdelay" => {
                let s = parse_sid(args.first().ok_or("netdelay N LO..HI")?)?;
                let (lo, hi) = args.get(1).and_then(|r| r.split_once("..")).ok_or("netdelay N LO..HI")?;
                let (lo, hi) = (parse_ms(lo)?, parse_ms(hi)?);
                self.sim()?.set_send_delay(s, lo.as_micros(), hi.as_micros());
                Ok(())
            }
            "client" => self.cmd_client(args),
            "stabilize" => self.cmd_stabilize(args),
            "status" => self.cmd_status(),
            "log" => self.cmd_log(args),
            "tree" => {
                let s = parse_sid(args.first().ok_or("tree N")?)?;
                let t = self.sim()?.peer(s).map(|p| p.tree().describe()).ok_or(format!("peer {s} is down"))?;
                self.out.push_str(&t);
                if !t.ends_with('\n') {
                    self.out.push('\n');
                }
                Ok(())
            }
            "check" => self.cmd_check(),
            "expect-violation" => self.cmd_expect_violation(&line["expect-violation".len()..]),
            other => Err(format!("unknown command {other:?}")),
        }
    }

    fn cmd_cluster(&mut self, args: &[&str]) -> Result<(), String> {
        let n: usize = args.first().and_then(|s| s.parse().ok()).ok_or("cluster N")?;
        if !(1..=9).contains(&n) {
            return Err("clusters have 1 to 9 voters".into());
        }
        let (mut observers, mut seed, mut manual, mut quiet, mut mutants) = (0, 1, false, false, Vec::new());
        let mut counter = 1;
        for a in &args[1..] {
            match a.split_once('=') {
                Some(("observers", v)) => observers = v.parse().map_err(|_| "bad observers")?,
                Some(("seed", v)) => seed = v.parse().map_err(|_| "bad seed")?,
                Some(("mutant", v)) => mutants.push(v.parse::<Mutant>()?),
                Some(("counter", v)) => {
                    let v = v.strip_prefix("0x").map_or_else(|| v.parse().ok(), |h| u32::from_str_radix(h, 16).ok());
                    counter = v.ok_or("bad counter")?;
                }
                None if *a == "manual" => manual = true,
                None if *a == "quiet" => quiet = true,
                _ => return Err(format!("unknown option {a:?}")),
            }
        }
        if observers > 9 {
            return Err("clusters have 0 to 9 observers".into());
        }
        let mut sim = Sim::new(seed, n, observers, mutants);
        sim.manual_network = manual;
        sim.first_counter = counter;
        sim.narrate = self.transcript;
        sim.record = !self.transcript;
        sim.narrate_clients_only = quiet;
        self.sim = Some(sim);
        self.clients.clear();
        Ok(())
    }

    fn cmd_set(&mut self, args: &[&str]) -> Result<(), String> {
        let sid = parse_sid(args.first().ok_or("set N key=value...")?)?;
        let mut st = self.sim()?.storage(sid).cloned().ok_or(format!("no peer {sid}"))?;
        let mut committed = None;
        for a in &args[1..] {
            let (k, v) = a.split_once('=').ok_or(format!("bad setting {a:?}"))?;
            match k {
                "accepted" => st.accepted_epoch = v.parse().map_err(|_| "bad epoch")?,
                "current" => st.current_epoch = v.parse().map_err(|_| "bad epoch")?,
                "log" => {
                    let zxids = parse_log(v)?;
                    if zxids.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(format!("bad log {v:?}: zxids must increase"));
                    }
                    st.log = zxids.into_iter().map(seeded_entry).collect();
                }
                "committed" => committed = Some(parse_zxid(v)?),
                _ => return Err(format!("unknown setting {k:?}")),
            }
        }
        if let Some(c) = committed {
            let zs: Vec<Zxid> = st.log.iter().map(|e| e.zxid).filter(|z| *z <= c).collect();
            self.sim()?.checker.seed_committed(&zs);
        }
        self.sim()?.set_storage(sid, st);
        Ok(())
    }

    fn cmd_start(&mut self, args: &[&str]) -> Result<(), String> {
        let sids = match args.first() {
            Some(s) => parse_sids(s)?,
            None => self.sim()?.sids(),
        };
        for s in sids {
            self.sim()?.start(s);
        }
        Ok(())
    }

    fn cmd_deliver(&mut self, args: &[&str]) -> Result<(), String> {
        let (a, b) = args.first().and_then(|s| s.split_once("->")).ok_or("deliver A->B")?;
        let (from, to) = (parse_sid(a)?, parse_sid(b)?);
        let mut kind = None;
        let mut all = false;
        for a in &args[1..] {
            match a.split_once('=') {
                Some(("kind", k)) => kind = Some(parse_kind(k)?),
                None if *a == "all" => all = true,
                _ => return Err(format!("unknown option {a:?}")),
            }
        }
        let mut delivered = Vec::new();
        while let Some(k) = self.sim()?.deliver_one(from, to, kind) {
            delivered.push(format!("{k:?}"));
            if !all {
                break;
            }
        }
        if delivered.is_empty() {
            return Err(format!("nothing to deliver on {from}->{to}"));
        }
        let _ = writeln!(self.out, "delivered {from}->{to}: {}", delivered.join(", "));
        Ok(())
    }

    fn cmd_lose(&mut self, args: &[&str]) -> Result<(), String> {
        let (a, b) = args.first().and_then(|s| s.split_once("->")).ok_or("lose A->B [kind=K]")?;
        let (from, to) = (parse_sid(a)?, parse_sid(b)?);
        let kind = match args.get(1).map(|a| a.split_once('=')) {
            Some(Some(("kind", k))) => Some(parse_kind(k)?),
            Some(_) => return Err(format!("unknown option {:?}", args[1])),
            None => None,
        };
        self.sim()?.lose_one(from, to, kind).ok_or(format!("nothing to lose on {from}->{to}"))?;
        Ok(())
    }

    fn cmd_config(&mut self, args: &[&str]) -> Result<(), String> {
        let sid = parse_sid(args.first().ok_or("config N key=value...")?)?;
        let (mut tick, mut init, mut sync) = (None, None, None);
        for a in &args[1..] {
            let (k, v) = a.split_once('=').ok_or(format!("bad setting {a:?}"))?;
            match k {
                "tick" => tick = Some(parse_ms(v)?.as_millis()),
                "init_limit" => init = Some(v.parse().map_err(|_| "bad init_limit")?),
                "sync_limit" => sync = Some(v.parse().map_err(|_| "bad sync_limit")?),
                _ => return Err(format!("unknown setting {k:?}")),
            }
        }
        self.sim()?.override_timing(sid, tick, init, sync);
        Ok(())
    }

    fn cmd_partition(&mut self, args: &[&str]) -> Result<(), String> {
        let silent = args.last() == Some(&"silent");
        let text = args.iter().filter(|a| **a != "silent").copied().collect::<Vec<_>>().join(" ");
        let groups = text.split('|').map(|g| parse_sids(&g.replace(' ', ""))).collect::<Result<Vec<_>, _>>()?;
        if silent {
            self.sim()?.silent_partition(&groups);
        } else {
            self.sim()?.partition(&groups);
        }
        Ok(())
    }

    fn cmd_crash(&mut self, args: &[&str]) -> Result<(), String> {
        let sid = match *args.first().ok_or("crash N")? {
            "leader" => self.sim()?.leader().ok_or("no serving leader to crash")?,
            s => parse_sid(s)?,
        };
        match args.get(1).and_then(|a| a.strip_prefix("at=")) {
            Some(p) => {
                let point = CrashPoint::parse(p).ok_or(format!("unknown crash point {p:?}"))?;
                self.sim()?.arm(sid, point);
                let _ = writeln!(self.out, "{sid} will crash at {}", point.name());
            }
            None => self.sim()?.crash(sid),
        }
        Ok(())
    }

    fn cmd_client(&mut self, args: &[&str]) -> Result<(), String> {
        let sid = parse_sid(args.first().ok_or("client N OP ...")?)?;
        let c = match self.clients.get(&sid) {
            Some(c) => *c,
            None => {
                let c = self.sim()?.add_client(sid);
                self.clients.insert(sid, c);
                c
            }
        };
        match args.get(1).copied() {
            Some("disconnect") => {
                self.sim()?.client_disconnect(c);
                return Ok(());
            }
            Some("move") => {
                let to = parse_sid(args.get(2).ok_or("client N move M")?)?;
                self.sim()?.client_move(c, to);
                return Ok(());
            }
            Some("vanish") => {
                let d = parse_ms(args.get(2).ok_or("client N vanish DURATION")?)?;
                self.sim()?.client_vanish(c, d.as_micros());
                return Ok(());
            }
            _ => {}
        }
        let mut op = match args.get(1).copied() {
            Some("write") => self.write_op(sid, &args[2..])?,
            _ => super::script_client::parse_client_op(&args[1..])?,
        };
        if let ClientOp::SetWatches { relative_zxid, .. } = &mut op {
            *relative_zxid = self.sim()?.clients[c].last_zxid;
        }
        // A new client (or one reconnecting) first needs its session: let time pass for it
        // (with "you are the network" on, only the student can deliver it).
        let sim = self.sim()?;
        if !sim.manual_network {
            sim.run_while(Duration::from_millis(1), Duration::from_millis(5_000), |sim| !sim.clients[c].connected);
        }
        if sim.client_request(c, op).is_none() {
            return Err(format!(
                "client {sid} has no session yet{}",
                if sim.manual_network {
                    " (deliver its ConnectRequest first)"
                } else {
                    ": peer {sid} could not grant one"
                }
            ));
        }
        Ok(())
    }

    /// `write PATH DATA`: a create, or a setData when peer `sid` already has the node.
    fn write_op(&mut self, sid: Sid, args: &[&str]) -> Result<ClientOp, String> {
        let path = args.first().ok_or("write PATH DATA")?;
        let data = args.get(1).copied().unwrap_or("");
        let exists = self.sim()?.peer(sid).is_some_and(|p| p.tree().exists(path).ok().flatten().is_some());
        Ok(ClientOp::Write(if exists {
            Op::SetData { path: path.to_string(), data: data.into(), version: -1 }
        } else {
            Op::create(path, data.as_bytes(), CreateMode::Persistent)
        }))
    }

    fn cmd_stabilize(&mut self, args: &[&str]) -> Result<(), String> {
        let limit = args.first().map(|a| parse_ms(a)).transpose()?.unwrap_or(Duration::from_millis(10_000));
        let sim = self.sim()?;
        if sim.manual_network {
            return Err("stabilize needs the automatic network".into());
        }
        sim.run_while(Duration::from_millis(10), limit, |sim| !sim.is_stable());
        // A violation stops the simulation: `run_script` reports it (or skips to the line
        // that expects it) instead of waiting for a stability that cannot come.
        if !sim.is_stable() && sim.violations.is_empty() {
            return Err(format!("not stable after {}ms", limit.as_millis()));
        }
        Ok(())
    }

    fn cmd_status(&mut self) -> Result<(), String> {
        let sim = self.sim()?;
        let mut lines = Vec::new();
        for s in sim.sids() {
            lines.push(match sim.status(s) {
                Some(st) => crate::describe::status(&st),
                None => format!("{s}: down"),
            });
        }
        for l in lines {
            let _ = writeln!(self.out, "{l}");
        }
        Ok(())
    }

    fn cmd_log(&mut self, args: &[&str]) -> Result<(), String> {
        let s = parse_sid(args.first().ok_or("log N")?)?;
        let sim = self.sim()?;
        let (mem, committed) = match sim.peer(s) {
            Some(p) => (Some(p.log().entries().iter().map(|e| e.zxid).collect::<Vec<_>>()), p.status().last_committed),
            None => (None, Zxid::ZERO),
        };
        let disk: Vec<Zxid> = sim.storage(s).map(|d| d.log.iter().map(|e| e.zxid).collect()).unwrap_or_default();
        let snap = sim.storage(s).map(PersistedState::snapshot_zxid).unwrap_or_default();
        let fmt = |v: &[Zxid]| v.iter().map(|z| format!("{z:?}")).collect::<Vec<_>>().join(" ");
        if let Some(m) = mem {
            let _ = writeln!(self.out, "{s} memory: {} (committed {committed:?})", fmt(&m));
        }
        let _ = writeln!(self.out, "{s} disk: snapshot {snap:?}; log {}", fmt(&disk));
        Ok(())
    }

    fn cmd_check(&mut self) -> Result<(), String> {
        let sim = self.sim()?;
        let (v, reads, syncs) = sim.history.check();
        sim.violations.extend(v);
        if sim.violations.is_empty() {
            let n = sim.checker.committed_count();
            let _ = writeln!(self.out, "ok: {n} committed, {reads} reads and {syncs} syncs checked");
        }
        Ok(())
    }

    fn cmd_expect_violation(&mut self, want: &str) -> Result<(), String> {
        let want = want.trim();
        let sim = self.sim()?;
        let (v, _, _) = sim.history.check();
        sim.violations.extend(v);
        let found = sim.violations.iter().find(|v| v.contains(want)).cloned();
        match found {
            Some(v) => {
                sim.violations.clear();
                let _ = writeln!(self.out, "caught: {v}");
                Ok(())
            }
            None => Err(format!("expected a violation containing {want:?}, got {:?}", sim.violations)),
        }
    }
}

impl Sim {
    /// What `stabilize` waits for: every peer that is up serves under one live leader, at
    /// one committed zxid, and every client request has its answer (a recipe client waiting
    /// on a watch has none). The page and the recipe lessons ask the same.
    pub fn is_stable(&self) -> bool {
        let st = self.statuses();
        let Some(leader) = self.leader() else { return false };
        !st.is_empty()
            && st.iter().all(|s| s.serving && s.leader == Some(leader))
            && st.windows(2).all(|w| w[0].last_committed == w[1].last_committed)
            && self.clients.iter().all(|c| c.outstanding.is_empty())
    }
}

fn parse_kind(k: &str) -> Result<MsgKind, String> {
    MsgKind::ALL
        .into_iter()
        .find(|x| format!("{x:?}").eq_ignore_ascii_case(k))
        .ok_or(format!("unknown message kind {k:?}"))
}
