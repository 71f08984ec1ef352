//! "Sending": how much of what is due has gone. Pages that show it poll their own
//! list (which carries the progress) while something remains, so the counts and
//! the rows move together; without JavaScript the page refreshes itself.

use crate::queue::Progress;
use leptos::prelude::*;
use std::time::Duration;

/// Polls a page's list while its progress says something remains: `tick` moves
/// every second until then. Key the list resource on `tick`, then hand the
/// resource to [`Polling::follow`].
#[derive(Clone, Copy)]
pub struct Polling {
    pub tick: RwSignal<u32>,
    running: RwSignal<bool>,
}

impl Polling {
    pub fn new() -> Self {
        let tick = RwSignal::new(0u32);
        let running = RwSignal::new(false);
        Effect::new(move |_| {
            if let Ok(handle) = set_interval_with_handle(
                move || {
                    if running.get_untracked() {
                        tick.update(|t| *t += 1);
                    }
                },
                Duration::from_millis(1_000),
            ) {
                on_cleanup(move || handle.clear());
            }
        });
        Polling { tick, running }
    }

    /// Keeps polling while the loaded page's progress has messages remaining.
    pub fn follow<T>(
        self,
        list: crate::components::data::Loaded<T>,
        progress: fn(&T) -> Option<Progress>,
    ) where
        T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    {
        self.follow_while(list, move |t| {
            progress(t).is_some_and(|p| p.remaining > 0 && !p.held)
        });
    }

    /// Keeps polling while `more` says the loaded page may still change.
    pub fn follow_while<T>(
        self,
        list: crate::components::data::Loaded<T>,
        more: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) where
        T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    {
        Effect::new(move |_| {
            let remaining =
                list.with(|r| r.as_ref().and_then(|r| r.as_ref().ok()).is_some_and(&more));
            self.running.set(remaining);
        });
    }
}

impl Default for Polling {
    fn default() -> Self {
        Self::new()
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
            })}
        </section>
    }
}
