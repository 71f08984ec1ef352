//! Refuses state-changing requests that did not come from our own pages.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn same_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // The one exception: one-click unsubscribe is POSTed by mail providers
    // from their own servers (RFC 8058), and needs no cookie.
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) && !req.uri().path().starts_with("/u/");
    if changes_state && !is_same_origin(req.headers(), &state.config.origin()) {
        tracing::warn!(path = %super::loggable_path(req.uri().path()), "refused a cross-origin request");
        return (
            StatusCode::FORBIDDEN,
            "This request was refused because it did not come from MailMerger.",
        )
            .into_response();
    }
    next.run(req).await
}

/// The rule, in order: a browser's `Sec-Fetch-Site` decides when present;
/// otherwise `Origin`; otherwise `Referer`. A request with none of them (curl, a
/// server-to-server call) carries no ambient cookies from a browser and passes.
pub fn is_same_origin(headers: &HeaderMap, ours: &str) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin" | "none"));
    }
    if headers.contains_key(header::ORIGIN) {
        return text(header::ORIGIN) == Some(ours);
    }
    if headers.contains_key(header::REFERER) {
        return text(header::REFERER)
            .and_then(|r| url::Url::parse(r).ok())
            .is_some_and(|u| u.origin().ascii_serialization() == ours);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_same_origin;
    use axum::http::HeaderMap;

    const OURS: &str = "http://127.0.0.1:3000";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn fetch_metadata_decides_first() {
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            OURS
        ));
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "none")]),
            OURS
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "cross-site")]),
            OURS
        ));
        assert!(!is_same_origin(
            &headers(&[("sec-fetch-site", "same-site")]),
            OURS
        ));
    }

    #[test]
    fn origin_must_match_exactly() {
        assert!(is_same_origin(&headers(&[("origin", OURS)]), OURS));
        assert!(!is_same_origin(
            &headers(&[("origin", "http://localhost:3000")]),
            OURS
        ));
        assert!(!is_same_origin(
            &headers(&[("origin", "https://evil.example")]),
            OURS
        ));
        assert!(!is_same_origin(&headers(&[("origin", "null")]), OURS));
    }

    #[test]
    fn referer_is_the_last_resort() {
        assert!(is_same_origin(
            &headers(&[("referer", "http://127.0.0.1:3000/login?x=1")]),
            OURS
        ));
        assert!(!is_same_origin(
            &headers(&[("referer", "http://127.0.0.1:3000.evil.example/")]),
            OURS
        ));
        assert!(!is_same_origin(&headers(&[("referer", "not a url")]), OURS));
        assert!(is_same_origin(&headers(&[]), OURS));
    }
}
