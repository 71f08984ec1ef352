//! The `emails` table as the Sent page and the progress bar read it.

use crate::config::TransportKind;
use crate::error::AppError;
use crate::queue::sent::{Counts, Progress};
use crate::state::AppState;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

pub struct HistoryRow {
    pub id: Uuid,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub status: String,
    pub sent_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub gmail_message_id: Option<String>,
    pub transport: Option<String>,
    pub last_error: Option<String>,
    pub attachments: Vec<String>,
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn list(
    pool: &PgPool,
    user_id: Uuid,
    filter: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<HistoryRow>, i64, Counts), AppError> {
    let c = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'sent') AS "sent!",
                  count(*) FILTER (WHERE status = 'failed') AS "failed!",
                  count(*) FILTER (WHERE status = 'uncertain') AS "uncertain!"
           FROM emails WHERE user_id = $1 AND status IN ('sent', 'failed', 'uncertain')"#,
        user_id
    )
    .fetch_one(pool)
    .await?;
    let counts = Counts {
        sent: c.sent,
        failed: c.failed,
        uncertain: c.uncertain,
    };
    let total = match filter {
        "sent" => counts.sent,
        "failed" => counts.failed,
        "uncertain" => counts.uncertain,
        _ => counts.sent + counts.failed + counts.uncertain,
    };
    let rows = sqlx::query_as!(
        HistoryRow,
        r#"SELECT id, to_addrs, subject, status, sent_at, updated_at, gmail_message_id, transport, last_error,
                  ARRAY(SELECT a.name FROM email_attachments a WHERE a.email_id = emails.id ORDER BY a.position) AS "attachments!"
         FROM emails
         WHERE user_id = $1 AND status IN ('sent', 'failed', 'uncertain')
           AND ($2 = 'all' OR status = $2)
         ORDER BY updated_at DESC, id DESC LIMIT $3 OFFSET $4"#,
        user_id,
        filter,
        limit,
        offset,
    )
    .fetch_all(pool)
    .await?;
    Ok((rows, total, counts))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// A failed message goes back in the queue, attempts reset.
    Retry,
    /// An uncertain message is sent again (same Message-ID, so clients that got
    /// the first can tell it is the same message).
    SendAgain,
    /// The user checked Gmail: it went out.
    MarkSent,
}

#[tracing::instrument(skip_all, fields(%user_id))]
pub async fn resolve(
    pool: &PgPool,
    user_id: Uuid,
    ids: &[Uuid],
    resolution: Resolution,
) -> Result<u64, AppError> {
    let done = match resolution {
        Resolution::Retry | Resolution::SendAgain => {
            let from = if resolution == Resolution::Retry {
                "failed"
            } else {
                "uncertain"
            };
            sqlx::query!(
                "UPDATE emails SET status = 'queued', attempts = 0, next_attempt_at = NULL,
                        send_at = least(send_at, now()), last_error = NULL, lease_id = NULL,
                        lease_until = NULL, claimed_at = NULL, updated_at = now()
                 WHERE user_id = $1 AND id = ANY($2) AND status = $3
                   -- Not without a file it attaches (deleted since it was queued).
                   AND NOT EXISTS (SELECT 1 FROM email_attachments a
                                   WHERE a.email_id = emails.id AND a.file_id IS NULL)",
                user_id,
                ids,
                from,
            )
            .execute(pool)
            .await?
        }
        Resolution::MarkSent => {
            sqlx::query!(
                "UPDATE emails SET status = 'sent', sent_at = coalesce(claimed_at, now()),
                        last_error = NULL, lease_id = NULL, updated_at = now()
                 WHERE user_id = $1 AND id = ANY($2) AND status = 'uncertain'",
                user_id,
                ids,
            )
            .execute(pool)
            .await?
        }
    };
    Ok(done.rows_affected())
}

/// How many of these messages attach a file that has since been deleted.
pub async fn missing_files(pool: &PgPool, user_id: Uuid, ids: &[Uuid]) -> Result<i64, AppError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(DISTINCT e.id) AS "n!" FROM emails e JOIN email_attachments a ON a.email_id = e.id
           WHERE e.user_id = $1 AND e.id = ANY($2) AND a.file_id IS NULL"#,
        user_id,
        ids
    )
    .fetch_one(pool)
    .await?)
}

/// Progress of what is due now. `since` is a Unix time (the moment the user
/// pressed a send button); finished counts start there.
pub async fn progress(state: &AppState, user_id: Uuid, since: i64) -> Result<Progress, AppError> {
    let since = OffsetDateTime::from_unix_timestamp(since)
        .unwrap_or_else(|_| OffsetDateTime::now_utc() - time::Duration::hours(1));
    let p = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status IN ('queued', 'sending') AND send_at <= now()) AS "remaining!",
                  count(*) FILTER (WHERE status = 'sent' AND updated_at >= $2) AS "sent!",
                  count(*) FILTER (WHERE status = 'failed' AND updated_at >= $2) AS "failed!",
                  count(*) FILTER (WHERE status = 'uncertain' AND updated_at >= $2) AS "uncertain!"
           FROM emails
           WHERE user_id = $1 AND (status IN ('queued', 'sending') OR updated_at >= $2)"#,
        user_id,
        since,
    )
    .fetch_one(&state.pool)
    .await?;
    let held = p.remaining > 0 && held(state, user_id).await?;
    Ok(Progress {
        remaining: p.remaining,
        sent: p.sent,
        failed: p.failed,
        uncertain: p.uncertain,
        held,
    })
}

/// Whether this user's mail waits for a Gmail connection.
pub async fn held(state: &AppState, user_id: Uuid) -> Result<bool, AppError> {
    if state.config.transport() != TransportKind::Gmail {
        return Ok(false);
    }
    let status = sqlx::query_scalar!(
        "SELECT gmail_status FROM google_accounts WHERE user_id = $1",
        user_id
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(status.as_deref() != Some("connected"))
}
