//! The Admin page (docs/accounts.md, "Sign-up policy and admins"): the users
//! of this server with what they hold and send, and Suspend / Unsuspend. Only
//! for the accounts named in `ADMIN_EMAILS` whose address is verified.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUser {
    pub id: String,
    pub name: String,
    pub email: String,
    pub verified: bool,
    pub suspended: bool,
    /// The admin looking at the page (who cannot suspend themselves).
    pub is_you: bool,
    pub created: String,
    pub templates: i64,
    pub queued: i64,
    pub sent_today: i64,
    pub files_bytes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminView {
    pub users: Vec<AdminUser>,
    /// More users than the page lists.
    pub more: bool,
    /// open, domains (with which) or closed.
    pub signup: String,
}

#[server(endpoint = "admin/users")]
pub async fn admin_users() -> Result<AdminView, AppError> {
    let (state, admin) = ssr::admin().await?;
    ssr::users(&state, admin).await
}

/// Suspend (`suspend` = "true") or unsuspend one user; a plain form posts here.
#[server(endpoint = "admin/suspend")]
pub async fn admin_suspend(id: String, suspend: String) -> Result<(), AppError> {
    let (state, admin) = ssr::admin().await?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    let user = crate::domain::UserId::from_uuid(id);
    if user == admin {
        return Err(AppError::BadRequest("You cannot suspend yourself.".into()));
    }
    let suspend = suspend == "true";
    if !crate::accounts::ssr::set_suspended(&state, user, suspend).await? {
        return Err(AppError::NotFound);
    }
    tracing::warn!(%admin, %user, suspend, "an admin changed an account");
    leptos_axum::redirect(if suspend {
        "/admin?done=suspended"
    } else {
        "/admin?done=unsuspended"
    });
    Ok(())
}
