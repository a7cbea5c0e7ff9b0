//! The classroom's scenario panel: download the run (or the lesson) as a scenario file, and
//! run a scenario the student pastes or opens — the same commands the lessons and the core's
//! golden tests are written in (`core/src/sim/script.rs`).

use crate::state::UiAction;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{HtmlInputElement, HtmlTextAreaElement};
use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct ScenarioProps {
    /// The run so far, as a scenario file.
    pub run: String,
    /// The loaded lesson's own file, if a lesson is loaded: (id, text).
    pub lesson: Option<(String, String)>,
    pub error: Option<String>,
    pub on: Callback<UiAction>,
}

#[function_component(ScenarioPanel)]
pub fn scenario_panel(p: &ScenarioProps) -> Html {
    let area = use_node_ref();
    let run_text = {
        let (area, on) = (area.clone(), p.on.clone());
        Callback::from(move |_| {
            if let Some(t) = area.cast::<HtmlTextAreaElement>() {
                on.emit(UiAction::LoadScenario(t.value()));
            }
        })
    };
    let open_file = {
        let on = p.on.clone();
        Callback::from(move |e: Event| {
            let input = e.target_unchecked_into::<HtmlInputElement>();
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            let on = on.clone();
            spawn_local(async move {
                let text = JsFuture::from(file.text()).await.ok().and_then(|t| t.as_string()).unwrap_or_default();
                on.emit(UiAction::LoadScenario(text));
            });
        })
    };
    let download_run = {
        let run = p.run.clone();
        Callback::from(move |_| crate::livepage::download("zabra-run.txt", &run, "text/plain"))
    };
    let download_lesson = p.lesson.clone().map(|(id, text)| {
        Callback::from(move |_| crate::livepage::download(&format!("{id}.txt"), &text, "text/plain"))
    });
    html! {
        <details class="panel scenario" data-testid="scenario-panel">
            <summary><h2 style="display:inline">{ "Scenario: download, paste or open" }</h2></summary>
            <p class="note">{ "A run is a list of commands (cluster, start, step, crash 2, partition 1 | 2,3, client 1 write /a x, client 1 create -e /e x, stabilize, …), the same the lessons are written in." }</p>
            <div class="controls">
                <button data-testid="btn-download-run" onclick={download_run}>{ "download this run" }</button>
                if let Some(cb) = download_lesson {
                    <button data-testid="btn-download-lesson" onclick={cb}>{ "download this lesson" }</button>
                }
                <label>{ "open a scenario file: " }<input type="file" accept=".txt" data-testid="scenario-file" onchange={open_file} /></label>
            </div>
            <textarea data-testid="scenario-text" ref={area} rows="6" cols="60" placeholder={p.run.clone()} />
            <div><button data-testid="btn-run-scenario" onclick={run_text}>{ "run this scenario" }</button></div>
            if let Some(e) = &p.error {
                <p class="error" data-testid="scenario-error">{ format!("Not loaded: {e}") }</p>
            }
        </details>
    }
}
