//! Write email: one message, written here or started from a template, previewed
//! with the same render as sending, and queued now or later. A queued message can
//! be reopened and edited until it is sent.

use crate::error::AppError;
use crate::mailmerge::MessagePreview;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;

/// What the compose form starts with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    /// Set when editing a queued message.
    pub id: Option<Uuid>,
    pub template_id: Option<Uuid>,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    pub body: String,
    pub values: BTreeMap<String, String>,
    pub templates: Vec<(Uuid, String)>,
    pub time_zone: String,
    pub from_name: String,
    /// Files the user can attach, and those chosen.
    pub files: Vec<crate::files::FileView>,
    pub attach: Vec<Uuid>,
    /// The idempotency key of this page's form: submitting it twice queues once.
    pub submission: Uuid,
}

/// A fresh draft, one started from a template, or a queued message to edit.
#[server(endpoint = "compose/start")]
pub async fn start_draft(
    #[server(default)] template_id: Option<Uuid>,
    #[server(default)] edit: Option<Uuid>,
) -> Result<Draft, AppError> {
    let user_id = crate::auth::ssr::session::require_user_id().await?;
    ssr::message::start(user_id, template_id, edit).await
}

/// The message as it would be sent, for the preview pane.
#[server(endpoint = "compose/preview")]
pub async fn preview_message(
    to: String,
    subject: String,
    body: String,
    #[server(default)] values: BTreeMap<String, String>,
) -> Result<MessagePreview, AppError> {
    crate::limits::signed_in_for(crate::limits::Costly::Preview).await?;
    ssr::message::preview(&to, &subject, &body, &values)
}

/// Queues the message (or saves the queued one being edited), then shows the queue.
#[allow(clippy::too_many_arguments)]
#[server(endpoint = "compose/queue")]
pub async fn queue_message(
    #[server(default)] id: String,
    #[server(default)] template_id: String,
    to: String,
    #[server(default)] cc: String,
    #[server(default)] bcc: String,
    subject: String,
    body: String,
    #[server(default)] values: BTreeMap<String, String>,
    /// Files to attach (ids of the user's files).
    #[server(default)]
    attach: Vec<Uuid>,
    #[server(default)] when: String,
    #[server(default)] send_at: String,
    /// "now" from the "Send now" button: due at once, and watch it on Sent.
    #[server(default)]
    send: String,
    /// The idempotency key the page was rendered with.
    #[server(default)]
    submission: String,
) -> Result<Uuid, AppError> {
    let send_now = send == "now";
    let when = if send_now { "now".to_string() } else { when };
    let user_id = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let message = ssr::message::Message {
        id: parse_id(&id)?,
        template_id: parse_id(&template_id)?,
        to: &to,
        cc: &cc,
        bcc: &bcc,
        subject: &subject,
        body: &body,
        values: &values,
        attach: &attach,
        when: &when,
        send_at: &send_at,
        submission: Uuid::parse_str(submission.trim()).ok(),
    };
    let (saved, edited) = ssr::message::queue(user_id, message).await?;
    leptos_axum::redirect(if send_now {
        // "Send now": watch it go on the Sent page.
        "/sent?sending=1"
    } else if edited {
        "/queue?saved=1"
    } else {
        "/queue?queued=1"
    });
    Ok(saved)
}

#[cfg(feature = "ssr")]
fn parse_id(raw: &str) -> Result<Option<Uuid>, AppError> {
    match raw.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s).map(Some).map_err(|_| AppError::NotFound),
    }
}
