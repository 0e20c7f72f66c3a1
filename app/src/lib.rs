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

/// The browser entry point, called by the islands loader of [`shell`] before it hydrates the
/// page's `#[island]` components. The page itself is not hydrated (islands mode): it stays the
/// server's HTML, its forms plain forms, so `App` and the pages are not in the wasm at all.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // An observable "the bundle has started" for the browser tests (the CSP let it load and
    // compile) and for end2end/perf/slow-first-visit.mjs (when the islands could run).
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
