//! Stop on reply (docs/replies.md): with the user's opt-in `gmail.metadata`
//! grant, MailMerger reads the headers of new mail in their Gmail and ends a
//! campaign's sequence when its recipient answers, bounces, or the user wrote
//! to them by hand; uncertain sends found in Sent are marked sent. Settings
//! turns it on (through Google's consent) and off.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What Settings shows about reading the mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepliesView {
    pub enabled: bool,
    /// Google granted `gmail.metadata`.
    pub granted: bool,
    /// Why reading does not work now, when it does not.
    pub problem: Option<String>,
    /// When the mailbox was last read to the end, in the user's zone.
    pub checked: Option<String>,
    /// When a read last had to recover from a history id Gmail had forgotten.
    pub recovered: Option<String>,
    /// Bounces that named no recipient of an open sequence.
    pub unattributed_bounces: i64,
    /// The newest of them: when, and the addresses they said failed.
    pub bounces: Vec<(String, Vec<String>)>,
}

/// Turns stop on reply off: follow-ups go without reading the mailbox again,
/// and replies are marked by hand. The grant stays with Google until Gmail
/// is disconnected.
#[server(endpoint = "replies/off")]
pub async fn replies_off() -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let mut tx = state.pool.begin().await?;
    ssr::repo::set_enabled(&mut tx, user_id, false).await?;
    // Follow-ups that waited for a read may go now.
    crate::emails::campaign::follow_ups_due_again(&mut tx, user_id, ssr::check::WAIT).await?;
    tx.commit().await?;
    leptos_axum::redirect("/settings?replies=off");
    Ok(())
}

/// What the settings page says for `?replies=<code>`.
pub fn replies_message(code: &str) -> Option<(bool, &'static str)> {
    Some(match code {
        "on" => (
            true,
            "Stop on reply is on. MailMerger now reads the headers of new mail in your Gmail, and ends a sequence when its recipient replies.",
        ),
        "off" => (
            true,
            "Stop on reply is off. Follow-ups go without a check; mark replies by hand on the campaign page.",
        ),
        "missing_scope" => (
            false,
            "Stop on reply is not on: you did not allow MailMerger to \"View your email message metadata\". Try again and leave that box ticked.",
        ),
        "not_connected" => (
            false,
            "Connect Gmail first: stop on reply reads the mailbox you send from.",
        ),
        _ => return None,
    })
}

#[cfg(feature = "ssr")]
pub mod ssr;
