//! The one error type of every server function.
//!
//! It is shared by the server and the browser, so it compiles to wasm. The browser
//! only ever sees a variant and, for internal errors, a reference id; the full cause
//! is logged on the server under that id.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A problem with one form field, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Not found.")]
    NotFound,
    /// One or more fields are invalid; each message belongs next to its field.
    #[error("{}", summary(.errors))]
    Invalid { errors: Vec<FieldError> },
    #[error("Please log in to continue.")]
    Unauthorized,
    /// Login failed. The same message for an unknown email and a wrong password.
    #[error("That email and password do not match an account.")]
    WrongCredentials,
    /// The request came from another site and was refused.
    #[error("This request was refused because it did not come from MailMerger.")]
    Forbidden,
    #[error("Too many attempts. Try again in {}.", crate::domain::human_duration(*.retry_after))]
    RateLimited { retry_after: u64 },
    #[error("MailMerger is temporarily unavailable. Please try again in a moment.")]
    Unavailable,
    /// Too much of this kind of work is running; nothing was done.
    #[error("MailMerger is busy right now, so nothing was done. Try again in {}.", crate::domain::human_duration(*.retry_after))]
    Busy { retry_after: u64 },
    #[error(
        "Something went wrong on our side. If it keeps happening, quote reference {reference}."
    )]
    Internal { reference: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("Could not reach MailMerger. Check your connection and try again.")]
    Network,
}

fn summary(errors: &[FieldError]) -> String {
    match errors {
        [one] => one.message.clone(),
        _ => "Please correct the highlighted fields.".to_string(),
    }
}

impl AppError {
    /// An error for a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid {
            errors: vec![FieldError {
                field: field.into(),
                message: message.into(),
            }],
        }
    }

    /// The message that belongs next to `field`, if this error has one.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { errors } => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The message for the form as a whole: everything that is not a field error.
    pub fn form_message(&self) -> Option<String> {
        match self {
            AppError::Invalid { .. } => None,
            other => Some(other.to_string()),
        }
    }
}

/// Collects field errors so a form can show every problem at once.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records the message against `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.0.push(FieldError {
                    field: field.to_string(),
                    message,
                });
                None
            }
        }
    }

    /// Whether any field was refused.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }

    pub fn into_error(self) -> AppError {
        AppError::Invalid { errors: self.0 }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => AppError::Network,
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::MissingArg(_)
            | ServerFnErrorErr::Serialization(_) => AppError::BadRequest(
                "The form could not be read. Reload the page and try again.".to_string(),
            ),
            other => AppError::internal_message(other.to_string()),
        }
    }
}

impl AppError {
    /// An internal error from a message. On the server the message is logged under
    /// a fresh reference; the browser gets only the reference.
    pub fn internal_message(message: String) -> Self {
        #[cfg(feature = "ssr")]
        {
            AppError::internal(anyhow::anyhow!(message))
        }
        #[cfg(not(feature = "ssr"))]
        {
            let _ = message;
            AppError::Internal {
                reference: "client".to_string(),
            }
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;
    use axum::http::StatusCode;

    impl AppError {
        /// Logs the whole error chain under a new reference id and returns the
        /// variant the browser may see.
        pub fn internal(err: impl Into<anyhow::Error>) -> Self {
            let err = err.into();
            let reference = new_reference();
            tracing::error!(%reference, error = ?err, "internal error");
            AppError::Internal { reference }
        }

        /// A dependency (Postgres, Redis) did not answer in time.
        pub fn unavailable(what: &str, err: impl std::fmt::Display) -> Self {
            tracing::warn!(dependency = what, error = %err, "dependency unavailable");
            AppError::Unavailable
        }

        pub fn status(&self) -> StatusCode {
            match self {
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::Invalid { .. } | AppError::BadRequest(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                AppError::Unauthorized | AppError::WrongCredentials => StatusCode::UNAUTHORIZED,
                AppError::Forbidden => StatusCode::FORBIDDEN,
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::Unavailable | AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal { .. } | AppError::Network => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    }

    /// For raw axum routes (Google's redirects, file downloads): the status of the
    /// variant and a page that says what happened, so a bug shows as an error with
    /// its reference, not as an outage.
    impl axum::response::IntoResponse for AppError {
        fn into_response(self) -> axum::response::Response {
            use crate::server::unavailable::{error_page, page};
            let status = self.status();
            match &self {
                AppError::Unavailable => page(),
                AppError::Busy { retry_after } | AppError::RateLimited { retry_after } => {
                    error_page(
                        status,
                        "Please wait a moment",
                        &self.to_string(),
                        Some(*retry_after),
                    )
                }
                AppError::NotFound => error_page(
                    status,
                    "Not found",
                    "That page or file does not exist.",
                    None,
                ),
                AppError::Internal { .. } => {
                    error_page(status, "Something went wrong", &self.to_string(), None)
                }
                _ => error_page(status, "That did not work", &self.to_string(), None),
            }
        }
    }

    /// The request's id (`x-request-id`), so the reference finds its log lines;
    /// a fresh one outside a request.
    fn new_reference() -> String {
        crate::server::request_id::current().unwrap_or_else(crate::server::request_id::fresh)
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            match err {
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
                    AppError::unavailable("postgres", err)
                }
                sqlx::Error::RowNotFound => AppError::NotFound,
                other => AppError::internal(other),
            }
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(err: tower_sessions::session::Error) -> Self {
            AppError::unavailable("redis (sessions)", err)
        }
    }

    impl From<fred::error::Error> for AppError {
        fn from(err: fred::error::Error) -> Self {
            AppError::unavailable("redis", err)
        }
    }

    impl From<anyhow::Error> for AppError {
        fn from(err: anyhow::Error) -> Self {
            AppError::internal(err)
        }
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::AppError;
    use axum::response::IntoResponse;

    async fn page(e: AppError) -> (u16, Option<String>, String) {
        let res = e.into_response();
        let status = res.status().as_u16();
        let retry = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn raw_routes_show_what_happened_not_an_outage() {
        let (status, _, body) = page(AppError::Internal {
            reference: "abc123def456".into(),
        })
        .await;
        assert_eq!(status, 500);
        assert!(body.contains("quote reference abc123def456"), "{body}");
        assert!(!body.contains("temporarily unavailable"), "{body}");
        let (status, _, body) = page(AppError::NotFound).await;
        assert_eq!(status, 404);
        assert!(body.contains("does not exist"), "{body}");
        let (status, retry, _) = page(AppError::Unavailable).await;
        assert_eq!((status, retry.as_deref()), (503, Some("5")));
        let (status, retry, body) = page(AppError::RateLimited { retry_after: 30 }).await;
        assert_eq!((status, retry.as_deref()), (429, Some("30")));
        assert!(body.contains("Try again in 30 seconds"), "{body}");
        let (_, _, body) = page(AppError::BadRequest("<b>no</b>".into())).await;
        assert!(body.contains("&lt;b&gt;no&lt;/b&gt;"), "{body}");
    }
}
