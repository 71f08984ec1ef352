//! `/u/TOKEN`: the unsubscribe link in every message that has one. A plain
//! route that needs no cookie and is the one exception to the same-origin
//! check, because mail providers POST to it from their own servers (RFC 8058).
//! A GET only shows a button, because mail scanners open links; the POST
//! unsubscribes, and answers 200 with a short page, never a redirect.

use super::repo;
use crate::server::unavailable::{escape, plain_page};
use crate::state::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

/// The most a one-click POST body is read for.
const MAX_BODY: usize = 16 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new().route("/u/{token}", get(show).post(unsubscribe))
}

async fn show(State(state): State<AppState>, parts: Parts, Path(token): Path<String>) -> Response {
    let Some((user, _)) = state.links.open(&token) else {
        return invalid(&state, &parts).await;
    };
    let sender = sender_name(&state, user).await;
    plain_page(
        StatusCode::OK,
        "Unsubscribe",
        &format!(
            r#"<p>Stop getting email from {sender}?</p>
<form method="post" action="">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit" class="primary">Unsubscribe</button>
</form>"#,
            sender = escape(&sender)
        ),
    )
}

async fn unsubscribe(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
    body: Body,
) -> Response {
    let Some((user, address)) = state.links.open(&token) else {
        return invalid(&state, &parts).await;
    };
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return asked_nothing();
    };
    if !asks_one_click(&parts.headers, body).await {
        return asked_nothing();
    }
    if let Err(e) = repo::unsubscribe(&state.pool, user, &address).await {
        tracing::error!(error = %e, "unsubscribe: could not record it");
        return crate::server::unavailable::page();
    }
    tracing::info!(%user, "unsubscribed");
    let sender = sender_name(&state, user).await;
    plain_page(
        StatusCode::OK,
        "You are unsubscribed",
        &format!(
            "<p>{sender} will not send you email at this address again.</p>",
            sender = escape(&sender)
        ),
    )
}

/// Whether the body says `List-Unsubscribe=One-Click`, as a urlencoded form or
/// as multipart/form-data (RFC 8058 allows both).
async fn asks_one_click(headers: &HeaderMap, body: bytes::Bytes) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Ok(boundary) = multer::parse_boundary(content_type) {
        let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(body) });
        let mut form = multer::Multipart::new(stream, boundary);
        while let Ok(Some(field)) = form.next_field().await {
            let named = field.name() == Some("List-Unsubscribe");
            if named && field.text().await.is_ok_and(|v| v.trim() == "One-Click") {
                return true;
            }
        }
        return false;
    }
    url::form_urlencoded::parse(&body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click")
}

fn asked_nothing() -> Response {
    plain_page(
        StatusCode::BAD_REQUEST,
        "Nothing was changed",
        "<p>This request did not ask to unsubscribe. Open the link from the email and press Unsubscribe.</p>",
    )
}

/// A link we did not make (or a changed one). Counted per address, so links
/// cannot be guessed at speed.
async fn invalid(state: &AppState, parts: &Parts) -> Response {
    if let Some(refused) = crate::server::unavailable::count_bad_link(state, parts).await {
        return refused;
    }
    plain_page(
        StatusCode::NOT_FOUND,
        "This link is not valid",
        "<p>This unsubscribe link is not valid. Open it again from the email, copying the whole link.</p>",
    )
}

async fn sender_name(state: &AppState, user: crate::domain::UserId) -> String {
    crate::auth::ssr::users::find_view(&state.pool, user)
        .await
        .ok()
        .flatten()
        .map(|u| u.name)
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "This sender".to_string())
}
