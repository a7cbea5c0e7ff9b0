//! Side panels: setup and lesson, safety, messages in flight, and what the selected peer
//! holds (history with ACK counts, election, sync modes, znode tree, sessions).

use crate::explain::Topic;
use crate::lessons::{lessons, Level};
use crate::model::{Action, Setup};
use crate::state::UiAction;
use crate::view::{ElectionRow, HistoryRow, MsgView, NodeRow, SafetyView, SyncRow, CHECKERS};
use std::collections::BTreeSet;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use zabra_core::config::Mutant;

#[derive(Properties, PartialEq)]
pub struct SetupProps {
    pub setup: Setup,
    pub lesson: Option<&'static str>,
    pub on: Callback<UiAction>,
}

fn select_value(e: &Event) -> String {
    e.target_unchecked_into::<HtmlSelectElement>().value()
}

#[function_component(SetupBar)]
pub fn setup_bar(p: &SetupProps) -> Html {
    let s = &p.setup;
    let lesson = p.on.reform(|e: Event| {
        let v = select_value(&e);
        UiAction::LoadLesson((!v.is_empty()).then_some(v))
    });
    let nodes = p.on.reform(|e: Event| UiAction::SetNodes(select_value(&e).parse().unwrap_or(3)));
    let mutant = p.on.reform(|e: Event| {
        let v = select_value(&e);
        UiAction::SetMutant((!v.is_empty()).then_some(v))
    });
    let seed = p.on.reform(|e: Event| {
        UiAction::SetSeed(e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(7))
    });
    let group = |level: Level| {
        lessons().iter().filter(move |l| l.level == level).map(|l| {
            let title = match &l.bug {
                Some(b) => format!("{} ({b})", l.title),
                None => l.title.clone(),
            };
            html! { <option value={l.id.clone()} selected={p.lesson == Some(l.id.as_str())}>{ title }</option> }
        })
    };
    let mutants = Mutant::ALL.iter().map(|m| {
        html! { <option value={m.name()} selected={s.mutant == Some(*m)}>{ m.name() }</option> }
    });
    let sizes = [3usize, 5, 7].map(|n| html! { <option value={n.to_string()} selected={s.nodes == n}>{ n }</option> });
    html! {
        <div class="setup">
            <label>{ "lesson " }
                <select data-testid="lesson-select" onchange={lesson}>
                    <option value="" selected={p.lesson.is_none()}>{ "free play" }</option>
                    <optgroup label="Start here">{ for group(Level::Beginner) }</optgroup>
                    <optgroup label="Use cases: what ZooKeeper is for (recipes)">{ for group(Level::UseCase) }</optgroup>
                    <optgroup label="Advanced: known failures and how ZAB avoids them">{ for group(Level::Advanced) }</optgroup>
                </select>
            </label>
            <label>{ "peers " }<select data-testid="nodes-select" onchange={nodes}>{ for sizes }</select></label>
            <label>{ "seed " }<input data-testid="seed" type="number" value={s.seed.to_string()} onchange={seed} size="5" /></label>
            <label>{ "buggy mode " }
                <select data-testid="mutant-select" onchange={mutant}>
                    <option value="" selected={s.mutant.is_none()}>{ "off (correct ZAB)" }</option>
                    { for mutants }
                </select>
            </label>
            <label title="messages wait until you deliver them">
                <input data-testid="manual-network" type="checkbox" checked={s.manual}
                    onchange={p.on.reform(|_| UiAction::ToggleManualNetwork)} />
                { " you are the network" }
            </label>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct LessonProps {
    pub title: String,
    pub text: String,
    #[prop_or_default]
    pub note: Option<&'static str>,
    pub step: usize,
    pub steps: usize,
    pub on: Callback<UiAction>,
}

#[function_component(LessonPanel)]
pub fn lesson_panel(p: &LessonProps) -> Html {
    html! {
        <section class="panel lesson">
            <h2>{ &p.title }</h2>
            <p data-testid="lesson-text">{ &p.text }</p>
            if let Some(n) = p.note {
                <p class="note" data-testid="lesson-note">{ n }</p>
            }
            <div class="lesson-nav">
                <button data-testid="lesson-prev" disabled={p.step == 0}
                    onclick={p.on.reform(|_| UiAction::PrevLessonStep)}>{ "◀ previous" }</button>
                <span data-testid="lesson-step">{ format!("{} / {}", p.step + 1, p.steps.max(1)) }</span>
                <button data-testid="lesson-next" disabled={p.steps == 0 || p.step + 1 >= p.steps}
                    onclick={p.on.reform(|_| UiAction::NextLessonStep)}>{ "next ▶" }</button>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct SafetyProps {
    pub safety: SafetyView,
}

#[function_component(SafetyPanel)]
pub fn safety_panel(p: &SafetyProps) -> Html {
    let ok = p.safety.ok;
    let rows = CHECKERS.iter().map(|(name, what)| {
        let broken = p.safety.violations.iter().any(|v| name.split(" / ").any(|n| v.contains(n)));
        html! { <li class={classes!(broken.then_some("bad"))} title={*what}>{ if broken { "✗ " } else { "✓ " } }{ *name }</li> }
    });
    html! {
        <section class={classes!("panel", "safety", (!ok).then_some("broken"))} data-testid="safety" data-ok={ok.to_string()}>
            <h2>{ if ok { "Safety: all properties hold" } else { "Safety: VIOLATED" } }</h2>
            <ul>{ for rows }</ul>
            { for p.safety.violations.iter().map(|v| html! { <p class="violation">{ v }</p> }) }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct InFlightProps {
    pub msgs: Vec<MsgView>,
    pub manual: bool,
    pub on: Callback<UiAction>,
}

#[function_component(InFlight)]
pub fn in_flight(p: &InFlightProps) -> Html {
    let items = p.msgs.iter().map(|m| {
        let (from, to) = (m.from, m.to);
        let head = m.position == 0;
        let vote = m.kind == "Notification";
        html! {
            <li data-testid="msg" data-kind={m.kind.clone()} data-from={from.to_string()} data-to={to.to_string()}
                class={classes!((!head).then_some("queued"))}>
                <b>{ format!("{from}→{to} {}", m.label) }</b>{ " " }<small>{ &m.detail }</small>
                if p.manual && head {
                    <button data-testid={format!("btn-deliver-{from}-{to}")}
                        onclick={p.on.reform(move |_| UiAction::Do(Action::Deliver { from, to }))}>{ "deliver" }</button>
                    <button data-testid={format!("btn-break-{from}-{to}")}
                        onclick={p.on.reform(move |_| UiAction::Do(Action::Break { a: from, b: to }))}>{ "break link" }</button>
                    if vote {
                        <button data-testid={format!("btn-drop-{from}-{to}")} title="lose this vote alone (FLE resends votes)"
                            onclick={p.on.reform(move |_| UiAction::Do(Action::Drop { from, to }))}>{ "drop vote" }</button>
                    }
                }
            </li>
        }
    });
    html! {
        <section class="panel">
            <h2>{ format!("In flight ({})", p.msgs.len()) }</h2>
            <ul class="msgs" data-testid="in-flight">{ for items }</ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct PeerPanelProps {
    pub sid: u64,
    pub history: Vec<HistoryRow>,
    pub tree: Vec<NodeRow>,
    pub sessions: Vec<(String, u32)>,
    pub watches: Vec<String>,
}

#[function_component(PeerPanel)]
pub fn peer_panel(p: &PeerPanelProps) -> Html {
    let hist = p.history.iter().take(30).map(|h| {
        let acks = h.acks.map_or(String::new(), |(a, q)| format!("{a} acks (need {q})"));
        html! {
            <tr class={classes!(h.committed.then_some("committed"))}>
                <td>{ &h.zxid }</td><td>{ &h.op }</td><td>{ acks }</td>
                <td>{ if h.committed { "committed" } else { "proposed" } }</td>
            </tr>
        }
    });
    let nodes = p.tree.iter().map(|n| {
        html! {
            <tr>
                <td style={format!("padding-left:{}em", n.depth)}>{ &n.path }</td><td>{ format!("{:?}", n.data) }</td>
                <td>{ format!("v{} cv{} children {}", n.version, n.cversion, n.num_children) }</td>
                <td title="czxid / mzxid">{ format!("{} / {}", n.czxid, n.mzxid) }</td>
            </tr>
        }
    });
    let sessions = p.sessions.iter().map(|(id, t)| html! { <li>{ format!("{id} (timeout {t} ms)") }</li> });
    html! {
        <section class="panel" data-testid="selected-peer">
            <h2>{ format!("Peer {}: history (newest first)", p.sid) }</h2>
            <table class="history"><tbody>{ for hist }</tbody></table>
            <h3>{ "znode tree" }</h3>
            <table class="tree"><tbody>{ for nodes }</tbody></table>
            <h3>{ "sessions" }</h3>
            <ul>{ for sessions }</ul>
            <h3>{ "watches held here" }</h3>
            if p.watches.is_empty() {
                <p class="note">{ "none (a client's read with a watch sets one)" }</p>
            } else {
                <ul>{ for p.watches.iter().map(|w| html! { <li>{ w }</li> }) }</ul>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct ElectionProps {
    pub rows: Vec<ElectionRow>,
    pub syncs: Vec<SyncRow>,
}

#[function_component(ElectionPanel)]
pub fn election_panel(p: &ElectionProps) -> Html {
    let rows = p.rows.iter().map(|r| {
        let vote = r.vote.as_ref().map_or("-".to_string(), |(l, z, e)| format!("{l} (zxid {z}, epoch {e})"));
        let got: Vec<String> = r.received.iter().map(|(f, l)| format!("{f}:{l}")).collect();
        html! {
            <tr>
                <td>{ r.sid }</td><td>{ r.round }</td><td>{ vote }</td><td>{ got.join(" ") }</td>
                <td>{ r.decided.map_or("-".to_string(), |l| l.to_string()) }</td>
            </tr>
        }
    });
    let syncs = p.syncs.iter().take(8).map(|s| {
        html! { <li data-mode={s.mode.clone()}>{ format!("{} → {}: {}: {}", s.leader, s.learner, s.mode, s.sent) }</li> }
    });
    html! {
        <section class="panel">
            <h2>{ "Election" }</h2>
            <table class="election">
                <thead><tr><th>{"peer"}</th><th>{"round"}</th><th>{"votes for"}</th><th>{"votes seen (from:for)"}</th><th>{"decided"}</th></tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
            <h3>{ "Sync modes (latest first)" }</h3>
            <ul data-testid="sync-modes">{ for syncs }</ul>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct LogProps {
    /// The lines to show, oldest first, each with its topic.
    pub lines: Vec<(Topic, String)>,
    /// Topics hidden by the filters.
    #[prop_or_default]
    pub hidden: BTreeSet<Topic>,
    /// Shows the topic filters when set (a click toggles a topic).
    #[prop_or_default]
    pub on_toggle: Option<Callback<Topic>>,
}

#[function_component(NarrationLog)]
pub fn narration_log(p: &LogProps) -> Html {
    let filters = p.on_toggle.as_ref().map(|on| {
        let boxes = Topic::ALL.iter().map(|t| {
            let t = *t;
            html! {
                <label class={classes!("topic", format!("topic-{t:?}").to_lowercase())}>
                    <input type="checkbox" data-testid={format!("log-topic-{}", format!("{t:?}").to_lowercase())}
                        checked={!p.hidden.contains(&t)} onchange={on.reform(move |_| t)} />
                    { format!(" {}", t.name()) }
                </label>
            }
        });
        html! { <div class="log-filters" data-testid="log-filters">{ for boxes }</div> }
    });
    let lines = p.lines.iter().rev().map(|(t, l)| {
        html! { <div class={format!("topic-{t:?}").to_lowercase()} data-topic={format!("{t:?}").to_lowercase()}>{ l }</div> }
    });
    html! {
        <section class="panel">
            <h2>{ "What just happened" }</h2>
            { for filters }
            <pre class="narration" data-testid="event-log">{ for lines }</pre>
        </section>
    }
}

#[derive(Properties, PartialEq)]
pub struct LogsProps {
    pub logs: crate::view::LogsView,
}

/// Every peer's log side by side, aligned by zxid: one box per transaction, coloured by its
/// epoch, solid once committed, outlined while only logged; a down peer's row is its disk.
#[function_component(LogsPanel)]
pub fn logs_panel(p: &LogsProps) -> Html {
    let head =
        p.logs.zxids.iter().map(|z| html! { <th title={z.to_string()}>{ format!("{},{}", z.epoch, z.counter) }</th> });
    let rows = p.logs.rows.iter().map(|(sid, up, cells)| {
        let cells = cells.iter().zip(&p.logs.zxids).map(|(c, z)| {
            let class = classes!(
                "box",
                format!("epoch-{}", z.epoch % 6),
                match c {
                    Some(true) => "committed",
                    Some(false) => "logged",
                    None => "none",
                }
            );
            let title = match c {
                Some(true) => format!("{z}: committed"),
                Some(false) => format!("{z}: logged, not known committed"),
                None => format!("{z}: not in this log"),
            };
            html! { <td {class} {title}>{ if c.is_some() { z.counter.to_string() } else { String::new() } }</td> }
        });
        let base = p.logs.bases.get(sid).map(|b| format!(" (snapshot at {b})")).unwrap_or_default();
        html! {
            <tr class={classes!((!*up).then_some("down"))} data-testid={format!("log-row-{sid}")}>
                <th>{ format!("peer {sid}{}{base}", if *up { "" } else { " (down: its disk)" }) }</th>
                { for cells }
            </tr>
        }
    });
    html! {
        <section class="panel logs" data-testid="logs">
            <h2>{ "Logs side by side" }</h2>
            <p class="note">{ "One box per transaction (epoch,counter), coloured by epoch; solid: committed, outlined: only logged." }</p>
            <table class="logs"><thead><tr><th></th>{ for head }</tr></thead><tbody>{ for rows }</tbody></table>
        </section>
    }
}
