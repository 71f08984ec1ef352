//! `GET /files/{id}/download`: the owner's file, streamed from storage.

use super::repo;
use crate::auth::ssr::session;
use crate::state::AppState;
use crate::storage::StorageError;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_sessions::Session;
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new().route("/files/{id}/download", get(download))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "That file does not exist.")
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback
/// for old clients and the exact name for the rest.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact: String = url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}")
}

async fn download(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Response {
    let user_id = match session::user_id(&session).await {
        Ok(Some(id)) => id,
        Ok(None) => return Redirect::to("/login?next=%2Ffiles").into_response(),
        Err(e) => return e.into_response(),
    };
    let Ok(id) = Uuid::parse_str(&id) else {
        return not_found();
    };
    let file = match repo::stored(&state.pool, user_id, id).await {
        Ok(Some(file)) => file,
        Ok(None) => return not_found(),
        Err(e) => return e.into_response(),
    };
    let object = match state.storage.get(&file.key).await {
        Ok(object) => object,
        Err(StorageError::NotFound) => {
            tracing::error!(file_id = %id, "a file's stored object is missing");
            return plain(
                StatusCode::NOT_FOUND,
                "The stored copy of this file is missing. Upload it again.",
            );
        }
        Err(e) => {
            tracing::warn!(error = %e, "download: storage is not answering");
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "File storage is not answering just now. Try again in a minute.",
            );
        }
    };
    let len = object.len.unwrap_or(file.size);
    (
        [
            (header::CONTENT_TYPE, file.content_type),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, content_disposition(&file.name)),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            // Should a browser render it anyway: no scripts, no requests, no origin.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
        ],
        Body::from_stream(object.body),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn names_survive_the_header() {
        assert_eq!(
            content_disposition("CV 2026.pdf"),
            "attachment; filename=\"CV 2026.pdf\"; filename*=UTF-8''CV%202026.pdf"
        );
        let d = content_disposition("Zoë \"résumé\".pdf");
        assert!(
            d.starts_with("attachment; filename=\"Zo_ _r_sum__.pdf\""),
            "{d}"
        );
        assert!(
            d.contains("filename*=UTF-8''Zo%C3%AB%20%22r%C3%A9sum%C3%A9%22.pdf"),
            "{d}"
        );
    }
}
