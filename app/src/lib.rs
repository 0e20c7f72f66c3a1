//! Ooievaar's web application: the Leptos pages, components and server functions (feature
//! `ssr` on the server, `hydrate` in the browser). The rules live below it: `domain` (types and
//! pure rules, also in the browser) and, on the server only, `backend` (the store, the access
//! log, the services), which pages reach only through server functions (`context`).
// The client page's view is one deeply nested type; without `erase_components` (the release
// build) computing its layout needs more than the default 128 levels.
#![recursion_limit = "256"]

pub mod app;
pub mod components;
#[cfg(feature = "ssr")]
pub mod context;
pub mod pages;

pub use app::{shell, App};

/// The browser entry point: hydrates the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
