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
    /// The `List-Unsubscribe` URL it carries (one-click unsubscribe), if any.
    #[serde(default)]
    pub list_unsubscribe: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeReport {
    pub import_id: Uuid,
    pub file_name: String,
    pub columns: Vec<String>,
    pub email_column: Option<String>,
    pub templates: Vec<crate::templates::TemplateChoice>,
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
    /// The unsubscribe footer was asked for.
    pub unsubscribe_footer: bool,
    /// Messages may carry one-click unsubscribe headers (the app is on https).
    pub one_click: bool,
}

/// Reads a CSV file or pasted text (multipart, counted while it streams), keeps it,
/// and goes to its report. Problems go back to `/merge?error=…`.
#[server(endpoint = "merge/upload", input = MultipartFormData)]
pub async fn upload_recipients(data: MultipartData) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
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
    #[server(default)] unsubscribe_footer: bool,
) -> Result<MergeReport, AppError> {
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::Report).await?;
    let choice = ssr::report::Choice {
        template_id,
        email_column,
        attachment_column,
        attach,
        unsubscribe_footer,
    };
    ssr::report::report(&state, user_id, import_id, choice, line).await
}

/// The merge page's Queue form as it is posted, its inputs named `merge[…]`
/// (`merge[cc]`, `merge[attach][0]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MergeForm {
    pub import_id: Uuid,
    pub template_id: Uuid,
    pub email_column: String,
    pub cc: String,
    pub bcc: String,
    /// "now" or "later" (the When radio buttons).
    pub when: String,
    pub send_at: String,
    pub attachment_column: String,
    /// Files every message attaches.
    pub attach: Vec<Uuid>,
    /// "Add an unsubscribe footer".
    pub unsubscribe_footer: bool,
    /// The idempotency key the page was rendered with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission: Option<Uuid>,
}

#[server(endpoint = "merge/queue")]
pub async fn queue_merge(merge: MergeForm) -> Result<u64, AppError> {
    let MergeForm {
        import_id,
        template_id,
        email_column,
        cc,
        bcc,
        when,
        send_at,
        attachment_column,
        attach,
        unsubscribe_footer,
        submission,
    } = merge;
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let choice = ssr::report::Choice {
        template_id: Some(template_id),
        email_column: Some(email_column),
        attachment_column: Some(attachment_column),
        attach,
        unsubscribe_footer,
    };
    let sending = ssr::report::Sending {
        cc: &cc,
        bcc: &bcc,
        when: &when,
        send_at: &send_at,
        submission,
    };
    let queued = ssr::report::queue(&state, user_id, import_id, choice, sending).await?;
    leptos_axum::redirect(&format!("/queue?queued={queued}"));
    Ok(queued)
}
