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

pub async fn endpoint() -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(),
    )
}
