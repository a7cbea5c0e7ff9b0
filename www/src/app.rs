//! The page: the reducer in Yew, the play timer, the URL kept in step with the state, and the
//! `window.zabraBench(n)` hook that benchmarks rendering.

use crate::components::{ClientForm, Cluster, Faults, Transport};
use crate::lessons::lesson;
use crate::panels::{ElectionPanel, InFlight, LessonPanel, NarrationLog, PeerPanel, SafetyPanel, SetupBar};
use crate::state::{UiAction, UiState};
use crate::view;
use gloo_timers::callback::Interval;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use yew::prelude::*;

impl Reducible for UiState {
    type Action = UiAction;

    fn reduce(self: Rc<Self>, action: UiAction) -> Rc<Self> {
        let mut s = (*self).clone();
        s.apply(action);
        Rc::new(s)
    }
}

/// Mount the app on `<main id="app">` if the page has one, else on `<body>`.
pub fn mount() {
    let doc = gloo_utils_document();
    match doc.get_element_by_id("app") {
        Some(el) => {
            yew::Renderer::<crate::modes::Root>::with_root(el).render();
        }
        None => {
            yew::Renderer::<crate::modes::Root>::new().render();
        }
    }
}

fn gloo_utils_document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("a document")
}

fn location_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// Keep the URL's hash equal to the shareable state, without adding history entries.
fn replace_hash(q: &str) {
    if let Some(w) = web_sys::window() {
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&format!("#{q}")));
        }
    }
}

fn copy_to_clipboard(text: &str) {
    if let Some(w) = web_sys::window() {
        // Headless browsers may refuse; the URL itself is already up to date.
        let _ = w.navigator().clipboard().write_text(text);
    }
}

fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// `window.zabraBench(n)`: a fresh 7-peer classroom (if the current one is not), then `n`
/// simulator steps, each dispatched and rendered before the next; resolves to `{steps, ms}`.
fn install_bench(dispatch: UseReducerDispatcher<UiState>, nodes: usize) {
    let f = Closure::<dyn Fn(JsValue) -> js_sys::Promise>::new(move |n: JsValue| {
        let n = n.as_f64().unwrap_or(100.0).max(0.0) as u32;
        let d = dispatch.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            if nodes != 7 {
                d.dispatch(UiAction::SetNodes(7));
                gloo_timers::future::TimeoutFuture::new(0).await;
            }
            let t0 = now_ms();
            for _ in 0..n {
                d.dispatch(UiAction::StepForward);
                // Yew renders in a microtask: a zero timeout resumes after the render.
                gloo_timers::future::TimeoutFuture::new(0).await;
            }
            let ms = now_ms() - t0;
            let out = js_sys::Object::new();
            js_sys::Reflect::set(&out, &"steps".into(), &n.into())?;
            js_sys::Reflect::set(&out, &"ms".into(), &ms.into())?;
            Ok(out.into())
        })
    });
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"zabraBench".into(), f.as_ref());
    }
    f.forget();
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer_eq(|| UiState::from_query(&location_hash()));
    let on: Callback<UiAction> = {
        let d = state.dispatcher();
        Callback::from(move |a| d.dispatch(a))
    };
    let shared = use_state(|| false);
    {
        let d = state.dispatcher();
        use_effect_with((state.playing, state.speed), move |(playing, speed)| {
            let timer = playing.then(|| Interval::new(1000 / speed.max(&1), move || d.dispatch(UiAction::Tick)));
            move || drop(timer)
        });
    }
    {
        let (q, shared) = (state.to_query(), shared.clone());
        use_effect_with(q, move |q| {
            replace_hash(q);
            shared.set(false);
        });
    }
    {
        let d = state.dispatcher();
        use_effect_with(state.setup().nodes, move |nodes| install_bench(d, *nodes));
    }
    {
        // The keyboard (and a presenter's remote): see `state::action_for_key`.
        let (d, playing) = (state.dispatcher(), state.playing);
        use_effect_with(playing, move |playing| {
            let playing = *playing;
            let keys = Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |e: web_sys::KeyboardEvent| {
                let t = e.target();
                let typing = t.as_ref().is_some_and(|t| {
                    t.dyn_ref::<web_sys::HtmlInputElement>().is_some()
                        || t.dyn_ref::<web_sys::HtmlTextAreaElement>().is_some()
                        || t.dyn_ref::<web_sys::HtmlSelectElement>().is_some()
                });
                if typing || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                if let Some(a) = crate::state::action_for_key(&e.key(), playing) {
                    e.prevent_default();
                    d.dispatch(a);
                }
            });
            let doc = web_sys::window().and_then(|w| w.document());
            if let Some(doc) = &doc {
                let _ = doc.add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
            }
            move || {
                if let Some(doc) = doc {
                    let _ = doc.remove_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
                }
            }
        });
    }
    let on_share = {
        let shared = shared.clone();
        Callback::from(move |_| {
            let href = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
            copy_to_clipboard(&href);
            shared.set(true);
        })
    };
    page(&state, on, on_share, *shared)
}

/// How long one move's motion takes (ms): within one beat of the play timer while playing;
/// else one trip, or longer when a move (a lesson step) has messages at many moments.
fn pace_ms(state: &UiState, moments: u32) -> u32 {
    if state.playing {
        900 / state.speed.max(1)
    } else if moments <= 1 {
        450
    } else {
        (450 + 100 * moments).min(2400)
    }
}

fn page(state: &UiState, on: Callback<UiAction>, on_share: Callback<()>, shared: bool) -> Html {
    let m = state.model.borrow();
    let sim = m.sim();
    let setup = m.setup.clone();
    let vm = m.view_model();
    let peers = vm.peer_views();
    let msgs = view::in_flight_timed(sim, &m.sent_times().at, Some(m.motion()));
    let flights = m.motion().flights();
    let requests = m.requests().views(sim);
    let pending: Vec<(u64, String)> =
        requests.iter().filter(|r| r.state == "pending").map(|r| (r.peer, r.path.clone())).collect();
    let pace_ms = pace_ms(state, m.motion().moments());
    let sel = state.selected.min(peers.len() as u64).max(1);
    let l = state.lesson.and_then(lesson);
    let title = l.map_or("Free play".to_string(), |l| match &l.bug {
        Some(b) => format!("{} · {b}", l.title),
        None => l.title.clone(),
    });
    let steps = l.map_or(0, |l| l.steps.len());
    html! {
        <div class="page">
            <header>
                <h1>{ "Zabra " }<small>{ "ZooKeeper's atomic broadcast, step by step" }</small>
                    // Tabs mode (www/src/tabs.rs): this tab becomes a real peer of a cluster of tabs.
                    <a data-testid="mode-tabs" href="?mode=tabs" style="color:#fff;font-size:13px;margin-left:12px">{ "Tabs mode: run a peer in this tab" }</a>
                    <crate::components::ThemeToggle /></h1>
                <SetupBar setup={setup.clone()} lesson={state.lesson} on={on.clone()} />
            </header>
            <Transport playing={state.playing} speed={state.speed} cursor={m.cursor()} len={m.actions.len()}
                on={on.clone()} {on_share} {shared} />
            if let Some(n) = &state.notice {
                <p class="action-error notice" data-testid="notice">{ n }</p>
            }
            if let Some((a, e)) = m.last_error() {
                <p class="action-error" data-testid="action-error">{ format!("“{}” did nothing: {e}", a.label()) }</p>
            }
            <div class="main">
                <div class="left">
                    <LessonPanel {title} text={state.lesson_text().to_string()} note={state.lesson_note()} step={state.lesson_step} {steps} on={on.clone()} />
                    <Cluster peers={peers.clone()} msgs={msgs.clone()} links={view::links(sim)} timers={view::timers(sim)}
                        sessions={view::session_timers(sim)} {flights} {pending} {pace_ms} selected={sel} on={on.clone()} />
                    <p class="clock">{ format!("virtual time {} · {} events", sim.now, sim.events) }</p>
                    <Faults peers={peers.clone()} on={on.clone()} />
                    <ClientForm nodes={setup.nodes} selected={sel} {requests} on={on.clone()} />
                    <SafetyPanel safety={view::safety(sim)} />
                    <crate::legend::Legend />
                    <crate::scenario_panel::ScenarioPanel run={m.scenario_text()}
                        lesson={l.map(|l| (l.id.clone(), l.text.clone()))} error={state.scenario_error.clone()} on={on.clone()} />
                </div>
                <div class="right">
                    <crate::recipe_panel::RecipePanel clients={m.recipe_clients()} />
                    <InFlight msgs={msgs} manual={setup.manual} on={on.clone()} />
                    <crate::panels::LogsPanel logs={view::logs(sim, 16)} />
                    <ElectionPanel rows={vm.election()} syncs={vm.syncs()} />
                    <PeerPanel sid={sel} history={view::history(sim, vm, sel)} tree={view::tree(sim, sel)}
                        sessions={view::sessions(sim, sel)} watches={view::watches(sim, sel)} />
                    <NarrationLog lines={vm.log_lines(|t| !state.hidden_topics.contains(&t), 40)}
                        hidden={state.hidden_topics.clone()} on_toggle={on.reform(UiAction::ToggleTopic)} />
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn the_app_mounts_and_shows_every_peer() {
        let doc = gloo_utils_document();
        let root = doc.create_element("div").expect("div");
        doc.body().expect("body").append_child(&root).expect("append");
        yew::Renderer::<App>::with_root(root.clone()).render();
        gloo_timers::future::TimeoutFuture::new(50).await;
        for sid in 1..=3 {
            let el = root.query_selector(&format!("[data-testid=peer-{sid}]")).expect("query").expect("peer shown");
            assert_eq!(el.get_attribute("data-role").as_deref(), Some("LOOKING"));
        }
        let safety = root.query_selector("[data-testid=safety]").expect("query").expect("safety");
        assert_eq!(safety.get_attribute("data-ok").as_deref(), Some("true"));
    }
}
