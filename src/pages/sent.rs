//! Sent: every message that went out, failed, or may have gone out, with what the
//! user can do about the last two.

use crate::components::attach::Attached;
use crate::components::form::{FormAlert, action_error, field_error};
use crate::components::paging::{Pager, param};
use crate::components::progress::{Polling, ProgressPanel};
use crate::components::shell::AppShell;
use crate::domain::EmailStatus;
use crate::history::{
    Decision, FILTERS, ResolveSent, SentAction, SentEmailView, SentPage, filter_value, list_sent,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn SentPageView() -> impl IntoView {
    let query = use_query_map();
    let filter = move || query.read().get("filter").unwrap_or_else(|| "all".into());
    let page = move || param::<i64>(&query.read(), "page").unwrap_or(1);
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
    let resolve = ServerAction::<ResolveSent>::new();
    let polling = Polling::new();
    let list = crate::components::data::load(
        move || {
            (
                filter(),
                page(),
                resolve.version().get(),
                polling.tick.get(),
            )
        },
        move |(filter, page, _, _)| list_sent(filter, page, since()),
    );
    polling.follow(list, |p| p.progress);
    view! {
        <AppShell title="Sent">
            {move || notice().map(|n| view! { <div class="success" role="status">{n}</div> })}
            <Transition fallback=|| view! { <p class="muted">"Loading what you sent…"</p> }>
                {move || list.get().map(|r| match r {
                    Ok(p) => view! {
                        {p.progress.map(|p| view! { <ProgressPanel p /> })}
                        <SentList page=p resolve />
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
fn SentList(page: SentPage, resolve: ServerAction<ResolveSent>) -> impl IntoView {
    let error = action_error(resolve);
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
                <ActionForm action=resolve attr:class="queue-form" attr:novalidate=true>
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
                            <tbody>
                                {page.rows.into_iter().enumerate().map(|(i, row)| view! { <SentRow i row /> }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </ActionForm>
            }.into_any()
        }}
        <Pager page=page.page pages=page.pages base=format!("/sent?filter={}&", filter_value(page.filter)) />
    }
}

#[component]
fn SentRow(i: usize, row: SentEmailView) -> impl IntoView {
    let select_id = format!("select-{}", row.id);
    let label = row.status.label();
    let class = row.status.as_str();
    let actionable = !matches!(row.status, EmailStatus::Sent | EmailStatus::Suppressed);
    let dropped = (!row.dropped.is_empty()).then(|| {
        view! {
            <span class="dropped">
                {format!("Not sent to {}: on your suppression list.", row.dropped.join(", "))}
            </span>
        }
    });
    let to = row.to.clone();
    let details = match row.status {
        EmailStatus::Sent => match (row.gmail_link.clone(), row.gmail_message_id.clone()) {
            (Some(link), Some(id)) => view! {
                <span class="mono">{id}</span> " "
                <a href=link target="_blank" rel="noopener noreferrer">"Open in Gmail"</a>
                // How a message that was uncertain was found to have gone.
                {row.error.clone().map(|e| view! { <p class="muted">{e}</p> })}
            }
            .into_any(),
            _ => view! { <span class="muted">{row.via.clone()}</span> }.into_any(),
        },
        EmailStatus::Suppressed => view! {
            <span>{row.error.clone().unwrap_or_default()}</span> " "
            <a href="/suppression">"Suppression list"</a>
        }
        .into_any(),
        EmailStatus::Failed => view! {
            <span>{row.error.clone().unwrap_or_default()}</span> " "
            <button type="submit" class="small" name="action" value=SentAction::one(Decision::Retry, row.id).value()
                aria-label=format!("Retry the message to {to}")>"Retry"</button>
        }
        .into_any(),
        _ => view! {
            <span>{row.error.clone().unwrap_or_default()}</span> " "
            <button type="submit" class="small" name="action" value=SentAction::one(Decision::SendAgain, row.id).value()
                aria-label=format!("Send the message to {to} again")>"Send again"</button>
            " "
            <button type="submit" class="small" name="action" value=SentAction::one(Decision::MarkSent, row.id).value()
                aria-label=format!("Mark the message to {to} as sent")>"Mark as sent"</button>
        }
        .into_any(),
    };
    view! {
        <tr>
            <td>
                {actionable.then(|| view! {
                    <input type="checkbox" id=select_id.clone() name=format!("ids[{i}]") value=row.id.to_string() />
                    <label for=select_id.clone() class="visually-hidden">{format!("Select the message to {}", row.to)}</label>
                })}
            </td>
            <td class="mono">{row.to.clone()}</td>
            <td>{row.subject.clone()}<Attached names=row.attachments.clone() /></td>
            <td class="when">{row.when}</td>
            <td><span class=format!("status {class}")>{label}</span></td>
            <td class="details">{details}{dropped}</td>
        </tr>
    }
}
