//! Mail merge from a CSV: upload or paste, check every row, preview any row, then
//! queue all ready rows in one transaction.

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRowView {
    pub line: u64,
    pub address: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePreview {
    pub line: u64,
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The names of the files it attaches.
    #[serde(default)]
    pub attachments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeReport {
    pub import_id: Uuid,
    pub file_name: String,
    pub columns: Vec<String>,
    pub email_column: Option<String>,
    pub templates: Vec<(Uuid, String)>,
    pub template_id: Option<Uuid>,
    /// Why no report could be made yet (no template chosen, no email column, …).
    pub problem: Option<String>,
    pub ready: usize,
    /// Line numbers of the ready rows, for choosing one to preview.
    pub ready_lines: Vec<(u64, String)>,
    pub bad: Vec<BadRowView>,
    pub preview: Option<MessagePreview>,
    pub from_name: String,
    pub time_zone: String,
    /// The user's files, the ones chosen for every message, and the column that
    /// names a file per row.
    pub files: Vec<crate::files::FileView>,
    pub attach: Vec<Uuid>,
    pub attachment_column: Option<String>,
    /// The idempotency key of the queue form: submitting it twice queues once.
    pub submission: Uuid,
}

/// Reads a CSV file or pasted text (multipart, counted while it streams), keeps it,
/// and goes to its report. Problems go back to `/merge?error=…`.
#[server(endpoint = "merge/upload", input = MultipartFormData)]
pub async fn upload_recipients(data: MultipartData) -> Result<(), AppError> {
    let user_id = crate::auth::ssr::session::require_user_id().await?;
    let state = crate::auth::ssr::state();
    let allowed = crate::limits::per_user(&state, user_id, crate::limits::Costly::Upload).await;
    let read = match allowed {
        Ok(()) => ssr::upload::read(data).await,
        Err(e @ AppError::RateLimited { .. }) => Err(e.to_string()),
        Err(e) => return Err(e),
    };
    match read {
        Ok((file_name, csv)) => {
            let id = ssr::imports::create(&state.pool, user_id, &file_name, &csv).await?;
            leptos_axum::redirect(&format!("/merge/{id}"));
        }
        Err(message) => {
            let q: String = url::form_urlencoded::byte_serialize(message.as_bytes()).collect();
            leptos_axum::redirect(&format!("/merge?error={q}"));
        }
    }
    Ok(())
}

#[server(endpoint = "merge/report")]
pub async fn get_merge_report(
    import_id: Uuid,
    #[server(default)] template_id: Option<Uuid>,
    #[server(default)] email_column: Option<String>,
    #[server(default)] line: Option<u64>,
    #[server(default)] attachment_column: Option<String>,
    #[server(default)] attach: Vec<Uuid>,
) -> Result<MergeReport, AppError> {
    let user_id = crate::limits::signed_in_for(crate::limits::Costly::Report).await?;
    let choice = ssr::report::Choice {
        template_id,
        email_column,
        attachment_column,
        attach,
    };
    ssr::report::report(user_id, import_id, choice, line).await
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "merge/queue")]
pub async fn queue_merge(
    import_id: Uuid,
    template_id: Uuid,
    email_column: String,
    #[server(default)] cc: String,
    #[server(default)] bcc: String,
    when: String,
    #[server(default)] send_at: String,
    #[server(default)] attachment_column: String,
    #[server(default)] attach: Vec<Uuid>,
    #[server(default)] submission: String,
) -> Result<u64, AppError> {
    let user_id = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let choice = ssr::report::Choice {
        template_id: Some(template_id),
        email_column: Some(email_column),
        attachment_column: Some(attachment_column),
        attach,
    };
    let sending = ssr::report::Sending {
        cc: &cc,
        bcc: &bcc,
        when: &when,
        send_at: &send_at,
        submission: Uuid::parse_str(submission.trim()).ok(),
    };
    let queued = ssr::report::queue(user_id, import_id, choice, sending).await?;
    leptos_axum::redirect(&format!("/queue?queued={queued}"));
    Ok(queued)
}
