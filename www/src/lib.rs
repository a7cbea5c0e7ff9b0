//! # zabra-www
//!
//! The Yew UI that makes ZAB visible (DESIGN.md, "Browser"). Classroom mode runs the real
//! simulator of `zabra-core` in the tab: no server, no separate model.
//!
//! - [`model`]: the classroom (seed, setup, action list) and deterministic replay;
//! - [`burst`]: Live mode's burst of writes (under one parent, cleaned up by the next);
//! - [`livetree`]: Live mode's znode tree, read through the client API (bounded);
//! - [`motion`]: what moved in the last move forward (the picture replays it);
//! - [`requests`]: clients' writes, pending until answered, in plain words;
//! - [`msgtrail`]: recent messages between peers from a trace stream (Live draws them);
//! - [`viewmodel`]: the one incremental view model, fed typed trace events one at a time
//!   (Classroom, Live and replays of Live recordings all draw from it);
//! - [`view`]: the rows the panels draw, and what only the simulator knows (trees, messages
//!   in flight, safety);
//! - [`lessons`]: guided scenarios with narration;
//! - [`state`]: the one reducer (`UiState` + `UiAction`) and the shareable URL;
//! - `app`, `components` (wasm32 only): Yew components that take props and callbacks.
//!
//! Everything but `app` and `components` compiles natively and is unit-tested there.

pub mod burst;
pub mod explain;
pub mod join;
pub mod lessons;
pub mod live;
pub mod livetree;
pub mod model;
pub mod motion;
pub mod msgtrail;
pub mod requests;
pub mod state;
pub mod tabs_view;
pub mod view;
pub mod viewmodel;

#[cfg(target_arch = "wasm32")]
pub mod app;
#[cfg(target_arch = "wasm32")]
pub mod client;
#[cfg(target_arch = "wasm32")]
mod components;
#[cfg(target_arch = "wasm32")]
mod legend;
#[cfg(target_arch = "wasm32")]
mod livectl;
#[cfg(target_arch = "wasm32")]
mod livepage;
#[cfg(target_arch = "wasm32")]
mod modes;
#[cfg(target_arch = "wasm32")]
mod panels;
#[cfg(target_arch = "wasm32")]
mod recipe_panel;
#[cfg(target_arch = "wasm32")]
mod scenario_panel;
#[cfg(target_arch = "wasm32")]
pub mod tabs;

/// The Tabs mode's peer worker enters here (`worker.js`): the same module as the page.
#[cfg(target_arch = "wasm32")]
pub use zabra_wasm::worker::worker_main;

/// The core crate the UI draws, re-exported so UI code has one import path.
pub use zabra_core as core;

/// Mounts the app on page load (not in wasm-bindgen-test pages, which mount it themselves).
#[cfg(all(target_arch = "wasm32", not(test)))]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    // A Tabs mode worker loads this module too: it has no window and mounts nothing.
    if web_sys::window().is_none() {
        return;
    }
    if let Some(node) = client::requested() {
        return client::mount(node);
    }
    match tabs::requested() {
        Some(q) => tabs::mount(q),
        None => app::mount(),
    }
}
