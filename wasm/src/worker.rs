//! The worker's side: `worker_main` (called by `worker.js` once the module is loaded) and the
//! IO around a [`BrowserNode`]: the cluster's BroadcastChannel, one timer for the next
//! wake-up, the IndexedDB writer, and messages to and from the page.
//!
//! Everything runs on the worker's one thread: callbacks borrow the shared state briefly and
//! never across an `.await`.

use crate::bus::{channel_name, BusMsg, End};
use crate::idb::{db_name, IdbStore};
use crate::links::{LinkTimings, Links};
use crate::node::{BrowserNode, Clock};
use crate::page::random_bytes;
use crate::protocol::{FromWorker, JoinNative, Storage, TabStatus, ToWorker};
use crate::wslinks::{WsCmd, WsLinks, WsTimings};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, BroadcastChannel, CloseEvent, DedicatedWorkerGlobalScope, MessageEvent, WebSocket};
use zabra_core::config::{Config, Membership};
use zabra_core::storage::PersistOp;
use zabra_core::{Sid, Token};

/// Bytes a WebSocket to a native node may hold unsent before the connection is dropped.
const MAX_WS_BUFFERED: usize = 64 << 20;
/// How often the page hears the peer's status (it also hears every trace event at once).
const STATUS_EVERY_MS: f64 = 200.0;

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn clock() -> Clock {
    let mono_ms = scope().performance().map_or(0.0, |p| p.now());
    Clock { mono_ms, wall_ms: js_sys::Date::now() as u64 }
}

fn post(m: &FromWorker) {
    if let Ok(text) = serde_json::to_string(m) {
        let _ = scope().post_message(&JsValue::from_str(&text));
    }
}

fn nonce() -> [u8; 32] {
    let mut n = [0u8; 32];
    n.copy_from_slice(&random_bytes(32));
    n
}

struct Running {
    node: BrowserNode,
    channel: BroadcastChannel,
    store: Option<Rc<RefCell<Option<IdbStore>>>>,
    queue: VecDeque<(Token, PersistOp)>,
    writing: bool,
    timer: Option<gloo_timers::callback::Timeout>,
    /// When the pending timer should fire (ms), to measure how late it does.
    timer_due: f64,
    late_ms: f64,
    max_late_ms: f64,
    last_status: f64,
    /// Open WebSockets to native nodes, by connection number.
    sockets: BTreeMap<u64, Socket>,
    persisted_ops: u64,
    transactions: u64,
    stopped: bool,
}

type Shared = Rc<RefCell<Option<Running>>>;

/// The worker's entry point: listen to the page, then tell it we are ready.
#[wasm_bindgen]
pub fn worker_main() {
    let shared: Shared = Rc::new(RefCell::new(None));
    let s = shared.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        match serde_json::from_str::<ToWorker>(&text) {
            Ok(ToWorker::Start { cluster, sid, voters, observers, secret, storage, join }) => {
                let s = s.clone();
                let members = Membership {
                    voters: voters.iter().map(|s| Sid(*s)).collect(),
                    observers: observers.iter().map(|s| Sid(*s)).collect(),
                };
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = start(&s, cluster, sid, members, secret, storage, join).await {
                        post(&FromWorker::Failed(e));
                    }
                });
            }
            Ok(ToWorker::Write { path, data }) => {
                if let Some(r) = s.borrow_mut().as_mut() {
                    r.node.write(clock(), path, data);
                }
                after_event(&s);
            }
            Err(e) => post(&FromWorker::Failed(format!("bad message from the page: {e}"))),
        }
    });
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    post(&FromWorker::Ready);
}

async fn start(
    shared: &Shared,
    cluster: String,
    sid: u64,
    members: Membership,
    secret: String,
    storage: Storage,
    join: Option<JoinNative>,
) -> Result<(), String> {
    if shared.borrow().is_some() {
        return Err("the peer runs already".into());
    }
    let secret = hex(&secret).ok_or("the cluster secret is not hex")?;
    let (store, state) = match storage {
        Storage::IndexedDb => {
            let mut s = IdbStore::open(&db_name(&cluster, sid)).await?;
            let state = s.load().await?;
            (Some(Rc::new(RefCell::new(Some(s)))), state)
        }
        Storage::Memory => (None, Default::default()),
    };
    let loaded = format!(
        "accepted epoch {}, current epoch {}, {} log entries, snapshot at {}",
        state.accepted_epoch,
        state.current_epoch,
        state.log.len(),
        state.snapshot_zxid()
    );
    let inc = u64::from_le_bytes(nonce()[..8].try_into().expect("8 bytes")) | 1;
    // Joined to a native cluster, the bus carries the links to the other browser members
    // (same origin), each pair keyed by its own bus key, which only that pair's tokens unmask.
    let bus_members = match &join {
        Some(j) => {
            let browser = |s: &&Sid| !j.natives.iter().any(|(n, _)| *n == s.0);
            Membership {
                voters: members.voters.iter().filter(browser).copied().collect(),
                observers: members.observers.iter().filter(browser).copied().collect(),
            }
        }
        None => members.clone(),
    };
    let mut links =
        Links::new(End { sid, inc }, &cluster, secret, &bus_members, LinkTimings::default(), Box::new(nonce));
    if let Some(j) = &join {
        links.use_pair_keys(pair_keys(j, &cluster, sid)?);
    }
    let observer = members.observers.contains(&Sid(sid));
    let mut cfg = Config::new(Sid(sid), members);
    cfg.seed = inc;
    let mut node = BrowserNode::new(cfg, state, links, clock(), Box::new(|| random_bytes(16)))?;
    if let Some(j) = join {
        let natives = j.natives.into_iter().collect();
        let ws = WsLinks::new(sid, observer, &cluster, &j.token, natives, WsTimings::default(), Box::new(nonce));
        node.attach_ws(clock(), ws);
    }
    let channel = BroadcastChannel::new(&channel_name(&cluster)).map_err(|e| format!("BroadcastChannel: {e:?}"))?;
    let s = shared.clone();
    let on_bus = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(bytes) = ev.data().dyn_into::<js_sys::Uint8Array>().ok().map(|a| a.to_vec()) else { return };
        let Some(msg) = BusMsg::decode(&bytes) else { return };
        if let Some(r) = s.borrow_mut().as_mut().filter(|r| !r.stopped) {
            r.node.on_bus(clock(), msg);
        }
        after_event(&s);
    });
    channel.set_onmessage(Some(on_bus.as_ref().unchecked_ref()));
    on_bus.forget();
    *shared.borrow_mut() = Some(Running {
        node,
        channel,
        store,
        queue: VecDeque::new(),
        writing: false,
        timer: None,
        timer_due: 0.0,
        late_ms: 0.0,
        max_late_ms: 0.0,
        last_status: f64::NEG_INFINITY,
        sockets: BTreeMap::new(),
        persisted_ops: 0,
        transactions: 0,
        stopped: false,
    });
    post(&FromWorker::Started { inc, loaded });
    after_event(shared);
    Ok(())
}

/// This sid's bus keys, unmasked with its join token.
fn pair_keys(j: &JoinNative, cluster: &str, sid: u64) -> Result<BTreeMap<u64, Vec<u8>>, String> {
    let Some(mine) = j.bus_keys.get(&sid) else { return Ok(BTreeMap::new()) };
    mine.iter()
        .map(|(other, wrapped)| {
            let key = zabra_peerwire::unwrap_bus_key(&j.token, cluster, sid, *other, wrapped)
                .ok_or(format!("the bus key of {sid} and {other} is not 64 hex digits"))?;
            Ok((*other, key.to_vec()))
        })
        .collect()
}

fn hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len()).step_by(2).map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

/// After anything reached the node: post what it wants sent, store what it wants durable,
/// tell the page, and set the timer for its next wake-up.
fn after_event(shared: &Shared) {
    let mut start_writer = false;
    {
        let mut guard = shared.borrow_mut();
        let Some(r) = guard.as_mut().filter(|r| !r.stopped) else { return };
        loop {
            for m in r.node.take_outgoing() {
                let _ = r.channel.post_message(&js_sys::Uint8Array::from(&m.encode()[..]));
            }
            for c in r.node.take_ws_cmds() {
                perform_ws(r, shared, c);
            }
            let ops = r.node.take_persist();
            if r.store.is_some() {
                r.queue.extend(ops);
                break;
            }
            // Memory storage: durable as soon as performed (a reload loses it, by choice).
            let Some((last, _)) = ops.last() else { break };
            let last = *last;
            r.persisted_ops += ops.len() as u64;
            r.node.on_persisted(clock(), last);
        }
        let trace = r.node.take_trace();
        if !trace.is_empty() {
            post(&FromWorker::Trace(trace));
        }
        for w in r.node.take_results() {
            post(&FromWorker::Written(w));
        }
        let now = clock().mono_ms;
        if now - r.last_status >= STATUS_EVERY_MS {
            r.last_status = now;
            post(&FromWorker::Status(status(r)));
            r.late_ms = 0.0;
        }
        if !r.writing && !r.queue.is_empty() {
            r.writing = true;
            start_writer = true;
        }
        schedule(r, shared, now);
    }
    if start_writer {
        let s = shared.clone();
        wasm_bindgen_futures::spawn_local(async move { writer(s).await });
    }
}

fn status(r: &Running) -> TabStatus {
    let mut st = r.node.status();
    st.late_ms = r.late_ms;
    st.max_late_ms = r.max_late_ms;
    st.persisted_ops = r.persisted_ops;
    st.transactions = r.transactions;
    st
}

/// One timer, for the node's next wake-up (a beacon at the latest: never long).
fn schedule(r: &mut Running, shared: &Shared, now: f64) {
    let due = r.node.next_wake().min(now + 1_000.0);
    let delay = (due - now).clamp(0.0, 1_000.0).ceil() as u32;
    r.timer_due = due;
    let s = shared.clone();
    r.timer = Some(gloo_timers::callback::Timeout::new(delay, move || {
        if let Some(r) = s.borrow_mut().as_mut().filter(|r| !r.stopped) {
            let c = clock();
            let late = (c.mono_ms - r.timer_due).max(0.0);
            r.late_ms = r.late_ms.max(late);
            r.max_late_ms = r.max_late_ms.max(late);
            r.timer = None;
            r.node.on_timer(c);
        }
        after_event(&s);
    }));
}

/// Writes the queued persist ops, a batch per strict transaction, reporting `Persisted` for
/// the last token of each batch once it completed. A failed write stops the peer: it must not
/// acknowledge anything more (and a reload recovers from what IndexedDB holds).
async fn writer(shared: Shared) {
    loop {
        let (store, batch) = {
            let mut guard = shared.borrow_mut();
            let Some(r) = guard.as_mut() else { return };
            if r.queue.is_empty() || r.stopped {
                r.writing = false;
                return;
            }
            (r.store.clone().expect("a writer runs only with a store"), r.queue.drain(..).collect::<Vec<_>>())
        };
        let last = batch.last().map(|(t, _)| *t).expect("a batch is never empty");
        let ops: Vec<PersistOp> = batch.into_iter().map(|(_, op)| op).collect();
        let taken = store.borrow_mut().take();
        let Some(mut db) = taken else { return };
        let result = db.write(&ops).await;
        *store.borrow_mut() = Some(db);
        match result {
            Ok(()) => {
                if let Some(r) = shared.borrow_mut().as_mut() {
                    r.persisted_ops += ops.len() as u64;
                    r.transactions += 1;
                    r.node.on_persisted(clock(), last);
                }
                after_event(&shared);
            }
            Err(e) => {
                if let Some(r) = shared.borrow_mut().as_mut() {
                    r.stopped = true;
                    r.timer = None;
                    r.channel.close();
                }
                post(&FromWorker::Failed(format!("storage failed, the peer stopped: {e}")));
                return;
            }
        }
    }
}

/// A WebSocket to a native node's peer port and the callbacks it holds (dropped with it,
/// after its handlers are unset, so none runs once the socket is forgotten).
struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

/// Does what the WebSocket links asked: open a socket, send on one, close one. A socket that
/// cannot even be made counts as closed at once.
fn perform_ws(r: &mut Running, shared: &Shared, cmd: WsCmd) {
    match cmd {
        WsCmd::Open { sid, conn, url } => match open_socket(shared, sid, conn, &url) {
            Ok(s) => drop(r.sockets.insert(conn, s)),
            Err(_) => r.node.on_ws_closed(clock(), sid, conn),
        },
        WsCmd::Send { conn, bytes } => {
            let Some(s) = r.sockets.get(&conn) else { return };
            // A node that stops reading must not grow this tab's memory: past the bound the
            // connection is dropped (and redialled), as a native node drops such a link.
            if s.ws.buffered_amount() as usize > MAX_WS_BUFFERED {
                if let Some(sid) = r.node.ws_sid_of(conn) {
                    drop(r.sockets.remove(&conn));
                    r.node.on_ws_closed(clock(), sid, conn);
                }
                return;
            }
            let _ = s.ws.send_with_u8_array(&bytes);
        }
        WsCmd::Close { conn } => drop(r.sockets.remove(&conn)),
    }
}

fn open_socket(shared: &Shared, sid: u64, conn: u64, url: &str) -> Result<Socket, JsValue> {
    let ws = WebSocket::new(url)?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    let on = |f: fn(&mut BrowserNode, Clock, u64, u64)| {
        let s = shared.clone();
        move || {
            if let Some(r) = s.borrow_mut().as_mut().filter(|r| !r.stopped) {
                f(&mut r.node, clock(), sid, conn);
            }
            after_event(&s);
        }
    };
    let on_open = Closure::<dyn FnMut()>::new(on(BrowserNode::on_ws_open));
    let closed = on(BrowserNode::on_ws_closed);
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| closed());
    let s = shared.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Ok(buf) = ev.data().dyn_into::<js_sys::ArrayBuffer>() else { return };
        let bytes = js_sys::Uint8Array::new(&buf).to_vec();
        if let Some(r) = s.borrow_mut().as_mut().filter(|r| !r.stopped) {
            r.node.on_ws_message(clock(), sid, conn, &bytes);
        }
        after_event(&s);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // An error is followed by a close event: the close handler does the work.
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    Ok(Socket { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close })
}
