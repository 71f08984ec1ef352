//! The account itself: its address and whether it is verified, its password,
//! its sessions (docs/accounts.md). Settings renders these; the pages of the
//! links we mail are plain routes in `ssr::routes`.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;

/// One session of the account, as Settings lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    pub id: String,
    /// "Firefox on Linux".
    pub browser: String,
    pub ip: String,
    pub started: String,
    pub last_seen: String,
    /// The session this page is open in.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub email: String,
    pub email_verified: bool,
    /// A change of address waiting for its link to be followed.
    pub pending_email: Option<String>,
    /// A Google-only account has none, and can set one.
    pub has_password: bool,
    pub sessions: Vec<SessionView>,
    /// Where the product's own mail lands when the server has no mail server
    /// for it: said next to "we sent you a link".
    pub outbox: Option<String>,
}

#[server(endpoint = "account/get")]
pub async fn get_account() -> Result<AccountView, AppError> {
    use crate::auth::ssr::session;
    let (state, user_id) = session::signed_in().await?;
    let current = match leptos_axum::extract::<tower_sessions::Session>().await {
        Ok(s) => session::row(&s).await?,
        Err(_) => None,
    };
    let user = crate::auth::ssr::users::find_view(&state.pool, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    let zone = crate::settings::ssr::zone::UserZone::of_user(&state.pool, user_id).await?;
    let mut conn = state.pool.acquire().await?;
    let pending_email = ssr::links::pending_email(&mut conn, user_id).await?;
    drop(conn);
    let sessions = ssr::sessions::list(
        &state.pool,
        user_id,
        state.config.session_max_age,
        state.config.session_idle,
    )
    .await?
    .into_iter()
    .map(|s| SessionView {
        id: s.id.to_string(),
        browser: ssr::sessions::describe(&s.user_agent),
        ip: s.ip.unwrap_or_else(|| "unknown".into()),
        started: zone.display(s.started_at),
        last_seen: zone.display(s.last_seen_at),
        current: Some(s.id) == current,
    })
    .collect();
    Ok(AccountView {
        email: user.email,
        email_verified: user.email_verified,
        pending_email,
        has_password: ssr::has_password(&state, user_id).await?,
        sessions,
        outbox: state.system_mail.outbox().map(|p| p.display().to_string()),
    })
}

/// "Log out" of one other session.
#[server(endpoint = "account/sessions/end")]
pub async fn end_session(id: String) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| AppError::NotFound)?;
    let mut conn = state.pool.acquire().await?;
    if !ssr::sessions::end(&mut conn, user_id, id).await? {
        return Err(AppError::NotFound);
    }
    tracing::info!(%user_id, "a session was ended from another");
    leptos_axum::redirect("/settings?sessions=ended#sessions");
    Ok(())
}

/// "Log out everywhere else".
#[server(endpoint = "account/sessions/end_others")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    use crate::auth::ssr::session;
    let (state, user_id) = session::signed_in().await?;
    let s = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))?;
    let keep = session::row(&s).await?.ok_or(AppError::Unauthorized)?;
    let mut conn = state.pool.acquire().await?;
    let ended = ssr::sessions::end_others(&mut conn, user_id, keep).await?;
    tracing::info!(%user_id, ended, "logged out everywhere else");
    leptos_axum::redirect("/settings?sessions=others_ended#sessions");
    Ok(())
}

/// Sets a new password: with the current one, or without for an account
/// that has none (signed up with Google). The other sessions end.
#[server(endpoint = "account/password")]
pub async fn change_password(current: String, password: String) -> Result<(), AppError> {
    use crate::auth::ssr::session;
    use crate::domain::Password;
    let (state, user_id) = session::signed_in().await?;
    let new = Password::parse(password).map_err(|m| AppError::field("password", m))?;
    let user = crate::auth::ssr::users::find_view(&state.pool, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if ssr::has_password(&state, user_id).await? {
        if current.is_empty() {
            return Err(AppError::field("current", "Enter your current password."));
        }
        let ip = crate::auth::ssr::client_ip().await;
        if !ssr::check_password(&state, user_id, &user.email, current, ip.as_deref()).await? {
            return Err(AppError::field(
                "current",
                "That is not your current password.",
            ));
        }
    }
    let s = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))?;
    let keep = session::row(&s).await?;
    ssr::change_password(&state, user_id, keep, new).await?;
    leptos_axum::redirect("/settings?password=changed#password");
    Ok(())
}

/// Starts a change of address: needs the password; the link goes to the new
/// address, and the account keeps the old one until it is followed.
#[server(endpoint = "account/email")]
pub async fn change_email(email: String, password: String) -> Result<(), AppError> {
    use crate::domain::EmailAddress;
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let new = EmailAddress::parse(&email).map_err(|m| AppError::field("email", m))?;
    let user = crate::auth::ssr::users::find_view(&state.pool, user_id)
        .await?
        .ok_or(AppError::Unauthorized)?;
    if new.normalized() == user.email.trim().to_lowercase() {
        return Err(AppError::field("email", "This is already your address."));
    }
    if !ssr::has_password(&state, user_id).await? {
        return Err(AppError::field(
            "password",
            "Set a password first (under Password), then change the address with it.",
        ));
    }
    if password.is_empty() {
        return Err(AppError::field("password", "Enter your password."));
    }
    let ip = crate::auth::ssr::client_ip().await;
    if !ssr::check_password(&state, user_id, &user.email, password, ip.as_deref()).await? {
        return Err(AppError::field("password", "That is not your password."));
    }
    ssr::request_address_change(&state, user_id, &user.name, &new).await?;
    leptos_axum::redirect("/settings?email=sent#address");
    Ok(())
}

/// Deletes the account and everything in it: with the password, or, for an
/// account without one, within minutes of signing in with Google again.
#[server(endpoint = "account/delete")]
pub async fn delete_account(password: String) -> Result<(), AppError> {
    use crate::auth::ssr::session;
    let (state, user_id) = session::signed_in().await?;
    let s = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))?;
    if ssr::has_password(&state, user_id).await? {
        if password.is_empty() {
            return Err(AppError::field(
                "password",
                "Enter your password to confirm.",
            ));
        }
        let user = crate::auth::ssr::users::find_view(&state.pool, user_id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let ip = crate::auth::ssr::client_ip().await;
        if !ssr::check_password(&state, user_id, &user.email, password, ip.as_deref()).await? {
            return Err(AppError::field("password", "That is not your password."));
        }
    } else if !session::signed_in_with_google_within(&s, ssr::delete::GOOGLE_CONFIRMS_FOR).await? {
        return Err(AppError::field(
            "password",
            "Sign in with Google again (the button below) to confirm, then delete within 10 minutes.",
        ));
    }
    ssr::delete::delete_account(&state, user_id).await?;
    s.flush().await?;
    leptos_axum::redirect("/account/deleted");
    Ok(())
}
