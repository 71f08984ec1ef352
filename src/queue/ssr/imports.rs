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
