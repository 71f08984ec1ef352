//! `mailbox_reads` (an account's place in its Gmail history, how fresh that
//! is, its read budget) and `mailbox_messages` (what each read found).

use crate::domain::UserId;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

/// A read's lease: one read at a time per account, across instances. Longer
/// than any read takes (they stop when the budget or the lease runs out).
pub const LEASE_SECS: i64 = 120;

/// What a read starts from.
pub struct Leased {
    pub address: Option<String>,
    pub history_id: Option<String>,
    pub recent_ids: Vec<String>,
    pub spent_at: Vec<OffsetDateTime>,
    pub spent_units: Vec<i32>,
    /// The clock (`mm_now()`) when the read began.
    pub started: OffsetDateTime,
}

/// Takes the lease of `user_id`'s mailbox read, if reading is on and no one
/// else holds it.
pub async fn lease(pool: &PgPool, user_id: UserId) -> Result<Option<Leased>, sqlx::Error> {
    sqlx::query_as!(
        Leased,
        r#"UPDATE mailbox_reads SET lease_until = now() + make_interval(secs => $2)
           WHERE user_id = $1 AND enabled AND (lease_until IS NULL OR lease_until < now())
           RETURNING address, history_id, recent_ids, spent_at, spent_units, mm_now() AS "started!""#,
        user_id as UserId,
        LEASE_SECS as f64,
    )
    .fetch_optional(pool)
    .await
}

/// How a read ended.
pub enum Ended<'a> {
    /// Everything up to `history_id` was read: fresh as of the read's start.
    Complete {
        address: &'a str,
        history_id: &'a str,
        recent_ids: &'a [String],
        recovered: bool,
    },
    /// Stopped short (budget, Gmail down, quota): nothing newer is known.
    Short {
        status: &'a str,
        error: Option<&'a str>,
    },
}

pub async fn finish(
    conn: &mut PgConnection,
    user_id: UserId,
    leased: &Leased,
    spent: (&[OffsetDateTime], &[i32]),
    ended: Ended<'_>,
) -> Result<(), sqlx::Error> {
    match ended {
        Ended::Complete {
            address,
            history_id,
            recent_ids,
            recovered,
        } => {
            sqlx::query!(
                "UPDATE mailbox_reads SET address = $2, history_id = $3, recent_ids = $4,
                        checked_at = $5, status = 'ok', error = NULL, spent_at = $6,
                        spent_units = $7, lease_until = NULL,
                        recovered_at = CASE WHEN $8 THEN now() ELSE recovered_at END,
                        updated_at = now()
                 WHERE user_id = $1",
                user_id as UserId,
                address,
                history_id,
                recent_ids,
                leased.started,
                spent.0,
                spent.1,
                recovered,
            )
            .execute(conn)
            .await?;
        }
        Ended::Short { status, error } => {
            sqlx::query!(
                "UPDATE mailbox_reads SET status = $2, error = $3, spent_at = $4, spent_units = $5,
                        lease_until = NULL, updated_at = now()
                 WHERE user_id = $1",
                user_id as UserId,
                status,
                error,
                spent.0,
                spent.1,
            )
            .execute(conn)
            .await?;
        }
    }
    Ok(())
}

/// Accounts whose mailbox should be read now: reading is on, the last read
/// is older than `every` (on the clock), and there is something to watch (a
/// sequence that has begun and may go on, or a message whose fate is
/// uncertain).
pub async fn due(pool: &PgPool, every_secs: f64) -> Result<Vec<UserId>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT m.user_id AS "user_id: UserId" FROM mailbox_reads m
           WHERE m.enabled AND (m.lease_until IS NULL OR m.lease_until < now())
             AND (m.checked_at IS NULL OR m.checked_at < mm_now() - make_interval(secs => $1))
             AND (EXISTS (SELECT 1 FROM campaign_recipients r
                          WHERE r.user_id = m.user_id AND r.state IN ('active', 'waiting')
                            AND r.steps_sent >= 1)
                  OR EXISTS (SELECT 1 FROM emails e
                             WHERE e.user_id = m.user_id AND e.status = 'uncertain'
                               AND e.updated_at > mm_now() - interval '1 day'))
           ORDER BY m.checked_at NULLS FIRST
           LIMIT 100"#,
        every_secs,
    )
    .fetch_all(pool)
    .await
}

/// Which of these Gmail ids a read already classified.
pub async fn seen(
    conn: &mut PgConnection,
    user_id: UserId,
    ids: &[String],
) -> Result<std::collections::HashSet<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        "SELECT gmail_id FROM mailbox_messages WHERE user_id = $1 AND gmail_id = ANY($2)",
        user_id as UserId,
        ids,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

pub struct Found<'a> {
    pub gmail_id: &'a str,
    pub thread_id: &'a str,
    pub kind: &'a str,
    pub from: Option<&'a str>,
    pub failed: &'a [String],
    pub received_at: OffsetDateTime,
    pub recipient_id: Option<uuid::Uuid>,
    pub email_id: Option<uuid::Uuid>,
}

/// Keeps what a read found; a message found before keeps its first finding
/// (and the user's correction of it).
pub async fn record(
    conn: &mut PgConnection,
    user_id: UserId,
    f: &Found<'_>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "INSERT INTO mailbox_messages (user_id, gmail_id, thread_id, kind, from_addr, received_at,
                                       recipient_id, email_id, failed_addrs)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (user_id, gmail_id) DO NOTHING",
        user_id as UserId,
        f.gmail_id,
        f.thread_id,
        f.kind,
        f.from,
        f.received_at,
        f.recipient_id,
        f.email_id,
        f.failed,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns reading on (after Google granted it) or off. Off keeps the place in
/// the history but forgets its freshness, so turning it on again reads anew.
pub async fn set_enabled(
    conn: &mut PgConnection,
    user_id: UserId,
    enabled: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO mailbox_reads (user_id, enabled) VALUES ($1, $2)
         ON CONFLICT (user_id) DO UPDATE SET enabled = $2, checked_at = NULL,
             status = CASE WHEN $2 THEN 'new' ELSE mailbox_reads.status END,
             error = CASE WHEN $2 THEN NULL ELSE mailbox_reads.error END, updated_at = now()",
        user_id as UserId,
        enabled,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What Settings shows.
pub struct Status {
    pub enabled: bool,
    pub status: String,
    pub error: Option<String>,
    pub checked_at: Option<OffsetDateTime>,
    pub recovered_at: Option<OffsetDateTime>,
    pub unattributed_bounces: i64,
}

/// A bounce that named no open sequence's recipient.
pub struct Bounce {
    pub received_at: OffsetDateTime,
    pub failed_addrs: Vec<String>,
}

/// The newest bounces no sequence was found for.
pub async fn unattributed_bounces(
    pool: &PgPool,
    user_id: UserId,
) -> Result<Vec<Bounce>, sqlx::Error> {
    sqlx::query_as!(
        Bounce,
        "SELECT received_at, failed_addrs FROM mailbox_messages
         WHERE user_id = $1 AND kind = 'bounce' AND recipient_id IS NULL
         ORDER BY received_at DESC LIMIT 20",
        user_id as UserId,
    )
    .fetch_all(pool)
    .await
}

pub async fn status(pool: &PgPool, user_id: UserId) -> Result<Option<Status>, sqlx::Error> {
    sqlx::query_as!(
        Status,
        r#"SELECT enabled, status, error, checked_at, recovered_at,
                  (SELECT count(*) FROM mailbox_messages b
                   WHERE b.user_id = m.user_id AND b.kind = 'bounce' AND b.recipient_id IS NULL)
                      AS "unattributed_bounces!"
           FROM mailbox_reads m WHERE user_id = $1"#,
        user_id as UserId,
    )
    .fetch_optional(pool)
    .await
}

/// Turns reading on, after Google granted it.
pub async fn turn_on(pool: &PgPool, user_id: UserId) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    set_enabled(&mut conn, user_id, true).await
}

/// An automatic answer a read attributed to a recipient, or a message the user
/// said was not a reply.
pub struct Automatic {
    pub recipient_id: uuid::Uuid,
    pub from_addr: Option<String>,
    pub received_at: OffsetDateTime,
    /// Found automatic (false: the user said a reply was not one).
    pub automatic: bool,
}

/// The automatic answers to these recipients, oldest first (the campaign
/// page's timeline).
pub async fn automatic(
    pool: &PgPool,
    user_id: UserId,
    recipients: &[uuid::Uuid],
) -> Result<Vec<Automatic>, sqlx::Error> {
    sqlx::query_as!(
        Automatic,
        r#"SELECT recipient_id AS "recipient_id!", from_addr, received_at,
                  corrected IS NULL AS "automatic!"
           FROM mailbox_messages
           WHERE user_id = $1 AND recipient_id = ANY($2) AND coalesce(corrected, kind) = 'auto'
           ORDER BY received_at"#,
        user_id as UserId,
        recipients,
    )
    .fetch_all(pool)
    .await
}

/// Messages a read found to be nobody's business (mail from strangers) are
/// forgotten after 30 days: a recovery after a history 404 looks back at
/// most a few hundred messages, and the rest is kept as long as the rows
/// they explain.
pub async fn forget_unrelated(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM mailbox_messages WHERE kind = 'other' AND read_at < now() - interval '30 days'"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// What the latest message a read attributed to each of these recipients was
/// found to be (as corrected): reply, auto or wrote.
pub async fn latest_findings(
    pool: &PgPool,
    user_id: UserId,
    recipients: &[uuid::Uuid],
) -> Result<std::collections::HashMap<uuid::Uuid, String>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (recipient_id) recipient_id AS "recipient_id!",
                  coalesce(corrected, kind) AS "kind!"
           FROM mailbox_messages
           WHERE user_id = $1 AND recipient_id = ANY($2)
             AND coalesce(corrected, kind) IN ('reply', 'auto', 'wrote')
           ORDER BY recipient_id, received_at DESC"#,
        user_id as UserId,
        recipients,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.recipient_id, r.kind)).collect())
}
