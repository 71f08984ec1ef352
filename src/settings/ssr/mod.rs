//! Settings on the server: the user's sending settings and their Gmail connection.

pub mod zone;

use super::{GmailView, SettingsView};
use crate::config::TransportKind;
use crate::domain::UserId;
use crate::error::AppError;
use crate::google::ssr::accounts;
use crate::state::AppState;

pub async fn load(state: &AppState, user_id: UserId) -> Result<SettingsView, AppError> {
    let u = sqlx::query!(
        "SELECT time_zone, daily_send_cap, send_gap_seconds FROM users WHERE id = $1",
        user_id as UserId
    )
    .fetch_one(&state.pool)
    .await?;
    let mut conn = state.pool.acquire().await?;
    let now = crate::emails::clock::now(&mut conn).await?;
    let sent = crate::emails::recipients_last_24h(&mut conn, &[user_id], now)
        .await?
        .get(&user_id)
        .map_or(0, |u| u.0);
    let account = accounts::find_for_user(&state.pool, user_id).await?;
    let granted = account
        .as_ref()
        .is_some_and(|a| crate::google::ssr::client::can_read(&a.scopes));
    let zone = zone::UserZone::new(&u.time_zone);
    let bounces: Vec<(String, Vec<String>)> =
        crate::replies::ssr::repo::unattributed_bounces(&state.pool, user_id)
            .await?
            .into_iter()
            .map(|b| (zone.display(b.received_at), b.failed_addrs))
            .collect();
    // Stop on reply reads a Gmail mailbox: shown with Gmail only, off until
    // the user turns it on (no row yet).
    let read = crate::replies::ssr::repo::status(&state.pool, user_id).await?;
    let replies = (state.config.transport() == TransportKind::Gmail).then(|| {
        let r = read.as_ref();
        crate::replies::RepliesView {
            enabled: r.is_some_and(|r| r.enabled),
            granted,
            problem: r
                .filter(|r| r.status != "ok" && r.enabled)
                .and_then(|r| r.error.clone()),
            checked: r.and_then(|r| r.checked_at).map(|t| zone.display(t)),
            recovered: r.and_then(|r| r.recovered_at).map(|t| zone.display(t)),
            unattributed_bounces: r.map_or(0, |r| r.unattributed_bounces),
            bounces,
        }
    });
    let gmail = account.map(|a| GmailView {
        email: a.email,
        status: a.gmail_status,
        scopes: a.scopes,
        problem: a.gmail_error,
    });
    let transport = state.config.transport();
    Ok(SettingsView {
        time_zone: u.time_zone,
        daily_send_cap: u.daily_send_cap,
        send_gap_seconds: u.send_gap_seconds,
        transport: transport.as_str().to_string(),
        outbox_dir: (transport == TransportKind::Outbox)
            .then(|| state.config.outbox_dir.display().to_string()),
        gmail,
        sent_last_24h: sent,
        replies,
    })
}

pub async fn save(
    state: &AppState,
    user_id: UserId,
    zone: &str,
    cap: i32,
    gap: i32,
) -> Result<(), AppError> {
    let mut tx = state.pool.begin().await?;
    sqlx::query!(
        "UPDATE users SET time_zone = $2, daily_send_cap = $3, send_gap_seconds = $4,
                updated_at = now()
         WHERE id = $1",
        user_id as UserId,
        zone,
        cap,
        gap,
    )
    .execute(&mut *tx)
    .await?;
    // A higher cap or a shorter gap may free held mail now.
    crate::emails::release(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Returns whether Google confirmed the revocation.
pub async fn disconnect(state: &AppState, user_id: UserId) -> Result<bool, AppError> {
    let token = accounts::refresh_token(&state.pool, &state.cipher, user_id).await?;
    let revoked = match (token, &state.google) {
        (Some(token), Some(google)) => match google.revoke(&token).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(%user_id, error = %e, "revoke failed; forgetting the tokens anyway");
                false
            }
        },
        _ => true,
    };
    accounts::disconnect(&state.pool, user_id).await?;
    tracing::info!(%user_id, revoked, "Gmail disconnected");
    Ok(revoked)
}
