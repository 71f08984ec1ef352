use crate::auth::current_user;
use crate::campaigns::{CampaignStatus, list_campaigns};
use crate::components::shell::AppShell;
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    let user = crate::components::data::load(|| (), |_| current_user());
    let campaigns = crate::components::data::load(|| (), |_| list_campaigns());
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
                        <a href="/settings"><strong>"Connect Gmail."</strong></a>
                        " MailMerger sends from your own address, and asks only for permission to send."
                    </li>
                    <li>
                        <a href="/templates/new"><strong>"Write a template."</strong></a>
                        " A subject and body with " <code>"{{ first_name }}"</code>
                        "-style placeholders, reused for every recipient."
                    </li>
                    <li>
                        <a href="/files"><strong>"Add your resume."</strong></a>
                        " And a cover letter or other files, to attach to any message, or one per row of a merge."
                    </li>
                    <li>
                        <strong>"Merge it."</strong>
                        " With one recipient on " <a href="/compose">"Write email"</a> ", or with a CSV of hundreds on "
                        <a href="/merge">"Mail merge"</a> ", and preview exactly what each person gets."
                    </li>
                    <li>
                        <strong>"Send it."</strong>
                        " Now or at a time you choose, paced within Gmail's limits. " <a href="/queue">"Your queue"</a>
                        " shows what is waiting; " <a href="/sent">"Sent"</a> " shows what went, and anything that needs you."
                    </li>
                    <li>
                        <strong>"Follow up."</strong>
                        " A " <a href="/campaigns">"campaign"</a>
                        " sends follow-ups in the same thread some days later, only to people who have not replied."
                    </li>
                </ol>
            </section>
            <Transition fallback=|| ()>
                {move || {
                    campaigns
                        .get()
                        .and_then(Result::ok)
                        .map(|list| {
                            let active: Vec<_> = list
                                .into_iter()
                                .filter(|c| matches!(c.status, CampaignStatus::Running | CampaignStatus::Paused | CampaignStatus::Draft))
                                .take(5)
                                .collect();
                            (!active.is_empty()).then(|| view! {
                                <section class="panel" aria-labelledby="campaigns-heading">
                                    <h2 id="campaigns-heading">"Campaigns"</h2>
                                    <ul class="plain-list">
                                        {active.into_iter().map(|c| view! {
                                            <li>
                                                <a href=format!("/campaigns/{}", c.id)>{c.name}</a>
                                                " "<span class=format!("status {}", c.status.as_str())>{c.status.label()}</span>
                                                <span class="muted">{format!(" · {} recipients · {} of {} steps sent · {} replied", c.recipients, c.steps_sent, c.steps_total, c.replied)}</span>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </section>
                            })
                        })
                }}
            </Transition>
        </AppShell>
    }
}
