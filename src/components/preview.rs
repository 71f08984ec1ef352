//! Parts of the message preview shared by Write email and the merge.

use leptos::prelude::*;

/// The one-click unsubscribe headers a message carries, as the preview's
/// header lines (nothing when it carries none).
#[component]
pub fn UnsubscribeHeaders(url: Option<String>) -> impl IntoView {
    url.map(|url| {
        view! {
            <dt>"List-Unsubscribe"</dt><dd class="mono">{format!("<{url}>")}</dd>
            <dt>"List-Unsubscribe-Post"</dt><dd class="mono">"List-Unsubscribe=One-Click"</dd>
        }
    })
}
