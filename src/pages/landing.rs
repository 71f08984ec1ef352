use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Landing() -> impl IntoView {
    view! {
        <Title text="Personal email at scale, from your own Gmail" />
        <main class="landing">
            <section class="hero">
                <p class="brand">"MailMerger"</p>
                <h1>"Personal email to hundreds, sent from your own Gmail."</h1>
                <p class="lead">
                    "Write a template with " <code>"{{ placeholders }}"</code>
                    ", merge it with one recipient or a whole CSV, attach your resume, and queue it. "
                    "MailMerger sends it on schedule and within Gmail's limits, and never loses a message or sends one twice without telling you."
                </p>
                <p class="actions">
                    <a class="button primary" href="/signup">
                        "Sign up"
                    </a>
                    <a class="button" href="/login">
                        "Log in"
                    </a>
                </p>
            </section>
        </main>
    }
}
