//! MailMerger: personalised email from your own Gmail account.
//!
//! One crate, built twice by cargo-leptos: natively with `ssr` for the server, and
//! to wasm with `hydrate` for the browser. Server-only code sits behind
//! `#[cfg(feature = "ssr")]`.

// Without `erase_components`, Leptos's full view types of deep pages need more
// than the default limit.
#![recursion_limit = "256"]

pub mod accounts;
pub mod admin;
pub mod app;
pub mod auth;
pub mod campaigns;
pub mod components;
pub mod compose;
pub mod domain;
pub mod error;
pub mod files;
pub mod google;
pub mod history;
pub mod mailmerge;
pub mod merge;
pub mod pages;
pub mod queue;
pub mod replies;
pub mod settings;
pub mod templates;
pub mod unsubscribe;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod delivery;
#[cfg(feature = "ssr")]
pub mod emails;
#[cfg(feature = "fake-google")]
pub mod fake_google;
#[cfg(feature = "ssr")]
pub mod limits;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod redis;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod storage;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Lets the end-to-end tests wait until event handlers are attached.
    let _ = leptos::web_sys::js_sys::Reflect::set(
        &leptos::prelude::window(),
        &"__mm_hydrated".into(),
        &true.into(),
    );
}
