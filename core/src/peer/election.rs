//! Fast Leader Election (ZooKeeper's `FastLeaderElection.lookForLeader`).
//!
//! Rounds are the logical clock: entering LOOKING increments it. Votes are ordered by
//! (peer_epoch, zxid, sid). A peer decides once a quorum of its round holds votes equal to its
//! proposal and no better vote arrives within the finalize window. FOLLOWING and LEADING peers
//! answer LOOKING peers with the leader they follow, so a restarted peer joins an established
//! leader without a new election — but only when a quorum reports that leader and the leader
//! itself says LEADING (`checkLeader`, ZOOKEEPER-1732).
//!
//! FLE is not the safety mechanism (discovery is): it only has to pick a likely leader fast.

use super::{Peer, Role};
use crate::config::Config;
use crate::ids::Sid;
use crate::message::{Message, ServerState, Vote};
use crate::time::{Duration, Instant};
use crate::trace::{TimeoutKind, TraceEvent};
use std::collections::BTreeMap;

#[derive(Debug)]
pub(crate) struct Election {
    pub proposal: Vote,
    /// Votes of LOOKING voters in our round (our own included).
    votes: BTreeMap<Sid, Vote>,
    /// What FOLLOWING/LEADING voters report: their leader, state and round.
    established: BTreeMap<Sid, (Vote, ServerState, u64)>,
    finalize_at: Option<Instant>,
    resend_at: Instant,
    resend_every: Duration,
}

impl Election {
    pub fn placeholder() -> Self {
        Election::new(
            Vote { leader: Sid(0), zxid: Default::default(), peer_epoch: 0 },
            Instant(0),
            &Config::new(Sid(1), crate::config::Membership::numbered(1, 0)),
        )
    }

    pub fn new(proposal: Vote, now: Instant, cfg: &Config) -> Self {
        Election {
            proposal,
            votes: BTreeMap::new(),
            established: BTreeMap::new(),
            finalize_at: None,
            resend_at: now + cfg.notify_min,
            resend_every: cfg.notify_min,
        }
    }

    pub fn deadline(&self) -> Instant {
        match self.finalize_at {
            Some(f) => f.min(self.resend_at),
            None => self.resend_at,
        }
    }
}

impl Peer {
    fn election(&mut self) -> &mut Election {
        match &mut self.role {
            Role::Looking(e) => e,
            _ => unreachable!("election state only while LOOKING"),
        }
    }

    fn election_ref(&self) -> &Election {
        match &self.role {
            Role::Looking(e) => e,
            _ => unreachable!("election state only while LOOKING"),
        }
    }

    fn notification(&self) -> Message {
        let vote = match &self.role {
            Role::Looking(e) => e.proposal,
            Role::Leading(_) => {
                Vote { leader: self.cfg.sid, zxid: self.log.last_zxid(), peer_epoch: self.current_epoch }
            }
            Role::Following(l) | Role::Observing(l) => {
                Vote { leader: l.leader, zxid: self.log.last_zxid(), peer_epoch: self.current_epoch }
            }
        };
        let state = if self.is_voter(self.cfg.sid) { self.state() } else { ServerState::Observing };
        Message::Notification { state, vote, round: self.logical_clock }
    }

    fn broadcast_notification(&mut self) {
        let msg = self.notification();
        let voters: Vec<Sid> = self.cfg.members.voters.iter().copied().collect();
        for v in voters {
            self.send(v, msg.clone());
        }
    }

    pub(super) fn election_start(&mut self) {
        let me = self.cfg.sid;
        if self.is_voter(me) {
            let v = self.election().proposal;
            self.election().votes.insert(me, v);
        }
        self.broadcast_notification();
        self.check_election();
    }

    pub(super) fn election_connected(&mut self, peer: Sid) {
        if self.is_voter(peer) {
            let msg = self.notification();
            self.send(peer, msg);
        }
    }

    pub(super) fn election_timeout(&mut self) {
        let now = self.now.instant;
        let max = self.cfg.notify_max;
        let e = self.election();
        if e.finalize_at.is_some_and(|f| f <= now) {
            e.finalize_at = None;
            self.trace(TraceEvent::Timeout { sid: self.cfg.sid, kind: TimeoutKind::Finalize });
            self.finalize();
            return;
        }
        let e = self.election();
        if e.resend_at <= now {
            e.resend_every = Duration(e.resend_every.0.saturating_mul(2)).min(max);
            e.resend_at = now + e.resend_every;
            self.trace(TraceEvent::Timeout { sid: self.cfg.sid, kind: TimeoutKind::NotificationResend });
            self.broadcast_notification();
        }
    }

    pub(super) fn on_notification(&mut self, from: Sid, state: ServerState, vote: Vote, round: u64) {
        let me = self.cfg.sid;
        self.trace(TraceEvent::VoteReceived { sid: me, from, state, round, vote });
        let from_voter = self.is_voter(from);
        let i_vote = self.is_voter(me);
        match &self.role {
            Role::Looking(_) if !from_voter => {
                // A LOOKING observer asks who leads: tell it our current vote.
                let msg = self.notification();
                self.send(from, msg);
            }
            Role::Looking(_) if state == ServerState::Looking => {
                if i_vote {
                    self.on_looking_vote(from, vote, round);
                }
            }
            Role::Looking(_) => self.on_established_vote(from, vote, state, round),
            _ => {
                if state == ServerState::Looking || state == ServerState::Observing {
                    let msg = self.notification();
                    self.send(from, msg);
                }
            }
        }
    }

    fn on_looking_vote(&mut self, from: Sid, vote: Vote, round: u64) {
        let me = self.cfg.sid;
        let own = self.own_vote();
        if round > self.logical_clock {
            self.logical_clock = round;
            let best = if self.better(&vote, &own) { vote } else { own };
            let e = self.election();
            e.votes.clear();
            e.finalize_at = None;
            e.proposal = best;
            e.votes.insert(me, best);
            self.trace(TraceEvent::VoteChanged { sid: me, round, vote: best });
            self.broadcast_notification();
        } else if round < self.logical_clock {
            let msg = self.notification();
            self.send(from, msg);
            return;
        } else if self.better(&vote, &self.election_ref().proposal) {
            let e = self.election();
            e.proposal = vote;
            e.finalize_at = None;
            e.votes.insert(me, vote);
            self.trace(TraceEvent::VoteChanged { sid: me, round, vote });
            self.broadcast_notification();
        } else if self.better(&self.election_ref().proposal, &vote)
            && self
                .election_ref()
                .established
                .get(&from)
                .is_some_and(|(_, st, r)| *st != ServerState::Looking && *r < round)
        {
            // The sender proposes worse than we do, in our round, and it answered us before as
            // a FOLLOWING (or LEADING) peer of an earlier round: it received our vote while it
            // still followed its old leader, answered with its old vote, and forgot ours. Tell
            // it again now; it would learn it only at our next resend, 50 ms or more later (a
            // SIGKILL failover measured at 57 ms took 110-130 ms in about one round of four).
            let msg = self.notification();
            self.send(from, msg);
        }
        self.election().votes.insert(from, vote);
        self.check_election();
    }

    /// A quorum of our round agrees with our proposal: open the finalize window.
    fn check_election(&mut self) {
        let now = self.now.instant;
        let window = self.cfg.finalize_window;
        let proposal = self.election().proposal;
        let agreed = self.agreeing(proposal);
        let e = self.election();
        if agreed && e.finalize_at.is_none() {
            e.finalize_at = Some(now + window);
        } else if !agreed {
            e.finalize_at = None;
        }
    }

    fn agreeing(&self, v: Vote) -> bool {
        let Role::Looking(e) = &self.role else { return false };
        let sids: Vec<&Sid> = e.votes.iter().filter(|(_, w)| **w == v).map(|(s, _)| s).collect();
        self.is_quorum(sids)
    }

    fn finalize(&mut self) {
        let proposal = self.election().proposal;
        if !self.agreeing(proposal) {
            return;
        }
        self.decide(proposal.leader);
    }

    fn decide(&mut self, leader: Sid) {
        let me = self.cfg.sid;
        let state = if leader == me {
            ServerState::Leading
        } else if self.is_voter(me) {
            ServerState::Following
        } else {
            ServerState::Observing
        };
        self.trace(TraceEvent::ElectionDecided { sid: me, round: self.logical_clock, leader, state });
        match state {
            ServerState::Leading => self.become_leading(),
            ServerState::Following => self.become_following(leader),
            _ => self.become_observing(leader),
        }
    }

    /// The election oracle (`Config::election_oracle`, tests only) names the leader: any
    /// voter, however far behind. Discovery must keep the cluster safe whatever the choice.
    pub(super) fn on_elect(&mut self, leader: Sid) {
        let looking = matches!(self.role, Role::Looking(_));
        if !self.cfg.election_oracle || !looking || !self.is_voter(leader) {
            self.anomaly(format!("election oracle named {leader}: ignored"));
            return;
        }
        self.decide(leader);
    }

    /// FLE's vote order, (peer_epoch, zxid, sid), or its mutant with zxids compared the
    /// wrong way round.
    fn better(&self, a: &Vote, b: &Vote) -> bool {
        if self.mutant(crate::config::Mutant::ElectionZxidReversed) {
            return (a.peer_epoch, std::cmp::Reverse(a.zxid), a.leader)
                > (b.peer_epoch, std::cmp::Reverse(b.zxid), b.leader);
        }
        a.beats(b)
    }

    /// A FOLLOWING or LEADING voter told us who it follows.
    fn on_established_vote(&mut self, from: Sid, vote: Vote, state: ServerState, round: u64) {
        if !self.is_voter(from) {
            return;
        }
        let me = self.cfg.sid;
        let my_round = self.logical_clock;
        let e = self.election();
        e.established.insert(from, (vote, state, round));
        if round == my_round && self.is_voter(me) {
            // A peer that decided in our round reports its own last zxid and epoch, not the
            // vote it elected with (ZooKeeper's report that vote): naming our proposal's leader,
            // it agrees with our proposal. Counted as disagreeing, it kept a voter LOOKING
            // while its leader waited the whole init limit for that voter's quorum.
            let proposal = self.election().proposal;
            let agrees = if vote.leader == proposal.leader { proposal } else { vote };
            self.election().votes.insert(from, agrees);
            self.check_election();
        }
        let leader = vote.leader;
        let reporting: Vec<&Sid> = match &self.role {
            Role::Looking(e) => {
                e.established.iter().filter(|(_, (v, _, _))| v.leader == leader).map(|(s, _)| s).collect()
            }
            _ => return,
        };
        let quorum = self.is_quorum(reporting);
        if quorum && leader != me && self.leader_confirms(leader) {
            if round > self.logical_clock {
                self.logical_clock = round;
            }
            self.decide(leader);
        }
    }

    /// `checkLeader`: the leader itself must say it is LEADING.
    fn leader_confirms(&self, leader: Sid) -> bool {
        let Role::Looking(e) = &self.role else { return false };
        matches!(e.established.get(&leader), Some((_, ServerState::Leading, _)))
    }
}
