//! Tabs mode: this tab runs a real ZAB peer (zabra-wasm's `BrowserNode`) in a dedicated Web
//! Worker, in a cluster of the other tabs of this origin that run the same cluster name.
//!
//! The page claims a sid (a Web Lock per cluster and sid; refused with a message if taken),
//! fetches the cluster secret, starts the worker and draws what it reports: the peer's status
//! and the classroom views made from its own trace events, through the same incremental
//! view model as Classroom and Live (`viewmodel`). Test contract: `tab-peer` (with
//! data-sid, data-role, data-epoch, data-leader, data-committed, data-peers), `tab-refused`,
//! `tab-open`, `tab-write-path`, `tab-write-data`, `tab-write`, `tab-writes` (items with
//! data-ok and data-path), `tab-timers` (data-hidden, data-late).

use crate::panels::{ElectionPanel, NarrationLog, PeerPanel};
use crate::tabs_view::{self, TabsQuery, NARRATION_LINES};
use crate::viewmodel::ViewModel;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;
use zabra_wasm::page;
use zabra_wasm::protocol::{FromWorker, Storage, TabStatus, ToWorker, WriteResult};

/// The worker script (copied into the dist folder next to the module).
const WORKER_SCRIPT: &str = "worker.js";

pub enum TabsAction {
    Claimed(u64),
    /// What `navigator.storage.persist()` answered.
    Persistent(bool),
    Refused(String),
    Worker(FromWorker),
    Hidden(bool),
}

/// The view model this tab's page draws, fed in place (a reducer step clones the state, not
/// the model: each event costs work proportional to itself).
#[derive(Clone, Default)]
pub struct SharedModel(Rc<RefCell<ViewModel>>);

impl PartialEq for SharedModel {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Clone, Default, PartialEq)]
pub struct TabsState {
    pub sid: Option<u64>,
    pub refused: Option<String>,
    pub failed: Option<String>,
    pub inc: Option<u64>,
    pub loaded: String,
    pub status: Option<TabStatus>,
    /// The shared incremental view model, fed this tab's peer's trace events.
    pub vm: SharedModel,
    pub writes: Vec<WriteResult>,
    pub hidden: bool,
    /// Times the page was hidden (its peer runs on in the worker).
    pub hidden_count: u32,
    pub persistent: Option<bool>,
}

impl Reducible for TabsState {
    type Action = TabsAction;

    fn reduce(self: Rc<Self>, action: TabsAction) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            TabsAction::Claimed(sid) => {
                s.sid = Some(sid);
                *s.vm.0.borrow_mut() = ViewModel::with_peers([sid]);
            }
            TabsAction::Persistent(p) => s.persistent = Some(p),
            TabsAction::Refused(why) => s.refused = Some(why),
            TabsAction::Hidden(h) => {
                s.hidden_count += u32::from(h && !s.hidden);
                s.hidden = h;
            }
            TabsAction::Worker(m) => match m {
                FromWorker::Ready => {}
                FromWorker::Started { inc, loaded } => {
                    s.inc = Some(inc);
                    s.loaded = loaded;
                }
                FromWorker::Status(st) => s.status = Some(st),
                FromWorker::Trace(events) => {
                    let at = now_ms();
                    let mut vm = s.vm.0.borrow_mut();
                    for e in &events {
                        vm.feed(e, at);
                    }
                }
                FromWorker::Written(w) => {
                    s.writes.insert(0, w);
                    s.writes.truncate(20);
                }
                FromWorker::Failed(why) => s.failed = Some(why),
            },
        }
        Rc::new(s)
    }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Tabs mode if the URL asks for it (`?mode=tabs`).
/// The join token may come in the fragment (`#token=…`), which the browser never sends to the
/// server that serves the page.
pub fn requested() -> Option<TabsQuery> {
    let loc = web_sys::window().map(|w| w.location());
    let search = loc.as_ref().and_then(|l| l.search().ok()).unwrap_or_default();
    let hash = loc.as_ref().and_then(|l| l.hash().ok()).unwrap_or_default();
    TabsQuery::parse(&format!("{search}&{}", hash.trim_start_matches('#')))
}

pub fn mount(query: TabsQuery) {
    let doc = web_sys::window().and_then(|w| w.document()).expect("a document");
    let props = TabsProps { query };
    match doc.get_element_by_id("app") {
        Some(el) => drop(yew::Renderer::<TabsApp>::with_root_and_props(el, props).render()),
        None => drop(yew::Renderer::<TabsApp>::with_props(props).render()),
    }
}

#[derive(Properties, PartialEq)]
pub struct TabsProps {
    pub query: TabsQuery,
}

type WorkerRef = Rc<RefCell<Option<web_sys::Worker>>>;

#[function_component(TabsApp)]
pub fn tabs_app(p: &TabsProps) -> Html {
    let state = use_reducer(TabsState::default);
    let worker: WorkerRef = use_mut_ref(|| None);
    {
        let (d, w, q) = (state.dispatcher(), worker.clone(), p.query.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(boot(q, d.clone(), w));
            watch_visibility(d);
        });
    }
    let write = {
        let w = worker.clone();
        Callback::from(move |(path, data): (String, String)| {
            let msg = serde_json::to_string(&ToWorker::Write { path, data }).expect("encodes");
            if let Some(w) = w.borrow().as_ref() {
                let _ = w.post_message(&JsValue::from_str(&msg));
            }
        })
    };
    page_view(&p.query, &state, write)
}

/// Claims a sid, gets the secret, starts the worker, and wires its messages to the reducer.
async fn boot(q: TabsQuery, d: UseReducerDispatcher<TabsState>, slot: WorkerRef) {
    let plan = match &q.join {
        Some(addr) => match crate::join::native(addr, q.sid, q.token.clone()).await {
            Ok(p) => p,
            Err(why) => return d.dispatch(TabsAction::Refused(why)),
        },
        None => crate::join::tabs(&q.cluster),
    };
    let sid = match page::claim_sid(&plan.cluster, q.sid, &plan.claimable).await {
        Ok(sid) => sid,
        Err(why) => return d.dispatch(TabsAction::Refused(why)),
    };
    replace_query(&q.with_sid(sid));
    d.dispatch(TabsAction::Claimed(sid));
    // A browser member of a native cluster proves itself with its join token instead.
    let secret = match plan.join {
        Some(_) => String::new(),
        None => match page::cluster_secret(&q.cluster).await {
            Ok(s) => s,
            Err(why) => return d.dispatch(TabsAction::Worker(FromWorker::Failed(why))),
        },
    };
    d.dispatch(TabsAction::Persistent(page::ask_persist().await));
    let worker = match page::spawn_worker(WORKER_SCRIPT) {
        Ok(w) => w,
        Err(why) => return d.dispatch(TabsAction::Worker(FromWorker::Failed(why))),
    };
    let start = ToWorker::Start {
        cluster: plan.cluster.clone(),
        sid,
        voters: plan.voters,
        observers: plan.observers,
        secret,
        storage: if q.memory { Storage::Memory } else { Storage::IndexedDb },
        join: plan.join,
    };
    let start = serde_json::to_string(&start).expect("encodes");
    let w2 = worker.clone();
    let cluster = plan.cluster.clone();
    let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        let Ok(m) = serde_json::from_str::<FromWorker>(&text) else { return };
        match &m {
            FromWorker::Ready => drop(w2.post_message(&JsValue::from_str(&start))),
            FromWorker::Started { inc, .. } => say_bye_on_pagehide(cluster.clone(), sid, *inc),
            _ => {}
        }
        d.dispatch(TabsAction::Worker(m));
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    *slot.borrow_mut() = Some(worker);
}

fn replace_query(q: &str) {
    if let Some(w) = web_sys::window() {
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(q));
        }
    }
}

fn say_bye_on_pagehide(cluster: String, sid: u64, inc: u64) {
    let Some(w) = web_sys::window() else { return };
    let f = Closure::<dyn FnMut()>::new(move || page::say_bye(&cluster, sid, inc));
    let _ = w.add_event_listener_with_callback("pagehide", f.as_ref().unchecked_ref());
    f.forget();
}

fn watch_visibility(d: UseReducerDispatcher<TabsState>) {
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
    d.dispatch(TabsAction::Hidden(doc.hidden()));
    let doc2 = doc.clone();
    let f = Closure::<dyn FnMut()>::new(move || d.dispatch(TabsAction::Hidden(doc2.hidden())));
    let _ = doc.add_event_listener_with_callback("visibilitychange", f.as_ref().unchecked_ref());
    f.forget();
}

fn open_another(q: &TabsQuery) {
    if let Some(w) = web_sys::window() {
        // noopener: the new tab shares nothing with this one but the origin's storage.
        let _ = w.open_with_url_and_target_and_features(&q.another(), "_blank", "noopener");
    }
}

fn page_view(q: &TabsQuery, s: &TabsState, write: Callback<(String, String)>) -> Html {
    let open = {
        let q = q.clone();
        Callback::from(move |_| open_another(&q))
    };
    let body = match (&s.refused, &s.status) {
        (Some(why), _) => {
            html! { <p class="panel refused" data-testid="tab-refused">{ format!("Refused: {why}") }</p> }
        }
        (None, None) => html! { <p class="panel">{ s.failed.clone().unwrap_or_else(|| match s.sid {
            Some(sid) => format!("sid {sid} claimed; starting its peer…"),
            None => "claiming a sid…".to_string(),
        }) }</p> },
        (None, Some(st)) => running(s, st, write),
    };
    html! {
        <div class="page">
            <header>
                <h1>{ "Zabra " }<small>{ match &q.join {
                    Some(node) => format!("Tabs mode: this tab is a browser member of the native cluster of node {node}"),
                    None => format!("Tabs mode: this tab is a ZAB peer of cluster {:?}", q.cluster),
                } }</small></h1>
                <nav class="setup">
                    <a href="./" style="color:#fff">{ "Classroom" }</a>
                    <strong>{ "Tabs" }</strong>
                    if q.join.is_none() {
                        <button data-testid="tab-open" onclick={open}>{ "Open another tab of this cluster" }</button>
                    }
                    <crate::client::NativeForm />
                </nav>
            </header>
            if let Some(why) = &s.failed {
                <p class="panel refused" data-testid="tab-failed">{ why }</p>
            }
            { body }
        </div>
    }
}

fn running(s: &TabsState, st: &TabStatus, write: Callback<(String, String)>) -> Html {
    let peers: Vec<String> =
        st.peers.iter().map(|(sid, up)| format!("{sid} ({})", if *up { "connected" } else { "seen" })).collect();
    let peers_attr: Vec<String> = st.peers.iter().filter(|(_, up)| *up).map(|(sid, _)| sid.to_string()).collect();
    let role_class = format!("badge role-{}", st.role.to_lowercase());
    let timers = format!(
        "page {}{} · worker timers late by {:.0} ms lately, {:.0} ms at most",
        if s.hidden { "hidden" } else { "visible" },
        if s.hidden_count > 0 { format!(" (hidden {} times)", s.hidden_count) } else { String::new() },
        st.late_ms,
        st.max_late_ms
    );
    let refusals = st.refusals.iter().map(|(sid, why)| html! { <li>{ format!("{sid}: {why}") }</li> });
    let vm = s.vm.0.borrow();
    let lines = vm.log_lines(|_| true, NARRATION_LINES);
    let election: Vec<_> = vm.election().into_iter().filter(|r| r.sid == st.sid).collect();
    let leaderless = vm.last_outage().and_then(|o| Some((o.duration_ms()?, o.lost, o.new_leader?)));
    html! {
        <div class="main">
            <div class="left">
                <section class="panel" data-testid="tab-peer" data-sid={st.sid.to_string()} data-role={st.role.clone()}
                    data-epoch={st.current_epoch.to_string()} data-leader={st.leader.map_or(String::new(), |l| l.to_string())}
                    data-committed={st.last_committed.clone()} data-peers={peers_attr.join(",")}>
                    <h2><span class={role_class}>{ st.sid }</span>{ format!(" peer {} is {} ({})", st.sid, st.role, st.phase) }</h2>
                    <table class="history"><tbody>
                        <tr><td>{ "epochs (accepted / current)" }</td><td>{ format!("{} / {}", st.accepted_epoch, st.current_epoch) }</td></tr>
                        <tr><td>{ "last logged / committed" }</td><td>{ format!("{} / {}", st.last_logged, st.last_committed) }</td></tr>
                        <tr><td>{ "leader" }</td><td>{ st.leader.map_or("none".to_string(), |l| l.to_string()) }</td></tr>
                        <tr><td>{ "peers" }</td><td>{ if peers.is_empty() { "none heard yet".to_string() } else { peers.join(", ") } }</td></tr>
                        <tr><td>{ "storage" }</td><td>{ format!("loaded {}; {} ops in {} strict transactions since; persistent storage {}",
                            s.loaded, st.persisted_ops, st.transactions,
                            match s.persistent { Some(true) => "granted", Some(false) => "not granted (may be evicted)", None => "asked" }) }</td></tr>
                        <tr><td>{ "timers" }</td><td data-testid="tab-timers" data-hidden={s.hidden.to_string()}
                            data-late={format!("{:.0}", st.max_late_ms)}>{ timers }</td></tr>
                        <tr><td>{ "trace events" }</td><td>{ vm.events }</td></tr>
                        if let Some((ms, lost, (new, epoch))) = leaderless {
                            <tr><td>{ "last time without a leader" }</td><td data-testid="tab-leaderless">{ format!(
                                "{ms:.0} ms ({} until {new} established epoch {epoch})",
                                lost.map_or("no leader".to_string(), |l| format!("leader {l} lost"))) }</td></tr>
                        }
                    </tbody></table>
                    if !st.refusals.is_empty() { <ul class="note">{ for refusals }</ul> }
                </section>
                <WriteForm on={write} writes={s.writes.clone()} />
                <ElectionPanel rows={election} syncs={vm.syncs()} />
            </div>
            <div class="right">
                <PeerPanel sid={st.sid} history={tabs_view::history(st, &vm)} tree={tabs_view::tree(st)}
                    sessions={Vec::<(String, u32)>::new()} watches={Vec::<String>::new()} />
                <NarrationLog {lines} />
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct WriteFormProps {
    on: Callback<(String, String)>,
    writes: Vec<WriteResult>,
}

/// A client write through this tab's own peer (forwarded to the leader if it follows).
#[function_component(WriteForm)]
fn write_form(p: &WriteFormProps) -> Html {
    let path = use_node_ref();
    let data = use_node_ref();
    let submit = {
        let (path, data, on) = (path.clone(), data.clone(), p.on.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let v = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            // Unset fields take their placeholders (the inputs are not controlled: a render
            // must never undo what the person typed).
            let p = Some(v(&path)).filter(|p| !p.is_empty()).unwrap_or_else(|| "/a".into());
            let d = Some(v(&data)).filter(|d| !d.is_empty()).unwrap_or_else(|| "hello".into());
            if p.starts_with('/') {
                on.emit((p, d));
            }
        })
    };
    let items = p.writes.iter().map(|w| {
        html! { <li data-ok={w.ok.to_string()} data-path={w.path.clone()}>{ format!("{}: {}", w.path, w.text) }</li> }
    });
    html! {
        <section class="panel">
            <h2>{ "Client write through this peer" }</h2>
            <form class="client" onsubmit={submit}>
                <input data-testid="tab-write-path" ref={path} placeholder="/a" size="12" />
                <input data-testid="tab-write-data" ref={data} placeholder="hello" size="12" />
                <button data-testid="tab-write" type="submit">{ "create / set" }</button>
            </form>
            <ul data-testid="tab-writes">{ for items }</ul>
        </section>
    }
}
