//! The `users` table. Every function takes already-parsed domain values.

use crate::domain::{EmailAddress, PersonName, UserId, UserView};
use crate::error::AppError;
use sqlx::PgPool;
use uuid::Uuid;

pub struct Credentials {
    pub id: UserId,
    pub password_hash: Option<String>,
    pub suspended: bool,
}

/// Inserts a user. An address already registered (in any case) is a field error.
#[tracing::instrument(skip_all)]
pub async fn create(
    pool: &PgPool,
    name: &PersonName,
    email: &EmailAddress,
    password_hash: &str,
    verified: bool,
) -> Result<UserId, AppError> {
    let id = UserId::from_uuid(Uuid::now_v7());
    let result = sqlx::query!(
        "INSERT INTO users (id, email, name, password_hash, email_verified_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5 THEN now() END)",
        id as UserId,
        email.as_str(),
        name.as_str(),
        password_hash,
        verified,
    )
    .execute(pool)
    .await;
    match result {
        Ok(_) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("users_email_key") => {
            Err(AppError::field(
                "email",
                "An account with this email already exists. Log in instead.",
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// Looks a user up by email, compared case-insensitively.
#[tracing::instrument(skip_all)]
pub async fn find_credentials(
    pool: &PgPool,
    normalized_email: &str,
) -> Result<Option<Credentials>, AppError> {
    Ok(sqlx::query_as!(
        Credentials,
        r#"SELECT id AS "id: UserId", password_hash, suspended_at IS NOT NULL AS "suspended!"
           FROM users WHERE lower(email) = $1"#,
        normalized_email,
    )
    .fetch_optional(pool)
    .await?)
}

#[tracing::instrument(skip_all, fields(%id))]
pub async fn find_view(pool: &PgPool, id: UserId) -> Result<Option<UserView>, AppError> {
    Ok(sqlx::query_as!(
        UserView,
        r#"SELECT u.id AS "id: UserId", u.name, u.email,
                  u.email_verified_at IS NOT NULL AS "email_verified!",
                  NULL::text AS system_outbox, false AS "admin!",
                  coalesce(g.gmail_status = 'disconnected', false) AS "gmail_disconnected!",
                  u.time_zone
           FROM users u LEFT JOIN google_accounts g ON g.user_id = u.id WHERE u.id = $1"#,
        id as UserId,
    )
    .fetch_optional(pool)
    .await?)
}
