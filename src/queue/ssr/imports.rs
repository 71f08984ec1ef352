//! CSV imports kept between upload and queueing.

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
    user_id: Uuid,
    file_name: &str,
    csv: &str,
) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO merge_imports (id, user_id, file_name, csv) VALUES ($1, $2, $3, $4)",
        id,
        user_id,
        file_name,
        csv
    )
    .execute(pool)
    .await?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn get(pool: &PgPool, user_id: Uuid, id: Uuid) -> Result<Import, AppError> {
    sqlx::query_as!(
        Import,
        "SELECT id, file_name, csv FROM merge_imports WHERE id = $1 AND user_id = $2",
        id,
        user_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)
}

/// Deletes imports older than `days` that no message still waiting to go (or
/// awaiting a decision) came from, 500 at a time. Returns how many.
pub async fn expire(pool: &PgPool, days: i32) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM merge_imports WHERE id IN (
             SELECT m.id FROM merge_imports m
             WHERE m.created_at < now() - make_interval(days => $1)
               AND NOT EXISTS (SELECT 1 FROM emails e
                               WHERE e.import_id = m.id
                                 AND e.status IN ('queued', 'sending', 'uncertain'))
             ORDER BY m.created_at LIMIT 500)",
        days
    )
    .execute(pool)
    .await?
    .rows_affected())
}
