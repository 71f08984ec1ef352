//! The queue page: the messages still to go, their bulk actions, and the
//! progress of what is going out (shown on the queue and Sent pages).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;

/// Rows a page of the queue or of Sent shows.
pub const PAGE_SIZE: i64 = 50;

/// What is going out now, for the progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Due now and not yet sent (queued, waiting for a retry, or being sent).
    pub remaining: i64,
    /// Finished since `since`.
    pub sent: i64,
    pub failed: i64,
    pub uncertain: i64,
    /// Queued, but held until Gmail is connected again.
    pub held: bool,
}

/// What the queue page's buttons ask for. A form posts it as the button's value
/// (`delete`, `send_now`, `reschedule`, or `send:<id>` for a row's own "Send
/// now"), parsed once, at the boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum QueueAction {
    /// Cancel the selected messages.
    Delete,
    /// Make the selected messages due now.
    SendNow,
    /// Move the selected messages to the time in `send_at`.
    Reschedule,
    /// One row's "Send now".
    SendOne(Uuid),
}

impl QueueAction {
    /// The value a button carries.
    pub fn value(self) -> String {
        match self {
            QueueAction::Delete => "delete".into(),
            QueueAction::SendNow => "send_now".into(),
            QueueAction::Reschedule => "reschedule".into(),
            QueueAction::SendOne(id) => format!("send:{id}"),
        }
    }

    pub fn parse(value: &str) -> Option<QueueAction> {
        match value {
            "delete" => Some(QueueAction::Delete),
            "send_now" => Some(QueueAction::SendNow),
            "reschedule" => Some(QueueAction::Reschedule),
            other => other
                .strip_prefix("send:")
                .and_then(|id| Uuid::parse_str(id).ok())
                .map(QueueAction::SendOne),
        }
    }
}

impl From<QueueAction> for String {
    fn from(a: QueueAction) -> String {
        a.value()
    }
}

impl TryFrom<String> for QueueAction {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        QueueAction::parse(&value).ok_or_else(|| format!("unknown queue action {value:?}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEmailView {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    /// When it is due, in the user's time zone, zone named.
    pub when: String,
    /// Written on Write email (merge rows are rescheduled or deleted, not edited).
    pub editable: bool,
    /// Queued or sending.
    pub status: crate::domain::EmailStatus,
    /// Why the last attempt did not go, while a retry waits.
    pub retry_reason: Option<String>,
    /// The names of the files it attaches.
    pub attachments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    pub rows: Vec<QueuedEmailView>,
    /// All queued messages, not just this page.
    pub total: i64,
    /// The links to the rows due sooner and later.
    pub paging: crate::domain::Paging,
    pub time_zone: String,
    /// Nothing goes until the user connects Gmail (again).
    pub held: bool,
    /// Where mail goes: "gmail", "smtp" or "outbox".
    pub transport: String,
    /// While sending (opened with `since`), read before the list.
    pub progress: Option<Progress>,
}

#[server(endpoint = "queue/list")]
pub async fn list_queue(
    #[server(default)] at: crate::domain::PageAt,
    #[server(default)] since: Option<i64>,
) -> Result<QueuePage, AppError> {
    let (state, user) = crate::auth::ssr::session::signed_in_user().await?;
    let user_id = user.id;
    let progress = match since {
        Some(since) => Some(ssr::progress::progress(&state, user_id, since).await?),
        None => None,
    };
    let pool = state.pool.clone();
    let zone = crate::settings::ssr::zone::UserZone::new(&user.time_zone);
    let (rows, paging, total) = crate::emails::read::queued(&pool, user_id, at, PAGE_SIZE).await?;
    Ok(QueuePage {
        rows: rows
            .into_iter()
            .map(|r| QueuedEmailView {
                id: r.id,
                to: r.to_addrs.join(", "),
                subject: r.subject,
                when: zone.display(r.send_at),
                editable: r.editable,
                status: r.status,
                retry_reason: r.last_error,
                attachments: r.attachments,
            })
            .collect(),
        total,
        paging,
        time_zone: zone.name,
        held: ssr::progress::held(&state, user_id).await?,
        transport: state.config.transport().as_str().to_string(),
        progress,
    })
}

/// Deletes (cancels) or reschedules the selected queued messages, or all of them.
#[server(endpoint = "queue/update")]
pub async fn update_queue(
    action: QueueAction,
    #[server(default)] ids: Vec<Uuid>,
    #[server(default)] all_matching: Option<String>,
    #[server(default)] send_at: String,
) -> Result<u64, AppError> {
    use crate::emails::{Action, Selection, act};
    let (state, user_id) = crate::limits::signed_in_for(crate::limits::Costly::QueueAction).await?;
    let pool = state.pool.clone();
    let one = match action {
        QueueAction::SendOne(id) => vec![id],
        _ => Vec::new(),
    };
    let selection = if !one.is_empty() {
        Selection::Ids(&one)
    } else if all_matching.is_some() {
        Selection::AllQueued
    } else if ids.is_empty() {
        return Err(AppError::field("ids", "Select at least one message first."));
    } else {
        Selection::Ids(&ids)
    };
    let mut back = "/queue".to_string();
    let changed = match action {
        QueueAction::Delete => act(&pool, user_id, selection, Action::Cancel).await?,
        QueueAction::SendNow | QueueAction::SendOne(_) => {
            let n = act(&pool, user_id, selection, Action::SendNow).await?;
            back = format!(
                "/queue?sending={}",
                time::OffsetDateTime::now_utc().unix_timestamp()
            );
            n
        }
        QueueAction::Reschedule => {
            let zone = crate::settings::ssr::zone::UserZone::of_user(&pool, user_id).await?;
            let at = zone
                .parse_local(&send_at)
                .map_err(|m| AppError::field("send_at", m))?;
            act(&pool, user_id, selection, Action::Reschedule(at)).await?
        }
    };
    tracing::info!(%user_id, action = %action.value(), changed, "queue updated");
    leptos_axum::redirect(&back);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::QueueAction;
    use uuid::Uuid;

    #[test]
    fn queue_actions_parse_once_and_round_trip() {
        let id = Uuid::new_v4();
        for a in [
            QueueAction::Delete,
            QueueAction::SendNow,
            QueueAction::Reschedule,
            QueueAction::SendOne(id),
        ] {
            assert_eq!(QueueAction::parse(&a.value()), Some(a));
        }
        for bad in ["", "send:", "send:not-a-uuid", "DELETE", "drop"] {
            assert_eq!(QueueAction::parse(bad), None, "{bad}");
        }
    }
}
