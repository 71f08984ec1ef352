//! Delivery counters since this process started, served at `/metrics` in the
//! Prometheus text format.

use axum::http::header;
use axum::response::IntoResponse;
use std::sync::atomic::{AtomicU64, Ordering};

pub static SENT: AtomicU64 = AtomicU64::new(0);
pub static FAILED: AtomicU64 = AtomicU64::new(0);
pub static RETRIED: AtomicU64 = AtomicU64::new(0);
pub static UNCERTAIN: AtomicU64 = AtomicU64::new(0);
pub static HELD: AtomicU64 = AtomicU64::new(0);
pub static TOKEN_REFRESHES: AtomicU64 = AtomicU64::new(0);

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

pub fn render() -> String {
    let mut out = String::new();
    for (name, help, counter) in [
        (
            "mailmerger_messages_sent_total",
            "Messages the transport accepted.",
            &SENT,
        ),
        (
            "mailmerger_messages_failed_total",
            "Messages failed for good.",
            &FAILED,
        ),
        (
            "mailmerger_messages_retried_total",
            "Temporary failures put back in the queue.",
            &RETRIED,
        ),
        (
            "mailmerger_messages_uncertain_total",
            "Messages that may have been sent (timeout, or a lease that expired).",
            &UNCERTAIN,
        ),
        (
            "mailmerger_messages_held_total",
            "Messages held because Gmail was disconnected.",
            &HELD,
        ),
        (
            "mailmerger_token_refreshes_total",
            "OAuth access tokens refreshed.",
            &TOKEN_REFRESHES,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    out
}

/// `/metrics`: 404 unless `METRICS_TOKEN` is set, and then only with
/// `Authorization: Bearer <token>` (compared in constant time).
pub async fn endpoint(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    use secrecy::ExposeSecret;
    let Some(token) = &state.config.limits.metrics_token else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !constant_time_eq(given.as_bytes(), token.expose_secret().as_bytes()) {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "A bearer token is required.\n",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(),
    )
        .into_response()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    // Equal-length digests, so the comparison takes the same time for any input.
    let (a, b) = (Sha256::digest(a), Sha256::digest(b));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}
