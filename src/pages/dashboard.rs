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
                        <a href="/templates/new"><strong>"Write a template."</strong></a>
                        " A subject and body with " <code>"{{ first_name }}"</code>
                        "-style placeholders, reused for every recipient."
                    </li>
                    <li>
                        <strong>"Merge it."</strong>
                        " With one recipient on " <a href="/compose">"Write email"</a> ", or with a CSV of hundreds on "
                        <a href="/merge">"Mail merge"</a> ", and preview exactly what each person gets."
                    </li>
                    <li>
                        <strong>"Queue it."</strong>
                        " Now or at a time you choose. " <a href="/queue">"Your queue"</a>
                        " shows every message waiting to go."
                    </li>
                </ol>
                <p class="muted">
                    "Sending through your Gmail account arrives in the next release of MailMerger; until then your mail waits safely in the queue."
                </p>
            </section>
        </AppShell>
    }
}
