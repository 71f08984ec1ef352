//! Query parameters read as values, and the links between the pages of the long
//! lists (docs/lists.md, "Pages").

use crate::domain::{PageAt, Paging};
use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use std::str::FromStr;

/// A query (or path) parameter read as `T`; absent or unreadable is `None`.
pub fn param<T: FromStr>(map: &ParamsMap, key: &str) -> Option<T> {
    map.get(key)?.parse().ok()
}

/// The page of a list an address asks for.
pub fn page_at(map: &ParamsMap) -> PageAt {
    PageAt::from_query(
        map.get_str("after"),
        map.get_str("before"),
        map.get_str("at"),
    )
}

/// What a list calls its ends and its ways: Sent goes from the newest to the
/// oldest, the queue from the soonest due to the latest.
pub struct PagerWords {
    pub first: &'static str,
    pub previous: &'static str,
    pub next: &'static str,
    pub last: &'static str,
}

pub const NEWEST_FIRST: PagerWords = PagerWords {
    first: "Newest",
    previous: "Newer",
    next: "Older",
    last: "Oldest",
};

pub const SOONEST_FIRST: PagerWords = PagerWords {
    first: "Soonest",
    previous: "Sooner",
    next: "Later",
    last: "Latest",
};

/// Links to the rows before and after this page, and to both ends. `base` is
/// the list's address with its other parameters, ending in `?` or `&`, such as
/// `/queue?` or `/sent?filter=failed&`.
#[component]
pub fn Pager(paging: Paging, base: String, words: &'static PagerWords) -> impl IntoView {
    let link = |at: PageAt| format!("{base}{}", at.query());
    let start = base.trim_end_matches(['?', '&']).to_string();
    view! {
        <nav class="pager" aria-label="Pages">
            {paging.before.map(|k| view! {
                <a href=start.clone()>{words.first}</a>
                <a href=link(PageAt::Before(k))>{words.previous}</a>
            })}
            {paging.after.map(|k| view! {
                <a href=link(PageAt::After(k))>{words.next}</a>
                <a href=link(PageAt::End)>{words.last}</a>
            })}
        </nav>
    }
}

/// "Previous page / Page 2 of 7 / Next page", for the short lists that count
/// their pages (the suppression list, searched by any part of an address).
/// `base` is the list's address up to its page parameter.
#[component]
pub fn PageNumbers(page: i64, pages: i64, base: String) -> impl IntoView {
    let previous = format!("{base}page={}", page - 1);
    let next = format!("{base}page={}", page + 1);
    view! {
        <nav class="pager" aria-label="Pages">
            {(page > 1).then(|| view! { <a href=previous>"Previous page"</a> })}
            <span>{format!("Page {page} of {pages}")}</span>
            {(page < pages).then(|| view! { <a href=next>"Next page"</a> })}
        </nav>
    }
}
