//! The queue: mail merge from a CSV into queued messages, and the queue page's
//! list and bulk actions. Sending comes with the delivery loop.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod compose;
pub mod merge;
#[cfg(feature = "ssr")]
pub mod ssr;

pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEmailView {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    /// When it is due, in the user's time zone, zone named.
    pub when: String,
    /// Written on Write email (merge rows are rescheduled or deleted, not edited).
    pub editable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    pub rows: Vec<QueuedEmailView>,
    /// All queued messages, not just this page.
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub time_zone: String,
}

#[server(endpoint = "queue/list")]
pub async fn list_queue(page: i64) -> Result<QueuePage, AppError> {
    let user_id = crate::auth::ssr::session::require_user_id().await?;
    let pool = crate::auth::ssr::state().pool;
    let zone = ssr::zone::UserZone::of_user(&pool, user_id).await?;
    let page = page.max(1);
    let (rows, total) =
        ssr::repo::list_queued(&pool, user_id, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    Ok(QueuePage {
        rows: rows
            .into_iter()
            .map(|r| QueuedEmailView {
                id: r.id,
                to: r.to_addrs.join(", "),
                subject: r.subject,
                when: zone.display(r.send_at),
                editable: r.editable,
            })
            .collect(),
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        time_zone: zone.name,
    })
}

/// Deletes (cancels) or reschedules the selected queued messages, or all of them.
#[server(endpoint = "queue/update")]
pub async fn update_queue(
    action: String,
    #[server(default)] ids: Vec<Uuid>,
    #[server(default)] all_matching: Option<String>,
    #[server(default)] send_at: String,
) -> Result<u64, AppError> {
    use ssr::repo::{self, Selection};
    let user_id = crate::auth::ssr::session::require_user_id().await?;
    let pool = crate::auth::ssr::state().pool;
    let selection = if all_matching.is_some() {
        Selection::AllQueued
    } else if ids.is_empty() {
        return Err(AppError::field("ids", "Select at least one message first."));
    } else {
        Selection::Ids(&ids)
    };
    let changed = match action.as_str() {
        "delete" => repo::cancel(&pool, user_id, selection).await?,
        "reschedule" => {
            let zone = ssr::zone::UserZone::of_user(&pool, user_id).await?;
            let at = zone
                .parse_local(&send_at)
                .map_err(|m| AppError::field("send_at", m))?;
            repo::reschedule(&pool, user_id, selection, at).await?
        }
        _ => return Err(AppError::BadRequest("Unknown action.".into())),
    };
    tracing::info!(%user_id, action, changed, "queue updated");
    leptos_axum::redirect("/queue");
    Ok(changed)
}
