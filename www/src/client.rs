//! Client mode (issue 9, shape 3): this tab is a plain client of a native cluster, over the
//! node's JSON client API (`ws://HOST:PORT/api`): one session, a form to create, set and read
//! a znode, and every answer as the core's `describe` text. `?mode=client&join=HOST:PORT`.
//! Test contract: `client-session` (data-session once connected), `client-path`,
//! `client-data`, `client-create`, `client-set`, `client-get`, `client-results` (items with
//! data-ok).

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, MessageEvent, WebSocket};
use yew::prelude::*;
use zabra_core::peer::{ClientOp, ClientResult};
use zabra_core::txn::{CreateMode, Op};

/// `Some(node address)` if the URL asks for client mode.
pub fn requested() -> Option<String> {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let q = crate::tabs_view::TabsQuery::parse(&search.replace("mode=client", "mode=tabs"))?;
    search.contains("mode=client").then_some(q.join).flatten()
}

pub fn mount(node: String) {
    let doc = web_sys::window().and_then(|w| w.document()).expect("a document");
    let props = ClientProps { node };
    match doc.get_element_by_id("app") {
        Some(el) => drop(yew::Renderer::<ClientApp>::with_root_and_props(el, props).render()),
        None => drop(yew::Renderer::<ClientApp>::with_props(props).render()),
    }
}

#[derive(Properties, PartialEq)]
pub struct ClientProps {
    pub node: String,
}

#[derive(Clone, Default, PartialEq)]
struct View {
    session: Option<String>,
    state: String,
    /// (ok, text), newest first.
    results: Vec<(bool, String)>,
}

/// One line of the JSON API as this page reads it.
fn on_line(v: &mut View, text: &str) {
    let Ok(m) = serde_json::from_str::<serde_json::Value>(text) else { return };
    if let Some(ok) = m["connected"].get("Ok") {
        v.session = ok["session"].as_str().map(str::to_string);
        v.state = "connected".into();
    } else if m["connected"].is_object() {
        v.state = format!("no session: {}", m["connected"]);
    } else if let Some(r) = m.get("reply") {
        let result = serde_json::from_value::<ClientResult>(r["result"].clone());
        let (ok, text) = match result {
            Ok(res) => {
                let bad = matches!(res, ClientResult::Error(_));
                (
                    !bad,
                    format!(
                        "{} (zxid 0x{})",
                        zabra_core::describe::client_result(&res),
                        r["zxid"].as_str().unwrap_or("?")
                    ),
                )
            }
            Err(e) => (false, format!("unreadable reply: {e}")),
        };
        v.results.insert(0, (ok, text));
        v.results.truncate(30);
    } else if let Some(e) = m.get("error") {
        v.results.insert(0, (false, format!("error: {e}")));
    }
}

#[function_component(ClientApp)]
pub fn client_app(p: &ClientProps) -> Html {
    let view = use_state(View::default);
    let socket: Rc<RefCell<Option<WebSocket>>> = use_mut_ref(|| None);
    let shared: Rc<RefCell<View>> = use_mut_ref(View::default);
    {
        let (node, socket, shared, view) = (p.node.clone(), socket.clone(), shared.clone(), view.clone());
        use_effect_with((), move |_| connect(&node, &socket, shared, view));
    }
    let xid = use_mut_ref(|| 0i64);
    let path = use_node_ref();
    let data = use_node_ref();
    let send = |kind: &'static str| {
        let (socket, xid, path, data) = (socket.clone(), xid.clone(), path.clone(), data.clone());
        Callback::from(move |_: MouseEvent| {
            let v = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            let p = Some(v(&path)).filter(|p| p.starts_with('/')).unwrap_or_else(|| "/a".into());
            let d = v(&data);
            let op = match kind {
                "create" => ClientOp::Write(Op::create(&p, d.as_bytes(), CreateMode::Persistent)),
                "set" => ClientOp::Write(Op::SetData { path: p, data: d.as_bytes().into(), version: -1 }),
                _ => ClientOp::GetData { path: p, watch: false },
            };
            *xid.borrow_mut() += 1;
            let msg = serde_json::json!({ "xid": *xid.borrow(), "op": op });
            if let Some(ws) = socket.borrow().as_ref() {
                let _ = ws.send_with_str(&msg.to_string());
            }
        })
    };
    let items = view.results.iter().map(|(ok, t)| html! { <li data-ok={ok.to_string()}>{ t }</li> });
    html! {
        <div class="page">
            <header>
                <h1>{ "Zabra " }<small>{ format!("Client mode: this tab is a client of the native cluster of node {}", p.node) }</small></h1>
                <nav class="setup"><a href="./" style="color:#fff">{ "Classroom" }</a><strong>{ "Client" }</strong></nav>
            </header>
            <section class="panel" data-testid="client-session" data-session={view.session.clone().unwrap_or_default()}>
                <h2>{ format!("JSON client API at ws://{}/api: {}", p.node, if view.state.is_empty() { "connecting…" } else { &view.state }) }</h2>
                <p>{ view.session.as_ref().map_or(String::new(), |s| format!("session 0x{s}")) }</p>
                <form class="client" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())}>
                    <input data-testid="client-path" ref={path.clone()} placeholder="/a" size="14" />
                    <input data-testid="client-data" ref={data.clone()} placeholder="data" size="14" />
                    <button data-testid="client-create" type="button" onclick={send("create")}>{ "create" }</button>
                    <button data-testid="client-set" type="button" onclick={send("set")}>{ "set" }</button>
                    <button data-testid="client-get" type="button" onclick={send("get")}>{ "get" }</button>
                </form>
                <ul data-testid="client-results">{ for items }</ul>
            </section>
        </div>
    }
}

/// Opens the API socket and asks for a session; every line updates the view.
fn connect(node: &str, socket: &Rc<RefCell<Option<WebSocket>>>, shared: Rc<RefCell<View>>, view: UseStateHandle<View>) {
    let ws = match WebSocket::new(&format!("ws://{node}/api")) {
        Ok(ws) => ws,
        Err(e) => return view.set(View { state: format!("cannot connect: {e:?}"), ..View::default() }),
    };
    let hello = r#"{"connect":{"session":null,"timeout_ms":10000,"last_zxid_seen":"0","addr":null}}"#;
    let ws2 = ws.clone();
    let on_open = Closure::<dyn FnMut()>::new(move || drop(ws2.send_with_str(hello)));
    let (s2, v2) = (shared.clone(), view.clone());
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(text) = ev.data().as_string() else { return };
        on_line(&mut s2.borrow_mut(), &text);
        v2.set(s2.borrow().clone());
    });
    let on_close = Closure::<dyn FnMut()>::new(move || {
        shared.borrow_mut().state = "closed by the node (reload to reconnect)".into();
        view.set(shared.borrow().clone());
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The page keeps its one socket for its whole life.
    on_open.forget();
    on_message.forget();
    on_close.forget();
    *socket.borrow_mut() = Some(ws);
}

/// One click to a native cluster from Tabs mode: a node's HTTP address (this page's own host
/// by default: a node serves the UI), and for a peer its browser sid and join token. "Join as
/// a peer" opens shape 2, "Open as a client" shape 3. Test contract: `native-addr`,
/// `native-sid`, `native-token`, `native-join`, `native-client`.
#[function_component(NativeForm)]
pub fn native_form() -> Html {
    let (addr, sid, token) = (use_node_ref(), use_node_ref(), use_node_ref());
    let here = web_sys::window().and_then(|w| w.location().host().ok()).unwrap_or_default();
    let go = |client: bool| {
        let (addr, sid, token, here) = (addr.clone(), sid.clone(), token.clone(), here.clone());
        Callback::from(move |_: MouseEvent| {
            let v =
                |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value().trim().to_string()).unwrap_or_default();
            let a = Some(v(&addr)).filter(|a| !a.is_empty()).unwrap_or_else(|| here.clone());
            let url = if client {
                format!("?mode=client&join={a}")
            } else {
                format!("?mode=tabs&join={a}&sid={}#token={}", v(&sid), v(&token))
            };
            if let Some(w) = web_sys::window() {
                let _ = w.location().set_href(&url);
            }
        })
    };
    html! {
        <span class="native-form">
            { " native cluster: " }
            <input data-testid="native-addr" ref={addr.clone()} placeholder={here.clone()} size="15" />
            <input data-testid="native-sid" ref={sid.clone()} placeholder="sid" size="3" />
            <input data-testid="native-token" ref={token.clone()} placeholder="join token" size="10" />
            <button data-testid="native-join" onclick={go(false)}>{ "Join as a peer" }</button>
            <button data-testid="native-client" onclick={go(true)}>{ "Open as a client" }</button>
        </span>
    }
}
