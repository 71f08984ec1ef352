//! Admin: every user of this server, with what they hold and send, and
//! Suspend / Unsuspend (plain forms to the server function).

use crate::admin::{AdminUser, AdminView, admin_users};
use crate::components::form::{Missing, loaded};
use crate::components::shell::AppShell;
use crate::files::format_size;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AdminPage() -> impl IntoView {
    let query = use_query_map();
    let done = move || match query.read().get("done").as_deref() {
        Some("suspended") => {
            Some("Suspended: they are logged out, cannot log in, and their mail waits.")
        }
        Some("unsuspended") => {
            Some("Unsuspended: they can log in again, and their held mail goes.")
        }
        _ => None,
    };
    let view = crate::components::data::load(|| (), |_| admin_users());
    view! {
        <AppShell title="Admin">
            {move || done().map(|m| view! { <div class="success" role="status">{m}</div> })}
            {loaded(
                view,
                "Loading the users…",
                Missing { not_found: "This page is for this server's administrators.", back_href: "/dashboard", back_label: "Back to the dashboard" },
                |v: AdminView| view! {
                    <p class="muted">{format!("{} users. Sign-up is {}.", v.users.len(), v.signup)}</p>
                    {v.more.then(|| view! { <p class="muted">"Only the first 500 users (the oldest) are listed."</p> })}
                    <div class="table-wrap">
                        <table class="list">
                            <thead><tr>
                                <th scope="col">"User"</th>
                                <th scope="col">"Joined"</th>
                                <th scope="col">"Templates"</th>
                                <th scope="col">"Queued"</th>
                                <th scope="col">"Sent today"</th>
                                <th scope="col">"Files"</th>
                                <th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {v.users.into_iter().map(|u| view! { <UserRow u /> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                },
            )}
        </AppShell>
    }
}

#[component]
fn UserRow(u: AdminUser) -> impl IntoView {
    let (button, suspend) = if u.suspended {
        ("Unsuspend", "false")
    } else {
        ("Suspend", "true")
    };
    let label = format!("{button} {}", u.email);
    view! {
        <tr>
            <td class="name">
                <strong>{u.name.clone()}</strong>
                <br />
                <span class="mono">{u.email.clone()}</span>
                {(!u.verified).then(|| view! { " " <span class="badge">"not verified"</span> })}
                {u.suspended.then(|| view! { " " <span class="badge">"suspended"</span> })}
            </td>
            <td data-label="Joined">{u.created.clone()}</td>
            <td data-label="Templates">{u.templates}</td>
            <td data-label="Queued">{u.queued}</td>
            <td data-label="Sent today">{u.sent_today}</td>
            <td data-label="Files">{format_size(u.files_bytes.max(0) as u64)}</td>
            <td class="row-actions">
                {if u.is_you {
                    view! { <span class="muted">"You"</span> }.into_any()
                } else {
                    view! {
                        <form method="post" action="/api/admin/suspend" class="inline-form">
                            <input type="hidden" name="id" value=u.id.clone() />
                            <input type="hidden" name="suspend" value=suspend />
                            <button type="submit" class=if u.suspended { "" } else { "danger" } aria-label=label>{button}</button>
                        </form>
                    }.into_any()
                }}
            </td>
        </tr>
    }
}
