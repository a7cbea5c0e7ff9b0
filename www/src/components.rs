//! The cluster diagram and the controls. Components take props and callbacks only; every
//! change goes through the reducer as a `UiAction`.

use crate::model::{parse_partition, sanitize, Action};
use crate::state::UiAction;
use crate::view::{MsgView, PeerView};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

const SIZE: f64 = 420.0;
const RADIUS: f64 = 150.0;

/// Where peer `i` of `n` sits on the circle (the first at the top, clockwise).
fn spot(i: usize, n: usize) -> (f64, f64) {
    let a = std::f64::consts::TAU * i as f64 / n.max(1) as f64 - std::f64::consts::FRAC_PI_2;
    (SIZE / 2.0 + RADIUS * a.cos(), SIZE / 2.0 + RADIUS * a.sin())
}

#[derive(Properties, PartialEq)]
pub struct ClusterProps {
    pub peers: Vec<PeerView>,
    pub msgs: Vec<MsgView>,
    /// Each link's state (partitions, stalls and closed connections are drawn).
    #[prop_or_default]
    pub links: Vec<crate::view::LinkView>,
    /// Timers drawn as shrinking rings (a learner's sync limit).
    #[prop_or_default]
    pub timers: Vec<crate::view::TimerView>,
    /// Clients' writes with no answer yet: (peer it was sent to, path), marked by that peer.
    #[prop_or_default]
    pub pending: Vec<(u64, String)>,
    /// Session timeouts drawn as shrinking rings (outside the sync-limit ring).
    #[prop_or_default]
    pub sessions: Vec<crate::view::TimerView>,
    /// Messages delivered in the last move forward: each flies to its receiver, then fades.
    #[prop_or_default]
    pub flights: Vec<crate::motion::Flight>,
    /// How long (ms) the motion of one move takes in all: flights and entering messages are
    /// spread over it in the order they happened.
    #[prop_or(500)]
    pub pace_ms: u32,
    pub selected: u64,
    pub on: Callback<UiAction>,
}

/// Peers on a circle coloured by role; messages as labelled dots on the way to their target
/// (the head of a connection is nearest to the receiver).
#[function_component(Cluster)]
pub fn cluster(p: &ClusterProps) -> Html {
    let n = p.peers.len();
    let at = |sid: u64| spot(sid.saturating_sub(1) as usize, n);
    let mut links = Vec::new();
    for a in 1..=n as u64 {
        for b in a + 1..=n as u64 {
            let ((x1, y1), (x2, y2)) = (at(a), at(b));
            let l = p.links.iter().find(|l| l.a == a && l.b == b);
            let state = l.map_or("ok", |l| l.state);
            links.push(html! {
                <line class={classes!("link", state)} data-link={format!("{a}-{b}")} data-state={state}
                    x1={x1.to_string()} y1={y1.to_string()} x2={x2.to_string()} y2={y2.to_string()}>
                    <title>{ l.map_or(String::new(), |l| l.title.clone()) }</title>
                </line>
            });
        }
    }
    let centres: Vec<(f64, f64)> = p.peers.iter().map(|peer| at(peer.sid)).collect();
    let mut labels = LabelLayout::new(&centres);
    let pace = Pace::new(p.pace_ms);
    let msgs: Vec<Html> = p
        .msgs
        .iter()
        .map(|m| {
            let pos = dot_position(m.progress, at(m.from), at(m.to));
            let label_dy = labels.place(pos, &m.label);
            let enter = m.enter.map(|f| (dot_position(0.0, at(m.from), at(m.to)), pace.delay(f)));
            message_dot(m, pos, label_dy, enter, pace.each)
        })
        .collect();
    let labelled = p.flights.len() <= 6;
    let flights = p.flights.iter().map(|f| {
        let start = dot_position(f.from_progress, at(f.from), at(f.to));
        let end = dot_position(1.0, at(f.from), at(f.to));
        flight(f, start, end, &pace, labelled)
    });
    let peers = p.peers.iter().map(|peer| peer_node(peer, at(peer.sid), p.selected, &p.on));
    let rings = p.timers.iter().map(|t| timer_ring(t, at(t.sid)));
    let sessions = p.sessions.iter().map(|t| session_ring(t, at(t.sid)));
    let mut stacked: std::collections::BTreeMap<u64, usize> = Default::default();
    let pending = p.pending.iter().map(|(sid, path)| {
        let n = stacked.entry(*sid).or_default();
        *n += 1;
        pending_marker(*sid, path, at(*sid), *n - 1)
    });
    html! {
        <svg class="cluster" viewBox={format!("0 0 {SIZE} {SIZE}")} role="img" aria-label="the cluster">
            { for links }
            { for msgs }
            <g class="flights">{ for flights }</g>
            { for peers }
            { for rings }
            { for sessions }
            { for pending }
        </svg>
    }
}

/// Where a message's dot is drawn at `progress` (0 at the sender, 1 at the receiver):
/// between the rims of the two peers' circles, in its direction's own lane.
fn dot_position(progress: f64, (x1, y1): (f64, f64), (x2, y2): (f64, f64)) -> (f64, f64) {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let len = (dx * dx + dy * dy).sqrt().max(1.0);
    // Travel between the rims of the two peers' circles (radius 40), not their centres.
    let rim = (46.0 / len).min(0.45);
    let t = rim + (1.0 - 2.0 * rim) * progress;
    // Each direction of a connection gets its own lane.
    let (ox, oy) = (-dy / len * 9.0, dx / len * 9.0);
    (x1 + dx * t + ox, y1 + dy * t + oy)
}

/// Places message labels so that no two overlap and none covers a peer: each label tries a
/// few heights around its dot and takes the first free one; a label with no free place is
/// not drawn (its dot's tooltip still names it). Boxes are estimated from the label's length.
struct LabelLayout {
    placed: Vec<(f64, f64, f64, f64)>,
    peers: Vec<(f64, f64)>,
}

impl LabelLayout {
    const OFFSETS: [f64; 6] = [-8.0, 17.0, -19.0, 28.0, -30.0, 39.0];
    const PEER_R: f64 = 42.0;

    fn new(peers: &[(f64, f64)]) -> LabelLayout {
        LabelLayout { placed: Vec::new(), peers: peers.to_vec() }
    }

    /// The label's baseline offset from its dot, or `None` if it has no free place.
    fn place(&mut self, (x, y): (f64, f64), label: &str) -> Option<f64> {
        let w = 5.2 * label.chars().count() as f64 + 2.0;
        for dy in Self::OFFSETS {
            let b = (x - w / 2.0, y + dy - 9.0, x + w / 2.0, y + dy + 2.0);
            let hits_label = self.placed.iter().any(|o| b.0 < o.2 && o.0 < b.2 && b.1 < o.3 && o.1 < b.3);
            let hits_peer = self.peers.iter().any(|(px, py)| {
                let (cx, cy) = (px.clamp(b.0, b.2), py.clamp(b.1, b.3));
                (cx - px).powi(2) + (cy - py).powi(2) < Self::PEER_R * Self::PEER_R
            });
            if !hits_label && !hits_peer {
                self.placed.push(b);
                return Some(dy);
            }
        }
        None
    }
}

/// How one move's motion is timed: `each` ms for one message's trip, the trips spread over
/// `total` ms in the order they happened.
struct Pace {
    total: f64,
    each: f64,
}

impl Pace {
    fn new(total_ms: u32) -> Pace {
        let total = f64::from(total_ms.max(120));
        Pace { total, each: total.min(450.0) }
    }

    /// When a trip that began at fraction `f` of the move starts (ms).
    fn delay(&self, f: f64) -> f64 {
        f.clamp(0.0, 1.0) * (self.total - self.each)
    }
}

/// A message's dot. One sent in the last move (`enter`: its sender's rim and delay) first
/// travels out from its sender; afterwards, each step moves it along its link (a transition).
fn message_dot(
    m: &MsgView,
    (x, y): (f64, f64),
    label_dy: Option<f64>,
    enter: Option<((f64, f64), f64)>,
    each_ms: f64,
) -> Html {
    let class = classes!(
        "dot",
        format!("k-{}", m.kind.to_lowercase()),
        m.stalled.then_some("stalled"),
        enter.is_some().then_some("enter")
    );
    let mut style = format!("transform: translate({x:.1}px, {y:.1}px)");
    if let Some(((x0, y0), delay)) = enter {
        style.push_str(&format!("; --x0: {x0:.1}px; --y0: {y0:.1}px; --d: {delay:.0}ms; --t: {each_ms:.0}ms"));
    }
    html! {
        <g key={format!("{}>{}", m.id, m.to)} class={class} {style}>
            <title>{ format!("{} → {}: {} {}", m.from, m.to, m.label, m.detail) }</title>
            <circle r="5" />
            if let Some(dy) = label_dy {
                <text y={format!("{dy:.0}")}>{ &m.label }</text>
            }
        </g>
    }
}

/// A message delivered in the last move: it flies from where it was drawn to its receiver,
/// in its turn, then fades (CSS animation; none when the reader prefers reduced motion).
fn flight(f: &crate::motion::Flight, (x0, y0): (f64, f64), (x1, y1): (f64, f64), pace: &Pace, labelled: bool) -> Html {
    let class = classes!("flight", format!("k-{}", f.kind.to_lowercase()));
    // Sent within the move: it leaves when it was sent; else it arrives when it was delivered.
    let delay = if f.from_progress > 0.0 || f.start == 0.0 {
        (pace.delay(f.end) - pace.each).max(0.0)
    } else {
        pace.delay(f.start)
    };
    // A trip that began before the move continues from where its dot was (already visible).
    let o0 = if f.from_progress > 0.0 { 1 } else { 0 };
    let style = format!(
        "--x0: {x0:.1}px; --y0: {y0:.1}px; --x1: {x1:.1}px; --y1: {y1:.1}px; --o0: {o0}; --d: {delay:.0}ms; --t: {:.0}ms; transform: translate({x1:.1}px, {y1:.1}px)",
        pace.each
    );
    html! {
        <g key={f.key.clone()} {class} {style} data-from={f.from.to_string()} data-to={f.to.to_string()}>
            <title>{ format!("{} → {}: {} (delivered)", f.from, f.to, f.label) }</title>
            <circle r="5" />
            if labelled {
                <text y="-8">{ &f.label }</text>
            }
        </g>
    }
}

/// A shrinking ring just outside a peer's circle: the part of its timer that is left.
fn timer_ring(t: &crate::view::TimerView, (x, y): (f64, f64)) -> Html {
    const R: f64 = 47.0;
    let full = std::f64::consts::TAU * R;
    let left = full * t.left;
    html! {
        <circle class="timer" data-testid={format!("timer-{}", t.sid)} data-left={format!("{:.2}", t.left)}
            cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={R.to_string()}
            stroke-dasharray={format!("{left:.1} {full:.1}")}
            transform={format!("rotate(-90 {x:.1} {y:.1})")}>
            <title>{ &t.title }</title>
        </circle>
    }
}

/// A write waiting for its answer, next to the peer it was sent to (below it, or above for
/// the peers at the bottom of the picture); the client panel says why it waits.
fn pending_marker(sid: u64, path: &str, (x, y): (f64, f64), nth: usize) -> Html {
    let dy = if y > SIZE - 80.0 { -50.0 - 11.0 * nth as f64 } else { 56.0 + 11.0 * nth as f64 };
    html! {
        <text class="pending" data-testid={format!("pending-{sid}")} data-path={path.to_string()}
            x={format!("{x:.1}")} y={format!("{:.1}", y + dy)}>
            <title>{ format!("a client's write of {path} sent to peer {sid}: no answer yet (see the client panel)") }</title>
            { format!("◔ {path}") }
        </text>
    }
}

/// A session's timeout: a dashed shrinking ring outside the sync-limit ring (one per session
/// on the peer, from the inside out).
fn session_ring(t: &crate::view::TimerView, (x, y): (f64, f64)) -> Html {
    let r = 52.0 + 5.0 * t.ring.min(4) as f64;
    let full = std::f64::consts::TAU * r;
    let left = full * t.left;
    html! {
        <circle class="session-timer" data-testid={format!("session-timer-{}", t.sid)} data-left={format!("{:.2}", t.left)}
            data-session={t.session.clone().unwrap_or_default()}
            cx={format!("{x:.1}")} cy={format!("{y:.1}")} r={r.to_string()}
            stroke-dasharray={format!("{left:.1} {full:.1}")}
            transform={format!("rotate(-90 {x:.1} {y:.1})")}>
            <title>{ &t.title }</title>
        </circle>
    }
}

fn peer_node(peer: &PeerView, (x, y): (f64, f64), selected: u64, on: &Callback<UiAction>) -> Html {
    let sid = peer.sid;
    let onclick = on.reform(move |_| UiAction::SelectPeer(sid));
    let class = classes!("peer", format!("role-{}", peer.role.to_lowercase()), (selected == sid).then_some("selected"));
    html! {
        <g class={class} data-testid={format!("peer-{sid}")} data-role={peer.role}
            data-epoch={peer.current_epoch.to_string()} data-committed={peer.last_committed.clone()}
            transform={format!("translate({x:.1},{y:.1})")} {onclick}>
            <title>{ format!(
                "peer {sid} is {}. epoch {}/{}: accepted / current epoch. committed {}: the last committed zxid (epoch, counter).{}",
                peer.role, peer.accepted_epoch, peer.current_epoch, peer.committed_short,
                if selected == sid { " Selected (yellow ring): the panels on the right show this peer." } else { " Click to select it." }
            ) }</title>
            <circle r="40" />
            <text class="sid" y="-20">{ format!("peer {sid}") }</text>
            <text class="role" y="-5">{ peer.role }</text>
            <text class="epoch" y="9">{ format!("epoch {}/{}", peer.accepted_epoch, peer.current_epoch) }</text>
            <text class="zxid" y="22">{ format!("committed {}", peer.committed_short) }</text>
        </g>
    }
}

#[derive(Properties, PartialEq)]
pub struct TransportProps {
    pub playing: bool,
    pub speed: u32,
    pub cursor: usize,
    pub len: usize,
    pub on: Callback<UiAction>,
    pub on_share: Callback<()>,
    pub shared: bool,
}

/// Play, pause, step, back, speed and the timeline.
#[function_component(Transport)]
pub fn transport(p: &TransportProps) -> Html {
    let on = &p.on;
    let scrub = on.reform(|e: InputEvent| {
        let v = e.target_unchecked_into::<HtmlInputElement>().value();
        UiAction::ScrubTo(v.parse().unwrap_or(0))
    });
    let speed = on.reform(|e: Event| {
        let v = e.target_unchecked_into::<HtmlSelectElement>().value();
        UiAction::SetSpeed(v.parse().unwrap_or(5))
    });
    let speeds = [1u32, 2, 5, 10, 30, 60].map(|s| {
        html! { <option value={s.to_string()} selected={s == p.speed}>{ format!("{s}/s") }</option> }
    });
    html! {
        <div class="transport">
            if p.playing {
                <button data-testid="btn-pause" onclick={on.reform(|_| UiAction::Pause)}>{ "❚❚ pause" }</button>
            } else {
                <button data-testid="btn-play" onclick={on.reform(|_| UiAction::Play)}>{ "▶ play" }</button>
            }
            <button data-testid="btn-back" onclick={on.reform(|_| UiAction::StepBack)} disabled={p.cursor == 0}>{ "◀ back" }</button>
            <button data-testid="btn-step" onclick={on.reform(|_| UiAction::StepForward)}>{ "step ▶" }</button>
            <label>{ "speed " }<select onchange={speed}>{ for speeds }</select></label>
            <input data-testid="timeline" type="range" min="0" max={p.len.to_string()}
                value={p.cursor.to_string()} oninput={scrub} />
            <span class="step">{ "step " }<b data-testid="step-index">{ p.cursor }</b>{ format!(" / {}", p.len) }</span>
            <button data-testid="btn-share" onclick={p.on_share.reform(|_| ())}>
                { if p.shared { "link copied ✓" } else { "share this moment" } }
            </button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct FaultProps {
    pub peers: Vec<PeerView>,
    pub on: Callback<UiAction>,
}

/// Crash and restart each peer; isolate one peer from the rest; slow its disk or network; heal.
#[function_component(Faults)]
pub fn faults(p: &FaultProps) -> Html {
    let n = p.peers.len() as u64;
    let rows = p.peers.iter().map(|peer| {
        let sid = peer.sid;
        let rest: Vec<u64> = (1..=n).filter(|s| *s != sid).collect();
        let isolate = p.on.reform(move |_| UiAction::Do(Action::Partition { groups: vec![vec![sid], rest.clone()] }));
        html! {
            <div class="fault-row">
                <span class={classes!("badge", format!("role-{}", peer.role.to_lowercase()))}>{ sid }</span>
                <button data-testid={format!("btn-crash-{sid}")} disabled={!peer.up()}
                    onclick={p.on.reform(move |_| UiAction::Do(Action::Crash { sid }))}>{ "crash" }</button>
                <button data-testid={format!("btn-restart-{sid}")} disabled={peer.up()}
                    onclick={p.on.reform(move |_| UiAction::Do(Action::Restart { sid }))}>{ "restart" }</button>
                <button data-testid={format!("btn-isolate-{sid}")} onclick={isolate}>{ "isolate" }</button>
                <select data-testid={format!("speed-{sid}")} title="make this peer's disk or network slow: some orders (and buggy modes) only show then"
                    onchange={p.on.reform(move |e: Event| {
                        let line = match e.target_unchecked_into::<HtmlSelectElement>().value().as_str() {
                            "disk" => format!("slowdisk {sid} 40ms..60ms"),
                            "net" => format!("netdelay {sid} 40ms..60ms"),
                            _ => format!("slowdisk {sid} 200us..3ms\nnetdelay {sid} 0ms..0ms"),
                        };
                        UiAction::Do(Action::Script(line))
                    })}>
                    <option value="normal" selected=true>{ "normal speed" }</option>
                    <option value="disk">{ "slow disk (40–60 ms fsync)" }</option>
                    <option value="net">{ "slow network (+40–60 ms)" }</option>
                </select>
            </div>
        }
    });
    html! {
        <div class="faults">
            { for rows }
            <PartitionForm nodes={p.peers.len()} on={p.on.clone()} />
            <button data-testid="btn-heal" onclick={p.on.reform(|_| UiAction::Do(Action::Heal))}>{ "heal all links" }</button>
            <button data-testid="btn-stabilize" onclick={p.on.reform(|_| UiAction::Do(Action::Stabilize))}>{ "run until stable" }</button>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct PartitionProps {
    pub nodes: usize,
    pub on: Callback<UiAction>,
}

/// General partitions: groups typed as `1,2|3`; connections break, or (silent) packets are
/// black-holed and peers notice only by timeouts. Invalid text shows an error, changes nothing.
#[function_component(PartitionForm)]
pub fn partition_form(p: &PartitionProps) -> Html {
    let groups = use_node_ref();
    let silent = use_node_ref();
    let error = use_state(|| None::<String>);
    let onclick = {
        let (groups, silent, error, on, nodes) = (groups.clone(), silent.clone(), error.clone(), p.on.clone(), p.nodes);
        Callback::from(move |_| {
            let text = groups.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let quiet = silent.cast::<HtmlInputElement>().is_some_and(|i| i.checked());
            match parse_partition(&text, nodes) {
                Ok(groups) => {
                    error.set(None);
                    on.emit(UiAction::Do(if quiet {
                        Action::SilentPartition { groups }
                    } else {
                        Action::Partition { groups }
                    }));
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    html! {
        <div class="partition">
            <input ref={groups} data-testid="partition-groups" placeholder="1,2|3" size="10"
                title="groups of peers separated by |; peers left out form one more group" />
            <label title="packets across groups are black-holed: no connection reset, peers notice by timeouts">
                <input ref={silent} data-testid="partition-silent" type="checkbox" />{ " silent" }
            </label>
            <button data-testid="btn-partition" {onclick}>{ "partition" }</button>
            if let Some(e) = &*error {
                <span class="error" data-testid="partition-error">{ e }</span>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct ClientProps {
    pub nodes: usize,
    pub selected: u64,
    /// Clients' writes: pending ones (with why), then the latest finished ones.
    #[prop_or_default]
    pub requests: Vec<crate::requests::RequestView>,
    pub on: Callback<UiAction>,
}

/// How the client form creates a znode (`client N create FLAGS`).
const CREATE_MODES: &[(&str, &str)] = &[
    ("", "persistent"),
    ("-e", "ephemeral (goes with the session)"),
    ("-s", "sequential (a counter is appended)"),
    ("-e -s", "ephemeral sequential"),
    ("-t 3000", "TTL 3 s (deleted once empty and unchanged)"),
    ("-c", "container (deleted once its last child goes)"),
];

/// A client of a peer (the selected one unless the student picks another): writes, creates
/// with any mode, reads and lists with a watch, deletes, closes its session.
#[function_component(ClientForm)]
pub fn client_form(p: &ClientProps) -> Html {
    let path = use_node_ref();
    let data = use_node_ref();
    let mode = use_node_ref();
    // The peer this client talks to: follows the selected peer until the student picks one.
    let picked = use_state(|| None::<u64>);
    let sid = picked.unwrap_or(p.selected).min(p.nodes as u64).max(1);
    let value = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| sanitize(&i.value())).unwrap_or_default();
    let flags = |r: &NodeRef| r.cast::<web_sys::HtmlSelectElement>().map(|s| s.value()).unwrap_or_default();
    let script = {
        let (path, data, mode, on) = (path.clone(), data.clone(), mode.clone(), p.on.clone());
        move |op: &'static str| {
            let (path, data, mode, on) = (path.clone(), data.clone(), mode.clone(), on.clone());
            Callback::from(move |_| {
                let (pa, d) = (value(&path), value(&data));
                let line = match op {
                    "create" => format!("client {sid} create {} {pa} {d}", flags(&mode)),
                    "ls" => format!("client {sid} ls {pa} watch"),
                    "delete" => format!("client {sid} delete {pa}"),
                    _ => format!("client {sid} close"),
                };
                on.emit(UiAction::Do(Action::Script(line.split_whitespace().collect::<Vec<_>>().join(" "))));
            })
        }
    };
    let write = {
        let (path, data) = (path.clone(), data.clone());
        p.on.reform(move |_| UiAction::Do(Action::ClientWrite { sid, path: value(&path), data: value(&data) }))
    };
    let read = {
        let path = path.clone();
        p.on.reform(move |_| UiAction::Do(Action::ClientRead { sid, path: value(&path) }))
    };
    let pick = {
        let picked = picked.clone();
        Callback::from(move |e: Event| {
            picked.set(e.target_unchecked_into::<web_sys::HtmlSelectElement>().value().parse().ok())
        })
    };
    let peers = (1..=p.nodes as u64)
        .map(|s| html! { <option value={s.to_string()} selected={s == sid}>{ format!("peer {s}") }</option> });
    // The first mode (persistent) is the default: marked selected, or the browser may show another.
    let modes = CREATE_MODES
        .iter()
        .enumerate()
        .map(|(i, (f, label))| html! { <option value={*f} selected={i == 0}>{ *label }</option> });
    html! {
        <div class="client">
            <label>{ "client of " }<select data-testid="client-peer" onchange={pick}>{ for peers }</select></label>
            <input ref={path} data-testid="write-path" value="/app" size="8" title="znode path" />
            <input ref={data} data-testid="write-data" value="hello" size="8" title="data" />
            <button data-testid="btn-write" onclick={write} title="create the znode, or set its data if it exists">{ "write" }</button>
            <button data-testid="btn-read" onclick={read} title="read it and leave a data watch">{ "read + watch" }</button>
            <span class="client-more">
                <select data-testid="create-mode" ref={mode}>{ for modes }</select>
                <button data-testid="btn-create" onclick={script("create")}>{ "create" }</button>
                <button data-testid="btn-ls" onclick={script("ls")} title="list the children and leave a child watch">{ "ls + watch" }</button>
                <button data-testid="btn-delete" onclick={script("delete")}>{ "delete" }</button>
                <button data-testid="btn-close-session" onclick={script("close")} title="close this client's session: its ephemeral znodes go">{ "close session" }</button>
            </span>
            if !p.requests.is_empty() {
                <ul class="requests" data-testid="requests">{ for p.requests.iter().map(request_row) }</ul>
            }
        </div>
    }
}

/// One client write: what, where, and (pending, ok or failed) in plain words.
fn request_row(r: &crate::requests::RequestView) -> Html {
    let icon = match r.state {
        "pending" => "◔",
        "ok" => "✓",
        _ => "✗",
    };
    html! {
        <li class={r.state} data-state={r.state} data-path={r.path.clone()} data-peer={r.peer.to_string()}>
            <b>{ format!("{icon} {} via peer {}", r.what, r.peer) }</b>{ ": " }{ &r.words }
        </li>
    }
}

/// The page's theme: light, or dark for a dim room; remembered in this browser and applied
/// to the whole document (`data-theme` on `<html>`). A projector reads both.
#[function_component(ThemeToggle)]
pub fn theme_toggle() -> Html {
    let doc = web_sys::window().and_then(|w| w.document());
    let store = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    let saved = store.as_ref().and_then(|s| s.get_item("zabra-theme").ok().flatten());
    let dark = use_state(|| saved.as_deref() == Some("dark"));
    {
        let doc = doc.clone();
        use_effect_with(*dark, move |dark| {
            if let Some(root) = doc.and_then(|d| d.document_element()) {
                let _ = root.set_attribute("data-theme", if *dark { "dark" } else { "light" });
            }
        });
    }
    let toggle = {
        let dark = dark.clone();
        Callback::from(move |_| {
            let next = !*dark;
            if let Some(s) = &store {
                let _ = s.set_item("zabra-theme", if next { "dark" } else { "light" });
            }
            dark.set(next);
        })
    };
    html! {
        <button class="theme" data-testid="theme-toggle" onclick={toggle} title="light or dark theme">
            { if *dark { "☀ light" } else { "☾ dark" } }
        </button>
    }
}
