//! Query parameters read as values, and the "Previous page / Next page" bar of
//! the long lists.

use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use std::str::FromStr;

/// A query (or path) parameter read as `T`; absent or unreadable is `None`.
pub fn param<T: FromStr>(map: &ParamsMap, key: &str) -> Option<T> {
    map.get(key)?.parse().ok()
}

/// Links to the pages before and after `page`. `base` is the list's address up
/// to its page parameter, such as `/queue?` or `/sent?filter=failed&`.
#[component]
pub fn Pager(page: i64, pages: i64, base: String) -> impl IntoView {
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
