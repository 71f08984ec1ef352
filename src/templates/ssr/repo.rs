//! The `templates` table. Every query is filtered by the owner.

use super::input::TemplateInput;
use crate::domain::UserId;
use crate::error::AppError;
use crate::templates::{TemplateDetail, TemplateSummary};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

fn name_taken(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some("templates_user_name_key"))
}

fn map_err(e: sqlx::Error, name: &str) -> AppError {
    if name_taken(&e) {
        AppError::field(
            "name",
            format!("You already have a template called \"{name}\". Choose another name."),
        )
    } else {
        e.into()
    }
}

fn human_time(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short] [day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.to_string())
}

/// Every template as written, oldest first, for "Download my data":
/// (name, subject, Markdown body, created, updated).
pub async fn export(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<(String, String, String, OffsetDateTime, OffsetDateTime)>, sqlx::Error> {
    let rows = sqlx::query!(
        "SELECT name, subject, body_markdown, created_at, updated_at FROM templates
         WHERE user_id = $1 ORDER BY created_at, id",
        user_id as UserId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.name,
                r.subject,
                r.body_markdown,
                r.created_at,
                r.updated_at,
            )
        })
        .collect())
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn list(pool: &PgPool, user_id: UserId) -> Result<Vec<TemplateSummary>, AppError> {
    let rows = sqlx::query!(
        "SELECT id, name, subject, placeholders, updated_at FROM templates
         WHERE user_id = $1 ORDER BY updated_at DESC, name",
        user_id as UserId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TemplateSummary {
            id: r.id,
            name: r.name,
            subject: r.subject,
            placeholders: r.placeholders,
            updated: human_time(r.updated_at),
        })
        .collect())
}

#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn get(
    pool: &PgPool,
    user_id: UserId,
    id: Uuid,
) -> Result<Option<TemplateDetail>, AppError> {
    Ok(sqlx::query_as!(
        TemplateDetail,
        r#"SELECT id, name, subject, body_markdown AS body, placeholders,
                  NULL::text AS "problem_field?", NULL::text AS "problem?"
           FROM templates WHERE id = $1 AND user_id = $2"#,
        id,
        user_id as UserId,
    )
    .fetch_optional(pool)
    .await?)
}

/// The parts a message is rendered from, as stored (placeholders in them).
pub struct Parts {
    pub subject: String,
    pub html: String,
    pub text: String,
}

#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn parts(pool: &PgPool, user_id: UserId, id: Uuid) -> Result<Option<Parts>, AppError> {
    Ok(sqlx::query_as!(
        Parts,
        r#"SELECT subject, body_html AS html, body_text AS text FROM templates
           WHERE id = $1 AND user_id = $2"#,
        id,
        user_id as UserId,
    )
    .fetch_optional(pool)
    .await?)
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn create(pool: &PgPool, user_id: UserId, t: &TemplateInput) -> Result<Uuid, AppError> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO templates (id, user_id, name, subject, body_markdown, body_html, body_text, placeholders)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        id,
        user_id as UserId,
        t.name,
        t.subject,
        t.markdown,
        t.body.html,
        t.body.text,
        &t.placeholders,
    )
    .execute(pool)
    .await
    .map_err(|e| map_err(e, &t.name))?;
    Ok(id)
}

#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn update(
    pool: &PgPool,
    user_id: UserId,
    id: Uuid,
    t: &TemplateInput,
) -> Result<Uuid, AppError> {
    let updated = sqlx::query!(
        "UPDATE templates SET name = $3, subject = $4, body_markdown = $5, body_html = $6,
             body_text = $7, placeholders = $8, updated_at = now()
         WHERE id = $1 AND user_id = $2",
        id,
        user_id as UserId,
        t.name,
        t.subject,
        t.markdown,
        t.body.html,
        t.body.text,
        &t.placeholders,
    )
    .execute(pool)
    .await
    .map_err(|e| map_err(e, &t.name))?;
    if updated.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(id)
}

/// Copies a template under a free name: "Copy of X", "Copy of X (2)", …
#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn duplicate(pool: &PgPool, user_id: UserId, id: Uuid) -> Result<Uuid, AppError> {
    let original = sqlx::query!(
        "SELECT name FROM templates WHERE id = $1 AND user_id = $2",
        id,
        user_id as UserId
    )
    .fetch_optional(pool)
    .await?
    .ok_or(AppError::NotFound)?;
    for n in 1..=50 {
        let base: String = format!("Copy of {}", original.name)
            .chars()
            .take(92)
            .collect();
        let name = if n == 1 {
            base
        } else {
            format!("{base} ({n})")
        };
        let copy = Uuid::now_v7();
        let result = sqlx::query!(
            "INSERT INTO templates (id, user_id, name, subject, body_markdown, body_html, body_text, placeholders)
             SELECT $3, user_id, $4, subject, body_markdown, body_html, body_text, placeholders
             FROM templates WHERE id = $1 AND user_id = $2",
            id,
            user_id as UserId,
            copy,
            name,
        )
        .execute(pool)
        .await;
        match result {
            Ok(r) if r.rows_affected() == 1 => return Ok(copy),
            Ok(_) => return Err(AppError::NotFound),
            Err(e) if name_taken(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(AppError::field(
        "name",
        "Too many copies of this template already. Rename some first.",
    ))
}

#[tracing::instrument(skip_all, fields(%user_id, %id))]
pub async fn delete(pool: &PgPool, user_id: UserId, id: Uuid) -> Result<(), AppError> {
    let deleted = sqlx::query!(
        "DELETE FROM templates WHERE id = $1 AND user_id = $2",
        id,
        user_id as UserId
    )
    .execute(pool)
    .await?;
    if deleted.rows_affected() == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}
