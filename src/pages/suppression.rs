//! The suppression list: addresses that get no more mail from this user
//! (unsubscribed, added or imported). Plain forms that post to the server
//! functions, so everything works before the wasm loads.

use crate::components::form::{Missing, loaded};
use crate::components::paging::PageNumbers;
use crate::components::shell::AppShell;
use crate::unsubscribe::{SuppressionPage, list_suppressions};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// What the last form did, from the query string.
fn outcome(q: &leptos_router::params::ParamsMap) -> Option<String> {
    if let Some(a) = q.get("added") {
        return Some(format!("Added {a}. It will get no more email from you."));
    }
    if let Some(a) = q.get("already")
        && q.get("imported").is_none()
    {
        return Some(format!("{a} is on the list already."));
    }
    if let Some(a) = q.get("removed") {
        return Some(format!("Removed {a}. Your messages can reach it again."));
    }
    let n = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    q.get("imported").map(|_| {
        let mut text = format!(
            "Imported {} new address{}",
            n("imported"),
            if n("imported") == 1 { "" } else { "es" }
        );
        if n("already") > 0 {
            text.push_str(&format!("; {} were on the list already", n("already")));
        }
        text.push('.');
        if n("bad") > 0 {
            let lines = q.get("bad_lines").unwrap_or_default().replace(',', ", ");
            text.push_str(&format!(
                " {} line{} held no valid email address and {} skipped (line {lines}{}).",
                n("bad"),
                if n("bad") == 1 { "" } else { "s" },
                if n("bad") == 1 { "was" } else { "were" },
                if n("bad") > 20 { ", …" } else { "" }
            ));
        }
        text
    })
}

#[component]
pub fn SuppressionPageView() -> impl IntoView {
    let query = use_query_map();
    let key = move || {
        let q = query.read();
        (
            q.get("q").unwrap_or_default(),
            q.get("page")
                .and_then(|p| p.parse::<i64>().ok())
                .unwrap_or(1),
        )
    };
    let list = crate::components::data::load(key, |(search, page)| list_suppressions(search, page));
    let done = move || outcome(&query.read());
    let add_error = move || query.read().get("error");
    let add_value = move || query.read().get("address").unwrap_or_default();
    let import_error = move || query.read().get("import_error");
    view! {
        <AppShell title="Suppression list">
            <p class="lead-text">
                "Addresses here get no more email from you: people who used the unsubscribe link in one of your messages, and any you add. Every message is checked against this list just before it is sent."
            </p>
            {move || done().map(|m| view! { <div class="success" role="status">{m}</div> })}
            <div class="files-grid">
                <section class="panel" aria-labelledby="add-heading">
                    <h2 id="add-heading">"Add an address"</h2>
                    <form method="post" action="/api/suppression/add" class="stack" novalidate>
                        <div class="field" class:invalid=move || add_error().is_some()>
                            <label for="field-address">"Email address"</label>
                            <input id="field-address" name="address" type="email" autocomplete="off" class="mono"
                                value=add_value />
                            <p class="field-error">{add_error}</p>
                        </div>
                        <div class="form-actions"><button type="submit" class="primary">"Add to the list"</button></div>
                    </form>
                </section>
                <section class="panel" aria-labelledby="import-heading">
                    <h2 id="import-heading">"Import"</h2>
                    <form method="post" action="/api/suppression/import" enctype="multipart/form-data" class="stack">
                        <div class="field" class:invalid=move || import_error().is_some()>
                            <label for="field-import">"CSV file of addresses"</label>
                            <input id="field-import" name="file" type="file" accept=".csv,text/csv,text/plain" />
                            <p class="hint">"A column called email (or the first column). Up to 4 MB."</p>
                            <p class="field-error">{import_error}</p>
                        </div>
                        <div class="form-actions"><button type="submit">"Import addresses"</button></div>
                    </form>
                    <p>
                        // rel=external: a real request for the browser, not a client-side route.
                        <a class="button" href="/suppression/export.csv" rel="external" download="suppression-list.csv">"Download the list (CSV)"</a>
                    </p>
                </section>
            </div>
            {loaded(
                list,
                "Loading the list…",
                Missing { not_found: "The list could not be found.", back_href: "/dashboard", back_label: "Back to the dashboard" },
                |page| view! { <List page /> },
            )}
        </AppShell>
    }
}

#[component]
fn List(page: SuppressionPage) -> impl IntoView {
    let base = if page.search.is_empty() {
        "/suppression?".to_string()
    } else {
        format!("/suppression?q={}&", urlencode(&page.search))
    };
    view! {
        <section class="panel" aria-labelledby="list-heading">
            <h2 id="list-heading">
                {if page.search.is_empty() {
                    format!("{} address{}", page.total, if page.total == 1 { "" } else { "es" })
                } else {
                    format!("{} address{} matching “{}”", page.total, if page.total == 1 { "" } else { "es" }, page.search)
                }}
            </h2>
            <form method="get" class="inline-form" role="search">
                <div class="field">
                    <label for="field-q">"Search"</label>
                    <input id="field-q" name="q" type="search" value=page.search.clone() />
                </div>
                <button type="submit">"Search"</button>
            </form>
            {if page.rows.is_empty() {
                view! { <p class="muted">{if page.search.is_empty() { "Nobody is on the list." } else { "No address matches." }}</p> }.into_any()
            } else {
                view! {
                    <p class="hint">"Removing an address lets your messages reach it again. Remove only people who asked to hear from you again."</p>
                    <div class="table-wrap">
                        <table class="list suppression">
                            <thead><tr>
                                <th scope="col">"Address"</th><th scope="col">"Why"</th><th scope="col">"Since"</th><th scope="col">"Actions"</th>
                            </tr></thead>
                            <tbody>
                                {page.rows.iter().map(|r| view! {
                                    <tr>
                                        <td class="mono">{r.address.clone()}</td>
                                        <td data-label="Why">{r.reason.label()}</td>
                                        <td data-label="Since">{r.since.clone()}</td>
                                        <td class="row-actions">
                                            <form method="post" action="/api/suppression/remove" class="inline">
                                                <input type="hidden" name="address" value=r.address.clone() />
                                                <button type="submit" class="small danger"
                                                    aria-label=format!("Remove {} from the list", r.address)>"Remove"</button>
                                            </form>
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            {(page.pages > 1).then(|| view! { <PageNumbers page=page.page pages=page.pages base /> })}
        </section>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
