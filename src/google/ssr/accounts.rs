//! The `google_accounts` table: identities, encrypted tokens, Gmail status.

use super::client::{GoogleError, Tokens, UserInfo};
use crate::crypto::TokenCipher;
use crate::domain::UserId;
use crate::error::AppError;
use crate::state::AppState;
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

pub struct Account {
    pub id: Uuid,
    pub user_id: UserId,
    pub email: String,
    pub scopes: Vec<String>,
    pub gmail_status: String,
    pub gmail_error: Option<String>,
}

pub async fn find_by_sub(pool: &PgPool, sub: &str) -> Result<Option<Account>, AppError> {
    Ok(sqlx::query_as!(
        Account,
        "SELECT id, user_id AS \"user_id: UserId\", email, scopes, gmail_status, gmail_error FROM google_accounts WHERE google_sub = $1",
        sub
    )
    .fetch_optional(pool)
    .await?)
}

pub async fn find_for_user(pool: &PgPool, user_id: UserId) -> Result<Option<Account>, AppError> {
    Ok(sqlx::query_as!(
        Account,
        "SELECT id, user_id AS \"user_id: UserId\", email, scopes, gmail_status, gmail_error FROM google_accounts WHERE user_id = $1",
        user_id as UserId
    )
    .fetch_optional(pool)
    .await?)
}

fn expiry(tokens: &Tokens) -> OffsetDateTime {
    let secs = tokens.expires_in.map(|d| d.as_secs()).unwrap_or(3600);
    OffsetDateTime::now_utc() + time::Duration::seconds(secs.min(86_400) as i64)
}

/// A new user from their first "Sign in with Google": the account row (its
/// address verified: Google said so) and the Google identity, in one
/// transaction. Sign-in keeps no tokens.
pub async fn create_user_with_google(
    pool: &PgPool,
    info: &UserInfo,
    name: &str,
) -> Result<UserId, AppError> {
    let mut tx = pool.begin().await?;
    let user_id = UserId::from_uuid(Uuid::now_v7());
    sqlx::query!(
        "INSERT INTO users (id, email, name, email_verified_at) VALUES ($1, $2, $3, now())",
        user_id as UserId,
        info.email.trim(),
        name
    )
    .execute(&mut *tx)
    .await?;
    link_identity(&mut tx, user_id, info).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Links a Google identity (no tokens: sign-in keeps none) to `user_id`, in
/// the caller's transaction.
pub async fn link_identity(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
    info: &UserInfo,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO google_accounts (id, user_id, google_sub, email) VALUES ($1, $2, $3, $4)",
        Uuid::now_v7(),
        user_id as UserId,
        info.sub,
        info.email.trim(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Links a Google identity to a logged-in user and stores what "Connect Gmail"
/// granted. Refuses an identity that already belongs to someone else.
pub async fn connect(
    state: &AppState,
    cipher: &TokenCipher,
    user_id: UserId,
    info: &UserInfo,
    tokens: &Tokens,
    can_send: bool,
) -> Result<ConnectOutcome, AppError> {
    let pool = &state.pool;
    let mut tx = pool.begin().await?;
    let existing = sqlx::query!(
        "SELECT id, user_id AS \"user_id: UserId\", refresh_token FROM google_accounts WHERE google_sub = $1 OR user_id = $2 FOR UPDATE",
        info.sub,
        user_id as UserId
    )
    .fetch_all(&mut *tx)
    .await?;
    if existing.iter().any(|r| r.user_id != user_id) {
        return Ok(ConnectOutcome::BelongsToAnotherUser);
    }
    let id = existing.first().map(|r| r.id).unwrap_or_else(Uuid::now_v7);
    let access = cipher.encrypt(id, "access_token", &tokens.access_token);
    // Google sends no new refresh token when it has one on file for this client:
    // keep ours.
    let refresh = match &tokens.refresh_token {
        Some(r) => Some(cipher.encrypt(id, "refresh_token", r)),
        None => existing.first().and_then(|r| r.refresh_token.clone()),
    };
    let status = if can_send && refresh.is_some() {
        "connected"
    } else {
        "none"
    };
    sqlx::query!(
        "INSERT INTO google_accounts (id, user_id, google_sub, email, scopes, access_token, refresh_token,
                                      token_expires_at, gmail_status, gmail_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)
         ON CONFLICT (user_id) DO UPDATE SET google_sub = EXCLUDED.google_sub, email = EXCLUDED.email,
             scopes = EXCLUDED.scopes, access_token = EXCLUDED.access_token,
             refresh_token = EXCLUDED.refresh_token, token_expires_at = EXCLUDED.token_expires_at,
             gmail_status = EXCLUDED.gmail_status, gmail_error = NULL, updated_at = now()",
        id,
        user_id as UserId,
        info.sub,
        info.email.trim(),
        &tokens.scopes,
        access,
        refresh,
        expiry(tokens),
        status,
    )
    .execute(&mut *tx)
    .await?;
    // Campaigns started from another mailbox pause (their thread ids mean
    // nothing here); ones paused for that resume when their mailbox is back.
    crate::campaigns::ssr::repo::mailbox_connected(&mut tx, user_id, info.email.trim()).await?;
    // Mail held while the account was disconnected can go now.
    crate::emails::release(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(if status == "connected" {
        ConnectOutcome::Connected
    } else if can_send {
        ConnectOutcome::NoRefreshToken
    } else {
        ConnectOutcome::MissingSendScope
    })
}

#[derive(Debug, PartialEq, Eq)]
pub enum ConnectOutcome {
    Connected,
    MissingSendScope,
    NoRefreshToken,
    BelongsToAnotherUser,
}

/// Forgets the tokens (after revoking them at Google) and stops sending.
pub async fn disconnect(pool: &PgPool, user_id: UserId) -> Result<(), AppError> {
    sqlx::query!(
        "UPDATE google_accounts SET access_token = NULL, refresh_token = NULL, token_expires_at = NULL,
                gmail_status = 'none', gmail_error = NULL,
                scopes = array(SELECT s FROM unnest(scopes) s WHERE s NOT LIKE '%/auth/gmail.%'),
                updated_at = now()
         WHERE user_id = $1",
        user_id as UserId
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The refresh token of a user's account, for revoking it.
pub async fn refresh_token(
    pool: &PgPool,
    cipher: &TokenCipher,
    user_id: UserId,
) -> Result<Option<SecretString>, AppError> {
    let row = sqlx::query!(
        "SELECT id, refresh_token, access_token FROM google_accounts WHERE user_id = $1",
        user_id as UserId
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let decrypt = |column: &str, value: Option<Vec<u8>>| {
        value.and_then(|v| cipher.decrypt(row.id, column, &v).ok())
    };
    Ok(decrypt("refresh_token", row.refresh_token).or(decrypt("access_token", row.access_token)))
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Google refused the refresh token: the account is now disconnected.
    #[error("Gmail access was revoked or has expired")]
    Revoked,
    /// Not connected for sending (never, or disconnected earlier).
    #[error("Gmail is not connected")]
    NotConnected,
    #[error("{0}")]
    Unavailable(String),
}

/// The stored access tokens of these users that are connected and good for at
/// least another minute. The others go through [`access_token`].
pub async fn stored_access_tokens(
    pool: &PgPool,
    cipher: &TokenCipher,
    user_ids: &[UserId],
) -> Result<std::collections::HashMap<UserId, SecretString>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT id, user_id AS \"user_id: UserId\", access_token AS \"access_token!\" FROM google_accounts
         WHERE user_id = ANY($1) AND gmail_status = 'connected' AND access_token IS NOT NULL
           AND token_expires_at > now() + interval '60 seconds'",
        user_ids as &[UserId]
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let token = cipher.decrypt(r.id, "access_token", &r.access_token).ok()?;
            Some((r.user_id, token))
        })
        .collect())
}

/// A live access token for sending as this user, refreshed shortly before it
/// expires (or when `rejected` is the token Gmail just refused). One refresh at a
/// time per account, across instances: the row is locked while refreshing.
#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn access_token(
    state: &AppState,
    cipher: &TokenCipher,
    google: &super::client::GoogleClient,
    user_id: UserId,
    rejected: Option<&SecretString>,
) -> Result<SecretString, TokenError> {
    let unavailable = |e: sqlx::Error| TokenError::Unavailable(format!("database: {e}"));
    let fresh_enough = OffsetDateTime::now_utc() + time::Duration::seconds(60);
    let usable =
        |id: Uuid, status: &str, access: Option<Vec<u8>>, expires: Option<OffsetDateTime>| {
            if status != "connected" {
                return Err(TokenError::NotConnected);
            }
            let token = access.and_then(|a| cipher.decrypt(id, "access_token", &a).ok());
            Ok(token.filter(|t| {
                expires.is_some_and(|e| e > fresh_enough)
                    && rejected.is_none_or(|r| r.expose_secret() != t.expose_secret())
            }))
        };

    let row = sqlx::query!(
        "SELECT id, gmail_status, access_token, token_expires_at FROM google_accounts WHERE user_id = $1",
        user_id as UserId
    )
    .fetch_optional(&state.pool)
    .await
    .map_err(unavailable)?
    .ok_or(TokenError::NotConnected)?;
    if let Some(token) = usable(
        row.id,
        &row.gmail_status,
        row.access_token,
        row.token_expires_at,
    )? {
        return Ok(token);
    }

    let mut tx = state.pool.begin().await.map_err(unavailable)?;
    let row = sqlx::query!(
        "SELECT id, gmail_status, access_token, refresh_token, token_expires_at
         FROM google_accounts WHERE user_id = $1 FOR UPDATE",
        user_id as UserId
    )
    .fetch_optional(&mut *tx)
    .await
    .map_err(unavailable)?
    .ok_or(TokenError::NotConnected)?;
    // Another loop may have refreshed it while we waited for the lock.
    if let Some(token) = usable(
        row.id,
        &row.gmail_status,
        row.access_token,
        row.token_expires_at,
    )? {
        return Ok(token);
    }
    let refresh = row
        .refresh_token
        .and_then(|r| cipher.decrypt(row.id, "refresh_token", &r).ok())
        .ok_or(TokenError::NotConnected)?;
    match google.refresh(&refresh).await {
        Ok(tokens) => {
            let access = cipher.encrypt(row.id, "access_token", &tokens.access_token);
            let new_refresh = tokens
                .refresh_token
                .as_ref()
                .map(|r| cipher.encrypt(row.id, "refresh_token", r));
            sqlx::query!(
                "UPDATE google_accounts SET access_token = $2, token_expires_at = $3,
                        refresh_token = coalesce($4, refresh_token), updated_at = now()
                 WHERE id = $1",
                row.id,
                access,
                expiry(&tokens),
                new_refresh,
            )
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
            tx.commit().await.map_err(unavailable)?;
            tracing::info!("access token refreshed");
            Ok(tokens.access_token)
        }
        Err(GoogleError::InvalidGrant) => {
            sqlx::query!(
                "UPDATE google_accounts SET access_token = NULL, refresh_token = NULL,
                        token_expires_at = NULL, gmail_status = 'disconnected',
                        gmail_error = 'Google no longer accepts MailMerger''s access to this Gmail account (it was revoked or has expired).',
                        updated_at = now()
                 WHERE id = $1",
                row.id
            )
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
            tx.commit().await.map_err(unavailable)?;
            tracing::warn!("refresh token refused (invalid_grant): Gmail disconnected, mail held");
            Err(TokenError::Revoked)
        }
        Err(e) => Err(TokenError::Unavailable(e.to_string())),
    }
}
