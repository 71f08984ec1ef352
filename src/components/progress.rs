//! "Sending": how much of what is due has gone, updated by itself while it runs
//! (polling a server function; without JavaScript the page refreshes itself).

use crate::queue::sent::{Progress, delivery_progress};
use leptos::prelude::*;
use std::time::Duration;

#[component]
pub fn SendingProgress(since: i64) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let progress = Resource::new(move || tick.get(), move |_| delivery_progress(since));
    let running = Memo::new(move |_| {
        progress
            .get()
            .and_then(Result::ok)
            .is_some_and(|p| p.remaining > 0)
    });
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
    view! {
        <Transition fallback=|| ()>
            {move || progress.get().map(|p| match p {
                Ok(p) => view! { <ProgressPanel p /> }.into_any(),
                Err(e) => view! { <div class="alert" role="alert">{e.to_string()}</div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProgressPanel(p: Progress) -> impl IntoView {
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
            {p.held.then(|| view! {
                <p class="alert">
                    "Your mail is held until Gmail is connected. "
                    <a href="/settings">"Connect Gmail in Settings"</a>
                </p>
            })}
            {(p.remaining > 0 && !p.held).then(|| view! {
                <noscript><meta http-equiv="refresh" content="3" /></noscript>
            })}
        </section>
    }
}
