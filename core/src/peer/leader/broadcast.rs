//! The leader in Broadcast: propose, count acks, commit in order.
//!
//! Acks are cumulative. A follower appends proposals in zxid order and its writes become
//! durable in the order issued, so once the proposal for `z` is durable every earlier one of
//! this epoch is too: it acks only the highest zxid a durable batch covers, and the leader
//! counts an Ack for `z` as one for every outstanding zxid up to `z` (Raft's match index).
//! Commits are cumulative as well ("everything up to `z`"): one Commit per follower for the
//! highest zxid an ack newly commits. Each zxid still commits only in order and only with a
//! quorum of durable acks of its own; observers still get one Inform per entry, since they
//! never saw the proposal.

use super::super::Peer;
use crate::config::Mutant;
use crate::ids::{SessionId, Sid};
use crate::log::{Entry, Origin};
use crate::message::Message;
use crate::storage::PersistOp;
use crate::trace::{LookingReason, TraceEvent};
use crate::txn::Op;
use crate::zxid::Zxid;
use std::collections::{BTreeMap, VecDeque};

/// Proposals not yet committed, and how far each voter has acknowledged.
#[derive(Debug, Default)]
pub(in crate::peer) struct Outstanding {
    /// Proposed and not yet committed, in zxid order.
    zxids: VecDeque<Zxid>,
    /// The highest zxid of this epoch each voter (this leader too) acknowledged as durable.
    /// A voter's entry outlives its link: what it made durable stays on its disk.
    acked: BTreeMap<Sid, Zxid>,
    /// This leader's own appends made durable by the current input, counted once at its end.
    self_due: Option<Zxid>,
}

impl Outstanding {
    /// The voters whose acks cover `z`.
    fn acks(&self, z: Zxid) -> impl Iterator<Item = &Sid> + '_ {
        self.acked.iter().filter(move |(_, a)| **a >= z).map(|(s, _)| s)
    }

    /// Record that `from` acked everything up to `z`; the zxids this newly covers.
    fn raise(&mut self, from: Sid, z: Zxid) -> Vec<Zxid> {
        let prev = self.acked.get(&from).copied().unwrap_or(Zxid::ZERO);
        if z <= prev {
            return Vec::new();
        }
        self.acked.insert(from, z);
        let (lo, hi) = (self.zxids.partition_point(|x| *x <= prev), self.zxids.partition_point(|x| *x <= z));
        self.zxids.range(lo..hi).copied().collect()
    }
}

impl Peer {
    /// Assign the next zxid, log it, and send it to every follower in the broadcast set.
    pub(in crate::peer) fn leader_propose(
        &mut self,
        session: SessionId,
        op: Op,
        auth: Vec<crate::acl::Id>,
        origin: Option<Origin>,
    ) {
        let e = self.leader_ref().epoch.expect("epoch decided");
        let last = self.log.last_zxid();
        let next = if last.epoch == e { last.next() } else { Some(Zxid::new(e, self.cfg.first_counter)) };
        let Some(zxid) = next.filter(|z| z.counter < u32::MAX) else {
            // ZOOKEEPER-1277: the counter must not roll into the epoch; force a new epoch.
            self.anomaly(format!("zxid counter exhausted at {last}: forcing a new epoch"));
            self.become_looking(LookingReason::ZxidExhausted { last });
            return;
        };
        let entry = self.make_entry(zxid, session, op, auth, origin);
        let op = self.shown_op(&entry.txn.op);
        self.trace(TraceEvent::Proposed { sid: self.cfg.sid, zxid, op });
        self.log_append(entry.clone());
        self.leader().outstanding.zxids.push_back(zxid);
        let t = self.persist(PersistOp::Append(vec![entry.clone()]));
        if self.mutant(Mutant::LeaderCountsBeforeDurable) {
            self.count_ack(self.cfg.sid, zxid);
        } else {
            self.after(t, super::AfterDurable::LeaderSelfAck(zxid));
        }
        // The last follower gets the entry itself, the others copies.
        let followers = self.leader_ref().forward_followers();
        if let Some((&last, rest)) = followers.split_last() {
            for &f in rest {
                self.send(f, Message::Proposal { epoch: e, entry: entry.clone() });
            }
            self.send(last, Message::Proposal { epoch: e, entry });
        }
    }

    /// Our append of `zxid` is durable: noted now, counted once the input's durable writes
    /// are all in (see [`Peer::leader_count_self`]), so a group commit makes one count.
    pub(in crate::peer) fn leader_self_ack(&mut self, zxid: Zxid) {
        let o = &mut self.leader().outstanding;
        o.self_due = o.self_due.max(Some(zxid));
    }

    /// Counts our own durable appends noted during this input.
    pub(in crate::peer) fn leader_count_self(&mut self) {
        if let Some(z) = self.leader().outstanding.self_due.take() {
            self.count_ack(self.cfg.sid, z);
        }
    }

    pub(super) fn on_ack(&mut self, from: Sid, zxid: Zxid) {
        let synced = self.leader_ref().is_synced_follower(from);
        if !synced {
            self.anomaly(format!("ack {zxid} from {from}, not a synced follower: not counted"));
            return;
        }
        // A cumulative ack past what we logged would count for proposals never made.
        let (last, epoch) = (self.log.last_zxid(), self.session_epoch());
        if zxid > last || zxid.epoch != epoch {
            self.anomaly(format!("ack {zxid} from {from} beyond our last zxid {last} of epoch {epoch}: not counted"));
            return;
        }
        self.count_ack(from, zxid);
    }

    /// `from` made everything up to `zxid` durable: count it for each outstanding zxid up to
    /// `zxid` (traced one by one, for viewers that draw ACK counts), then commit what it can.
    pub(super) fn count_ack(&mut self, from: Sid, zxid: Zxid) {
        let quorum = self.quorum_size();
        let covered = self.leader().outstanding.raise(from, zxid);
        if covered.is_empty() {
            return;
        }
        for z in covered {
            let acks = self.leader_ref().outstanding.acks(z).count();
            self.trace(TraceEvent::AckReceived { leader: self.cfg.sid, from, zxid: z, acks, quorum });
        }
        self.try_commit();
    }

    /// Ack(NewLeader) from `from` proves its history durable up to `synced_to`: it counts
    /// for the outstanding proposals its sync stream carried.
    pub(super) fn count_synced(&mut self, from: Sid, synced_to: Zxid) {
        self.leader().outstanding.raise(from, synced_to);
        self.try_commit();
    }

    /// Commit in zxid order: z commits once a quorum acked it and everything before it did.
    /// One Commit per follower names the highest zxid committed here.
    pub(super) fn try_commit(&mut self) {
        let mut last = None;
        loop {
            let o = &self.leader_ref().outstanding;
            let Some(&z) = o.zxids.front() else { break };
            let short = self.mutant(Mutant::CommitOneAckShort) && o.acks(z).count() + 1 >= self.quorum_size();
            if !self.is_quorum(o.acks(z)) && !short {
                break;
            }
            self.leader().outstanding.zxids.pop_front();
            self.trace(TraceEvent::QuorumReached { leader: self.cfg.sid, zxid: z });
            last = Some(z);
        }
        let Some(to) = last else { return };
        // Taken before commit_to (a checkpoint there may compact them out of the log), and
        // only for observers to inform.
        let observers = self.leader_ref().forward_observers();
        let informs: Vec<Entry> = match observers.is_empty() {
            true => Vec::new(),
            false => self.log.after(self.last_committed).iter().take_while(|e| e.zxid <= to).cloned().collect(),
        };
        self.commit_to(to);
        let epoch = self.session_epoch();
        for f in self.leader_ref().forward_followers() {
            self.send(f, Message::Commit { epoch, zxid: to });
        }
        for o in observers {
            for entry in &informs {
                self.send(o, Message::Inform { epoch, entry: entry.clone() });
            }
        }
        self.answer_syncs();
    }
}
