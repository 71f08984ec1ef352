//! Sent: every message that went out, failed, or may have gone out, with what the
//! user can do about the last two.

use crate::components::form::{FormAlert, field_error, posted_error};
use crate::components::paging::{NEWEST_FIRST, Pager, page_at};
use crate::components::progress::ProgressPanel;
use crate::components::shell::AppShell;
use crate::domain::EmailStatus;
use crate::history::{
    Decision, FILTERS, ResolveSent, SentAction, SentEmailView, SentPage, filter_value, list_sent,
};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SentPageView() -> impl IntoView {
    let query = use_query_map();
    let filter = move || query.read().get("filter").unwrap_or_else(|| "all".into());
    let at = move || page_at(&query.read());
    let sending = move || {
        query
            .read()
            .get("sending")
            .map(|s| s.parse::<i64>().unwrap_or(0))
    };
    let notice = move || {
        let q = query.read();
        q.get("requeued")
            .map(|n| format!("Put {n} back in the queue; they will be sent shortly."))
            .or_else(|| q.get("marked").map(|n| format!("Marked {n} as sent.")))
    };
    // From "Send now": count from a little before the click.
    let since = move || sending().map(|s| if s > 0 { s } else { now_unix() - 120 });
    let list = crate::components::data::load(
        move || (filter(), at()),
        move |(filter, at)| list_sent(filter, at, since()),
    );
    view! {
        <AppShell title="Sent">
            {move || notice().map(|n| view! { <div class="success" role="status">{n}</div> })}
            <Transition fallback=|| view! { <p class="muted">"Loading what you sent…"</p> }>
                {move || list.get().map(|r| match r {
                    // One live region while mail goes (components::progress).
                    Ok(p) => view! {
                        <div id="sent-live" data-live="">
                            {p.progress.map(|p| view! { <ProgressPanel p /> })}
                            <SentList page=p />
                        </div>
                    }.into_any(),
                    Err(e) => view! { <div class="alert" role="alert">{e.to_string()}</div> }.into_any(),
                })}
            </Transition>
        </AppShell>
    }
}

pub fn now_unix() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (js_sys_now() / 1000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    leptos::web_sys::js_sys::Date::now()
}

#[component]
fn SentList(page: SentPage) -> impl IntoView {
    // A plain post that comes back to this page; a refusal comes back in the
    // address.
    let error = Signal::stored(posted_error(<ResolveSent as ServerFn>::PATH));
    let ids_error = field_error(error, "ids");
    let counts = page.counts;
    let current = page.filter;
    let tabs = FILTERS
        .iter()
        .map(|&(f, label)| {
            let n = counts.of(f);
            let here = (current == f).then_some("page");
            view! { <li><a href=format!("/sent?filter={}", filter_value(f)) aria-current=here>{format!("{label} ({n})")}</a></li> }
        })
        .collect_view();
    let filter = filter_value(page.filter);
    let empty = page.rows.is_empty();
    let mut rows_html = String::with_capacity(page.rows.len() * 600);
    for (i, row) in page.rows.iter().enumerate() {
        sent_row(&mut rows_html, i, row);
    }
    let show_retry = matches!(page.filter, None | Some(EmailStatus::Failed)) && counts.failed > 0;
    let show_uncertain =
        matches!(page.filter, None | Some(EmailStatus::Uncertain)) && counts.uncertain > 0;
    view! {
        <nav class="tabs" aria-label="Filter"><ul>{tabs}</ul></nav>
        {(counts.uncertain > 0).then(|| view! {
            <p class="alert">
                {format!("{} message{} may have been sent: the server stopped or lost contact while sending. Check your Gmail Sent folder, then choose \"Send again\" or \"Mark as sent\".",
                    counts.uncertain, if counts.uncertain == 1 { "" } else { "s" })}
            </p>
        })}
        {if empty {
            view! {
                <section class="empty">
                    <p class="empty-purpose">"Nothing here yet. Messages appear here once they have been sent, or if they fail."</p>
                    <a class="button" href="/queue">"Go to the queue"</a>
                </section>
            }.into_any()
        } else {
            view! {
                <form method="post" action={<ResolveSent as ServerFn>::PATH} class="queue-form" novalidate=true>
                    <input type="hidden" name="filter" value=filter />
                    <FormAlert error />
                    <p class="field-error">{move || ids_error.get()}</p>
                    {(show_retry || show_uncertain).then(|| view! {
                        <div class="bulk-actions" role="group" aria-label="Selected messages">
                            {show_retry.then(|| view! { <button type="submit" name="action" value=SentAction::selected(Decision::Retry).value()>"Retry selected"</button> })}
                            {show_uncertain.then(|| view! {
                                <button type="submit" name="action" value=SentAction::selected(Decision::SendAgain).value()>"Send selected again"</button>
                                <button type="submit" name="action" value=SentAction::selected(Decision::MarkSent).value()>"Mark selected as sent"</button>
                            })}
                        </div>
                    })}
                    <div class="table-wrap">
                        <table class="list">
                            <thead><tr>
                                <th scope="col"><span class="visually-hidden">"Select"</span></th>
                                <th scope="col">"Recipient"</th>
                                <th scope="col">"Subject"</th>
                                <th scope="col">"When"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Details"</th>
                            </tr></thead>
                            <tbody inner_html=rows_html></tbody>
                        </table>
                    </div>
                </form>
            }.into_any()
        }}
        <Pager paging=page.paging base=format!("/sent?filter={}&", filter_value(page.filter)) words=&NEWEST_FIRST />
    }
}

/// One row of Sent, as HTML (components::rows): its checkbox and buttons
/// belong to the form around the table.
fn sent_row(out: &mut String, i: usize, row: &SentEmailView) {
    use crate::components::rows::{MessageCells, attr, submit, text};
    MessageCells {
        i,
        selectable: !matches!(row.status, EmailStatus::Sent | EmailStatus::Suppressed),
        id: &row.id,
        to: &row.to,
        subject: &row.subject,
        attachments: &row.attachments,
        when: &row.when,
    }
    .write(out);
    out.push_str(r#"<td><span class="status "#);
    out.push_str(row.status.as_str());
    out.push_str(r#"">"#);
    text(out, row.status.label());
    out.push_str(r#"</span></td><td class="details">"#);
    let error = row.error.as_deref().unwrap_or_default();
    let to = &row.to;
    match row.status {
        EmailStatus::Sent => match (&row.gmail_link, &row.gmail_message_id) {
            (Some(link), Some(id)) => {
                out.push_str(r#"<span class="mono">"#);
                text(out, id);
                out.push_str(r#"</span> <a href=""#);
                attr(out, link);
                out.push_str(r#"" target="_blank" rel="noopener noreferrer">Open in Gmail</a>"#);
                // How a message that was uncertain was found to have gone.
                if !error.is_empty() {
                    out.push_str(r#"<p class="muted">"#);
                    text(out, error);
                    out.push_str("</p>");
                }
            }
            _ => {
                out.push_str(r#"<span class="muted">"#);
                text(out, &row.via);
                out.push_str("</span>");
            }
        },
        EmailStatus::Suppressed => {
            out.push_str("<span>");
            text(out, error);
            out.push_str(r#"</span> <a href="/suppression">Suppression list</a>"#);
        }
        EmailStatus::Failed => {
            out.push_str("<span>");
            text(out, error);
            out.push_str("</span> ");
            submit(
                out,
                &SentAction::one(Decision::Retry, row.id).value(),
                &format!("Retry the message to {to}"),
                "Retry",
            );
        }
        _ => {
            out.push_str("<span>");
            text(out, error);
            out.push_str("</span> ");
            submit(
                out,
                &SentAction::one(Decision::SendAgain, row.id).value(),
                &format!("Send the message to {to} again"),
                "Send again",
            );
            out.push(' ');
            submit(
                out,
                &SentAction::one(Decision::MarkSent, row.id).value(),
                &format!("Mark the message to {to} as sent"),
                "Mark as sent",
            );
        }
    }
    if !row.dropped.is_empty() {
        out.push_str(r#"<span class="dropped">"#);
        text(
            out,
            &format!(
                "Not sent to {}: on your suppression list.",
                row.dropped.join(", ")
            ),
        );
        out.push_str("</span>");
    }
    out.push_str("</td></tr>");
}
