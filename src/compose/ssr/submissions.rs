//! At most once per form: the idempotency key of the forms that queue mail.
//!
//! `claim` runs first in the transaction that queues. A concurrent repeat of the
//! same key waits on the first one's insert, then sees its committed result.

use crate::domain::UserId;
use crate::error::AppError;
use sha2::{Digest, Sha256};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

/// What the first submit of a key did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Earlier {
    pub first_email: Option<Uuid>,
    pub queued: i64,
}

/// A digest of the submitted fields, in order.
pub fn fingerprint(parts: &[&str]) -> Vec<u8> {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    h.finalize().to_vec()
}

/// `None`: this is the first submit of `key`, go on (and `record` what was
/// queued). `Some`: it was done before; here is what it did.
pub async fn claim(
    tx: &mut Transaction<'_, Postgres>,
    user_id: UserId,
    key: Uuid,
    fingerprint: &[u8],
) -> Result<Option<Earlier>, AppError> {
    let inserted = sqlx::query!(
        "INSERT INTO submissions (user_id, key, fingerprint) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
        user_id as UserId,
        key,
        fingerprint
    )
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let row = sqlx::query!(
        "SELECT fingerprint, first_email, queued FROM submissions WHERE user_id = $1 AND key = $2",
        user_id as UserId,
        key
    )
    .fetch_one(&mut **tx)
    .await?;
    if row.fingerprint != fingerprint {
        return Err(AppError::BadRequest(
            "This form was already sent, with other content, and that was queued. Nothing more was queued: reload the page to start again.".into(),
        ));
    }
    Ok(Some(Earlier {
        first_email: row.first_email,
        queued: row.queued,
    }))
}

pub async fn record(
    tx: &mut Transaction<'_, Postgres>,
    user_id: UserId,
    key: Uuid,
    first_email: Option<Uuid>,
    queued: i64,
) -> Result<(), AppError> {
    sqlx::query!(
        "UPDATE submissions SET first_email = $3, queued = $4 WHERE user_id = $1 AND key = $2",
        user_id as UserId,
        key,
        first_email,
        queued
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets keys older than a week. Returns how many.
pub async fn expire(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM submissions WHERE created_at < now() - interval '7 days'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}
