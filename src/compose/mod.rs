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
    pub templates: Vec<crate::templates::TemplateChoice>,
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
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    ssr::message::start(&state, user_id, template_id, edit).await
}

/// The message as it would be sent, for the preview pane.
#[server(endpoint = "compose/preview")]
pub async fn preview_message(
    to: String,
    subject: String,
    body: String,
    #[server(default)] values: BTreeMap<String, String>,
) -> Result<MessagePreview, AppError> {
    let (state, user) = crate::limits::signed_in_for(crate::limits::Costly::Preview).await?;
    let writer = ssr::message::Writer {
        links: &state.links,
        user,
    };
    ssr::message::preview(&writer, &to, &subject, &body, &values)
}

/// The Write email form as it is posted: its inputs are named after these
/// fields inside `message[…]` (`message[to]`, `message[values][first_name]`,
/// `message[attach][0]`), so the form and the server function agree on one type.
/// Addresses and the time stay text here: each is parsed on the server with an
/// error next to its own field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageForm {
    /// The queued message being edited.
    #[serde(
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<Uuid>,
    #[serde(
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub template_id: Option<Uuid>,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    pub body: String,
    pub values: BTreeMap<String, String>,
    /// Files to attach (ids of the user's files).
    pub attach: Vec<Uuid>,
    /// "now" or "later" (the When radio buttons).
    pub when: String,
    pub send_at: String,
    /// The "Send now" button: due at once, and watch it on Sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<SendNow>,
    /// The idempotency key the page was rendered with.
    #[serde(
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub submission: Option<Uuid>,
}

/// The value of the "Send now" button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SendNow {
    Now,
}

/// An id from a hidden input, which is empty when there is none.
fn blank_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Uuid>, D::Error> {
    let raw = Option::<String>::deserialize(d)?.unwrap_or_default();
    match raw.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| serde::de::Error::custom("not an id")),
    }
}

/// Queues the message (or saves the queued one being edited), then shows the queue.
#[server(endpoint = "compose/queue")]
pub async fn queue_message(message: MessageForm) -> Result<Uuid, AppError> {
    let send_now = message.send.is_some();
    let when = if send_now { "now" } else { &message.when };
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let m = ssr::message::Message {
        id: message.id,
        template_id: message.template_id,
        to: &message.to,
        cc: &message.cc,
        bcc: &message.bcc,
        subject: &message.subject,
        body: &message.body,
        values: &message.values,
        attach: &message.attach,
        when,
        send_at: &message.send_at,
        submission: message.submission,
    };
    let (saved, edited) = ssr::message::queue(&state, user_id, m).await?;
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
