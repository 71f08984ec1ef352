//! A request id for every request: made here (or kept from a proxy we trust),
//! recorded in the request's log span, returned as `x-request-id`, and used as
//! the reference an internal error shows, so a user's reference finds the log
//! lines of that very request.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request this task is serving, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A fresh id: 12 hex digits, short enough to read out.
pub fn fresh() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

/// An id a proxy sent: kept only when it is plain and short.
fn acceptable(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)))
    .then(|| s.to_string())
}

pub async fn request_id(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let trusted = state.config.limits.trusted_proxy_hops > 0;
    let id = req
        .headers()
        .get(HEADER)
        .filter(|_| trusted)
        .and_then(acceptable)
        .unwrap_or_else(fresh);
    let value = HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("invalid"));
    req.headers_mut().insert(HEADER, value.clone());
    let mut res = CURRENT.scope(id, next.run(req)).await;
    res.headers_mut().insert(HEADER, value);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_short_ids_are_kept() {
        assert_eq!(
            acceptable(&HeaderValue::from_static("abc-123_x.y")).as_deref(),
            Some("abc-123_x.y")
        );
        assert_eq!(acceptable(&HeaderValue::from_static("a b")), None);
        assert_eq!(
            acceptable(&HeaderValue::from_str(&"a".repeat(65)).unwrap()),
            None
        );
        assert_eq!(fresh().len(), 12);
    }
}
