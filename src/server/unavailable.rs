//! The plain HTML pages raw axum routes answer with when something fails: the
//! one shown while Postgres or Redis does not answer, and the page of any other
//! `AppError` (`impl IntoResponse for AppError`, in error.rs).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A small page with a heading, a message and a way on. `title` and `message` are
/// our own text (escaped all the same).
pub fn error_page(
    status: StatusCode,
    title: &str,
    message: &str,
    retry_after: Option<u64>,
) -> Response {
    let mut res = plain_page(
        status,
        title,
        &format!(
            r#"<p>{message}</p>
<p><a class="button" href="">Try again</a> <a href="/dashboard">Go to the dashboard</a></p>"#,
            message = escape(message),
        ),
    );
    if let Some(secs) = retry_after
        && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// A page in the app's style outside Leptos: `title` (escaped) over `inner`,
/// HTML we wrote.
pub fn plain_page(status: StatusCode, title: &str, inner: &str) -> Response {
    let body = format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · MailMerger</title>
<link rel="stylesheet" href="/pkg/mailmerger.css"></head>
<body><main class="centered"><section class="card">
<h1>{title}</h1>
{inner}
</section></main></body></html>"#,
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// Invalid links (unsubscribe, verification, reset) one address may try in
/// `BAD_LINK_WINDOW` before it is refused for the rest of it. Valid links are
/// never counted.
pub const BAD_LINKS_PER_IP: u64 = 20;
pub const BAD_LINK_WINDOW: std::time::Duration = std::time::Duration::from_secs(600);

/// Counts an invalid link from the request's address: the refusal page once it
/// is over [`BAD_LINKS_PER_IP`], so links cannot be guessed at speed.
pub async fn count_bad_link(
    state: &crate::state::AppState,
    parts: &axum::http::request::Parts,
) -> Option<Response> {
    let ip = super::client_ip::limit_key_of(parts, state.config.limits.trusted_proxy_hops)?;
    let key = state.keys.bad_links_ip(&ip);
    let Err(crate::error::AppError::RateLimited { retry_after }) =
        crate::limits::allow(&state.redis, &key, BAD_LINKS_PER_IP, BAD_LINK_WINDOW).await
    else {
        return None;
    };
    let mut res = plain_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many invalid links",
        "<p>Too many links from this address were not valid. Wait a few minutes, then open the link from the email again.</p>",
    );
    if let Ok(v) = header::HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    Some(res)
}

pub use crate::components::rows::escape;

pub fn page() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "MailMerger is temporarily unavailable",
        "We could not reach our data store just now. Nothing you sent or queued is lost. Please try again in a moment.",
        Some(5),
    )
}
