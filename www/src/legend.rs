//! "How to read this page": the legend and glossary of the classroom, next to what it
//! explains. Every label the cluster view, the tables and the event log use is defined here
//! in a sentence, with ZooKeeper's own names kept so the student can read its code and docs.

use yew::prelude::*;
use zabra_core::sim::CrashPoint;

/// (term, what it means).
const SHOWN: &[(&str, &str)] = &[
    ("peer 2", "one ZooKeeper server. Click a peer to select it (yellow ring): the history and tree panels show that peer, and the client form talks to it."),
    ("LOOKING / FOLLOWING / LEADING / OBSERVING", "the peer's role: looking for a leader (an election runs), following a leader, leading, or observing (a learner that gets every commit but never votes)."),
    ("epoch 1/2", "accepted epoch / current epoch. A peer accepts (promises) a new epoch to a would-be leader during discovery; it makes it current once it holds that leader's history (NewLeader). A new epoch starts with every new leader."),
    ("zxid 0x100000003", "a transaction id: epoch in the high 32 bits, a counter in the low 32 bits. 0x100000003 is epoch 1, counter 3; (1,3) is the same zxid written short. Zxids give every write one total order."),
    ("committed (1,3)", "the last zxid this peer knows committed: a quorum logged it, so it survives any failure the cluster can survive."),
    ("2 acks (need 2)", "in a history: how many peers (the leader included) have logged this proposal to disk and acknowledged it, and how many make a quorum (a majority of the voters)."),
    ("votes seen (from:for)", "in the election table: 2:3 means peer 2's latest vote was for peer 3. A peer decides once a quorum votes for the same peer."),
    ("DIFF / TRUNC / SNAP", "how a new leader brings a learner up to date: DIFF sends the entries it lacks; TRUNC makes it cut a tail the leader never had, then sends what follows; SNAP sends a whole copy of the tree when it is too far behind."),
    ("dots on the links", "messages in flight, moving from sender to receiver; their label is the message kind. Hover for details. After each step the messages it sent leave their sender and the ones it delivered fly into their receiver, in the order they happened (no motion if your system asks for reduced motion)."),
    ("orange ring", "a follower's sync limit, shrinking: when it is gone without a word from the leader, the follower gives up on it and goes LOOKING."),
    ("brown ring", "a session's timeout, shrinking, around the peer its client is connected to (around the leader when the client is gone): when it is gone the leader expires the session and its ephemeral znodes are deleted. The client's heartbeats fill it again."),
    ("◔ pending write", "a client's write that has no answer yet, next to the peer it was sent to; the client panel says why it waits (a leader cut off from a quorum cannot commit) and how it ended."),
];

/// (message, what it does), in the order a peer meets them.
const MESSAGES: &[(&str, &str)] = &[
    ("Notification (vote)", "fast leader election: a peer's vote (a leader, its last zxid and epoch, the round)."),
    ("FollowerInfo / ObserverInfo", "discovery: a learner tells its chosen leader its accepted epoch and last zxid."),
    ("LeaderInfo", "the leader proposes the new epoch."),
    ("AckEpoch", "a learner accepts the new epoch and reports its history. NOT-COUNTED: it arrived after the leader had its quorum."),
    ("Diff / Trunc / Snap", "synchronization, one of the three modes above."),
    ("NewLeader / AckNewLeader", "the leader asks the learner to adopt the epoch's history; the learner confirms once it is on disk."),
    ("UpToDate", "the epoch is established: the learner starts serving clients."),
    ("Proposal / Ack / Commit", "broadcast: the leader proposes a write, followers log it and ack, the leader commits once a quorum acked."),
    ("Inform", "a commit with its write, sent to observers (they never ack)."),
    ("Request", "a write a follower forwards to the leader (only the leader orders writes)."),
    ("Ping / PingAck", "heartbeats: leader and followers check each other are alive; they also carry the sessions' heartbeats."),
];

/// (timeout, what happened).
const TIMEOUTS: &[(&str, &str)] = &[
    ("NotificationResend", "no election decision yet: the peer sends its vote again."),
    ("Finalize", "a quorum agreed; the peer waited a moment for a better vote and none came, so it decides."),
    ("LeaderSilent", "a follower heard nothing from its leader within the sync limit: it goes LOOKING."),
    ("QuorumSilent", "a leader no longer hears from a quorum: it steps down."),
    ("InitLimit", "discovery and synchronization took too long: start a new election."),
    ("LearnerSilent", "a leader drops one follower it no longer hears from."),
];

fn crash_point_text(p: CrashPoint) -> &'static str {
    match p {
        CrashPoint::AfterAppendBeforeFsync => "a write is in the log's buffer, not yet on disk: it is lost",
        CrashPoint::AfterFsyncBeforeAck => "a write is on disk but the peer crashed before acking it",
        CrashPoint::AfterAcceptedEpoch => "the peer promised a new epoch, then crashed",
        CrashPoint::AfterCurrentEpoch => "the peer made the new epoch current, then crashed",
        CrashPoint::AfterSyncedHistory => "the peer wrote the leader's history, then crashed before acking",
        CrashPoint::AfterAckNewLeader => "the peer acked NewLeader, then crashed",
        CrashPoint::MidSnap => "the peer crashed while installing a snapshot",
        CrashPoint::MidTrunc => "the peer crashed while truncating its log",
    }
}

fn rows(items: &[(&str, &str)]) -> Html {
    html! { for items.iter().map(|(t, d)| html! { <div class="term"><dt>{ *t }</dt><dd>{ *d }</dd></div> }) }
}

#[function_component(Legend)]
pub fn legend() -> Html {
    let points = CrashPoint::ALL.iter().map(|p| {
        html! {
            <div class="term"><dt>{ p.name() }</dt><dd>{ crash_point_text(*p) }</dd></div>
        }
    });
    html! {
        <details class="panel legend" data-testid="legend">
            <summary><h2 style="display:inline">{ "How to read this page" }</h2></summary>
            <dl>{ rows(SHOWN) }</dl>
            <h3>{ "Messages" }</h3>
            <dl>{ rows(MESSAGES) }</dl>
            <h3>{ "Timeouts (in the event log)" }</h3>
            <dl>{ rows(TIMEOUTS) }</dl>
            <h3>{ "Crash points (buggy modes and lessons)" }</h3>
            <dl>{ for points }</dl>
        </details>
    }
}
