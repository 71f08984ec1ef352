//! CSV imports kept between upload and queueing.

use crate::domain::UserId;
use crate::error::AppError;
use sqlx::PgPool;
use uuid::Uuid;

pub struct Import {
    pub id: Uuid,
    pub file_name: String,
    pub csv: String,
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn create(
    pool: &PgPool,
    user_id: UserId,
    file_name: &str,
    csv: &str,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO merge_imports (id, user_id, file_name, csv) VALUES ($1, $2, $3, $4)",
        id,
        user_id as UserId,
        file_name,
        csv
    )
    .execute(pool)
    .await?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn get(pool: &PgPool, user_id: UserId, id: Uuid) -> Result<Import, AppError> {
    sqlx::query_as!(
        Import,
        "SELECT id, file_name, csv FROM merge_imports WHERE id = $1 AND user_id = $2",
        id,
        user_id as UserId
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// Deletes imports older than `days` that no message still waiting to go (or
/// awaiting a decision) came from, 500 at a time. Returns how many.
pub async fn expire(pool: &PgPool, days: i32) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let old = sqlx::query_scalar!(
        "SELECT id FROM merge_imports WHERE created_at < now() - make_interval(days => $1)
         ORDER BY created_at LIMIT 500 FOR UPDATE SKIP LOCKED",
        days
    )
    .fetch_all(&mut *tx)
    .await?;
    if old.is_empty() {
        return Ok(0);
    }
    let kept = crate::emails::read::imports_in_use(&mut tx, &old).await?;
    let gone: Vec<Uuid> = old.into_iter().filter(|id| !kept.contains(id)).collect();
    let n = sqlx::query!("DELETE FROM merge_imports WHERE id = ANY($1)", &gone)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(n)
}
