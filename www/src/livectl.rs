//! Live mode's presenter controls (wasm only): kill, restart, pause and resume through the
//! cluster's supervisor, partition and heal through each node's `/control` endpoints (CORS
//! lets the page call every member), the burst of writes (`burst.rs`) and the znode tree
//! (`livetree.rs`) through the JSON client API.

use crate::burst::{self, Burst};
use crate::live::Command;
use crate::livepage::{enc, now_ms, say, Live, LIVE};
use crate::livetree::{TreeRead, MAX_ZNODES};
use gloo_timers::callback::Timeout;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{MessageEvent, WebSocket};
use yew::prelude::*;
use zabra_core::peer::Reply;
use zabra_core::Zxid;

/// A burst not over by then is given up (ms).
const BURST_GIVE_UP_MS: u32 = 30_000;

/// A burst of writes as the page shows it.
pub(crate) struct BurstRun {
    /// The last proposal before it began: its own come after.
    pub(crate) mark: Zxid,
    /// Bursts started on this page so far, this one included.
    pub(crate) n: u32,
    pub(crate) done: Option<String>,
    pub(crate) committed: usize,
    pub(crate) read: usize,
}

pub(crate) async fn fetch(url: &str, post: bool) -> Result<String, String> {
    let init = web_sys::RequestInit::new();
    init.set_method(if post { "POST" } else { "GET" });
    init.set_mode(web_sys::RequestMode::Cors);
    let w = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(w.fetch_with_str_and_init(url, &init)).await.map_err(|e| format!("{e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response")?;
    let text = JsFuture::from(resp.text().map_err(|e| format!("{e:?}"))?).await.map_err(|e| format!("{e:?}"))?;
    let text = text.as_string().unwrap_or_default();
    if resp.ok() {
        Ok(text)
    } else {
        Err(format!("{} {}", resp.status(), text.trim()))
    }
}

pub(crate) async fn fetch_json(url: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(&fetch(url, false).await?).map_err(|e| e.to_string())
}

/// The leader now: the established one if it is up, else any peer that says it leads.
pub(crate) fn leader(l: &Live) -> Option<u64> {
    let up_leading = |s: &u64| l.vm.peers.get(s).is_some_and(|p| p.up);
    l.vm.established
        .map(|e| e.0)
        .filter(up_leading)
        .or_else(|| l.vm.peer_views().into_iter().find(|p| p.role == "LEADING").map(|p| p.sid))
}

pub(crate) fn control(cmd: Command) {
    let (sup, token, leader, killed, paused, members) = LIVE.with_borrow(|l| {
        let members: Vec<(u64, String)> = l.conns.iter().map(|(id, c)| (*id, c.http.clone())).collect();
        (l.supervisor.clone(), l.token.clone(), leader(l), l.killed.clone(), l.paused.clone(), members)
    });
    let sup_url =
        |id: u64, action: &str| sup.as_ref().map(|s| format!("{s}/nodes/{id}/{action}?token={}", enc(&token)));
    let mut calls: Vec<(String, String)> = Vec::new();
    match cmd {
        Command::KillLeader | Command::PauseLeader => {
            let action = if cmd == Command::KillLeader { "kill" } else { "pause" };
            match leader.and_then(|id| Some((id, sup_url(id, action)?))) {
                Some((id, url)) => {
                    calls.push((format!("{action} leader {id}"), url));
                    LIVE.with_borrow_mut(|l| {
                        if action == "kill" {
                            l.killed.insert(id);
                        } else {
                            l.paused.insert(id);
                        }
                    });
                }
                None => say(format!("{action}: no leader to {action} (or no supervisor)")),
            }
        }
        Command::RestartDown | Command::ResumePaused => {
            let (set, action) = if cmd == Command::RestartDown { (killed, "restart") } else { (paused, "resume") };
            if set.is_empty() {
                say(format!("{action}: no node to {action}"));
            }
            for id in set {
                calls.extend(sup_url(id, action).map(|u| (format!("{action} node {id}"), u)));
            }
            LIVE.with_borrow_mut(|l| {
                if cmd == Command::RestartDown {
                    l.killed.clear();
                } else {
                    l.paused.clear();
                }
            });
        }
        Command::IsolateLeader => match leader {
            Some(lead) => {
                for (id, http) in &members {
                    let peers = if *id == lead {
                        members.iter().filter(|m| m.0 != lead).map(|m| m.0.to_string()).collect::<Vec<_>>().join(",")
                    } else {
                        lead.to_string()
                    };
                    let url = format!("http://{http}/control/partition?token={}&peers={peers}", enc(&token));
                    calls.push((format!("node {id}: cut from {peers}"), url));
                }
            }
            None => say("partition: no leader to isolate".into()),
        },
        Command::Heal => {
            for (id, http) in &members {
                calls.push((format!("heal node {id}"), format!("http://{http}/control/heal?token={}", enc(&token))));
            }
        }
        Command::Writes => return writes(),
    }
    for (what, url) in calls {
        spawn_local(async move {
            match fetch(&url, true).await {
                Ok(_) => say(format!("{what}: done")),
                Err(e) => say(format!("{what}: {e}")),
            }
        });
    }
}

/// A burst of writes through the JSON client API of the node that served the page (see
/// `burst.rs`: under one parent, the previous burst's znodes removed, read back after).
fn writes() {
    if LIVE.with_borrow(|l| l.burst.as_ref().is_some_and(|b| b.done.is_none())) {
        return say("writes: a burst is still going".into());
    }
    let Some(host) = web_sys::window().and_then(|w| w.location().host().ok()) else { return };
    let Ok(ws) = WebSocket::new(&format!("ws://{host}/api")) else { return say("writes: cannot open /api".into()) };
    let started = now_ms();
    let generation = LIVE.with_borrow_mut(|l| {
        let mark = l.vm.proposals.keys().next_back().copied().unwrap_or(Zxid::ZERO);
        let n = l.burst.as_ref().map_or(1, |b| b.n + 1);
        l.burst = Some(BurstRun { mark, n, done: None, committed: 0, read: 0 });
        l.dirty = true;
        l.generation
    });
    let burst = std::rc::Rc::new(RefCell::new(Burst::default()));
    let ws2 = ws.clone();
    let on_open = Closure::<dyn FnMut()>::new({
        let ws = ws.clone();
        move || {
            let hello = serde_json::json!({"connect": {"session": null, "timeout_ms": 10000, "last_zxid_seen": "0", "addr": null}});
            let _ = ws.send_with_str(&hello.to_string());
        }
    });
    let on_msg = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let text = e.data().as_string().unwrap_or_default();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let requests = if v.get("connected").is_some() {
            burst.borrow_mut().start()
        } else if let Some(r) = v.get_mut("reply").map(|r| r.take()) {
            serde_json::from_value::<Reply>(r).map(|r| burst.borrow_mut().on_reply(&r)).unwrap_or_default()
        } else {
            if let Some(err) = v.get("error") {
                say(format!("writes: {err}"));
            }
            Vec::new()
        };
        for r in requests {
            let _ = ws2.send_with_str(&r);
        }
        let b = burst.borrow();
        if b.finished() {
            let summary = b.summary(now_ms() - started);
            LIVE.with_borrow_mut(|l| {
                if let Some(run) = l.burst.as_mut().filter(|_| l.generation == generation) {
                    (run.done, run.committed, run.read) = (Some(summary.clone()), b.created.len(), b.read_back);
                }
            });
            say(summary);
            let _ = ws2.close();
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_msg.as_ref().unchecked_ref()));
    // One burst's handlers live as long as the page: a few per presentation.
    on_open.forget();
    on_msg.forget();
    // A burst that hangs (its node paused, say) is given up, so the next one may start.
    Timeout::new(BURST_GIVE_UP_MS, move || {
        LIVE.with_borrow_mut(|l| {
            if let Some(run) = l.burst.as_mut().filter(|r| r.done.is_none() && l.generation == generation) {
                run.done = Some("burst: given up (no answer within 30 s)".into());
                l.dirty = true;
            }
        });
        let _ = ws.close();
    })
    .forget();
}

/// The burst going on or last done, as the page shows it.
pub(crate) fn burst_line(l: &Live) -> Html {
    let Some(run) = &l.burst else { return html! {} };
    // Proposals of this burst's creates that reached their ACK quorum, as the leader counted.
    let quorum = l
        .vm
        .proposals
        .range(run.mark..)
        .filter(|(z, p)| **z > run.mark && p.quorum_reached && p.op.starts_with(&format!("create {}/w-", burst::DIR)))
        .count();
    let text = run.done.clone().unwrap_or_else(|| "burst: writing…".into());
    html! {
        <p class="burst" data-testid="live-burst" data-n={run.n.to_string()} data-done={run.done.is_some().to_string()}
            data-committed={run.committed.to_string()} data-read={run.read.to_string()} data-quorum={quorum.to_string()}>
            { format!("{text} · {quorum} proposals reached their ACK quorum") }
        </p>
    }
}

/// How often the znode tree is read again (ms).
pub(crate) const TREE_EVERY_MS: u32 = 3_000;
/// A read not answered by then is given up, and the session with it (ms).
const TREE_GIVE_UP_MS: f64 = 10_000.0;

/// The session that reads the znode tree: one for the page's life (a new session per read
/// would be a createSession and a closeSession in the log every few seconds), moved to
/// another member when its node goes away.
struct TreeSession {
    ws: WebSocket,
    node: u64,
    ready: bool,
    read: Option<(TreeRead, f64)>,
    _on_msg: Closure<dyn FnMut(MessageEvent)>,
    _on_open: Closure<dyn FnMut()>,
    _on_close: Closure<dyn FnMut()>,
}

thread_local! {
    static TREE: RefCell<Option<TreeSession>> = const { RefCell::new(None) };
}

/// Called every [`TREE_EVERY_MS`]: starts a read on the session (opening one if needed).
pub(crate) fn tree_tick(generation: u64) {
    let stuck = TREE.with_borrow(|t| {
        t.as_ref().is_some_and(|t| t.read.as_ref().is_some_and(|(_, at)| now_ms() - at > TREE_GIVE_UP_MS))
    });
    if stuck {
        stop_tree();
    }
    let started = TREE.with_borrow_mut(|t| match t.as_mut() {
        Some(s) if s.ready && s.read.is_none() => {
            let mut r = TreeRead::default();
            for req in r.start() {
                let _ = s.ws.send_with_str(&req);
            }
            s.read = Some((r, now_ms()));
            true
        }
        Some(_) => true,
        None => false,
    });
    if !started {
        open_tree_session(generation);
    }
}

/// Closes the tree's session (Live mode stops, or its node stopped answering).
pub(crate) fn stop_tree() {
    if let Some(s) = TREE.with_borrow_mut(Option::take) {
        s.ws.set_onclose(None);
        s.ws.set_onmessage(None);
        let _ = s.ws.close();
        drop_later(s);
    }
}

/// Drops a session outside of its own callbacks (one of which may be running now).
fn drop_later(s: TreeSession) {
    Timeout::new(0, move || drop(s)).forget();
}

fn open_tree_session(generation: u64) {
    // A member whose stream is up (so likely running), the page's own node first.
    let Some((node, http)) = LIVE.with_borrow(|l| {
        let own = web_sys::window().and_then(|w| w.location().host().ok()).unwrap_or_default();
        let mut up: Vec<(u64, String)> =
            l.conns.iter().filter(|(_, c)| c.up).map(|(id, c)| (*id, c.http.clone())).collect();
        up.sort_by_key(|(_, h)| *h != own);
        up.into_iter().next().filter(|_| l.generation == generation)
    }) else {
        return;
    };
    let Ok(ws) = WebSocket::new(&format!("ws://{http}/api")) else { return };
    let on_open = Closure::<dyn FnMut()>::new({
        let ws = ws.clone();
        move || {
            let hello = serde_json::json!({"connect": {"session": null, "timeout_ms": 10000, "last_zxid_seen": "0", "addr": null}});
            let _ = ws.send_with_str(&hello.to_string());
        }
    });
    let on_msg = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let text = e.data().as_string().unwrap_or_default();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if v.get("connected").is_some() {
            TREE.with_borrow_mut(|t| t.as_mut().map(|s| s.ready = true));
            return tree_tick(generation);
        }
        let Some(reply) = v.get_mut("reply").and_then(|r| serde_json::from_value::<Reply>(r.take()).ok()) else {
            return;
        };
        let done = TREE.with_borrow_mut(|t| {
            let s = t.as_mut()?;
            let (read, _) = s.read.as_mut()?;
            for req in read.on_reply(&reply) {
                let _ = s.ws.send_with_str(&req);
            }
            if !read.finished() {
                return None;
            }
            let node = s.node;
            s.read.take().map(|(r, _)| (r, node))
        });
        if let Some((read, node)) = done {
            LIVE.with_borrow_mut(|l| {
                if l.generation == generation {
                    l.tree = read.rows();
                    l.tree_note = tree_note(&read, node);
                    l.dirty = true;
                }
            });
        }
    });
    let on_close = Closure::<dyn FnMut()>::new(|| {
        if let Some(s) = TREE.with_borrow_mut(Option::take) {
            drop_later(s);
        }
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_msg.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let session =
        TreeSession { ws, node, ready: false, read: None, _on_msg: on_msg, _on_open: on_open, _on_close: on_close };
    TREE.with_borrow_mut(|t| *t = Some(session));
}

fn tree_note(read: &TreeRead, node: u64) -> String {
    let mut s = format!("read through /api from node {node} every {} s", TREE_EVERY_MS / 1000);
    if read.left_out > 0 {
        s.push_str(&format!("; {} more znodes not shown (at most {MAX_ZNODES})", read.left_out));
    }
    s
}

/// The znode tree as last read.
pub(crate) fn tree_view(l: &Live) -> Html {
    let rows = l.tree.iter().map(|n| {
        html! {
            <tr data-path={n.path.clone()}>
                <td style={format!("padding-left:{}em", n.depth)}>{ &n.path }</td><td>{ format!("{:?}", n.data) }</td>
                <td>{ format!("v{} · {} children", n.version, n.num_children) }</td><td>{ &n.mzxid }</td>
            </tr>
        }
    });
    html! {
        <section class="live-tree" data-testid="live-tree" data-count={l.tree.len().to_string()}>
            <h3>{ "znode tree" }</h3>
            <p class="muted">{ if l.tree_note.is_empty() { "not read yet" } else { &l.tree_note } }</p>
            <table class="tree"><tbody>{ for rows }</tbody></table>
        </section>
    }
}
