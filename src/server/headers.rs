//! Security headers on every response (docs/security.md).
//!
//! Pages get a Content-Security-Policy with the nonce of that very render
//! (`page_policy`, set from inside the render, where the nonce is made); any
//! other response that has no policy of its own gets the strict default, and a
//! download keeps its sandboxing policy.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy of a rendered page: our own scripts and the ones carrying this
/// render's nonce, wasm, our styles, nothing framing us. Forms post to us, and
/// the Google buttons' redirect goes on to Google's consent page
/// (`form_targets`: its origin), which `form-action` also governs.
pub fn page_policy(nonce: &str, form_targets: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'{form_targets}; frame-ancestors 'none'"
    )
}

/// For responses that are not pages and set no policy: nothing may run or frame.
const DEFAULT_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DEFAULT_POLICY),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if state.config.is_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// Run inside every page render: makes the nonce leptos puts on its scripts and
/// sends the policy naming it.
pub fn provide_page_policy() {
    use leptos::prelude::*;
    leptos::nonce::provide_nonce();
    let google = use_context::<AppState>()
        .and_then(|s| s.config.google.as_ref().map(|g| g.auth_url.origin()))
        .map(|o| format!(" {}", o.ascii_serialization()))
        .unwrap_or_default();
    if let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = HeaderValue::from_str(&page_policy(&nonce, &google))
    {
        res.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}
