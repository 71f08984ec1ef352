//! The page shown while Postgres or Redis does not answer.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub fn page() -> Response {
    let body = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Temporarily unavailable · MailMerger</title>
<link rel="stylesheet" href="/pkg/mailmerger.css"></head>
<body><main class="centered"><section class="card">
<h1>MailMerger is temporarily unavailable</h1>
<p>We could not reach our data store just now. Nothing you sent or queued is lost.
Please try again in a moment.</p>
<p><a class="button" href="">Try again</a></p>
</section></main></body></html>"#;
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::RETRY_AFTER, "5"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}
