//! Pages whose features are still being built. Each says honestly what it will be
//! for, so the navigation never leads to a dead end.

use crate::components::shell::AppShell;
use leptos::prelude::*;

#[component]
fn Upcoming(title: &'static str, purpose: &'static str) -> impl IntoView {
    view! {
        <AppShell title>
            <section class="empty">
                <p class="empty-purpose">{purpose}</p>
                <p class="muted">
                    "This part of MailMerger is not available yet. Nothing here sends or changes anything."
                </p>
                <a class="button" href="/dashboard">
                    "Back to the dashboard"
                </a>
            </section>
        </AppShell>
    }
}

#[component]
pub fn Files() -> impl IntoView {
    view! {
        <Upcoming
            title="Files"
            purpose="Keep your resume, cover letter and other attachments here, and attach them to any email."
        />
    }
}
