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

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn page() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "MailMerger is temporarily unavailable",
        "We could not reach our data store just now. Nothing you sent or queued is lost. Please try again in a moment.",
        Some(5),
    )
}
