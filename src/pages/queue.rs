//! The queue: what is waiting to be sent, with bulk delete and reschedule.

use crate::components::form::{FormAlert, PostForm, action_error, field_error};
use crate::components::paging::{Pager, SOONEST_FIRST, page_at, param};
use crate::components::progress::ProgressPanel;
use crate::components::shell::AppShell;
use crate::domain::EmailStatus;
use crate::queue::{QueueAction, QueuePage, UpdateQueue, list_queue};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

#[component]
pub fn QueuePageView() -> impl IntoView {
    let query = use_query_map();
    let at = move || page_at(&query.read());
    let queued = move || param::<u64>(&query.read(), "queued");
    let saved = move || query.read().get("saved").is_some();
    let sending = move || param::<i64>(&query.read(), "sending");
    let list = crate::components::data::load(at, move |at| list_queue(at, sending()));
    view! {
        <AppShell title="Queue">
            {move || {
                queued()
                    .map(|n| {
                        view! {
                            <div class="success" role="status">
                                {if n == 1 { "Queued 1 message.".to_string() } else { format!("Queued {n} messages.") }}
                            </div>
                        }
                    })
            }}
            {move || saved().then(|| view! { <div class="success" role="status">"Saved your changes."</div> })}
            <Transition fallback=|| view! { <p class="muted">"Loading your queue…"</p> }>
                {move || {
                    list.get()
                        .map(|r| match r {
                            Ok(p) => {
                                let progress = p.progress.map(|p| view! { <ProgressPanel p /> });
                                let body = if p.total == 0 {
                                    view! {
                                        <section class="empty">
                                            <p class="empty-purpose">
                                                "Nothing is queued. Messages you queue from Write email or a mail merge wait here until they are sent."
                                            </p>
                                            <a class="button primary" href="/compose">"Write an email"</a>
                                        </section>
                                    }
                                        .into_any()
                                } else {
                                    view! { <QueueTable page=p /> }.into_any()
                                };
                                // One live region while mail goes (components::progress).
                                view! { <div id="queue-live" data-live="">{progress} {body}</div> }.into_any()
                            }
                            Err(e) => view! { <div class="alert" role="alert">{e.to_string()}</div> }.into_any(),
                        })
                }}
            </Transition>
        </AppShell>
    }
}

#[component]
fn QueueTable(page: QueuePage) -> impl IntoView {
    let total = page.total;
    let mut rows_html = String::with_capacity(page.rows.len() * 600);
    for (i, row) in page.rows.iter().enumerate() {
        queue_row(&mut rows_html, i, row);
    }
    let notice = if page.held {
        Some(
            view! {
                <p class="alert">
                    "Your queued mail is held until Gmail is connected. "
                    <a href="/settings">"Connect Gmail in Settings"</a>
                </p>
            }
            .into_any(),
        )
    } else if page.transport == "outbox" {
        Some(view! {
            <p class="muted">
                "No Google client is configured on this server: messages are written to the local outbox as .eml files, not sent to anyone."
            </p>
        }.into_any())
    } else {
        None
    };
    view! {
        {notice}
        <PostForm path={<UpdateQueue as ServerFn>::PATH} class="inline-form send-all">
            <input type="hidden" name="action" value=QueueAction::SendNow.value() />
            <input type="hidden" name="all_matching" value="on" />
            <button type="submit" class="primary">{format!("Send all {total} now")}</button>
        </PostForm>
        <QueueForm total time_zone=page.time_zone.clone()>
            <table class="list">
                <thead>
                    <tr>
                        <th scope="col"><span class="visually-hidden">"Select"</span></th>
                        <th scope="col">"Recipient"</th>
                        <th scope="col">"Subject"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                // The rows are HTML (components::rows); their checkboxes and
                // buttons belong to the form.
                <tbody inner_html=rows_html></tbody>
            </table>
        </QueueForm>
        <Pager paging=page.paging base="/queue?".to_string() words=&SOONEST_FIRST />
    }
}

/// The queue's form: the bulk bar, which counts what is selected and asks
/// before deleting, around the server-rendered table (`children`). An island: a
/// refusal shows in place and keeps the selection.
#[island]
fn QueueForm(total: i64, time_zone: String, children: Children) -> impl IntoView {
    let update = ServerAction::<UpdateQueue>::new();
    let error = action_error(update);
    let ids_error = field_error(error, "ids");
    let when_error = field_error(error, "send_at");
    let selected = RwSignal::new(0usize);
    let all = RwSignal::new(false);
    view! {
        <ActionForm action=update attr:class="queue-form" attr:novalidate=true>
            <div class="bulk-bar" role="group" aria-label="Selected messages">
                <p class="count">
                    {move || {
                        if all.get() {
                            format!("All {total} queued messages selected")
                        } else if selected.get() > 0 {
                            format!("{} selected of {total} queued", selected.get())
                        } else if total == 1 {
                            "1 queued message".to_string()
                        } else {
                            format!("{total} queued messages")
                        }
                    }}
                </p>
                <label class="choice">
                    <input type="checkbox" name="all_matching" value="on"
                        on:change=move |ev| all.set(event_target_checked(&ev)) />
                    {format!(" Select all {total} queued messages, on every page")}
                </label>
                <FormAlert error />
                <p class="field-error">{move || ids_error.get()}</p>
                <div class="bulk-actions">
                    <button type="submit" name="action" value=QueueAction::SendNow.value()>
                        "Send selected now"
                    </button>
                    <button type="submit" name="action" value=QueueAction::Delete.value() class="danger" on:click=move |ev| {
                        let n = if all.get_untracked() { total as usize } else { selected.get_untracked() };
                        let message = if n == 1 {
                            "Delete 1 queued message? It will not be sent.".to_string()
                        } else {
                            format!("Delete {n} queued messages? They will not be sent.")
                        };
                        if n > 0 && !window().confirm_with_message(&message).unwrap_or(false) {
                            ev.prevent_default();
                        }
                    }>
                        "Delete selected"
                    </button>
                    <div class="field inline">
                        <label for="field-send_at">{format!("New time ({time_zone})")}</label>
                        <input id="field-send_at" name="send_at" type="datetime-local" />
                        <p class="field-error">{move || when_error.get()}</p>
                    </div>
                    <button type="submit" name="action" value=QueueAction::Reschedule.value()>
                        "Reschedule selected"
                    </button>
                </div>
            </div>
            // The rows' checkboxes' changes bubble up to here.
            <div class="table-wrap" on:change=move |ev| {
                selected.update(|n| if event_target_checked(&ev) { *n += 1 } else { *n = n.saturating_sub(1) })
            }>
                {children()}
            </div>
        </ActionForm>
    }
}

/// One row of the queue, as HTML (components::rows): its checkbox and button
/// belong to the form around the table.
fn queue_row(out: &mut String, i: usize, row: &crate::queue::QueuedEmailView) {
    use crate::components::rows::{MessageCells, attr, submit, text};
    MessageCells {
        i,
        selectable: true,
        id: &row.id,
        to: &row.to,
        subject: &row.subject,
        attachments: &row.attachments,
        when: &row.when,
    }
    .write(out);
    out.push_str("<td>");
    match (row.status, &row.retry_reason) {
        (EmailStatus::Sending, _) => out.push_str(r#"<span class="status sending">Sending</span>"#),
        (_, Some(reason)) => {
            out.push_str(r#"<span class="status retrying">Retrying</span><span class="hint">"#);
            text(out, reason);
            out.push_str("</span>");
        }
        _ => out.push_str(r#"<span class="status queued">Queued</span>"#),
    }
    out.push_str(r#"</td><td class="row-actions">"#);
    if row.status == EmailStatus::Queued {
        submit(
            out,
            &QueueAction::SendOne(row.id).value(),
            &format!("Send the message to {} now", row.to),
            "Send now",
        );
    }
    if row.editable {
        out.push_str(r#"<a href="/compose?edit="#);
        out.push_str(&row.id.to_string());
        out.push_str(r#"" aria-label=""#);
        attr(out, &format!("Edit the message to {}", row.to));
        out.push_str(r#"">Edit</a>"#);
    }
    out.push_str("</td></tr>");
}
