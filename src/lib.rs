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

/// The browser's entry: pages are server-rendered and only their islands (the
/// `#[island]` components: forms that keep what was typed, live previews and
/// regions) hydrate, after this returns (docs/operations.md, "The browser bundle").
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // Without the client-side router, a server function's redirect (after a
    // form in an island succeeds) is a page load, as it is without the wasm.
    let _ = leptos::server_fn::redirect::set_redirect_hook(|location: &str| {
        let _ = leptos::prelude::window().location().assign(location);
    });
    // Lets the end-to-end tests wait until event handlers are attached. Leptos'
    // loader hydrates the islands right after this returns, in microtasks, so a
    // zero timeout runs after the last of them.
    leptos::prelude::set_timeout(
        || {
            let _ = leptos::web_sys::js_sys::Reflect::set(
                &leptos::prelude::window(),
                &"__mm_hydrated".into(),
                &true.into(),
            );
        },
        std::time::Duration::ZERO,
    );
}
