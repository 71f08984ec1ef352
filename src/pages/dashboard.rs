use crate::auth::current_user;
use crate::components::shell::AppShell;
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    view! {
        <AppShell title="Dashboard">
            <Suspense fallback=|| view! { <p class="greeting">"Welcome."</p> }>
                {move || {
                    user.get()
                        .and_then(Result::ok)
                        .flatten()
                        .map(|u| {
                            let first = u.name.split_whitespace().next().unwrap_or("").to_string();
                            view! { <p class="greeting">"Welcome, " {first} "."</p> }
                        })
                }}
            </Suspense>
            <section class="panel">
                <h2>"Getting started"</h2>
                <ol class="steps">
                    <li>
                        <strong>"Write a template."</strong>
                        " A subject and body with " <code>"{{ first_name }}"</code>
                        "-style placeholders, reused for every recipient."
                    </li>
                    <li>
                        <strong>"Merge it."</strong>
                        " With one recipient on Write email, or with a CSV of hundreds on Mail merge, and preview exactly what each person gets."
                    </li>
                    <li>
                        <strong>"Queue it."</strong>
                        " Now or at a time you choose. Your queue and your sent mail show what happened to every message."
                    </li>
                </ol>
                <p class="muted">
                    "Templates, merging and sending are being built and arrive in the next releases of MailMerger. Your account is ready for them."
                </p>
            </section>
        </AppShell>
    }
}
