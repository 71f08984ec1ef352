//! What the pages read of `emails`: the queue, the history, the progress of what
//! is going out, a queued message to edit, and the counts other capabilities
//! show (a file's pending uses, the last 24 hours' recipients).

use super::keyset::{self, Toward};
use crate::domain::{EmailStatus, PageAt, Paging, RowKey, UserId};
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(sqlx::FromRow)]
pub struct QueuedRow {
    pub id: Uuid,
    pub to_addrs: Vec<String>,
    pub subject: String,
    pub send_at: OffsetDateTime,
    #[sqlx(try_from = "String")]
    pub status: EmailStatus,
    pub editable: bool,
    /// Why the last attempt did not go (a retry is scheduled).
    pub last_error: Option<String>,
    pub attachments: Vec<String>,
}

/// The names of a message's files, in order (a column of the lists).
const ATTACHMENT_NAMES: &str = "ARRAY(SELECT a.name FROM email_attachments a \
     WHERE a.email_id = emails.id ORDER BY a.position) AS attachments";

/// A page of the user's messages still to go (queued or being sent), due first,
/// its links, and how many there are in all (docs/lists.md).
#[tracing::instrument(skip(pool))]
pub async fn queued(
    pool: &PgPool,
    user_id: UserId,
    at: PageAt,
    limit: i64,
) -> Result<(Vec<QueuedRow>, Paging, i64), sqlx::Error> {
    let counts = super::counts::of_user(pool, user_id).await?;
    let total = [EmailStatus::Queued, EmailStatus::Sending]
        .iter()
        .map(|s| counts.get(s).copied().unwrap_or(0))
        .sum();
    let (rows, paging) = keyset::page(
        at,
        limit,
        keyset::Ends::OLDEST_FIRST,
        |r: &QueuedRow| keyset::key(r.send_at, r.id),
        |toward, from, n| queued_rows(pool, user_id, toward, from, n),
    )
    .await?;
    Ok((rows, paging, total))
}

/// Up to `n` of the user's messages still to go, strictly beyond `from`
/// going `toward`, nearest first.
async fn queued_rows(
    pool: &PgPool,
    user_id: UserId,
    toward: Toward,
    from: RowKey,
    n: i64,
) -> Result<Vec<QueuedRow>, sqlx::Error> {
    let (cmp, order) = match toward {
        Toward::Forward => (">", "ASC"),
        Toward::Backward => ("<", "DESC"),
    };
    sqlx::query_as::<_, QueuedRow>(&format!(
        "SELECT id, to_addrs, subject, due_at AS send_at, status,
                body_source IS NOT NULL AND status = 'queued' AS editable, last_error,
                {ATTACHMENT_NAMES}
         FROM emails
         WHERE user_id = $1 AND status IN ('queued', 'sending')
           AND (due_at, id) {cmp} ($2, $3)
         ORDER BY due_at {order}, id {order} LIMIT $4"
    ))
    .bind(user_id)
    .bind(keyset::time_of(from))
    .bind(from.id)
    .bind(n)
    .fetch_all(pool)
    .await
}

#[derive(sqlx::FromRow)]
pub struct HistoryRow {
    pub id: Uuid,
    pub to_addrs: Vec<String>,
    pub subject: String,
    #[sqlx(try_from = "String")]
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

/// The account's finished messages by status.
pub async fn finished_counts(
    pool: &PgPool,
    user_id: UserId,
) -> Result<FinishedCounts, sqlx::Error> {
    let c = super::counts::of_user(pool, user_id).await?;
    let n = |s| c.get(&s).copied().unwrap_or(0);
    Ok(FinishedCounts {
        sent: n(EmailStatus::Sent),
        failed: n(EmailStatus::Failed),
        uncertain: n(EmailStatus::Uncertain),
        suppressed: n(EmailStatus::Suppressed),
    })
}

/// A page of the user's finished messages, newest first, of one status or all
/// (`only`), its links, how many match and the counts of each status
/// (docs/lists.md).
#[tracing::instrument(skip(pool))]
pub async fn history(
    pool: &PgPool,
    user_id: UserId,
    only: Option<EmailStatus>,
    at: PageAt,
    limit: i64,
) -> Result<(Vec<HistoryRow>, Paging, i64, FinishedCounts), sqlx::Error> {
    let counts = finished_counts(pool, user_id).await?;
    let total = counts.of(only);
    let only = only.filter(|s| EmailStatus::FINISHED.contains(s));
    let (rows, paging) = keyset::page(
        at,
        limit,
        keyset::Ends::NEWEST_FIRST,
        |r: &HistoryRow| keyset::key(r.updated_at, r.id),
        |toward, from, n| history_rows(pool, user_id, only, toward, from, n),
    )
    .await?;
    Ok((rows, paging, total, counts))
}

/// Up to `n` of the user's finished messages (of one status, or all),
/// strictly beyond `from` going `toward`, nearest first.
async fn history_rows(
    pool: &PgPool,
    user_id: UserId,
    only: Option<EmailStatus>,
    toward: Toward,
    from: RowKey,
    n: i64,
) -> Result<Vec<HistoryRow>, sqlx::Error> {
    // One status reads emails_user_status_finished_idx, all of them
    // emails_user_finished_idx: two texts, so neither plan is a guess.
    let which = match only {
        Some(_) => "status = $5",
        None => "status IN ('sent', 'failed', 'uncertain', 'suppressed')",
    };
    let (cmp, order) = match toward {
        Toward::Forward => ("<", "DESC"),
        Toward::Backward => (">", "ASC"),
    };
    let sql = format!(
        "SELECT id, to_addrs, subject, status, sent_at, updated_at, gmail_message_id,
                transport, last_error, suppressed_addrs, {ATTACHMENT_NAMES}
         FROM emails
         WHERE user_id = $1 AND {which} AND (updated_at, id) {cmp} ($2, $3)
         ORDER BY updated_at {order}, id {order} LIMIT $4"
    );
    let q = sqlx::query_as::<_, HistoryRow>(&sql)
        .bind(user_id)
        .bind(keyset::time_of(from))
        .bind(from.id)
        .bind(n);
    match only {
        Some(s) => q.bind(s.as_str()),
        None => q,
    }
    .fetch_all(pool)
    .await
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

/// What is going out now, and what finished since `since`. Each count reads
/// one index alone (docs/lists.md, "The progress bar").
pub async fn going(
    pool: &PgPool,
    user_id: UserId,
    since: OffsetDateTime,
) -> Result<Going, sqlx::Error> {
    let p = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM emails WHERE user_id = $1
                     AND status IN ('queued', 'sending') AND send_at <= mm_now()) AS "remaining!",
                  (SELECT count(*) FROM emails WHERE user_id = $1
                     AND status = 'sent' AND updated_at >= $2) AS "sent!",
                  (SELECT count(*) FROM emails WHERE user_id = $1
                     AND status = 'failed' AND updated_at >= $2) AS "failed!",
                  (SELECT count(*) FROM emails WHERE user_id = $1
                     AND status = 'uncertain' AND updated_at >= $2) AS "uncertain!""#,
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
/// depth in /metrics), from the counts (docs/lists.md).
pub async fn count_by_status(
    pool: &PgPool,
    statuses: &[EmailStatus],
) -> Result<HashMap<EmailStatus, i64>, sqlx::Error> {
    let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let rows = sqlx::query!(
        r#"SELECT status AS "status!", sum(n)::int8 AS "n!" FROM email_counts
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

/// One message as "Download my data" writes it (sent.csv).
pub struct Exported {
    pub id: Uuid,
    pub created_at: OffsetDateTime,
    pub status: String,
    pub sent_at: Option<OffsetDateTime>,
    pub to_addrs: Vec<String>,
    pub cc_addrs: Vec<String>,
    pub bcc_addrs: Vec<String>,
    pub subject: String,
    pub body_text: String,
    pub last_error: Option<String>,
}

/// The account's messages after `after` (by id, oldest first), `limit` at a
/// time: every state, queued ones included.
pub async fn export_page(
    pool: &PgPool,
    user_id: UserId,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Exported>, sqlx::Error> {
    sqlx::query_as!(
        Exported,
        "SELECT id, created_at, status, sent_at, to_addrs, cc_addrs, bcc_addrs, subject, body_text,
                last_error
         FROM emails WHERE user_id = $1 AND ($2::uuid IS NULL OR id > $2)
         ORDER BY id LIMIT $3",
        user_id as UserId,
        after,
        limit,
    )
    .fetch_all(pool)
    .await
}

/// Every address the account has sent to (To, Cc, Bcc): how many messages
/// and the last time, for contacts.csv.
pub async fn contacts(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<(String, i64, Option<OffsetDateTime>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT lower(a) AS "address!", count(*) AS "messages!", max(e.sent_at) AS last_sent
           FROM emails e, unnest(e.to_addrs || e.cc_addrs || e.bcc_addrs) AS a
           WHERE e.user_id = $1 AND e.status = 'sent'
           GROUP BY lower(a) ORDER BY lower(a)"#,
        user_id as UserId
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.address, r.messages, r.last_sent))
        .collect())
}

/// For the Admin page: each account's queued messages and those sent in the
/// last 24 hours.
pub async fn per_user(
    pool: &PgPool,
    users: &[UserId],
) -> Result<HashMap<UserId, (i64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT u.id AS "id!: UserId",
                  (SELECT coalesce(sum(c.n), 0)::int8 FROM email_counts c
                   WHERE c.user_id = u.id AND c.status = 'queued') AS "queued!",
                  -- A row is updated when it is sent, so the bound on
                  -- updated_at changes nothing but lets the index answer.
                  (SELECT count(*) FROM emails e WHERE e.user_id = u.id AND e.status = 'sent'
                     AND e.updated_at > now() - interval '24 hours'
                     AND e.sent_at > now() - interval '24 hours') AS "sent!"
           FROM unnest($1::uuid[]) AS u(id)"#,
        users as &[UserId]
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, (r.queued, r.sent)))
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
