//! A Google identity claiming an unverified password account with its address
//! (the "pre-hijacking" attacks of Sudhodanan and Paverd, 2022; docs/accounts.md,
//! "Google and an unverified account").
//!
//! Someone may have registered the address before its owner came: the owner,
//! signing in with Google (which verified the address), takes the account, and
//! whatever the earlier registrant kept in it stops working, in one
//! transaction: the password, every session, any other Google identity (its
//! tokens revoked), every open link, all queued mail and running campaigns.
//! A *verified* password account is never linked by address.

use crate::domain::UserId;
use crate::error::AppError;
use crate::google::ssr::client::UserInfo;
use crate::state::AppState;
use secrecy::SecretString;

pub const CLAIMED: &str =
    "Cancelled when the owner of this address signed in with Google and took the account over.";

/// What the claim did, for the page that follows it.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Claimed {
    pub cancelled_mail: u64,
    pub cancelled_campaigns: u64,
    pub removed_google: Option<String>,
}

/// Claims the unverified account `user_id` for the Google identity `info`.
/// `Ok(None)`: it is verified (or gone) after all, and is left alone.
pub async fn claim(
    state: &AppState,
    user_id: UserId,
    info: &UserInfo,
) -> Result<Option<Claimed>, AppError> {
    let mut tx = state.pool.begin().await?;
    let unverified = sqlx::query_scalar!(
        r#"SELECT email_verified_at IS NULL AS "unverified!" FROM users
           WHERE id = $1 AND lower(email) = lower($2) FOR UPDATE"#,
        user_id as UserId,
        info.email.trim(),
    )
    .fetch_optional(&mut *tx)
    .await?
    .unwrap_or(false);
    if !unverified {
        return Ok(None);
    }
    // The identity the earlier registrant linked, with its tokens to revoke.
    let other = sqlx::query!(
        "SELECT id, email, access_token, refresh_token FROM google_accounts WHERE user_id = $1",
        user_id as UserId
    )
    .fetch_optional(&mut *tx)
    .await?;
    let mut revoke: Vec<SecretString> = Vec::new();
    if let Some(g) = &other {
        for (column, value) in [
            ("refresh_token", &g.refresh_token),
            ("access_token", &g.access_token),
        ] {
            if let Some(v) = value
                && let Ok(token) = state.cipher.decrypt(g.id, column, v)
            {
                revoke.push(token);
            }
        }
        sqlx::query!("DELETE FROM google_accounts WHERE id = $1", g.id)
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query!(
        "UPDATE users SET password_hash = NULL, email_verified_at = now(), updated_at = now()
         WHERE id = $1",
        user_id as UserId
    )
    .execute(&mut *tx)
    .await?;
    super::sessions::end_all(&mut tx, user_id).await?;
    super::links::void(&mut tx, user_id, &[]).await?;
    let cancelled_campaigns =
        crate::campaigns::ssr::repo::cancel_all(&mut tx, user_id, CLAIMED).await?;
    let cancelled_mail = crate::emails::cancel_all_queued(&mut tx, user_id, CLAIMED).await?;
    crate::google::ssr::accounts::link_identity(&mut tx, user_id, info).await?;
    tx.commit().await?;
    tracing::warn!(%user_id, cancelled_mail, "an unverified account was claimed with Google");
    if let Some(google) = &state.google {
        for token in revoke {
            if let Err(e) = google.revoke(&token).await {
                tracing::warn!(%user_id, error = %e, "claim: a token could not be revoked");
            }
        }
    }
    Ok(Some(Claimed {
        cancelled_mail,
        cancelled_campaigns,
        removed_google: other.map(|g| g.email),
    }))
}
