//! The `emails` table, as far as queueing and the queue page need it.

use crate::error::AppError;
use crate::merge::plan::ReadyRow;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct Batch<'a> {
    pub user_id: Uuid,
    pub template_id: Option<Uuid>,
    pub import_id: Option<Uuid>,
    pub cc: &'a [String],
    pub bcc: &'a [String],
    pub send_at: OffsetDateTime,
    /// The template as written (subject and Markdown body), so that each message
    /// can be reopened in Write email with its row's values.
    pub subject_source: &'a str,
    pub body_source: &'a str,
}

/// Inserts one message per ready row, in the caller's transaction, in one
/// statement. The rows are taken, not copied: the caller bounds how many (and
/// how large) it passes at once (`merging::queue`).
#[tracing::instrument(skip_all, fields(user_id = %batch.user_id, rows = rows.len()))]
pub async fn insert_batch(
    tx: &mut Transaction<'_, Postgres>,
    batch: &Batch<'_>,
    rows: Vec<ReadyRow>,
) -> Result<Vec<Uuid>, AppError> {
    let ids: Vec<Uuid> = rows.iter().map(|_| Uuid::now_v7()).collect();
    let mut to = Vec::with_capacity(rows.len());
    let mut subjects = Vec::with_capacity(rows.len());
    let mut html = Vec::with_capacity(rows.len());
    let mut text = Vec::with_capacity(rows.len());
    let mut values = Vec::with_capacity(rows.len());
    for r in rows {
        to.push(r.to.as_str().to_string());
        values.push(serde_json::to_value(&r.values).unwrap_or_default());
        subjects.push(r.message.subject);
        html.push(r.message.html);
        text.push(r.message.text);
    }
    let result = sqlx::query!(
        "INSERT INTO emails (id, user_id, template_id, import_id, to_addrs, cc_addrs, bcc_addrs,
                                 subject, body_html, body_text, send_at, subject_source, body_source,
                                 merge_values)
             SELECT u.id, $1, $2, $3, ARRAY[u.to_addr], $4, $5, u.subject, u.html, u.text, $6, $12, $13,
                    u.merge_values
             FROM UNNEST($7::uuid[], $8::text[], $9::text[], $10::text[], $11::text[], $14::jsonb[])
                  AS u(id, to_addr, subject, html, text, merge_values)",
        batch.user_id,
        batch.template_id,
        batch.import_id,
        batch.cc,
        batch.bcc,
        batch.send_at,
        &ids,
        &to,
        &subjects,
        &html,
        &text,
        batch.subject_source,
        batch.body_source,
        &values,
    )
    .execute(&mut **tx)
    .await?;
    debug_assert_eq!(result.rows_affected(), ids.len() as u64);
    Ok(ids)
}

pub struct QueuedRow {
    pub id: Uuid,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub send_at: OffsetDateTime,
    pub status: String,
    pub editable: bool,
    /// Why the last attempt did not go (a retry is scheduled).
    pub last_error: Option<String>,
    pub attachments: Vec<String>,
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn list_queued(
    pool: &PgPool,
    user_id: Uuid,
    limit: i64,
    offset: i64,
) -> Result<(Vec<QueuedRow>, i64), AppError> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM emails WHERE user_id = $1 AND status IN ('queued', 'sending')"#,
        user_id
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as!(
        QueuedRow,
        r#"SELECT id, to_addrs, subject, due_at AS "send_at!", status,
                  body_source IS NOT NULL AND status = 'queued' AS "editable!", last_error,
                  ARRAY(SELECT a.name FROM email_attachments a WHERE a.email_id = emails.id ORDER BY a.position) AS "attachments!"
           FROM emails
           WHERE user_id = $1 AND status IN ('queued', 'sending')
           ORDER BY due_at, id LIMIT $2 OFFSET $3"#,
        user_id,
        limit,
        offset,
    )
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

/// Which queued messages an action applies to.
pub enum Selection<'a> {
    Ids(&'a [Uuid]),
    AllQueued,
}

impl Selection<'_> {
    fn parts(&self) -> (Vec<Uuid>, bool) {
        match self {
            Selection::Ids(ids) => (ids.to_vec(), false),
            Selection::AllQueued => (Vec::new(), true),
        }
    }
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn cancel(
    pool: &PgPool,
    user_id: Uuid,
    selection: Selection<'_>,
) -> Result<u64, AppError> {
    let (ids, all) = selection.parts();
    let done = sqlx::query!(
        "UPDATE emails SET status = 'cancelled', updated_at = now()
         WHERE user_id = $1 AND status = 'queued' AND ($3 OR id = ANY($2))",
        user_id,
        &ids,
        all,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn reschedule(
    pool: &PgPool,
    user_id: Uuid,
    selection: Selection<'_>,
    send_at: OffsetDateTime,
) -> Result<u64, AppError> {
    let (ids, all) = selection.parts();
    let done = sqlx::query!(
        "UPDATE emails SET send_at = $4, updated_at = now()
         WHERE user_id = $1 AND status = 'queued' AND ($3 OR id = ANY($2))",
        user_id,
        &ids,
        all,
        send_at,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Makes the selected queued messages due now (retries waiting for their next
/// attempt included). The NOTIFY trigger wakes the delivery loops.
#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn send_now(
    pool: &PgPool,
    user_id: Uuid,
    selection: Selection<'_>,
) -> Result<u64, AppError> {
    let (ids, all) = selection.parts();
    let done = sqlx::query!(
        "UPDATE emails SET send_at = least(send_at, now()), next_attempt_at = NULL, updated_at = now()
         WHERE user_id = $1 AND status = 'queued' AND ($3 OR id = ANY($2))",
        user_id,
        &ids,
        all,
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
