//! Gives server-function errors their real HTTP status.
//!
//! server_fn answers every error with 500 and the serialised `AppError` as the
//! body. We read that body (small, JSON) and set the status the variant means, so
//! that logs, proxies and API clients see 401, 404, 422, 429 or 503.

use crate::error::AppError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;

const SERVER_FN_ERROR_HEADER: &str = "serverfnerror";
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn api_status(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if res.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !res.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    if let Ok(err) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = err.status();
        if let AppError::RateLimited { retry_after } | AppError::Busy { retry_after } = err
            && let Ok(v) = retry_after.to_string().parse()
        {
            parts.headers.insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}
