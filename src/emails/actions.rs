//! What users do to their own messages: cancel, reschedule or send queued ones
//! now, and decide about failed and uncertain ones. Every statement is scoped to
//! the user: another user's id changes nothing.

use super::Rules;
use super::outcome::{Recorded, run_hooks};
use crate::domain::EmailStatus;
use crate::domain::UserId;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

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

/// What to do to queued messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Cancel,
    Reschedule(OffsetDateTime),
    /// Due now, a retry waiting for its next attempt included.
    SendNow,
}

/// Applies an action to the user's selected messages that are still queued (one
/// being sent is not touched). Returns how many changed.
#[tracing::instrument(skip(pool, selection), fields(%user_id))]
pub async fn act(
    pool: &PgPool,
    user_id: UserId,
    selection: Selection<'_>,
    action: Action,
) -> Result<u64, sqlx::Error> {
    let (ids, all) = selection.parts();
    let (cancel, reschedule, now) = match action {
        Action::Cancel => (true, None, false),
        Action::Reschedule(at) => (false, Some(at), false),
        Action::SendNow => (false, None, true),
    };
    let mut tx = pool.begin().await?;
    let done = sqlx::query!(
        "UPDATE emails SET
             status = CASE WHEN $4 THEN 'cancelled' ELSE status END,
             send_at = CASE WHEN $6 THEN least(send_at, mm_now()) ELSE coalesce($5, send_at) END,
             next_attempt_at = CASE WHEN $6 THEN NULL ELSE next_attempt_at END,
             updated_at = mm_now()
         WHERE user_id = $1 AND status = 'queued' AND ($3 OR id = ANY($2))",
        user_id as UserId,
        &ids,
        all,
        cancel,
        reschedule,
        now,
    )
    .execute(&mut *tx)
    .await?;
    if !cancel && done.rows_affected() > 0 {
        super::wake(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Cancels every queued message of the account, in the caller's transaction,
/// saying why (an account claimed or deleted). One being sent is not touched.
pub async fn cancel_all_queued(
    conn: &mut PgConnection,
    user_id: UserId,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "UPDATE emails SET status = 'cancelled', last_error = $2, next_attempt_at = NULL,
                updated_at = mm_now()
         WHERE user_id = $1 AND status = 'queued'",
        user_id as UserId,
        reason,
    )
    .execute(conn)
    .await?
    .rows_affected())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// A failed message goes back in the queue, attempts reset.
    Retry,
    /// An uncertain message is sent again (same Message-ID, so clients that got
    /// the first can tell it is the same message).
    SendAgain,
    /// The user checked Gmail: it went out. An outcome like delivery's, so the
    /// outcome hooks run.
    MarkSent,
}

/// Applies the user's decision to their failed or uncertain messages. Returns
/// how many changed.
#[tracing::instrument(skip(pool, rules, ids), fields(%user_id))]
pub async fn resolve(
    pool: &PgPool,
    rules: &Rules,
    user_id: UserId,
    ids: &[Uuid],
    resolution: Resolution,
) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let changed = match resolution {
        Resolution::Retry | Resolution::SendAgain => {
            let from = if resolution == Resolution::Retry {
                EmailStatus::Failed
            } else {
                EmailStatus::Uncertain
            };
            let rows = sqlx::query!(
                r#"UPDATE emails e SET status = 'queued', attempts = 0, next_attempt_at = NULL,
                        send_at = least(e.send_at, mm_now()), last_error = NULL, lease_id = NULL,
                        lease_until = NULL, claimed_at = NULL, updated_at = mm_now()
                 FROM emails o
                 WHERE o.id = e.id AND e.user_id = $1 AND e.id = ANY($2) AND e.status = $3
                   -- Not without a file it attaches (deleted since it was queued).
                   AND NOT EXISTS (SELECT 1 FROM email_attachments a
                                   WHERE a.email_id = e.id AND a.file_id IS NULL)
                 RETURNING o.claimed_at AS "claimed_at?",
                     (cardinality(e.to_addrs) + cardinality(e.cc_addrs) + cardinality(e.bcc_addrs))::int8
                         AS "recipients!""#,
                user_id as UserId,
                ids,
                from.as_str(),
            )
            .fetch_all(&mut *tx)
            .await?;
            if !rows.is_empty() {
                super::wake(&mut tx).await?;
            }
            // What was counted towards the daily cap (an uncertain message) is
            // handed back: it counts again when it is claimed again.
            if from.counts_toward_cap() {
                let back = rows.iter().filter_map(|r| {
                    Some(super::usage::Change {
                        user_id,
                        claimed_at: r.claimed_at?,
                        recipients: r.recipients,
                    })
                });
                // Woken above already.
                super::usage::returned(&mut tx, back).await?;
            }
            rows.len() as u64
        }
        Resolution::MarkSent => mark_sent(&mut tx, rules, user_id, ids, None, None).await?,
    };
    tx.commit().await?;
    Ok(changed)
}

/// How many of these messages attach a file that has since been deleted.
pub async fn missing_files(
    pool: &PgPool,
    user_id: UserId,
    ids: &[Uuid],
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT count(DISTINCT e.id) AS "n!" FROM emails e JOIN email_attachments a ON a.email_id = e.id
           WHERE e.user_id = $1 AND e.id = ANY($2) AND a.file_id IS NULL"#,
        user_id as UserId,
        ids
    )
    .fetch_one(pool)
    .await
}

/// A replaced file keeps its new name in the messages not sent yet that attach
/// it (sent ones keep the name they went with).
pub async fn rename_pending_attachments(
    conn: &mut sqlx::PgConnection,
    file_id: Uuid,
    name: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE email_attachments a SET name = $2 FROM emails e
         WHERE a.file_id = $1 AND e.id = a.email_id AND e.status IN ('queued', 'sending')",
        file_id,
        name,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A read of the user's mailbox found this uncertain message in their Sent
/// mail (by its `X-MailMerger-Id`): it went out. It becomes `sent` with the
/// Gmail ids it has there, saying how that was found, and its outcome hooks
/// run (a campaign's next step is queued). False when it is not uncertain.
pub async fn found_sent(
    conn: &mut PgConnection,
    rules: &Rules,
    user_id: UserId,
    id: Uuid,
    gmail: (&str, &str),
    how: &str,
) -> Result<bool, sqlx::Error> {
    Ok(mark_sent(conn, rules, user_id, &[id], Some(gmail), Some(how)).await? > 0)
}

/// Uncertain messages that went: `sent` (with their Gmail ids and how that
/// was known, when known), and their outcome hooks run.
async fn mark_sent(
    conn: &mut PgConnection,
    rules: &Rules,
    user_id: UserId,
    ids: &[Uuid],
    gmail: Option<(&str, &str)>,
    how: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let rows = sqlx::query!(
        "UPDATE emails SET status = 'sent', sent_at = coalesce(claimed_at, mm_now()),
                gmail_message_id = coalesce($3, gmail_message_id),
                gmail_thread_id = coalesce($4, gmail_thread_id), last_error = $5,
                lease_id = NULL, updated_at = mm_now()
         WHERE user_id = $1 AND id = ANY($2) AND status = 'uncertain'
         RETURNING id, gmail_thread_id, campaign_recipient_id, campaign_step,
                   CASE WHEN campaign_recipient_id IS NULL THEN '' ELSE subject END AS \"subject!\"",
        user_id as UserId,
        ids,
        gmail.map(|g| g.0),
        gmail.map(|g| g.1),
        how,
    )
    .fetch_all(&mut *conn)
    .await?;
    let recorded: Vec<Recorded> = rows
        .into_iter()
        .map(|r| Recorded {
            id: r.id,
            user_id,
            status: EmailStatus::Sent,
            thread_id: r.gmail_thread_id,
            error: None,
            step: super::outcome::StepOf::of(r.campaign_recipient_id, r.campaign_step, r.subject),
        })
        .collect();
    run_hooks(rules, conn, &recorded).await?;
    Ok(recorded.len() as u64)
}
