//! What the pages read of `emails`: the queue, the history, the progress of what
//! is going out, a queued message to edit, and the counts other capabilities
//! show (a file's pending uses, the last 24 hours' recipients).

use crate::domain::EmailStatus;
use crate::domain::UserId;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

pub struct QueuedRow {
    pub id: Uuid,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub send_at: OffsetDateTime,
    pub status: EmailStatus,
    pub editable: bool,
    /// Why the last attempt did not go (a retry is scheduled).
    pub last_error: Option<String>,
    pub attachments: Vec<String>,
}

/// A page of the user's messages still to go (queued or being sent), due first,
/// and how many there are in all.
#[tracing::instrument(skip(pool))]
pub async fn queued(
    pool: &PgPool,
    user_id: UserId,
    limit: i64,
    offset: i64,
) -> Result<(Vec<QueuedRow>, i64), sqlx::Error> {
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM emails WHERE user_id = $1 AND status IN ('queued', 'sending')"#,
        user_id as UserId
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query!(
        r#"SELECT id, to_addrs, subject, due_at AS "send_at!", status,
                  body_source IS NOT NULL AND status = 'queued' AS "editable!", last_error,
                  ARRAY(SELECT a.name FROM email_attachments a WHERE a.email_id = emails.id ORDER BY a.position) AS "attachments!"
           FROM emails
           WHERE user_id = $1 AND status IN ('queued', 'sending')
           ORDER BY due_at, id LIMIT $2 OFFSET $3"#,
        user_id as UserId,
        limit,
        offset,
    )
    .fetch_all(pool)
    .await?;
    Ok((
        rows.into_iter()
            .map(|r| QueuedRow {
                id: r.id,
                to_addrs: r.to_addrs,
                subject: r.subject,
                send_at: r.send_at,
                status: status(&r.status),
                editable: r.editable,
                last_error: r.last_error,
                attachments: r.attachments,
            })
            .collect(),
        total,
    ))
}

/// A status read from the table; its CHECK constraint allows no other.
fn status(raw: &str) -> EmailStatus {
    EmailStatus::parse(raw).unwrap_or(EmailStatus::Uncertain)
}

pub struct HistoryRow {
    pub id: Uuid,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub status: EmailStatus,
    pub sent_at: Option<OffsetDateTime>,
    pub updated_at: OffsetDateTime,
    pub gmail_message_id: Option<String>,
    pub transport: Option<String>,
    pub last_error: Option<String>,
    pub attachments: Vec<String>,
    /// Cc or Bcc addresses taken off it because they are suppressed.
    pub suppressed_addrs: Vec<String>,
}

pub use crate::domain::FinishedCounts;

/// A page of the user's finished messages, newest first, of one status or all
/// (`only`), with how many match and the counts of each status.
#[tracing::instrument(skip(pool))]
pub async fn history(
    pool: &PgPool,
    user_id: UserId,
    only: Option<EmailStatus>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<HistoryRow>, i64, FinishedCounts), sqlx::Error> {
    let finished: Vec<&str> = EmailStatus::FINISHED.iter().map(|s| s.as_str()).collect();
    let c = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status = 'sent') AS "sent!",
                  count(*) FILTER (WHERE status = 'failed') AS "failed!",
                  count(*) FILTER (WHERE status = 'uncertain') AS "uncertain!",
                  count(*) FILTER (WHERE status = 'suppressed') AS "suppressed!"
           FROM emails WHERE user_id = $1 AND status = ANY($2)"#,
        user_id as UserId,
        &finished as &[&str],
    )
    .fetch_one(pool)
    .await?;
    let counts = FinishedCounts {
        sent: c.sent,
        failed: c.failed,
        uncertain: c.uncertain,
        suppressed: c.suppressed,
    };
    let total = counts.of(only);
    let rows = sqlx::query!(
        r#"SELECT id, to_addrs, subject, status, sent_at, updated_at, gmail_message_id, transport, last_error,
                  suppressed_addrs,
                  ARRAY(SELECT a.name FROM email_attachments a WHERE a.email_id = emails.id ORDER BY a.position) AS "attachments!"
         FROM emails
         WHERE user_id = $1 AND status = ANY($5)
           AND ($2::text IS NULL OR status = $2)
         ORDER BY updated_at DESC, id DESC LIMIT $3 OFFSET $4"#,
        user_id as UserId,
        only.map(EmailStatus::as_str),
        limit,
        offset,
        &finished as &[&str],
    )
    .fetch_all(pool)
    .await?;
    let rows = rows
        .into_iter()
        .map(|r| HistoryRow {
            id: r.id,
            to_addrs: r.to_addrs,
            subject: r.subject,
            status: status(&r.status),
            sent_at: r.sent_at,
            updated_at: r.updated_at,
            gmail_message_id: r.gmail_message_id,
            transport: r.transport,
            last_error: r.last_error,
            attachments: r.attachments,
            suppressed_addrs: r.suppressed_addrs,
        })
        .collect();
    Ok((rows, total, counts))
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Going {
    /// Due now and not yet sent (queued, waiting for a retry, or being sent).
    pub remaining: i64,
    /// Finished since the moment asked about.
    pub sent: i64,
    pub failed: i64,
    pub uncertain: i64,
}

/// What is going out now, and what finished since `since`.
pub async fn going(
    pool: &PgPool,
    user_id: UserId,
    since: OffsetDateTime,
) -> Result<Going, sqlx::Error> {
    let p = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE status IN ('queued', 'sending') AND send_at <= mm_now()) AS "remaining!",
                  count(*) FILTER (WHERE status = 'sent' AND updated_at >= $2) AS "sent!",
                  count(*) FILTER (WHERE status = 'failed' AND updated_at >= $2) AS "failed!",
                  count(*) FILTER (WHERE status = 'uncertain' AND updated_at >= $2) AS "uncertain!"
           FROM emails
           WHERE user_id = $1 AND (status IN ('queued', 'sending') OR updated_at >= $2)"#,
        user_id as UserId,
        since,
    )
    .fetch_one(pool)
    .await?;
    Ok(Going {
        remaining: p.remaining,
        sent: p.sent,
        failed: p.failed,
        uncertain: p.uncertain,
    })
}

/// A queued message as Write email reopens it.
pub struct QueuedDraft {
    pub id: Uuid,
    pub template_id: Option<Uuid>,
    pub to_addrs: Vec<String>,
    pub cc_addrs: Vec<String>,
    pub bcc_addrs: Vec<String>,
    /// `None` for a merge's message (it was written as a template).
    pub subject_source: Option<String>,
    pub body_source: Option<String>,
    pub values: BTreeMap<String, String>,
}

/// The user's message `id`, if it is still queued.
pub async fn queued_draft(
    pool: &PgPool,
    user_id: UserId,
    id: Uuid,
) -> Result<Option<QueuedDraft>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT id, template_id, to_addrs, cc_addrs, bcc_addrs, subject_source, body_source,
                  merge_values AS "merge_values: sqlx::types::Json<BTreeMap<String, String>>"
           FROM emails WHERE id = $1 AND user_id = $2 AND status = 'queued'"#,
        id,
        user_id as UserId,
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| QueuedDraft {
        id: r.id,
        template_id: r.template_id,
        to_addrs: r.to_addrs,
        cc_addrs: r.cc_addrs,
        bcc_addrs: r.bcc_addrs,
        subject_source: r.subject_source,
        body_source: r.body_source,
        values: r.merge_values.0,
    }))
}

/// How many messages not sent yet attach each of the user's files.
pub async fn pending_file_uses(
    pool: &PgPool,
    user_id: UserId,
) -> Result<HashMap<Uuid, i64>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT a.file_id AS "file_id!", count(*) AS "uses!"
           FROM email_attachments a JOIN emails e ON e.id = a.email_id
           WHERE e.user_id = $1 AND a.file_id IS NOT NULL AND e.status IN ('queued', 'sending')
           GROUP BY a.file_id"#,
        user_id as UserId
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.file_id, r.uses)).collect())
}

/// Of these imports, the ones a message still to go (or awaiting a decision)
/// came from: those are kept.
pub async fn imports_in_use(
    conn: &mut PgConnection,
    import_ids: &[Uuid],
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT DISTINCT import_id AS "id!" FROM emails
           WHERE import_id = ANY($1) AND status IN ('queued', 'sending', 'uncertain')"#,
        import_ids
    )
    .fetch_all(conn)
    .await
}

/// How many messages are in each of these statuses, across all users (the queue
/// depth in /metrics).
pub async fn count_by_status(
    pool: &PgPool,
    statuses: &[EmailStatus],
) -> Result<HashMap<EmailStatus, i64>, sqlx::Error> {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let rows = sqlx::query!(
        r#"SELECT status AS "status!", count(*) AS "n!" FROM emails
           WHERE status = ANY($1) GROUP BY status"#,
        &names as &[&str]
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((EmailStatus::parse(&r.status)?, r.n)))
        .collect())
}

/// Which of these Gmail message ids are messages the user sent with
/// MailMerger.
pub async fn sent_gmail_ids(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT gmail_message_id AS "id!" FROM emails
           WHERE user_id = $1 AND gmail_message_id = ANY($2)"#,
        user_id as UserId,
        ids,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// Whether the user has an uncertain message from the last day that a read
/// of their Sent mail could settle.
pub async fn has_recent_uncertain(
    conn: &mut sqlx::PgConnection,
    user_id: UserId,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM emails WHERE user_id = $1 AND status = 'uncertain'
                          AND updated_at > mm_now() - interval '1 day') AS "x!""#,
        user_id as UserId,
    )
    .fetch_one(conn)
    .await
}
