//! The event log's plain-language lines, for a student who does not know ZAB yet, and the
//! topic of each line, so the log can be filtered (elections, synchronization, broadcast,
//! sessions, client replies). The core's `narrate` stays the terse log of the scenario
//! transcripts; this is the page's, made only when a line is drawn.

use zabra_core::message::ServerState;
use zabra_core::trace::{SyncMode, TimeoutKind, TraceEvent};

/// What a log line is about (the filters of the event log).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    Election,
    Sync,
    Broadcast,
    Sessions,
    Client,
    /// What the student (or a lesson) did to the cluster: crashes, partitions, lost messages.
    Faults,
}

impl Topic {
    pub const ALL: [Topic; 6] =
        [Topic::Faults, Topic::Election, Topic::Sync, Topic::Broadcast, Topic::Sessions, Topic::Client];

    pub fn name(self) -> &'static str {
        match self {
            Topic::Election => "elections",
            Topic::Sync => "synchronization",
            Topic::Broadcast => "broadcast",
            Topic::Sessions => "sessions & watches",
            Topic::Client => "client replies",
            Topic::Faults => "faults",
        }
    }

    /// The topic of an event the log shows, `None` for the others (messages, disk writes,
    /// votes one by one: the other panels show those).
    pub fn of(e: &TraceEvent) -> Option<Topic> {
        use TraceEvent::*;
        Some(match e {
            RoleChanged { .. } | ElectionDecided { .. } | Abdicated { .. } => Topic::Election,
            Timeout { kind, .. } => match kind {
                TimeoutKind::InitLimit => Topic::Sync,
                _ => Topic::Election,
            },
            EpochProposed { .. }
            | SyncModeChosen { .. }
            | EpochEstablished { .. }
            | Truncated { .. }
            | SnapshotInstalled { .. } => Topic::Sync,
            Proposed { .. } | QuorumReached { .. } => Topic::Broadcast,
            ClientConnected { .. }
            | WatchFired { .. }
            | SessionEnded { .. }
            | SessionExpiring { .. }
            | ContainerReaped { .. } => Topic::Sessions,
            ClientReply { .. } => Topic::Client,
            _ => return None,
        })
    }
}

/// One plain line for an event the log shows (`Topic::of` is `Some`).
pub fn plain(e: &TraceEvent) -> Option<String> {
    use TraceEvent::*;
    Some(match e {
        RoleChanged { sid, to, leader, reason, .. } => match to {
            ServerState::Looking => format!(
                "peer {sid} is LOOKING for a leader{}",
                reason.as_ref().map_or(String::new(), |r| format!(" ({r})"))
            ),
            ServerState::Leading => format!("peer {sid} won the election: it is LEADING"),
            ServerState::Following => {
                format!("peer {sid} is FOLLOWING peer {}", leader.map_or("?".to_string(), |l| l.to_string()))
            }
            ServerState::Observing => {
                format!("peer {sid} is OBSERVING peer {} (it learns, never votes)", leader.map_or("?".into(), |l| l.to_string()))
            }
        },
        ElectionDecided { sid, round, leader, .. } => {
            format!("peer {sid} ends election round {round}: a quorum votes for peer {leader}")
        }
        Abdicated { sid, because } => {
            format!("peer {sid} stops leading: peer {because} has a more recent history")
        }
        Timeout { sid, kind } => match kind {
            TimeoutKind::NotificationResend => format!("peer {sid} sends its vote again (no decision yet)"),
            TimeoutKind::Finalize => format!("peer {sid} waited a moment for a better vote; none came"),
            TimeoutKind::LeaderSilent => format!("peer {sid} heard nothing from its leader for too long"),
            TimeoutKind::QuorumSilent => format!("leader {sid} no longer hears from a quorum"),
            TimeoutKind::InitLimit => format!("peer {sid}: synchronization took too long (init limit)"),
            TimeoutKind::LearnerSilent => format!("leader {sid} drops a follower it no longer hears from"),
        },
        EpochProposed { sid, epoch } => {
            format!("leader {sid} proposes epoch {epoch}: its zxids will start with {epoch:#x}")
        }
        SyncModeChosen { leader, learner, mode, learner_zxid, to } => match mode {
            SyncMode::Diff => format!(
                "leader {leader} brings peer {learner} up to date by DIFF: it sends what comes after {learner_zxid}"
            ),
            SyncMode::Trunc => format!(
                "leader {leader} tells peer {learner} to TRUNC (cut) its log back to {to}, dropping what only it has"
            ),
            SyncMode::Snap => format!(
                "leader {leader} sends peer {learner} a SNAP (a whole copy of the tree at {to}): it is too far behind"
            ),
        },
        EpochEstablished { sid, epoch, committed } => format!(
            "epoch {epoch} established: a quorum follows leader {sid}, which serves clients (committed up to {committed})"
        ),
        Truncated { sid, to } => format!("peer {sid} cuts its log back to {to}"),
        SnapshotInstalled { sid, zxid } => format!("peer {sid} installs the snapshot at {zxid}"),
        Proposed { sid, zxid, op } => format!("leader {sid} proposes {zxid} ({op}) to its followers"),
        QuorumReached { leader, zxid } => {
            format!("leader {leader} has acks from a quorum for {zxid}: it is committed")
        }
        ClientConnected { sid, result, .. } => format!("peer {sid} connects a client: {result}"),
        WatchFired { sid, session, event, .. } => format!("peer {sid} tells client {session} that a watch fired: {event}"),
        SessionEnded { sid, session, expired } => format!(
            "peer {sid} closes client {session}'s connection ({})",
            if *expired { "its session expired" } else { "it closed its session" }
        ),
        SessionExpiring { leader, session } => {
            format!("leader {leader} expires session {session}: no heartbeat in time (its ephemeral znodes go)")
        }
        ContainerReaped { leader, path } => format!("leader {leader} deletes the empty container {path}"),
        ClientReply { sid, session, result, .. } => format!("peer {sid} answers client {session}: {result}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Classroom, Setup};

    /// Every event the log keeps has a topic and a line, and nothing else has either; the
    /// topics of a run with an election, a write and a crash cover elections, sync and
    /// broadcast.
    #[test]
    fn every_kept_event_has_a_topic_and_a_plain_line() {
        let mut c = Classroom::new(Setup::default(), vec![Action::StartAll], vec![]);
        for a in [
            Action::Stabilize,
            Action::ClientWrite { sid: 2, path: "/a".into(), data: "x".into() },
            Action::Stabilize,
            Action::Crash { sid: 3 },
            Action::Stabilize,
            Action::Restart { sid: 3 },
            Action::Stabilize,
        ] {
            c.push(a);
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &c.sim().trace {
            assert_eq!(Topic::of(e).is_some(), plain(e).is_some(), "{e:?}");
            assert_eq!(Topic::of(e).is_some(), zabra_core::sim::narrate(e).is_some(), "{e:?}");
            seen.extend(Topic::of(e));
        }
        for t in [Topic::Election, Topic::Sync, Topic::Broadcast, Topic::Client] {
            assert!(seen.contains(&t), "no {t:?} line in the run: {seen:?}");
        }
    }
}
