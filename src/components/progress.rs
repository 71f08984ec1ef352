//! "Sending": how much of what is due has gone, and pages that follow it.
//!
//! A page that changes while the user watches it (the queue and Sent while mail
//! goes, a running campaign) marks what changes as a live region: an element
//! with an `id` and `data-live`. While it shows a [`Live`], the browser fetches
//! the page's own address again and swaps in the region's new HTML, so the counts
//! and the rows move together, then hydrates the islands in it; when the fetched
//! page no longer carries a `Live` (nothing remains), it stops. A region that
//! holds the focus (the user is typing in it) waits for the next round. Without
//! JavaScript the page's `<noscript>` refresh does the same
//! (docs/operations.md, "The browser bundle").

use crate::queue::Progress;
use leptos::prelude::*;

/// Keeps the page's live regions fresh, every `every_ms` milliseconds.
#[island]
pub fn Live(every_ms: u32) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    client::follow(every_ms);
    #[cfg(not(feature = "hydrate"))]
    let _ = every_ms;
    view! { <span data-live-running="" hidden=true></span> }
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::Cell;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{DomParser, Element, Response, SupportedType};

    thread_local! {
        /// One loop per page: a region swapped in brings its `Live` again.
        static FOLLOWING: Cell<bool> = const { Cell::new(false) };
    }

    pub fn follow(every_ms: u32) {
        if FOLLOWING.with(|f| f.replace(true)) {
            return;
        }
        leptos::task::spawn_local(async move {
            loop {
                sleep(every_ms).await;
                // A failed fetch (the server restarting, the network gone) is
                // tried again; a page that is finished, or no longer the user's
                // (logged out), stops it.
                if let Ok(false) = refresh().await {
                    break;
                }
            }
            FOLLOWING.with(|f| f.set(false));
        });
    }

    async fn sleep(ms: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            let _ = leptos::prelude::window()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
        });
        let _ = JsFuture::from(promise).await;
    }

    /// Fetches the page again and swaps in its regions; whether to go on.
    async fn refresh() -> Result<bool, JsValue> {
        let window = leptos::prelude::window();
        let href = window.location().href()?;
        let response: Response = JsFuture::from(window.fetch_with_str(&href))
            .await?
            .dyn_into()?;
        if !response.ok() || response.redirected() {
            return Ok(false);
        }
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        let fresh = DomParser::new()?.parse_from_string(&html, SupportedType::TextHtml)?;
        let document = leptos::prelude::document();
        let focused = document.active_element();
        let regions = document.query_selector_all("[data-live]")?;
        let mut waiting = false;
        for i in 0..regions.length() {
            let Some(region) = regions.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
                continue;
            };
            let Some(new) = fresh.get_element_by_id(&region.id()) else {
                continue;
            };
            let inner = new.inner_html();
            if region.inner_html() == inner {
                continue;
            }
            if focused.as_ref().is_some_and(|f| region.contains(Some(f))) {
                waiting = true;
                continue;
            }
            region.set_inner_html(&inner);
            hydrate_islands_in(&region)?;
        }
        Ok(waiting || fresh.query_selector("[data-live-running]")?.is_some())
    }

    /// Hydrates the islands of HTML just swapped in, as Leptos' loader does
    /// for the page (its `__hydrateIsland`).
    fn hydrate_islands_in(region: &Element) -> Result<(), JsValue> {
        let hydrate = js_sys::Reflect::get(&leptos::prelude::window(), &"__hydrateIsland".into())?;
        let Some(hydrate) = hydrate.dyn_ref::<js_sys::Function>() else {
            return Ok(());
        };
        let islands = region.query_selector_all("leptos-island")?;
        for i in 0..islands.length() {
            let Some(island) = islands.item(i) else {
                continue;
            };
            let Some(component) = island
                .dyn_ref::<Element>()
                .and_then(|e| e.get_attribute("data-component"))
            else {
                continue;
            };
            hydrate.call2(&JsValue::NULL, &island, &component.into())?;
        }
        Ok(())
    }
}

#[component]
pub fn ProgressPanel(p: Progress) -> impl IntoView {
    let done = p.sent + p.failed + p.uncertain;
    let total = done + p.remaining;
    let heading = if p.remaining == 0 {
        "Sending finished"
    } else if p.held {
        "Sending is on hold"
    } else {
        "Sending…"
    };
    view! {
        <section class="progress-panel" aria-labelledby="progress-heading">
            <h2 id="progress-heading">{heading}</h2>
            <progress max=total.max(1) value=done aria-label="Messages sent so far"></progress>
            <p class="progress-counts" role="status" aria-live="polite">
                <span>{format!("{} sent", p.sent)}</span>
                " · "
                <span>{format!("{} remaining", p.remaining)}</span>
                " · "
                <span>{format!("{} failed", p.failed)}</span>
                {(p.uncertain > 0).then(|| view! { " · " <span>{format!("{} need a decision", p.uncertain)}</span> })}
            </p>
            {(p.remaining == 0 && done > 0).then(|| view! {
                <p><a href="/sent">"See what was sent"</a></p>
            })}
            {p.held.then(|| view! {
                <p class="alert">
                    "Your mail is held until Gmail is connected. "
                    <a href="/settings">"Connect Gmail in Settings"</a>
                </p>
            })}
            // As inner HTML: with JavaScript on, a browser reads <noscript> as text,
            // and hydration must not expect an element there.
            {(p.remaining > 0 && !p.held).then(|| view! {
                <noscript inner_html=r#"<meta http-equiv="refresh" content="2">"#></noscript>
                <Live every_ms=1000 />
            })}
        </section>
    }
}
