//! Live mode and its recordings, outside Yew (unit-tested natively): what an `/observe` line
//! means, the recording of a live session (JSON lines, as the nodes sent them), its replay as
//! a timeline in Classroom, the reconnect backoff, and the presenter's keys.

use crate::viewmodel::ViewModel;
use zabra_core::peer::Status;
use zabra_core::trace::TraceEvent;

/// One line of a node's `/observe` stream (`native-node/src/viewers.rs`).
#[derive(Clone, Debug, PartialEq)]
pub enum Line {
    /// The node's status when the viewer joined.
    Status {
        status: Box<Status>,
        ms: f64,
    },
    Event {
        event: Box<TraceEvent>,
        ms: f64,
    },
    /// The node skipped this many events for this viewer (its queue was full).
    Dropped {
        count: u64,
    },
}

/// Parses a line; `None` for anything else (the stream's contract is the node's, and a line
/// this page does not know is skipped rather than fatal).
pub fn parse_line(text: &str) -> Option<Line> {
    let mut v: serde_json::Value = serde_json::from_str(text).ok()?;
    let ms = v.as_object_mut()?.remove("wall_ms").and_then(|m| m.as_f64()).unwrap_or(0.0);
    match v["type"].as_str()? {
        "Status" => Some(Line::Status { status: serde_json::from_value(v["status"].take()).ok()?, ms }),
        "Dropped" => Some(Line::Dropped { count: v["count"].as_u64()? }),
        _ => Some(Line::Event { event: serde_json::from_value(v).ok()?, ms }),
    }
}

impl Line {
    pub fn ms(&self) -> Option<f64> {
        match self {
            Line::Status { ms, .. } | Line::Event { ms, .. } => Some(*ms),
            Line::Dropped { .. } => None,
        }
    }

    /// Feeds the view model.
    pub fn feed(&self, vm: &mut ViewModel) {
        match self {
            Line::Status { status, ms } => vm.status(status, *ms),
            Line::Event { event, ms } => vm.feed(event, *ms),
            Line::Dropped { count } => vm.skipped(*count),
        }
    }

    /// A short text for the replay's timeline (text only at the edge).
    pub fn describe(&self) -> String {
        match self {
            Line::Status { status, .. } => format!("status: {}", zabra_core::describe::status(status)),
            Line::Event { event, .. } => event_text(event),
            Line::Dropped { count } => format!("{count} events skipped by a node (slow viewer)"),
        }
    }
}

fn event_text(e: &TraceEvent) -> String {
    let json = serde_json::to_value(e).unwrap_or_default();
    let kind = json["type"].as_str().unwrap_or("?").to_string();
    let mut fields: Vec<String> = json
        .as_object()
        .map(|o| o.iter().filter(|(k, _)| *k != "type").map(|(k, v)| format!("{k}={}", short(v))).collect())
        .unwrap_or_default();
    fields.truncate(6);
    format!("{kind} {}", fields.join(" "))
}

fn short(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// Lines kept by a recording (about 20 MB of JSON at most); the oldest go first.
pub const MAX_RECORDED: usize = 100_000;

/// What Live mode received, in arrival order, as the raw lines the nodes sent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    pub lines: std::collections::VecDeque<String>,
    pub dropped_oldest: u64,
}

impl Recording {
    pub fn push(&mut self, raw: &str) {
        if self.lines.len() == MAX_RECORDED {
            self.lines.pop_front();
            self.dropped_oldest += 1;
        }
        self.lines.push_back(raw.trim().to_string());
    }

    /// The file a recording downloads as: one `/observe` line per line.
    pub fn to_jsonl(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }
}

/// A recording opened in Classroom: its lines in time order, and a cursor to step and scrub.
#[derive(Clone, Debug, PartialEq)]
pub struct Replay {
    pub lines: Vec<Line>,
    pub cursor: usize,
    vm: ViewModel,
    fed: usize,
}

impl Replay {
    /// From JSON lines (a download, or Live's own recording); lines that do not parse are
    /// skipped. Several nodes' streams are merged by their wall clocks (stable for equal ones).
    pub fn from_jsonl(text: &str) -> Result<Replay, String> {
        let lines: Vec<Line> = text.lines().filter(|l| !l.trim().is_empty()).filter_map(parse_line).collect();
        if lines.is_empty() {
            return Err("no trace events in this file (expected JSON lines from Live mode)".into());
        }
        // Markers carry no time: they keep the time of the line before them.
        let mut keyed: Vec<(f64, usize, Line)> = Vec::with_capacity(lines.len());
        let mut t = 0.0;
        for (i, l) in lines.into_iter().enumerate() {
            t = l.ms().unwrap_or(t);
            keyed.push((t, i, l));
        }
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let lines = keyed.into_iter().map(|(_, _, l)| l).collect();
        Ok(Replay { lines, cursor: 0, vm: ViewModel::default(), fed: 0 })
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The view after `lines[..k]`: forward feeds only the new lines, back starts again.
    pub fn seek(&mut self, k: usize) {
        let k = k.min(self.lines.len());
        if k < self.fed {
            self.vm = ViewModel::default();
            self.fed = 0;
        }
        for l in &self.lines[self.fed..k] {
            l.feed(&mut self.vm);
        }
        (self.fed, self.cursor) = (k, k);
    }

    pub fn view_model(&self) -> &ViewModel {
        &self.vm
    }

    /// Milliseconds since the recording's first timed line, at the cursor.
    pub fn elapsed_ms(&self) -> f64 {
        let first = self.lines.iter().find_map(Line::ms).unwrap_or(0.0);
        self.lines[..self.cursor].iter().rev().find_map(Line::ms).map_or(0.0, |t| t - first)
    }
}

/// Reconnect delays: 250 ms doubling to 4 s, so a node that comes back is seen within
/// seconds and a dead one costs a connection attempt every 4 s at most.
pub fn backoff_ms(attempt: u32) -> u32 {
    250u32.saturating_mul(1 << attempt.min(4)).min(4000)
}

/// What a presenter can do from the keyboard (or a remote, which sends space, arrows and
/// page up/down).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    KillLeader,
    RestartDown,
    PauseLeader,
    ResumePaused,
    IsolateLeader,
    Heal,
    Writes,
}

impl Command {
    pub const ALL: [Command; 7] = [
        Command::KillLeader,
        Command::RestartDown,
        Command::PauseLeader,
        Command::ResumePaused,
        Command::IsolateLeader,
        Command::Heal,
        Command::Writes,
    ];

    /// `KeyboardEvent.key` to a command. A remote's "next" (page down, right arrow) kills the
    /// leader, "previous" (page up, left arrow) brings the killed node back; down/up pause
    /// and resume; space sends a burst of writes.
    pub fn for_key(key: &str) -> Option<Command> {
        Some(match key {
            "k" | "K" | "PageDown" | "ArrowRight" => Command::KillLeader,
            "r" | "R" | "PageUp" | "ArrowLeft" => Command::RestartDown,
            "p" | "P" | "ArrowDown" => Command::PauseLeader,
            "u" | "U" | "ArrowUp" => Command::ResumePaused,
            "s" | "S" => Command::IsolateLeader,
            "h" | "H" => Command::Heal,
            "w" | "W" | " " => Command::Writes,
            _ => return None,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            Command::KillLeader => "kill the leader (K, →, PgDn)",
            Command::RestartDown => "restart killed nodes (R, ←, PgUp)",
            Command::PauseLeader => "pause the leader (P, ↓)",
            Command::ResumePaused => "resume paused nodes (U, ↑)",
            Command::IsolateLeader => "partition the leader away (S)",
            Command::Heal => "heal partitions (H)",
            Command::Writes => "burst of 20 writes (W, space)",
        }
    }

    pub fn test_id(self) -> &'static str {
        match self {
            Command::KillLeader => "btn-live-kill",
            Command::RestartDown => "btn-live-restart",
            Command::PauseLeader => "btn-live-pause",
            Command::ResumePaused => "btn-live-resume",
            Command::IsolateLeader => "btn-live-partition",
            Command::Heal => "btn-live-heal",
            Command::Writes => "btn-live-writes",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = r#"{"wall_ms":1000,"type":"Status","status":{"sid":2,"state":"Following","phase":"Broadcast","leader":1,"accepted_epoch":1,"current_epoch":1,"last_logged":"100000002","last_committed":"100000002","round":1,"vote":null,"digest":0,"serving":true}}"#;

    fn role(sid: u64, at: u64, from: &str, to: &str, leader: Option<u64>) -> String {
        let leader = leader.map_or("null".into(), |l| l.to_string());
        format!(
            r#"{{"wall_ms":{at},"type":"RoleChanged","sid":{sid},"at":0,"from":"{from}","to":"{to}","leader":{leader}}}"#
        )
    }

    fn established(sid: u64, at: u64, epoch: u32) -> String {
        format!(r#"{{"wall_ms":{at},"type":"EpochEstablished","sid":{sid},"epoch":{epoch},"committed":"0"}}"#)
    }

    #[test]
    fn lines_parse_as_the_node_sends_them() {
        let Some(Line::Status { status, ms }) = parse_line(STATUS) else { panic!("status line") };
        assert_eq!((status.sid.0, ms, status.serving), (2, 1000.0, true));
        assert_eq!(parse_line(r#"{"type":"Dropped","count":6}"#), Some(Line::Dropped { count: 6 }));
        assert!(
            matches!(parse_line(&role(1, 5, "Looking", "Leading", Some(1))), Some(Line::Event { ms, .. }) if ms == 5.0)
        );
        assert_eq!(parse_line("not json"), None);
        assert_eq!(parse_line(r#"{"type":"NoSuchEvent"}"#), None);
    }

    /// A failover as three nodes' streams report it: the leader's followers go LOOKING, one
    /// establishes a new epoch; the spell without a leader is timed by the nodes' clocks.
    fn failover() -> String {
        let lines = [
            STATUS.to_string(),
            role(1, 900, "Looking", "Leading", Some(1)),
            established(1, 950, 1),
            role(3, 900, "Looking", "Following", Some(1)),
            role(2, 2000, "Following", "Looking", None),
            role(3, 2010, "Following", "Looking", None),
            role(3, 2300, "Looking", "Leading", Some(3)),
            role(2, 2300, "Looking", "Following", Some(3)),
            established(3, 2450, 2),
        ];
        lines.join("\n")
    }

    #[test]
    fn a_recorded_failover_replays_forward_and_back() {
        let mut r = Replay::from_jsonl(&failover()).expect("parses");
        assert_eq!(r.len(), 9);
        r.seek(r.len());
        let o = r.view_model().last_outage().expect("a spell without a leader").clone();
        assert_eq!((o.from_ms, o.to_ms, o.new_leader), (2000.0, Some(2450.0), Some((3, 2))));
        assert_eq!(o.lost, Some(1));
        let at_end = r.view_model().peer_views();
        assert!(at_end.iter().any(|p| p.sid == 3 && p.role == "LEADING"));
        r.seek(3);
        assert!(r.view_model().peer_views().iter().any(|p| p.sid == 1 && p.role == "LEADING"));
        assert!(r.view_model().last_outage().is_none(), "back before the failover");
        r.seek(r.len());
        assert_eq!(r.view_model().peer_views(), at_end, "forward again gives the same picture");
        assert!(r.elapsed_ms() > 0.0);
    }

    #[test]
    fn a_recording_downloads_as_the_lines_it_received_and_opens_again() {
        let mut rec = Recording::default();
        for l in failover().lines() {
            rec.push(l);
        }
        let again = Replay::from_jsonl(&rec.to_jsonl()).expect("opens");
        assert_eq!(again.lines, Replay::from_jsonl(&failover()).unwrap().lines);
        assert!(Replay::from_jsonl("hello\n").is_err());
    }

    #[test]
    fn backoff_is_bounded_and_keys_map_to_commands() {
        assert_eq!((backoff_ms(0), backoff_ms(1), backoff_ms(3)), (250, 500, 2000));
        assert_eq!(backoff_ms(40), 4000);
        assert_eq!(Command::for_key("PageDown"), Some(Command::KillLeader));
        assert_eq!(Command::for_key("k"), Some(Command::KillLeader));
        assert_eq!(Command::for_key("PageUp"), Some(Command::RestartDown));
        assert_eq!(Command::for_key(" "), Some(Command::Writes));
        assert_eq!(Command::for_key("x"), None);
        let ids: std::collections::BTreeSet<_> = Command::ALL.iter().map(|c| c.test_id()).collect();
        assert_eq!(ids.len(), Command::ALL.len());
    }
}
