//! Live mode in the page: the `/observe` streams of every member of a native cluster (found
//! through `GET /cluster` on the node that served the page), merged into the view model,
//! with reconnects (bounded backoff), the presenter's controls and keys, the recording and
//! its download; and the Classroom's replay of a recording (stepped and scrubbed).
//!
//! The live state sits in one thread-local (the page has one Live view at a time): socket
//! callbacks update it and mark it dirty; the component redraws at most every 200 ms.

use crate::components::Cluster;
use crate::live::{backoff_ms, parse_line, Command, Recording, Replay};
use crate::livectl::{
    burst_line, control, fetch_json, leader, stop_tree, tree_tick, tree_view, BurstRun, TREE_EVERY_MS,
};
use crate::panels::ElectionPanel;
use crate::viewmodel::ViewModel;
use gloo_timers::callback::{Interval, Timeout};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{CloseEvent, HtmlInputElement, KeyboardEvent, MessageEvent, WebSocket};
use yew::prelude::*;

const TOKEN_KEY: &str = "zabra-admin-token";
/// Lines of the control log kept on screen.
const LOG_LINES: usize = 8;
/// A node whose open stream sent nothing for this long (ms, on the nodes' clocks) is shown
/// as silent: a running one sends every tick.
const SILENT_MS: f64 = 3_000.0;

pub(crate) struct Conn {
    pub(crate) http: String,
    ws: Option<WebSocket>,
    pub(crate) up: bool,
    attempts: u32,
    _on_msg: Option<Closure<dyn FnMut(MessageEvent)>>,
    _on_open: Option<Closure<dyn FnMut()>>,
    _on_close: Option<Closure<dyn FnMut(CloseEvent)>>,
}

#[derive(Default)]
pub(crate) struct Live {
    /// Changes whenever Live mode starts again: old timers and sockets then do nothing.
    pub(crate) generation: u64,
    pub(crate) token: String,
    pub(crate) vm: ViewModel,
    pub(crate) rec: Recording,
    pub(crate) supervisor: Option<String>,
    pub(crate) conns: BTreeMap<u64, Conn>,
    pub(crate) killed: BTreeSet<u64>,
    pub(crate) paused: BTreeSet<u64>,
    pub(crate) log: VecDeque<String>,
    pub(crate) burst: Option<BurstRun>,
    /// The znode tree as last read through the client API, and where from.
    pub(crate) tree: Vec<crate::view::NodeRow>,
    pub(crate) tree_note: String,
    pub(crate) error: Option<String>,
    pub(crate) dirty: bool,
}

thread_local! {
    pub(crate) static LIVE: RefCell<Live> = RefCell::new(Live::default());
    static REPLAY: RefCell<Option<Replay>> = const { RefCell::new(None) };
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub(crate) fn say(text: String) {
    LIVE.with_borrow_mut(|l| {
        l.log.push_front(text);
        l.log.truncate(LOG_LINES);
        l.dirty = true;
    });
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

/// The admin token: from the URL the demo printed (then removed from the URL), else from
/// this tab's session storage.
fn take_token() -> Option<String> {
    let w = web_sys::window()?;
    let hash = w.location().hash().ok().unwrap_or_default();
    let from_url = hash.trim_start_matches('#').split('&').find_map(|kv| kv.strip_prefix("token=")).map(String::from);
    if let Some(t) = from_url.filter(|t| !t.is_empty()) {
        if let Some(s) = storage() {
            let _ = s.set_item(TOKEN_KEY, &t);
        }
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some("#live"));
        }
        return Some(t);
    }
    storage()?.get_item(TOKEN_KEY).ok()?.filter(|t| !t.is_empty())
}

pub(crate) fn enc(s: &str) -> String {
    String::from(js_sys::encode_uri_component(s))
}

/// Starts Live mode: `/cluster`, then every member's stream; returns its generation.
fn start(token: String) -> u64 {
    let generation = LIVE.with_borrow_mut(|l| {
        let g = l.generation + 1;
        stop_sockets(l);
        *l = Live { generation: g, token, ..Live::default() };
        g
    });
    spawn_local(async move {
        match fetch_json("/cluster").await {
            Ok(c) => on_cluster(generation, &c),
            Err(e) => LIVE.with_borrow_mut(|l| (l.error, l.dirty) = (Some(format!("GET /cluster: {e}")), true)),
        }
    });
    generation
}

fn on_cluster(generation: u64, c: &serde_json::Value) {
    let members: Vec<(u64, String)> = c["members"]
        .as_array()
        .map(|ms| ms.iter().filter_map(|m| Some((m["id"].as_u64()?, m["http"].as_str()?.to_string()))).collect())
        .unwrap_or_default();
    LIVE.with_borrow_mut(|l| {
        if l.generation != generation {
            return;
        }
        l.supervisor = c["supervisor"].as_str().map(String::from);
        l.vm = ViewModel::with_peers(members.iter().map(|m| m.0));
        for (id, http) in &members {
            let conn = Conn {
                http: http.clone(),
                ws: None,
                up: false,
                attempts: 0,
                _on_msg: None,
                _on_open: None,
                _on_close: None,
            };
            l.conns.insert(*id, conn);
        }
        l.dirty = true;
    });
    for (id, _) in members {
        connect(generation, id);
    }
}

fn stop_sockets(l: &mut Live) {
    for c in l.conns.values_mut() {
        if let Some(ws) = c.ws.take() {
            ws.set_onclose(None);
            ws.set_onmessage(None);
            let _ = ws.close();
        }
    }
}

/// Opens node `id`'s `/observe` (the token in the query) and wires its events.
fn connect(generation: u64, id: u64) {
    let Some((url, host)) = LIVE.with_borrow(|l| {
        let c = l.conns.get(&id).filter(|_| l.generation == generation)?;
        Some((format!("ws://{}/observe?token={}", c.http, enc(&l.token)), c.http.clone()))
    }) else {
        return;
    };
    let ws = match WebSocket::new(&url) {
        Ok(ws) => ws,
        Err(_) => return retry(generation, id),
    };
    let on_msg = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(text) = e.data().as_string() else { return };
        LIVE.with_borrow_mut(|l| {
            if l.generation != generation {
                return;
            }
            l.rec.push(&text);
            if let Some(line) = parse_line(&text) {
                line.feed(&mut l.vm);
            }
            l.dirty = true;
        });
    });
    let on_open = Closure::<dyn FnMut()>::new(move || {
        LIVE.with_borrow_mut(|l| {
            if let Some(c) = l.conns.get_mut(&id).filter(|_| l.generation == generation) {
                (c.up, c.attempts) = (true, 0);
            }
        });
        say(format!("node {id} ({host}): watching"));
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
        let was_up = LIVE.with_borrow_mut(|l| {
            if l.generation != generation {
                return false;
            }
            l.vm.gone(id, now_ms());
            l.dirty = true;
            l.conns.get_mut(&id).is_some_and(|c| std::mem::replace(&mut c.up, false))
        });
        if was_up {
            say(format!("node {id}: stream closed (node gone?); reconnecting"));
        }
        retry(generation, id);
    });
    ws.set_onmessage(Some(on_msg.as_ref().unchecked_ref()));
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    LIVE.with_borrow_mut(|l| {
        if let Some(c) = l.conns.get_mut(&id) {
            c.ws = Some(ws);
            (c._on_msg, c._on_open, c._on_close) = (Some(on_msg), Some(on_open), Some(on_close));
        }
    });
}

/// Connect again after the backoff for this node's failed attempts so far.
fn retry(generation: u64, id: u64) {
    let delay = LIVE.with_borrow_mut(|l| {
        let c = l.conns.get_mut(&id)?;
        c.attempts += 1;
        Some(backoff_ms(c.attempts - 1))
    });
    if let Some(ms) = delay {
        Timeout::new(ms, move || connect(generation, id)).forget();
    }
}

/// Offers `text` as a file download named `name`.
pub(crate) fn download(name: &str, text: &str, mime: &str) {
    let parts = js_sys::Array::of1(&JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else { return };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else { return };
    let doc = web_sys::window().and_then(|w| w.document());
    if let Some(a) =
        doc.and_then(|d| d.create_element("a").ok()).and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Opens a recording in Classroom (the replay view).
pub fn open_replay(jsonl: &str) -> Result<(), String> {
    let r = Replay::from_jsonl(jsonl)?;
    REPLAY.with_borrow_mut(|slot| *slot = Some(r));
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_hash("replay");
    }
    Ok(())
}

fn outage_text(vm: &ViewModel) -> Html {
    if let Some(o) = vm.open_outage() {
        let lost = o.lost.map_or("the leader".to_string(), |l| format!("leader {l}"));
        let ms = (now_ms() - o.from_ms).max(0.0);
        return html! {
            <div class="outage open" data-testid="live-outage" data-open="true">
                { format!("NO LEADER: {lost} lost {:.1} s ago", ms / 1000.0) }
            </div>
        };
    }
    match vm.last_outage() {
        Some(o) => {
            let d = o.duration_ms().unwrap_or(0.0);
            let (new, epoch) = o.new_leader.unwrap_or((0, 0));
            let lost = o.lost.map_or("?".to_string(), |l| l.to_string());
            html! {
                <div class="outage" data-testid="live-outage" data-open="false" data-ms={format!("{d:.0}")}
                    data-new-leader={new.to_string()} data-epoch={epoch.to_string()}>
                    { format!("leader {lost} lost → node {new} leads epoch {epoch}: no leader for {d:.0} ms") }
                    <small>{ " (from the nodes' own event clocks)" }</small>
                </div>
            }
        }
        None => {
            html! { <div class="outage none" data-testid="live-outage" data-open="false">{ "no failover seen yet" }</div> }
        }
    }
}

fn node_cards(l: &Live) -> Html {
    let views = l.vm.peer_views();
    let cards = views.iter().map(|p| {
        let conn = l.conns.get(&p.sid);
        let watching = conn.is_some_and(|c| c.up);
        // A running node reports something every tick (pings, their answers), so a stream
        // that is open but quiet means a stopped or hung process, whoever stopped it.
        let quiet_ms = l.vm.peers.get(&p.sid).map_or(0.0, |s| l.vm.last_ms - s.last_ms);
        let silent = watching && quiet_ms > SILENT_MS;
        let paused = l.paused.contains(&p.sid);
        let state = match (paused, watching, silent) {
            (true, _, _) => "paused".to_string(),
            (_, true, true) => format!("stream silent for {:.0} s (stopped or hung?)", quiet_ms / 1000.0),
            (_, true, false) => "watching".to_string(),
            (_, false, _) => "no stream (reconnecting)".to_string(),
        };
        let flag = if paused { " · PAUSED" } else if silent { " · SILENT" } else { "" };
        html! {
            <div class={classes!("card", p.role.to_lowercase(), (paused || silent).then_some("stale"))}
                data-testid={format!("live-node-{}", p.sid)} data-stream={watching.to_string()}
                data-paused={paused.to_string()} data-silent={silent.to_string()}>
                <div class="big">{ format!("node {} · {}{flag}", p.sid, p.role) }</div>
                <div>{ format!("epoch {} (accepted {}) · committed {} · logged {}", p.current_epoch, p.accepted_epoch, p.last_committed, p.last_logged) }</div>
                <div class="muted">{ format!("{}{} · {state}", if p.serving { "serving" } else { "not serving" }, p.leader.map_or(String::new(), |x| format!(" · leader {x}"))) }</div>
            </div>
        }
    });
    html! { <div class="cards">{ for cards }</div> }
}

fn proposals(vm: &ViewModel) -> Html {
    let rows = vm.recent_proposals(8).into_iter().map(|r| {
        let (a, q) = r.acks.unwrap_or((0, 0));
        html! { <tr><td>{ r.zxid }</td><td>{ r.op }</td><td>{ format!("{a}/{q}") }</td><td>{ if r.committed { "committed" } else { "pending" } }</td></tr> }
    });
    html! {
        <table class="proposals"><tr><th>{"zxid"}</th><th>{"proposal"}</th><th>{"ACKs/quorum"}</th><th>{""}</th></tr>{ for rows }</table>
    }
}

#[function_component(LivePage)]
pub fn live_page() -> Html {
    let rev = use_state(|| 0u64);
    let token = use_state(take_token);
    {
        let token = (*token).clone();
        use_effect_with(token, move |t| {
            let mut tree = None;
            if let Some(t) = t.clone() {
                let generation = start(t);
                tree = Some(Interval::new(TREE_EVERY_MS, move || tree_tick(generation)));
            }
            move || {
                drop(tree);
                stop_tree();
                LIVE.with_borrow_mut(|l| {
                    l.generation += 1;
                    stop_sockets(l);
                })
            }
        });
    }
    {
        let rev = rev.clone();
        use_effect_with((), move |_| {
            let timer = Interval::new(200, move || {
                let dirty = LIVE.with_borrow_mut(|l| std::mem::take(&mut l.dirty));
                // Redraw on news, and every 200 ms during a spell without a leader (its clock).
                let open = LIVE.with_borrow(|l| l.vm.open_outage().is_some());
                if dirty || open {
                    rev.set(now_ms() as u64);
                }
            });
            let keys = Closure::<dyn FnMut(KeyboardEvent)>::new(|e: KeyboardEvent| {
                let typing = e.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).is_some();
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                if let Some(cmd) = Command::for_key(&e.key()) {
                    e.prevent_default();
                    control(cmd);
                }
            });
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(d) = &doc {
                let _ = d.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
            }
            move || {
                drop(timer);
                if let Some(d) = doc {
                    let _ = d.remove_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
                }
            }
        });
    }
    if token.is_none() {
        let on = Callback::from(move |t: String| token.set(Some(t).filter(|t| !t.is_empty())));
        return html! { <TokenForm {on} /> };
    }
    LIVE.with_borrow(live_view)
}

#[derive(Properties, PartialEq)]
struct TokenProps {
    on: Callback<String>,
}

#[function_component(TokenForm)]
fn token_form(p: &TokenProps) -> Html {
    let input = use_node_ref();
    let onsubmit = {
        let (input, on) = (input.clone(), p.on.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let t = input.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            if let Some(s) = storage() {
                let _ = s.set_item(TOKEN_KEY, &t);
            }
            on.emit(t);
        })
    };
    html! {
        <form class="live token" {onsubmit}>
            <p>{ "Live mode watches and controls the native cluster that served this page. Its admin token (printed by " }<code>{"cargo xtask demo"}</code>{ " or " }<code>{"zabra cluster"}</code>{ "), asked once for this tab:" }</p>
            <input ref={input} type="password" data-testid="live-token" placeholder="admin token" />
            <button type="submit">{ "Watch" }</button>
        </form>
    }
}

fn live_view(l: &Live) -> Html {
    let buttons = Command::ALL.iter().map(|c| {
        let c = *c;
        html! { <button data-testid={c.test_id()} onclick={Callback::from(move |_| control(c))}>{ c.label() }</button> }
    });
    let log = l.log.iter().map(|s| html! { <li>{ s }</li> });
    let on_download = Callback::from(|_| {
        let text = LIVE.with_borrow(|l| l.rec.to_jsonl());
        download(&format!("zabra-live-{}.jsonl", now_ms() as u64), &text, "application/x-ndjson");
    });
    let on_open = Callback::from(|_| {
        let text = LIVE.with_borrow(|l| l.rec.to_jsonl());
        if let Err(e) = open_replay(&text) {
            say(format!("open in classroom: {e}"));
        }
    });
    let leader = leader(l).map_or("none".to_string(), |s| s.to_string());
    html! {
        <div class="live" data-testid="live" data-leader={leader.clone()}>
            if let Some(e) = &l.error { <p class="error">{ e }</p> }
            { outage_text(&l.vm) }
            { node_cards(l) }
            <div class="controls">{ for buttons }</div>
            { burst_line(l) }
            <div class="live-main">
                <div>
                    <Cluster peers={l.vm.peer_views()} msgs={l.vm.msgs.views(l.vm.last_ms)} selected={0} on={Callback::noop()} />
                    <ul class="log" data-testid="live-log">{ for log }</ul>
                </div>
                <div>
                    { proposals(&l.vm) }
                    { tree_view(l) }
                    <ElectionPanel rows={l.vm.election()} syncs={l.vm.syncs()} />
                    <p class="muted" data-testid="live-events">{ format!("{} events ({} skipped by nodes), {} sessions seen, recording {} lines", l.vm.events, l.vm.skipped, l.vm.sessions.len(), l.rec.lines.len()) }</p>
                    <button data-testid="btn-record-download" onclick={on_download}>{ "download the recording (JSON lines)" }</button>
                    <button data-testid="btn-open-classroom" onclick={on_open}>{ "open the recording in Classroom" }</button>
                </div>
            </div>
        </div>
    }
}

/// Classroom's replay of a Live recording: step and scrub through what the nodes reported.
#[function_component(ReplayPage)]
pub fn replay_page() -> Html {
    let rev = use_state(|| 0u64);
    let has = REPLAY.with_borrow(|r| r.is_some());
    if !has {
        return html! { <p class="replay">{ "No recording open: use “open a recording” above, or record one in Live mode." }</p> };
    }
    let go = |to: fn(usize, usize) -> usize| {
        let rev = rev.clone();
        Callback::from(move |_| {
            REPLAY.with_borrow_mut(|r| {
                if let Some(r) = r.as_mut() {
                    let k = to(r.cursor, r.len());
                    r.seek(k);
                }
            });
            rev.set(*rev + 1);
        })
    };
    let on_scrub = {
        let rev = rev.clone();
        Callback::from(move |e: InputEvent| {
            let k = e.target_unchecked_into::<HtmlInputElement>().value().parse().unwrap_or(0);
            REPLAY.with_borrow_mut(|r| r.as_mut().map(|r| r.seek(k)));
            rev.set(*rev + 1);
        })
    };
    REPLAY.with_borrow(|r| {
        let r = r.as_ref().expect("checked above");
        let at = r.cursor.checked_sub(1).and_then(|i| r.lines.get(i)).map_or("(start)".to_string(), |l| l.describe());
        html! {
            <div class="replay" data-testid="replay">
                <h2>{ "Replay of a live recording" }</h2>
                <div class="transport">
                    <button data-testid="btn-replay-start" onclick={go(|_, _| 0)}>{ "⏮" }</button>
                    <button data-testid="btn-replay-back10" onclick={go(|k, _| k.saturating_sub(10))}>{ "−10" }</button>
                    <button data-testid="btn-replay-prev" onclick={go(|k, _| k.saturating_sub(1))}>{ "◀ step" }</button>
                    <button data-testid="btn-replay-next" onclick={go(|k, n| (k + 1).min(n))}>{ "step ▶" }</button>
                    <button data-testid="btn-replay-fwd10" onclick={go(|k, n| (k + 10).min(n))}>{ "+10" }</button>
                    <button data-testid="btn-replay-end" onclick={go(|_, n| n)}>{ "⏭" }</button>
                    <input type="range" data-testid="replay-scrub" min="0" max={r.len().to_string()} value={r.cursor.to_string()} oninput={on_scrub} />
                    <span data-testid="replay-index" data-len={r.len().to_string()}>{ r.cursor }</span>
                    <span>{ format!(" / {} · {:.0} ms into the recording", r.len(), r.elapsed_ms()) }</span>
                </div>
                <p class="narration" data-testid="replay-event">{ at }</p>
                { outage_text(r.view_model()) }
                <div class="live-main">
                    <Cluster peers={r.view_model().peer_views()} msgs={r.view_model().msgs.views(r.view_model().last_ms)} selected={0} on={Callback::noop()} />
                    <div>
                        { proposals(r.view_model()) }
                        <ElectionPanel rows={r.view_model().election()} syncs={r.view_model().syncs()} />
                    </div>
                </div>
            </div>
        }
    })
}

/// "open a recording": a file input that opens a downloaded recording in the replay view.
#[function_component(OpenRecording)]
pub fn open_recording() -> Html {
    let onchange = Callback::from(|e: Event| {
        let input = e.target_unchecked_into::<HtmlInputElement>();
        let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
        spawn_local(async move {
            let text = JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string()).unwrap_or_default();
            if let Err(e) = open_replay(&text) {
                web_sys::window().map(|w| w.alert_with_message(&e));
            }
        });
    });
    html! {
        <label class="open-recording">{ "open a recording: " }
            <input type="file" accept=".jsonl,.json,.txt" data-testid="replay-file" {onchange} />
        </label>
    }
}
