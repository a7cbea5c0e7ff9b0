//! The one incremental view model (DESIGN.md, "Browser"): fed typed `TraceEvent`s one at a
//! time, from the in-tab simulator (Classroom), a tab peer (Tabs) or the `/observe` streams
//! of a native cluster (Live, and Live recordings replayed in Classroom). Each event costs
//! work proportional to itself, never to the history, so a live stream stays cheap; every
//! table that grows with the stream is bounded.
//!
//! It holds what the panels draw: each peer's role, leader, epochs, zxids and whether it
//! serves; the votes of fast leader election; proposals with their ACK counts against the
//! quorum and who committed them; the sync mode chosen per learner; sessions; and the spells
//! without an established leader, timed by the events' own timestamps. Text is made only at
//! the edges (`describe`, the `view` rows).

use crate::explain::Topic;
use crate::view::{ElectionRow, HistoryRow, PeerView, SyncRow};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use zabra_core::message::ServerState;
use zabra_core::peer::Status;
use zabra_core::trace::{LookingReason, TraceEvent};
use zabra_core::Zxid;

/// Proposals kept (the oldest are forgotten first).
pub const MAX_PROPOSALS: usize = 256;
/// Sync decisions kept.
pub const MAX_SYNCS: usize = 32;
/// Sessions kept (ended ones are forgotten first).
pub const MAX_SESSIONS: usize = 256;
/// Leaderless spells kept.
pub const MAX_OUTAGES: usize = 32;
/// Events kept per topic for the event log (their text is made only when drawn): a flood of
/// one topic (client replies) never pushes another (elections) out of a filtered log.
pub const MAX_STORY: usize = 100;

/// What the model knows of one peer.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PeerState {
    pub state: Option<ServerState>,
    /// False once the peer crashed (or its stream closed); true after a start or a status.
    pub up: bool,
    pub leader: Option<u64>,
    pub accepted_epoch: u32,
    pub current_epoch: u32,
    pub last_logged: Zxid,
    pub last_committed: Zxid,
    pub round: u64,
    pub serving: bool,
    /// Timestamp (ms) of the last event from or about this peer.
    pub last_ms: f64,
    /// The leader this peer last left, and when it was last known alive by this peer: when
    /// it last heard from it (`true`), or when it noticed it gone (`false`).
    pub left: Option<(u64, f64, bool)>,
}

/// One proposal as its leader counted it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Proposal {
    pub leader: u64,
    pub op: String,
    pub acks: usize,
    pub quorum: usize,
    pub quorum_reached: bool,
    /// Peers that committed it.
    pub committed_by: BTreeSet<u64>,
    pub proposed_ms: f64,
    pub quorum_ms: Option<f64>,
}

/// A session seen in the stream.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Session {
    /// The peer its client talks to.
    pub sid: u64,
    pub requests: u64,
    pub ended: Option<bool>,
}

/// A spell without an established leader, to the next `EpochEstablished`. It starts at the
/// last evidence that the old leader was still leading: for a follower that went LOOKING
/// because its leader fell silent, the last time it heard from it (the event's time minus the
/// `silent_ms` its reason gives, on the follower's own clock), so a paused or cut-off leader
/// is not credited with the sync limit it took to notice; otherwise the first event of a peer
/// leaving its leader (a closed connection is noticed at once) or of the leader leaving its
/// role.
#[derive(Clone, Debug, PartialEq)]
pub struct Outage {
    pub from_ms: f64,
    pub to_ms: Option<f64>,
    /// The leader that was lost, and the one (with its epoch) that ended the spell.
    pub lost: Option<u64>,
    pub new_leader: Option<(u64, u32)>,
}

impl Outage {
    pub fn duration_ms(&self) -> Option<f64> {
        self.to_ms.map(|t| t - self.from_ms)
    }
}

/// One kept line of the event log: an event (its text made when drawn) or a note.
#[derive(Clone, Debug, PartialEq)]
enum Line {
    Event(TraceEvent),
    Note(String),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ViewModel {
    pub peers: BTreeMap<u64, PeerState>,
    election: BTreeMap<u64, ElectionRow>,
    syncs: VecDeque<SyncRow>,
    pub proposals: BTreeMap<Zxid, Proposal>,
    pub sessions: BTreeMap<String, Session>,
    pub outages: VecDeque<Outage>,
    /// The latest events the log shows, per topic, with their place in the stream and
    /// their times, oldest first.
    story: BTreeMap<Topic, VecDeque<(u64, f64, Line)>>,
    /// Recent messages between peers (what Live draws; Classroom asks its simulator).
    pub msgs: crate::msgtrail::MsgTrail,
    /// The established leader and its epoch, while there is one.
    pub established: Option<(u64, u32)>,
    /// Events fed so far, and those a stream said it skipped (`Dropped` markers).
    pub events: u64,
    pub skipped: u64,
    pub last_ms: f64,
}

/// What a leader sends a learner in each sync mode, in words (`leader_last`: the leader's
/// last logged zxid, when the events told it).
fn sync_sent(mode: zabra_core::trace::SyncMode, learner: Zxid, to: Zxid, leader_last: Option<Zxid>) -> String {
    use zabra_core::trace::SyncMode;
    let upto = |from: Zxid| match leader_last {
        Some(last) if last > from => format!("the entries after {from} up to {last}"),
        Some(_) => "no entries (nothing newer)".to_string(),
        None => format!("the entries after {from}"),
    };
    match mode {
        SyncMode::Diff => format!("learner at {learner}; sends {}", upto(learner)),
        SyncMode::Trunc => format!("learner at {learner} cuts its log back to {to}; then {}", upto(to)),
        SyncMode::Snap => format!("learner at {learner}; sends the whole tree at {to}, then {}", upto(to)),
    }
}

fn role_of(s: Option<ServerState>, up: bool) -> &'static str {
    crate::model::role_name(if up { s } else { None })
}

impl ViewModel {
    /// A model that knows these peers (all down until their first event).
    pub fn with_peers(sids: impl IntoIterator<Item = u64>) -> ViewModel {
        let mut m = ViewModel::default();
        for s in sids {
            m.peers.insert(s, PeerState::default());
            m.election.insert(s, ElectionRow { sid: s, ..ElectionRow::default() });
        }
        m
    }

    fn peer(&mut self, sid: u64, at_ms: f64) -> &mut PeerState {
        self.election.entry(sid).or_insert_with(|| ElectionRow { sid, ..ElectionRow::default() });
        let p = self.peers.entry(sid).or_default();
        p.last_ms = p.last_ms.max(at_ms);
        p
    }

    /// A peer's status as its node reported it (the first line of an `/observe` stream).
    pub fn status(&mut self, s: &Status, at_ms: f64) {
        let sid = s.sid.0;
        let p = self.peer(sid, at_ms);
        *p = PeerState {
            state: Some(s.state),
            up: true,
            leader: s.leader.map(|l| l.0),
            accepted_epoch: s.accepted_epoch,
            current_epoch: s.current_epoch,
            last_logged: s.last_logged,
            last_committed: s.last_committed,
            round: s.round,
            serving: s.serving,
            last_ms: at_ms,
            left: None,
        };
        if s.state == ServerState::Leading && s.serving && self.established.is_none() {
            self.established = Some((sid, s.current_epoch));
        }
        self.last_ms = self.last_ms.max(at_ms);
    }

    /// A peer is gone without an event of its own (its stream closed, the process was killed).
    pub fn gone(&mut self, sid: u64, at_ms: f64) {
        let p = self.peer(sid, at_ms);
        p.up = false;
        p.serving = false;
    }

    /// Events a stream skipped (its node's `Dropped` marker).
    pub fn skipped(&mut self, n: u64) {
        self.skipped += n;
    }

    /// Feed one event at `at_ms` (wall-clock ms for a native node, virtual ms in the simulator).
    pub fn feed(&mut self, e: &TraceEvent, at_ms: f64) {
        self.events += 1;
        self.last_ms = self.last_ms.max(at_ms);
        if let Some(topic) = Topic::of(e) {
            let kept = self.story.entry(topic).or_default();
            kept.push_back((self.events, at_ms, Line::Event(e.clone())));
            if kept.len() > MAX_STORY {
                kept.pop_front();
            }
        }
        match e {
            TraceEvent::Started { sid, accepted_epoch, current_epoch, last_zxid, committed, .. } => {
                let p = self.peer(sid.0, at_ms);
                // A restored peer has committed what its snapshot holds (the event says so).
                let committed = *committed;
                *p = PeerState {
                    state: Some(ServerState::Looking),
                    up: true,
                    accepted_epoch: *accepted_epoch,
                    current_epoch: *current_epoch,
                    last_logged: *last_zxid,
                    last_committed: committed,
                    round: p.round,
                    last_ms: at_ms,
                    ..PeerState::default()
                };
            }
            TraceEvent::Crashed { sid, .. } => self.on_down(sid.0, at_ms),
            TraceEvent::RoleChanged { sid, from, to, leader, reason, .. } => {
                self.on_role(sid.0, *from, *to, *leader, reason.as_ref(), at_ms)
            }
            // Each is its node's own event (sender, receiver): a sign of life (Live shows a
            // node whose stream falls quiet as stopped or hung).
            TraceEvent::MsgSent { id, from, to, kind, detail } => {
                self.peer(from.0, at_ms);
                self.msgs.sent(*id, to.0, *kind, detail, at_ms)
            }
            TraceEvent::MsgDelivered { id, to, .. } => {
                self.peer(to.0, at_ms);
                self.msgs.delivered(*id, to.0)
            }
            TraceEvent::NewRound { sid, round, vote } => {
                self.peer(sid.0, at_ms).round = *round;
                let r = self.election.entry(sid.0).or_default();
                r.round = *round;
                r.vote = Some((vote.leader.0, vote.zxid.to_string(), vote.peer_epoch));
                r.received.clear();
                r.decided = None;
            }
            TraceEvent::VoteChanged { sid, round, vote } => {
                self.peer(sid.0, at_ms).round = *round;
                let r = self.election.entry(sid.0).or_default();
                r.round = *round;
                r.vote = Some((vote.leader.0, vote.zxid.to_string(), vote.peer_epoch));
            }
            TraceEvent::VoteReceived { sid, from, vote, .. } => {
                self.election.entry(sid.0).or_default().received.insert(from.0, vote.leader.0);
            }
            TraceEvent::ElectionDecided { sid, leader, .. } => {
                self.election.entry(sid.0).or_default().decided = Some(leader.0);
            }
            TraceEvent::EpochProposed { sid, epoch } | TraceEvent::EpochAccepted { sid, epoch, .. } => {
                self.peer(sid.0, at_ms).accepted_epoch = *epoch;
            }
            TraceEvent::CurrentEpochSet { sid, epoch } => self.peer(sid.0, at_ms).current_epoch = *epoch,
            TraceEvent::EpochEstablished { sid, epoch, .. } => self.on_established(sid.0, *epoch, at_ms),
            TraceEvent::UpToDate { sid, .. } => self.peer(sid.0, at_ms).serving = true,
            TraceEvent::SyncModeChosen { leader, learner, mode, learner_zxid, to } => {
                let leader_last = self.peers.get(&leader.0).filter(|p| p.up).map(|p| p.last_logged);
                self.syncs.push_front(SyncRow {
                    leader: leader.0,
                    learner: learner.0,
                    mode: format!("{mode:?}").to_uppercase(),
                    learner_zxid: learner_zxid.to_string(),
                    to: to.to_string(),
                    sent: sync_sent(*mode, *learner_zxid, *to, leader_last),
                });
                self.syncs.truncate(MAX_SYNCS);
            }
            TraceEvent::Logged { sid, zxid } => self.peer(sid.0, at_ms).last_logged = *zxid,
            TraceEvent::Truncated { sid, to } => {
                let p = self.peer(sid.0, at_ms);
                p.last_logged = *to;
            }
            TraceEvent::SnapshotInstalled { sid, zxid } => {
                let p = self.peer(sid.0, at_ms);
                (p.last_logged, p.last_committed) = (*zxid, *zxid);
            }
            TraceEvent::Committed { sid, zxid } => {
                self.peer(sid.0, at_ms).last_committed = *zxid;
                if let Some(pr) = self.proposals.get_mut(zxid) {
                    pr.committed_by.insert(sid.0);
                }
            }
            TraceEvent::Applied { sid, zxid, .. } => {
                let p = self.peer(sid.0, at_ms);
                p.last_committed = p.last_committed.max(*zxid);
                if let Some(pr) = self.proposals.get_mut(zxid) {
                    pr.committed_by.insert(sid.0);
                }
            }
            TraceEvent::Proposed { sid, zxid, op } => self.on_proposed(sid.0, *zxid, op, at_ms),
            TraceEvent::AckReceived { zxid, acks, quorum, .. } => {
                if let Some(pr) = self.proposals.get_mut(zxid) {
                    (pr.acks, pr.quorum) = (*acks, *quorum);
                }
            }
            TraceEvent::QuorumReached { zxid, .. } => {
                if let Some(pr) = self.proposals.get_mut(zxid) {
                    pr.quorum_reached = true;
                    pr.quorum_ms = Some(at_ms);
                }
            }
            TraceEvent::ClientRequest { sid, session, .. } => {
                let key = session.to_string();
                if !self.sessions.contains_key(&key) {
                    self.make_room_for_session();
                }
                let s = self.sessions.entry(key).or_default();
                s.sid = sid.0;
                s.requests += 1;
            }
            TraceEvent::SessionEnded { session, expired, .. } => {
                if let Some(s) = self.sessions.get_mut(&session.to_string()) {
                    s.ended = Some(*expired);
                }
            }
            _ => {}
        }
    }

    fn make_room_for_session(&mut self) {
        if self.sessions.len() < MAX_SESSIONS {
            return;
        }
        let victim = self.sessions.iter().find(|(_, s)| s.ended.is_some()).map(|(k, _)| k.clone());
        let victim = victim.or_else(|| self.sessions.keys().next().cloned());
        if let Some(k) = victim {
            self.sessions.remove(&k);
        }
    }

    fn on_proposed(&mut self, leader: u64, zxid: Zxid, op: &str, at_ms: f64) {
        self.proposals.insert(zxid, Proposal { leader, op: op.to_string(), proposed_ms: at_ms, ..Proposal::default() });
        while self.proposals.len() > MAX_PROPOSALS {
            self.proposals.pop_first();
        }
    }

    fn on_role(
        &mut self,
        sid: u64,
        from: ServerState,
        to: ServerState,
        leader: Option<zabra_core::Sid>,
        reason: Option<&LookingReason>,
        at_ms: f64,
    ) {
        let p = self.peer(sid, at_ms);
        let had_leader = p.leader;
        p.up = true;
        p.state = Some(to);
        p.leader = leader.map(|l| l.0);
        p.serving = false;
        let left_leader = matches!(from, ServerState::Following | ServerState::Observing | ServerState::Leading)
            && to == ServerState::Looking;
        if left_leader {
            if from == ServerState::Leading {
                return self.lose_leader(Some(sid), at_ms, false);
            }
            // The last time this follower heard from its leader, by its own clock.
            let heard = match reason {
                Some(LookingReason::LeaderSilent { leader, silent_ms, .. }) if Some(leader.0) == had_leader => {
                    Some(at_ms - *silent_ms as f64)
                }
                _ => None,
            };
            let Some(lost) = had_leader else { return };
            self.peer(sid, at_ms).left = Some((lost, heard.map_or(at_ms, |h| h.min(at_ms)), heard.is_some()));
            // One follower losing its leader is no spell while the leader keeps a quorum.
            if self.established.is_none() || !self.keeps_quorum(lost) {
                let (since, heard) = self.last_known_alive(lost);
                self.lose_leader(Some(lost), since, heard);
            }
        } else if to != ServerState::Looking {
            self.peer(sid, at_ms).left = None;
        }
    }

    /// Whether `leader` still leads a majority of the voters (itself included), as far as
    /// the events tell.
    fn keeps_quorum(&self, leader: u64) -> bool {
        let voters = self.peers.values().filter(|p| p.state != Some(ServerState::Observing)).count();
        let with = self
            .peers
            .iter()
            .filter(|(sid, p)| {
                p.up && ((**sid == leader && p.state == Some(ServerState::Leading))
                    || (p.state == Some(ServerState::Following) && p.leader == Some(leader)))
            })
            .count();
        with > voters / 2
    }

    /// When `leader` was last known alive by the followers that left it: the latest time one
    /// of them heard from it, if any heard; else the earliest time one noticed it gone.
    fn last_known_alive(&self, leader: u64) -> (f64, bool) {
        let left = || self.peers.values().filter_map(|p| p.left.filter(|l| l.0 == leader));
        match left().filter(|l| l.2).map(|l| l.1).reduce(f64::max) {
            Some(heard) => (heard, true),
            None => (left().map(|l| l.1).reduce(f64::min).unwrap_or(self.last_ms), false),
        }
    }

    fn on_down(&mut self, sid: u64, at_ms: f64) {
        let p = self.peer(sid, at_ms);
        let was_leading = p.up && p.state == Some(ServerState::Leading);
        (p.up, p.serving) = (false, false);
        // A down peer votes for nobody: its old row would mislead (it restarts in a new round).
        if let Some(r) = self.election.get_mut(&sid) {
            (r.vote, r.decided) = (None, None);
            r.received.clear();
        }
        self.msgs.peer_down(sid);
        if was_leading {
            self.lose_leader(Some(sid), at_ms, false);
        }
    }

    /// The leader `lost` was last known to lead at `since_ms` (`heard`: a follower heard from
    /// it then, rather than noticing its loss then).
    fn lose_leader(&mut self, lost: Option<u64>, since_ms: f64, heard: bool) {
        // A deposed leader (paused, cut off) that steps down, or a follower of it, after
        // another leader was established: nothing is lost.
        if let (Some((now_leading, _)), Some(l)) = (self.established, lost) {
            if l != now_leading {
                return;
            }
        }
        if self.established.take().is_none() {
            if let Some(o) = self.outages.front_mut().filter(|o| o.to_ms.is_none()) {
                // Each follower saw the leader alive until the moment it last heard from it,
                // so the leader was alive until the latest of those moments.
                if heard && lost.is_some() && o.lost == lost {
                    o.from_ms = o.from_ms.max(since_ms);
                }
                return;
            }
        }
        self.outages.push_front(Outage { from_ms: since_ms, to_ms: None, lost, new_leader: None });
        self.outages.truncate(MAX_OUTAGES);
    }

    fn on_established(&mut self, sid: u64, epoch: u32, at_ms: f64) {
        let p = self.peer(sid, at_ms);
        p.serving = true;
        p.current_epoch = p.current_epoch.max(epoch);
        self.established = Some((sid, epoch));
        if let Some(o) = self.outages.front_mut().filter(|o| o.to_ms.is_none()) {
            o.to_ms = Some(at_ms);
            o.new_leader = Some((sid, epoch));
        }
    }

    /// The last spell without a leader that ended (what the presenter's screen shows).
    pub fn last_outage(&self) -> Option<&Outage> {
        self.outages.iter().find(|o| o.to_ms.is_some())
    }

    /// A spell without a leader going on now, if any.
    pub fn open_outage(&self) -> Option<&Outage> {
        self.outages.front().filter(|o| o.to_ms.is_none())
    }

    /// The peers as the page draws them.
    pub fn peer_views(&self) -> Vec<PeerView> {
        self.peers
            .iter()
            .map(|(sid, p)| PeerView {
                sid: *sid,
                role: role_of(p.state, p.up),
                accepted_epoch: p.accepted_epoch,
                current_epoch: p.current_epoch,
                last_logged: p.last_logged.to_string(),
                last_committed: if p.up { p.last_committed.to_string() } else { "-".into() },
                committed_short: if p.up { format!("{:?}", p.last_committed) } else { "-".into() },
                leader: p.leader.filter(|_| p.up),
                round: p.round,
                serving: p.up && p.serving,
            })
            .collect()
    }

    /// Every peer's vote and round, as fast leader election sees them.
    pub fn election(&self) -> Vec<ElectionRow> {
        self.election.values().cloned().collect()
    }

    /// Sync decisions, latest first.
    pub fn syncs(&self) -> Vec<SyncRow> {
        self.syncs.iter().cloned().collect()
    }

    /// The last `n` lines of the event log on the topics `show` picks, oldest first, each
    /// with its time in seconds (the text is made here, at the edge, from the kept events).
    pub fn log_lines(&self, show: impl Fn(Topic) -> bool, n: usize) -> Vec<(Topic, String)> {
        let mut picked: Vec<(u64, Topic, f64, &Line)> = self
            .story
            .iter()
            .filter(|(t, _)| show(**t))
            .flat_map(|(t, kept)| kept.iter().rev().take(n).map(|(seq, at, e)| (*seq, *t, *at, e)))
            .collect();
        picked.sort_by_key(|p| p.0);
        let from = picked.len().saturating_sub(n);
        picked[from..]
            .iter()
            .filter_map(|(_, t, at, l)| {
                let text = match l {
                    Line::Event(e) => crate::explain::plain(e)?,
                    Line::Note(n) => format!("** {n}"),
                };
                Some((*t, format!("{:>8.3}s  {text}", at / 1000.0)))
            })
            .collect()
    }

    /// Something done to the cluster (a crash, a partition: the simulator's notes), for the
    /// event log.
    pub fn note(&mut self, text: &str, at_ms: f64) {
        let kept = self.story.entry(Topic::Faults).or_default();
        kept.push_back((self.events, at_ms, Line::Note(text.to_string())));
        if kept.len() > MAX_STORY {
            kept.pop_front();
        }
    }

    /// The last `n` lines of the event log, every topic.
    pub fn narration(&self, n: usize) -> Vec<String> {
        self.log_lines(|_| true, n).into_iter().map(|(_, l)| l).collect()
    }

    /// ACK counts (and quorum) the leader saw for a zxid, and the op it proposed.
    pub fn proposal(&self, zxid: &Zxid) -> Option<&Proposal> {
        self.proposals.get(zxid)
    }

    /// The latest proposals, newest first, as history rows (`committed`: by a quorum's leader).
    pub fn recent_proposals(&self, n: usize) -> Vec<HistoryRow> {
        self.proposals
            .iter()
            .rev()
            .take(n)
            .map(|(z, p)| HistoryRow {
                zxid: z.to_string(),
                op: p.op.clone(),
                committed: p.committed_by.contains(&p.leader) || p.quorum_reached,
                acks: Some((p.acks, p.quorum)),
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "viewmodel_tests.rs"]
mod tests;
