//! The page's modes, chosen by the URL's hash: Classroom (the default, `#seed=…`), Live
//! (`#live`, optionally `&token=…` once), and the Classroom's replay of a Live recording
//! (`#replay`). A bar on top switches between them and opens a downloaded recording.

use crate::livepage::{LivePage, OpenRecording, ReplayPage};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use yew::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Classroom,
    Live,
    Replay,
}

fn mode_now() -> Mode {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    let h = hash.trim_start_matches('#');
    if h == "live" || h.starts_with("live&") {
        Mode::Live
    } else if h.starts_with("replay") {
        Mode::Replay
    } else {
        Mode::Classroom
    }
}

#[function_component(Root)]
pub fn root() -> Html {
    let mode = use_state(mode_now);
    {
        let mode = mode.clone();
        use_effect_with((), move |_| {
            let f = Closure::<dyn FnMut()>::new(move || mode.set(mode_now()));
            let w = web_sys::window();
            if let Some(w) = &w {
                let _ = w.add_event_listener_with_callback("hashchange", f.as_ref().unchecked_ref());
            }
            move || {
                if let Some(w) = w {
                    let _ = w.remove_event_listener_with_callback("hashchange", f.as_ref().unchecked_ref());
                }
            }
        });
    }
    let tab = |m: Mode, href: &'static str, label: &'static str, id: &'static str| {
        html! { <a class={classes!("mode", (*mode == m).then_some("on"))} {href} data-testid={id}>{ label }</a> }
    };
    html! {
        <>
            <nav class="modes">
                { tab(Mode::Classroom, "#", "Classroom", "mode-classroom") }
                { tab(Mode::Live, "#live", "Live", "mode-live") }
                // Tabs mode is its own page (`?mode=tabs`, www/src/tabs.rs): this tab becomes a peer.
                <a class="mode" href="?mode=tabs" data-testid="mode-tabs-bar">{ "Tabs" }</a>
                <OpenRecording />
            </nav>
            {
                match *mode {
                    Mode::Classroom => html! { <crate::app::App /> },
                    Mode::Live => html! { <LivePage /> },
                    Mode::Replay => html! { <ReplayPage /> },
                }
            }
        </>
    }
}
