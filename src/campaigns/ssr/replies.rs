//! What a read of the mailbox asks of campaigns (docs/replies.md): which
//! threads are open sequences', which recipient a message belongs to, and
//! ending a sequence for a reply, a bounce or a message written by hand.

use super::repo::finish_done;
use crate::campaigns::RecipientState;
use crate::domain::UserId;
use crate::emails::campaign::{Sequences, cancel_steps};
use sqlx::PgConnection;
use std::collections::HashSet;
use uuid::Uuid;

/// Which of these Gmail threads are the first message's thread of a sequence
/// that may go on.
pub async fn open_threads(
    conn: &mut PgConnection,
    user_id: UserId,
    threads: &[String],
) -> Result<HashSet<String>, sqlx::Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT DISTINCT thread_id AS "t!" FROM campaign_recipients
           WHERE user_id = $1 AND thread_id = ANY($2) AND state IN ('active', 'waiting')"#,
        user_id as UserId,
        threads,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .collect())
}

/// Whether some sequence of the user has begun and may go on: then any
/// message that arrives may be a reply to it (in a new thread) or a bounce.
pub async fn has_contacted(conn: &mut PgConnection, user_id: UserId) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM campaign_recipients
                          WHERE user_id = $1 AND state IN ('active', 'waiting') AND steps_sent >= 1)
              AS "x!""#,
        user_id as UserId,
    )
    .fetch_one(conn)
    .await
}

/// The sequence a message belongs to.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub address: String,
    pub stop_on_auto: bool,
}

/// The open sequence whose thread this is, or else the newest open one that
/// has begun to one of `addresses` (a reply with another subject, a bounce
/// naming its failed recipient).
pub async fn find(
    conn: &mut PgConnection,
    user_id: UserId,
    thread_id: Option<&str>,
    addresses: &[String],
) -> Result<Option<Target>, sqlx::Error> {
    sqlx::query_as!(
        Target,
        r#"SELECT r.id, r.campaign_id, r.address, c.stop_on_auto
           FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
           WHERE r.user_id = $1 AND r.state IN ('active', 'waiting') AND r.steps_sent >= 1
             AND (r.thread_id = $2 OR r.address = ANY($3))
           ORDER BY (r.thread_id = $2) DESC NULLS LAST, c.started_at DESC NULLS LAST
           LIMIT 1"#,
        user_id as UserId,
        thread_id,
        addresses,
    )
    .fetch_optional(conn)
    .await
}

/// Ends a sequence, saying why: no more steps go, its queued steps are
/// cancelled, and the campaign is finished when nothing is left. False when
/// the sequence had already ended.
pub async fn stop(
    conn: &mut PgConnection,
    user_id: UserId,
    target: &Target,
    state: RecipientState,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let stopped = sqlx::query_scalar!(
        "UPDATE campaign_recipients SET state = $3, stopped_reason = $4, updated_at = now()
         WHERE id = $1 AND user_id = $2 AND state IN ('active', 'waiting')
         RETURNING id",
        target.id,
        user_id as UserId,
        state.as_str(),
        reason,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if stopped.is_none() {
        return Ok(false);
    }
    cancel_steps(conn, user_id, Sequences::Recipients(&[target.id]), reason).await?;
    finish_done(conn, &[target.campaign_id]).await?;
    Ok(true)
}

/// A sequence a read ended for a reply (or a message written by hand) that the
/// user says was none: it is open again and its next step is queued. False
/// when it cannot go on (it ended otherwise, or its campaign did).
pub async fn resume(
    conn: &mut PgConnection,
    rules: &crate::emails::Rules,
    user_id: UserId,
    recipient_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let reopened = sqlx::query_scalar!(
        "UPDATE campaign_recipients r SET state = 'active', stopped_reason = NULL, updated_at = now()
         FROM campaigns c
         WHERE r.id = $1 AND r.user_id = $2 AND c.id = r.campaign_id
           AND r.state IN ('replied', 'wrote') AND c.status IN ('running', 'paused')
         RETURNING r.id",
        recipient_id,
        user_id as UserId,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if reopened.is_none() {
        return Ok(false);
    }
    crate::emails::campaign::go_on(conn, rules, user_id, recipient_id).await
}
