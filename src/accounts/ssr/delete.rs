//! "Delete my account" (docs/accounts.md, "Download and delete"): queued mail
//! is cancelled first, so nothing more goes while the rest is removed; then
//! Google's access is revoked, every object in file storage is scheduled for
//! deletion (the sweep removes them and retries what storage refuses), and the
//! account's row goes, taking every row of it with it (`ON DELETE CASCADE`),
//! its sessions included.

use crate::domain::UserId;
use crate::error::AppError;
use crate::state::AppState;
use fred::prelude::KeysInterface;

pub const DELETED: &str = "Cancelled: the account was deleted.";

/// How recent a Google sign-in confirms the deletion of an account without a
/// password.
pub const GOOGLE_CONFIRMS_FOR: time::Duration = time::Duration::minutes(10);

pub async fn delete_account(state: &AppState, user_id: UserId) -> Result<(), AppError> {
    let mut tx = state.pool.begin().await?;
    crate::campaigns::ssr::repo::cancel_all(&mut tx, user_id, DELETED).await?;
    let cancelled = crate::emails::cancel_all_queued(&mut tx, user_id, DELETED).await?;
    tx.commit().await?;

    let token =
        crate::google::ssr::accounts::refresh_token(&state.pool, &state.cipher, user_id).await?;
    if let (Some(token), Some(google)) = (token, &state.google)
        && let Err(e) = google.revoke(&token).await
    {
        // Deleting the row forgets the token anyway; the user can remove the
        // grant at myaccount.google.com.
        tracing::warn!(%user_id, error = %e, "delete: the Google grant could not be revoked");
    }

    let mut tx = state.pool.begin().await?;
    let objects = crate::files::ssr::repo::schedule_all(&mut tx, user_id).await?;
    sqlx::query!("DELETE FROM users WHERE id = $1", user_id as UserId)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let _: Result<i64, _> = state.redis.del(state.keys.templates(user_id)).await;
    tracing::warn!(%user_id, cancelled, objects, "account deleted");

    // The objects go now if storage answers; the sweep retries the rest.
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = crate::files::ssr::repo::sweep(&state).await {
            tracing::warn!(error = %e, "delete: the storage sweep failed; it runs again within a minute");
        }
    });
    Ok(())
}
