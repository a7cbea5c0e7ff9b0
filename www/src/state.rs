//! The one reducer of the page (yew's function_todomvc habit): `UiState` + `UiAction`.
//! Yew-free, so it is unit-tested natively; `app.rs` only wraps it in `Reducible`.
//!
//! The simulator sits behind `Rc<RefCell<_>>`: it cannot be cloned, and cloning the state for
//! each action must stay cheap. `rev` changes on every action so Yew sees a new state.

use crate::lessons::{classroom_for, lesson};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What a share link escapes in its scenario lines: everything but letters, digits and a few
/// marks that read well in a URL.
const URL_PART: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'/').remove(b',');

use crate::model::{decode_actions, encode_actions, mutant_by_name, sanitize, Action, Classroom, Setup};
use std::cell::RefCell;
use std::rc::Rc;

#[derive(Clone, Debug, PartialEq)]
pub enum UiAction {
    Play,
    Pause,
    /// One beat of the play timer: the same as a step forward.
    Tick,
    StepForward,
    StepBack,
    /// Play speed in steps per second.
    SetSpeed(u32),
    ScrubTo(usize),
    Do(Action),
    SelectPeer(u64),
    LoadLesson(Option<String>),
    NextLessonStep,
    PrevLessonStep,
    ToggleManualNetwork,
    SetNodes(usize),
    SetSeed(u64),
    SetMutant(Option<String>),
    /// Show or hide one topic of the event log.
    ToggleTopic(crate::explain::Topic),
    /// Run a scenario the student pasted or opened (its `say` lines are skipped).
    LoadScenario(String),
}

#[derive(Clone)]
pub struct UiState {
    pub model: Rc<RefCell<Classroom>>,
    pub rev: u64,
    pub playing: bool,
    pub speed: u32,
    pub selected: u64,
    pub lesson: Option<&'static str>,
    pub lesson_step: usize,
    /// Topics the event log hides (kept across restarts and lessons).
    pub hidden_topics: std::collections::BTreeSet<crate::explain::Topic>,
    /// Why the last scenario the student gave could not be loaded.
    pub scenario_error: Option<String>,
    /// What the page did that the student may not expect (a setup change restarts the run).
    pub notice: Option<String>,
}

impl PartialEq for UiState {
    fn eq(&self, o: &Self) -> bool {
        self.rev == o.rev && Rc::ptr_eq(&self.model, &o.model)
    }
}

impl Default for UiState {
    fn default() -> Self {
        UiState::free(Setup::default())
    }
}

impl UiState {
    /// A free classroom: every peer started, nothing done yet.
    pub fn free(setup: Setup) -> UiState {
        UiState::with(Classroom::new(setup, vec![Action::StartAll], Vec::new()), None)
    }

    fn with(c: Classroom, lesson: Option<&'static str>) -> UiState {
        UiState {
            model: Rc::new(RefCell::new(c)),
            rev: 0,
            playing: false,
            speed: 5,
            selected: 1,
            lesson,
            lesson_step: 0,
            hidden_topics: Default::default(),
            scenario_error: None,
            notice: None,
        }
    }

    pub fn cursor(&self) -> usize {
        self.model.borrow().cursor()
    }

    pub fn len(&self) -> usize {
        self.model.borrow().actions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn setup(&self) -> Setup {
        self.model.borrow().setup.clone()
    }

    /// Where each step of the loaded lesson ends in the action list.
    pub fn lesson_ends(&self) -> Vec<usize> {
        self.lesson.and_then(lesson).map(|l| l.actions().1).unwrap_or_default()
    }

    /// Whether the cursor is `beyond` actions or more past the loaded lesson's last step.
    pub fn past_lesson_end(&self, beyond: usize) -> bool {
        self.lesson.is_some() && self.lesson_ends().last().is_some_and(|end| self.cursor() >= end + beyond)
    }

    /// What the lesson panel says under the step's narration, if anything.
    pub fn lesson_note(&self) -> Option<&'static str> {
        if self.past_lesson_end(1) {
            Some("You are past the end of this lesson: what you see now is your own exploration. Pick another lesson, or go back.")
        } else if self.past_lesson_end(0) && self.lesson_step + 1 == self.lesson_ends().len() {
            Some("End of the lesson. Play stops here; step on to explore from here, or pick the next lesson.")
        } else {
            None
        }
    }

    pub fn lesson_text(&self) -> &'static str {
        match self.lesson.and_then(lesson) {
            Some(l) => l.steps.get(self.lesson_step).map_or("", |s| s.say.as_str()),
            None => "Free play: pick a lesson above, or step, crash, partition and write yourself.",
        }
    }

    /// The reducer. Every arm hands off to a named handler.
    pub fn apply(&mut self, a: UiAction) {
        self.rev += 1;
        if !matches!(a, UiAction::Tick | UiAction::Play | UiAction::Pause | UiAction::SetSpeed(_)) {
            self.notice = None;
        }
        match a {
            UiAction::Play => self.playing = true,
            UiAction::Pause => self.playing = false,
            // Play stops at the end of a lesson (stepping on is the student's own choice).
            UiAction::Tick if self.past_lesson_end(0) => self.playing = false,
            UiAction::Tick | UiAction::StepForward => self.on_step_forward(),
            UiAction::StepBack => self.on_scrub(self.cursor().saturating_sub(1)),
            UiAction::SetSpeed(s) => self.speed = s.clamp(1, 100),
            UiAction::ScrubTo(k) => self.on_scrub(k),
            UiAction::Do(action) => self.on_do(action),
            UiAction::SelectPeer(sid) => self.selected = sid,
            UiAction::LoadLesson(id) => self.on_load_lesson(id.as_deref()),
            UiAction::NextLessonStep => self.on_lesson_step(1),
            UiAction::PrevLessonStep => self.on_lesson_step(-1),
            UiAction::ToggleManualNetwork => {
                let s = self.setup();
                self.restart(Setup { manual: !s.manual, ..s });
                self.notice = Some(if self.setup().manual {
                    "Started again from the beginning: with “you are the network” on, no message moves until you deliver it (In flight panel)."
                } else {
                    "Started again from the beginning with the automatic network."
                }.into());
            }
            UiAction::SetNodes(n) => {
                self.restart(Setup { nodes: n.clamp(1, 7), ..self.setup() });
                self.notice = Some(format!("Started again from the beginning with {} peers.", self.setup().nodes));
            }
            UiAction::SetSeed(seed) => {
                self.restart(Setup { seed, ..self.setup() });
                self.notice = Some(format!(
                    "Started again from the beginning with seed {seed}: a different run of the same cluster."
                ));
            }
            UiAction::SetMutant(m) => {
                self.restart(Setup { mutant: m.as_deref().and_then(mutant_by_name), ..self.setup() });
                self.notice = Some(match self.setup().mutant {
                    Some(m) => format!("Started again from the beginning in buggy mode {}: most buggy modes only show with a slow disk or network on some peer (the speed menus below the cluster), or in their lesson.", m.name()),
                    None => "Started again from the beginning with correct ZAB.".into(),
                });
            }
            UiAction::LoadScenario(text) => self.on_load_scenario(&text),
            UiAction::ToggleTopic(t) => {
                if !self.hidden_topics.remove(&t) {
                    self.hidden_topics.insert(t);
                }
            }
        }
    }

    fn restart(&mut self, setup: Setup) {
        let keep = (self.speed, self.rev, std::mem::take(&mut self.hidden_topics));
        *self = UiState::free(setup);
        (self.speed, self.rev, self.hidden_topics) = keep;
    }

    fn on_step_forward(&mut self) {
        let mut m = self.model.borrow_mut();
        if m.cursor() < m.actions.len() {
            let k = m.cursor() + 1;
            m.seek(k);
        } else {
            m.push(Action::Step);
        }
        drop(m);
        self.sync_lesson_step();
    }

    fn on_scrub(&mut self, k: usize) {
        self.model.borrow_mut().seek(k);
        self.sync_lesson_step();
    }

    fn on_do(&mut self, a: Action) {
        let a = match a {
            Action::ClientWrite { sid, path, data } => {
                Action::ClientWrite { sid, path: sanitize(&path), data: sanitize(&data) }
            }
            Action::ClientRead { sid, path } => Action::ClientRead { sid, path: sanitize(&path) },
            other => other,
        };
        self.model.borrow_mut().push(a);
        self.sync_lesson_step();
    }

    fn on_load_lesson(&mut self, id: Option<&str>) {
        let base = self.setup();
        let speed = self.speed;
        let rev = self.rev;
        let hidden = std::mem::take(&mut self.hidden_topics);
        match id.and_then(|id| Some((lesson(id)?, classroom_for(id, &base)?))) {
            Some((l, c)) => {
                *self = UiState::with(c, Some(l.id.as_str()));
                let first = self.lesson_ends().first().copied().unwrap_or(0);
                self.on_scrub(first);
                self.select_for_step();
            }
            None => *self = UiState::free(Setup { mutant: None, ..Setup::default() }),
        }
        (self.speed, self.rev, self.hidden_topics) = (speed, rev, hidden);
    }

    /// Move to the end of the next (or previous) lesson step. If the student changed the
    /// lesson's actions, the lesson's own actions come back first.
    fn on_lesson_step(&mut self, delta: isize) {
        let Some(l) = self.lesson.and_then(lesson) else { return };
        let (actions, ends) = l.actions();
        if self.model.borrow().actions != actions {
            let cursor = self.cursor();
            if let Some(c) = classroom_for(&l.id, &self.setup()) {
                self.model = Rc::new(RefCell::new(c));
                self.model.borrow_mut().seek(cursor.min(actions.len()));
            }
        }
        let step = self.lesson_step.saturating_add_signed(delta).min(ends.len().saturating_sub(1));
        self.model.borrow_mut().seek(ends[step]);
        self.lesson_step = step;
        self.select_for_step();
    }

    /// A scenario from the student: its cluster and commands, from the start (the student
    /// steps or scrubs through it). A broken file changes nothing and says why.
    fn on_load_scenario(&mut self, text: &str) {
        match parse_scenario(text) {
            Ok((setup, actions)) => {
                let keep = (self.speed, self.rev, std::mem::take(&mut self.hidden_topics));
                *self = UiState::with(Classroom::new(setup, Vec::new(), actions), None);
                (self.speed, self.rev, self.hidden_topics) = keep;
            }
            Err(e) => self.scenario_error = Some(e),
        }
    }

    /// A lesson step about one peer (`select N` in its file) selects it.
    fn select_for_step(&mut self) {
        let Some(l) = self.lesson.and_then(lesson) else { return };
        if let Some(sid) = l.steps.get(self.lesson_step).and_then(|s| s.select) {
            self.selected = sid;
        }
    }

    /// The lesson step shown is the last one whose end the cursor has reached.
    fn sync_lesson_step(&mut self) {
        let k = self.cursor();
        let ends = self.lesson_ends();
        self.lesson_step = ends.iter().rposition(|e| *e <= k).unwrap_or(0);
    }

    /// The shareable state: setup, lesson, and the actions up to the cursor.
    pub fn to_query(&self) -> String {
        let m = self.model.borrow();
        let s = &m.setup;
        let mut q = format!("seed={}&nodes={}", s.seed, s.nodes);
        if let Some(mu) = s.mutant {
            q.push_str(&format!("&mutant={}", mu.name()));
        }
        if s.manual {
            q.push_str("&manual=1");
        }
        if s.observers > 0 {
            q.push_str(&format!("&observers={}", s.observers));
        }
        if let Some(l) = self.lesson {
            q.push_str(&format!("&lesson={l}"));
        }
        let lines = encode_actions(&m.actions[..m.cursor()]);
        q.push_str(&format!("&a={}", utf8_percent_encode(&lines, URL_PART)));
        q
    }

    /// Restore a shared state (unknown or broken parts fall back to the defaults).
    pub fn from_query(q: &str) -> UiState {
        let q = q.trim_start_matches(['?', '#']);
        let get = |k: &str| q.split('&').find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='));
        let actions = get("a")
            .and_then(|a| percent_decode_str(a).decode_utf8().ok())
            .and_then(|a| decode_actions(&a).ok())
            .unwrap_or_default();
        if let Some(id) = get("lesson") {
            let mut st = UiState::default();
            st.on_load_lesson(Some(id));
            if st.lesson.is_some() {
                let own = st.model.borrow().actions.clone();
                if own.starts_with(&actions) {
                    st.on_scrub(actions.len());
                } else {
                    let prelude = st.model.borrow().prelude.clone();
                    let setup = st.setup();
                    st.model = Rc::new(RefCell::new(Classroom::new(setup, prelude, actions)));
                    let n = st.len();
                    st.on_scrub(n);
                }
                return st;
            }
        }
        let d = Setup::default();
        let setup = Setup {
            seed: get("seed").and_then(|s| s.parse().ok()).unwrap_or(d.seed),
            nodes: get("nodes").and_then(|s| s.parse().ok()).filter(|n| [3, 5, 7].contains(n)).unwrap_or(d.nodes),
            observers: get("observers").and_then(|s| s.parse().ok()).filter(|n| *n <= 2).unwrap_or(0),
            mutant: get("mutant").and_then(mutant_by_name),
            manual: get("manual") == Some("1"),
        };
        let mut st = UiState::with(Classroom::new(setup, vec![Action::StartAll], actions), None);
        let n = st.len();
        st.on_scrub(n);
        st
    }
}

/// The classroom's keyboard: space plays or pauses, the arrows step forward and back, page
/// down/up (what a presenter's remote sends) and n/p move between lesson steps, Home goes
/// back to the start. `None` for keys the page leaves alone.
pub fn action_for_key(key: &str, playing: bool) -> Option<UiAction> {
    Some(match key {
        " " => {
            if playing {
                UiAction::Pause
            } else {
                UiAction::Play
            }
        }
        "ArrowRight" => UiAction::StepForward,
        "ArrowLeft" => UiAction::StepBack,
        "PageDown" | "n" => UiAction::NextLessonStep,
        "PageUp" | "p" => UiAction::PrevLessonStep,
        "Home" => UiAction::ScrubTo(0),
        _ => return None,
    })
}

/// A scenario file as a setup (its `cluster` line) and its commands as actions; `say` and
/// `select` lines are skipped, and so are checks that only the golden tests run.
pub fn parse_scenario(text: &str) -> Result<(Setup, Vec<Action>), String> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, first) = lines.next().ok_or("the scenario is empty")?;
    let (setup, counter) = Setup::parse_cluster(first.trim())?;
    let mut actions: Vec<Action> = counter.map(|counter| Action::FirstCounter { counter }).into_iter().collect();
    for (i, l) in lines {
        actions.extend(crate::model::decode_line(l).map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    Ok((setup, actions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::peers;

    #[test]
    fn step_forward_appends_and_back_replays() {
        let mut s = UiState::default();
        for _ in 0..10 {
            s.apply(UiAction::StepForward);
        }
        assert_eq!((s.cursor(), s.len()), (10, 10));
        let at10 = peers(s.model.borrow().sim());
        s.apply(UiAction::StepBack);
        assert_eq!((s.cursor(), s.len()), (9, 10));
        s.apply(UiAction::StepForward);
        assert_eq!(peers(s.model.borrow().sim()), at10, "forward again replays the same action");
        s.apply(UiAction::ScrubTo(3));
        s.apply(UiAction::Do(Action::Crash { sid: 1 }));
        assert_eq!((s.cursor(), s.len()), (4, 4), "a new action forgets the future");
    }

    #[test]
    fn play_pause_speed_and_select() {
        let mut s = UiState::default();
        s.apply(UiAction::Play);
        assert!(s.playing);
        s.apply(UiAction::Tick);
        assert_eq!(s.cursor(), 1);
        s.apply(UiAction::Pause);
        assert!(!s.playing);
        s.apply(UiAction::SetSpeed(1000));
        assert_eq!(s.speed, 100);
        s.apply(UiAction::SelectPeer(3));
        assert_eq!(s.selected, 3);
    }

    #[test]
    fn lessons_step_forward_and_back() {
        let mut s = UiState::default();
        s.apply(UiAction::LoadLesson(Some("first-election".into())));
        assert_eq!((s.lesson, s.lesson_step, s.cursor()), (Some("first-election"), 0, 0));
        let t0 = s.lesson_text();
        s.apply(UiAction::NextLessonStep);
        assert_eq!(s.lesson_step, 1);
        assert_eq!(s.cursor(), s.lesson_ends()[1]);
        assert_ne!(s.lesson_text(), t0);
        s.apply(UiAction::PrevLessonStep);
        assert_eq!((s.lesson_step, s.cursor()), (0, 0));
        s.apply(UiAction::PrevLessonStep);
        assert_eq!(s.lesson_step, 0);
        s.apply(UiAction::LoadLesson(None));
        assert_eq!(s.lesson, None);
    }

    #[test]
    fn the_url_restores_the_same_view() {
        let mut s = UiState::default();
        s.apply(UiAction::SetNodes(5));
        s.apply(UiAction::Do(Action::Stabilize));
        s.apply(UiAction::Do(Action::ClientWrite { sid: 2, path: "/a".into(), data: "x y".into() }));
        s.apply(UiAction::StepForward);
        s.apply(UiAction::StepForward);
        s.apply(UiAction::StepBack);
        let q = s.to_query();
        assert!(q.contains("nodes=5") && q.contains("a=stabilize%0Aclient%202%20write%20/a%20xy%0Astep"), "{q}");
        let r = UiState::from_query(&format!("#{q}"));
        assert_eq!(r.cursor(), 3);
        assert_eq!(peers(r.model.borrow().sim()), peers(s.model.borrow().sim()));
    }

    #[test]
    fn the_url_keeps_observers_and_silent_partitions() {
        let setup = Setup { observers: 1, ..Setup::default() };
        let mut s = UiState::with(Classroom::new(setup, vec![Action::StartAll], vec![]), None);
        s.apply(UiAction::Do(Action::Stabilize));
        s.apply(UiAction::Do(Action::SilentPartition { groups: vec![vec![1], vec![2, 3, 4]] }));
        let q = s.to_query();
        assert!(q.contains("observers=1") && q.contains("%0Apartition%201%7C2,3,4%20silent"), "{q}");
        let r = UiState::from_query(&q);
        assert_eq!(r.setup().observers, 1);
        assert_eq!(peers(r.model.borrow().sim()), peers(s.model.borrow().sim()));
        assert_eq!(peers(r.model.borrow().sim())[3].role, "OBSERVING");
    }

    #[test]
    fn the_url_restores_a_lesson_step() {
        let mut s = UiState::default();
        s.apply(UiAction::LoadLesson(Some("leader-crash".into())));
        s.apply(UiAction::NextLessonStep);
        s.apply(UiAction::NextLessonStep);
        let r = UiState::from_query(&s.to_query());
        assert_eq!(r.lesson, Some("leader-crash"));
        assert_eq!((r.lesson_step, r.cursor(), r.len()), (2, s.cursor(), s.len()));
        assert_eq!(peers(r.model.borrow().sim()), peers(s.model.borrow().sim()));
    }

    #[test]
    fn setup_changes_restart_the_cluster() {
        let mut s = UiState::default();
        s.apply(UiAction::StepForward);
        s.apply(UiAction::ToggleManualNetwork);
        assert!(s.setup().manual);
        assert_eq!(s.len(), 0);
        s.apply(UiAction::SetMutant(Some("ack-before-durable".into())));
        assert!(s.setup().mutant.is_some());
        assert!(UiState::from_query(&s.to_query()).setup().mutant.is_some());
    }

    /// A downloaded run loads back as the same run; a lesson file loads as a scenario; a
    /// broken file changes nothing and says why.
    #[test]
    fn a_scenario_file_round_trips_and_a_broken_one_is_refused() {
        let mut s = UiState::default();
        s.apply(UiAction::Do(Action::Stabilize));
        s.apply(UiAction::Do(Action::ClientWrite { sid: 1, path: "/a".into(), data: "x".into() }));
        s.apply(UiAction::Do(Action::Script("client 2 create -e /eph y".into())));
        s.apply(UiAction::Do(Action::Stabilize));
        let text = s.model.borrow().scenario_text();
        let mut r = UiState::default();
        r.apply(UiAction::LoadScenario(text.clone()));
        assert_eq!(r.scenario_error, None);
        let n = r.len();
        r.apply(UiAction::ScrubTo(n));
        assert_eq!(peers(r.model.borrow().sim()), peers(s.model.borrow().sim()), "{text}");
        let eph = crate::view::tree(r.model.borrow().sim(), 1).into_iter().find(|n| n.path == "/eph");
        assert!(eph.is_some_and(|n| n.ephemeral_owner != 0), "the ephemeral create ran: {text}");
        let lesson = crate::lessons::lesson("sync-diff").expect("a lesson");
        r.apply(UiAction::LoadScenario(lesson.text.clone()));
        assert_eq!((r.scenario_error.as_deref(), r.setup().seed), (None, lesson.setup.seed));
        let before = r.len();
        r.apply(UiAction::LoadScenario("cluster 3\nstart\ncrash x".into()));
        assert!(r.scenario_error.as_deref().is_some_and(|e| e.contains("line 3")), "{:?}", r.scenario_error);
        assert_eq!(r.len(), before, "a broken file changes nothing");
    }

    /// Play stops at a lesson's end and says so; stepping on is allowed and also said.
    #[test]
    fn play_stops_at_the_end_of_a_lesson() {
        let mut s = UiState::default();
        s.apply(UiAction::LoadLesson(Some("sync-diff".into())));
        let end = *s.lesson_ends().last().expect("steps");
        s.apply(UiAction::ScrubTo(end));
        assert!(s.lesson_note().is_some_and(|n| n.starts_with("End of the lesson")), "{:?}", s.lesson_note());
        s.apply(UiAction::Play);
        s.apply(UiAction::Tick);
        assert!(!s.playing && s.cursor() == end, "play stopped at the end");
        s.apply(UiAction::StepForward);
        assert_eq!(s.cursor(), end + 1);
        assert!(s.lesson_note().is_some_and(|n| n.contains("past the end")));
    }

    #[test]
    fn keys_drive_the_classroom() {
        let mut s = UiState::default();
        for k in ["ArrowRight", "ArrowRight", "ArrowLeft"] {
            s.apply(action_for_key(k, s.playing).expect("a key the page uses"));
        }
        assert_eq!((s.cursor(), s.len()), (1, 2));
        s.apply(action_for_key(" ", s.playing).expect("space"));
        assert!(s.playing);
        s.apply(action_for_key(" ", s.playing).expect("space"));
        assert!(!s.playing);
        s.apply(UiAction::LoadLesson(Some("leader-crash".into())));
        s.apply(action_for_key("PageDown", false).expect("remote"));
        assert_eq!(s.lesson_step, 1);
        s.apply(action_for_key("p", false).expect("p"));
        assert_eq!(s.lesson_step, 0);
        assert!(action_for_key("x", false).is_none());
    }

    /// A setup change restarts the run and says so; the next action clears the notice.
    #[test]
    fn a_restart_says_so() {
        let mut s = UiState::default();
        s.apply(UiAction::StepForward);
        s.apply(UiAction::SetMutant(Some("ack-before-durable".into())));
        assert_eq!(s.cursor(), 0);
        assert!(s.notice.as_deref().is_some_and(|n| n.contains("buggy mode ack-before-durable")), "{:?}", s.notice);
        s.apply(UiAction::ToggleManualNetwork);
        assert!(s.notice.as_deref().is_some_and(|n| n.contains("you are the network")));
        s.apply(UiAction::StepForward);
        assert_eq!(s.notice, None);
    }
}
