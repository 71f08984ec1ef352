//! The statements about campaign messages that campaigns need: ending the
//! queued steps of recipients whose sequence stopped, letting a resumed
//! campaign's deferred steps be looked at again, and each recipient's timeline.
//! The campaign's own tables are `campaigns`' (src/campaigns/ssr/).

use crate::domain::{EmailStatus, UserId};
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whose queued steps an action applies to.
pub enum Sequences<'a> {
    /// Every recipient of a campaign.
    Campaign(Uuid),
    /// These recipients.
    Recipients(&'a [Uuid]),
}

impl Sequences<'_> {
    fn parts(&self) -> (Option<Uuid>, Vec<Uuid>) {
        match self {
            Sequences::Campaign(id) => (Some(*id), Vec::new()),
            Sequences::Recipients(ids) => (None, ids.to_vec()),
        }
    }
}

/// Cancels the queued steps of these sequences, saying why, in the caller's
/// transaction. A step already claimed (being sent) is not touched: it finishes.
pub async fn cancel_steps(
    conn: &mut PgConnection,
    user_id: UserId,
    which: Sequences<'_>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let (campaign, recipients) = which.parts();
    let done = sqlx::query!(
        "UPDATE emails e SET status = 'cancelled', last_error = $4, next_attempt_at = NULL,
                updated_at = mm_now()
         FROM campaign_recipients r
         WHERE r.id = e.campaign_recipient_id AND e.user_id = $1 AND r.user_id = $1
           AND e.status = 'queued'
           AND (r.campaign_id = $2 OR r.id = ANY($3))",
        user_id as UserId,
        campaign,
        &recipients,
        reason,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Makes a resumed campaign's queued steps due again at once: the claim's
/// checks put each in its next window opening. Wakes delivery.
pub async fn due_again(
    conn: &mut PgConnection,
    user_id: UserId,
    campaign_id: Uuid,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE emails e SET next_attempt_at = NULL, updated_at = mm_now()
         FROM campaign_recipients r
         WHERE r.id = e.campaign_recipient_id AND r.campaign_id = $2 AND r.user_id = $1
           AND e.user_id = $1 AND e.status = 'queued'",
        user_id as UserId,
        campaign_id,
    )
    .execute(&mut *conn)
    .await?;
    super::wake(conn).await?;
    Ok(done.rows_affected())
}

/// One step of one recipient, as the campaign page shows it.
#[derive(Debug, Clone)]
pub struct StepMessage {
    pub id: Uuid,
    pub recipient_id: Uuid,
    pub step: i16,
    pub status: EmailStatus,
    /// When it is due (queued), or went.
    pub due_at: Option<OffsetDateTime>,
    pub sent_at: Option<OffsetDateTime>,
    pub gmail_message_id: Option<String>,
    pub error: Option<String>,
}

/// The messages of these recipients of the user's campaign, by recipient and
/// step.
pub async fn steps_of(
    pool: &PgPool,
    user_id: UserId,
    recipients: &[Uuid],
) -> Result<Vec<StepMessage>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT id, campaign_recipient_id AS "recipient_id!", campaign_step AS "step!", status,
                  due_at, sent_at, gmail_message_id, last_error
           FROM emails
           WHERE user_id = $1 AND campaign_recipient_id = ANY($2)
           ORDER BY campaign_recipient_id, campaign_step"#,
        user_id as UserId,
        recipients,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(StepMessage {
                id: r.id,
                recipient_id: r.recipient_id,
                step: r.step,
                status: EmailStatus::parse(&r.status)?,
                due_at: r.due_at,
                sent_at: r.sent_at,
                gmail_message_id: r.gmail_message_id,
                error: r.last_error,
            })
        })
        .collect())
}

/// A queued campaign message rewritten: its new subject and parts.
pub struct Rewrite {
    pub id: Uuid,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub list_unsubscribe: Option<String>,
}

/// The queued messages of these recipients at this step: id, recipient, subject.
pub async fn queued_at_step(
    conn: &mut PgConnection,
    user_id: UserId,
    campaign_id: Uuid,
    step: i16,
) -> Result<Vec<(Uuid, Uuid, String)>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"SELECT e.id, r.id AS recipient_id, e.subject FROM emails e
           JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
           WHERE r.campaign_id = $2 AND r.user_id = $1 AND e.user_id = $1
             AND e.campaign_step = $3 AND e.status = 'queued'"#,
        user_id as UserId,
        campaign_id,
        step,
    )
    .fetch_all(conn)
    .await?
    .into_iter()
    .map(|r| (r.id, r.recipient_id, r.subject))
    .collect())
}

/// Rewrites queued messages in the caller's transaction; one already claimed
/// (being sent, or gone) keeps what it was claimed with. Returns how many
/// changed.
pub async fn rewrite_queued(
    conn: &mut PgConnection,
    user_id: UserId,
    rows: Vec<Rewrite>,
    subject_source: &str,
    body_source: &str,
) -> Result<u64, sqlx::Error> {
    let mut ids = Vec::with_capacity(rows.len());
    let mut subjects = Vec::with_capacity(rows.len());
    let mut html = Vec::with_capacity(rows.len());
    let mut text = Vec::with_capacity(rows.len());
    let mut unsubscribe = Vec::with_capacity(rows.len());
    for r in rows {
        ids.push(r.id);
        subjects.push(r.subject);
        html.push(r.html);
        text.push(r.text);
        unsubscribe.push(r.list_unsubscribe);
    }
    let done = sqlx::query!(
        "UPDATE emails e SET subject = x.subject, body_html = x.html, body_text = x.text,
                list_unsubscribe = x.unsubscribe, subject_source = $6, body_source = $7,
                updated_at = mm_now()
         FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $8::text[])
              AS x(id, subject, html, text, unsubscribe)
         WHERE e.id = x.id AND e.user_id = $1 AND e.status = 'queued'",
        user_id as UserId,
        &ids,
        &subjects,
        &html,
        &text,
        subject_source,
        body_source,
        &unsubscribe as &[Option<String>],
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// After a read of the user's mailbox: the follow-ups a claim deferred while
/// it waited for that read are due again at once (the claim checks them
/// again): those deferred at most `waited` ahead. Wakes delivery.
pub async fn follow_ups_due_again(
    conn: &mut PgConnection,
    user_id: UserId,
    waited: time::Duration,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE emails SET next_attempt_at = NULL, updated_at = mm_now()
         WHERE user_id = $1 AND status = 'queued' AND campaign_step >= 2
           AND next_attempt_at > mm_now()
           AND next_attempt_at <= mm_now() + make_interval(secs => $2)
           -- Not one waiting out a retry's backoff (it says why it waits).
           AND last_error IS NULL",
        user_id as UserId,
        waited.as_seconds_f64(),
    )
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() > 0 {
        super::wake(conn).await?;
    }
    Ok(done.rows_affected())
}

/// Sent campaign messages of the user whose Message-ID (as Gmail gave it) is
/// not known yet, and that a later step of an open sequence will answer:
/// (row id, Gmail id), oldest first.
pub async fn message_ids_to_read(
    conn: &mut PgConnection,
    user_id: UserId,
    limit: i64,
) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT e.id, e.gmail_message_id AS "gmail_id!" FROM emails e
           JOIN campaign_recipients r ON r.id = e.campaign_recipient_id
           WHERE e.user_id = $1 AND e.status = 'sent' AND e.rfc_message_id IS NULL
             AND e.campaign_recipient_id IS NOT NULL AND e.gmail_message_id IS NOT NULL
             AND e.transport = 'gmail' AND r.state IN ('active', 'waiting')
             AND e.campaign_step < (SELECT max(s.position) FROM campaign_steps s
                                    WHERE s.campaign_id = r.campaign_id)
           ORDER BY e.sent_at LIMIT $2"#,
        user_id as UserId,
        limit,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.gmail_id)).collect())
}

/// Keeps the Message-ID Gmail gave a sent message (empty: it is gone).
pub async fn set_message_id(
    conn: &mut PgConnection,
    user_id: UserId,
    id: Uuid,
    message_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE emails SET rfc_message_id = $3 WHERE id = $1 AND user_id = $2",
        id,
        user_id as UserId,
        message_id,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A sequence the user let go on again (what stopped it was not a reply):
/// the steps cancelled when it stopped are forgotten, and the outcome hooks
/// see its last sent step again, which queues the next one (or finishes the
/// sequence after its last). False when no step of it was sent.
pub async fn go_on(
    conn: &mut PgConnection,
    rules: &super::Rules,
    user_id: UserId,
    recipient_id: Uuid,
) -> Result<bool, sqlx::Error> {
    let last = sqlx::query!(
        r#"SELECT id, campaign_step AS "step!", gmail_thread_id, subject FROM emails
           WHERE user_id = $1 AND campaign_recipient_id = $2 AND status = 'sent'
           ORDER BY campaign_step DESC LIMIT 1"#,
        user_id as UserId,
        recipient_id,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(last) = last else {
        return Ok(false);
    };
    sqlx::query!(
        "DELETE FROM emails WHERE user_id = $1 AND campaign_recipient_id = $2
           AND campaign_step > $3 AND status = 'cancelled'",
        user_id as UserId,
        recipient_id,
        last.step,
    )
    .execute(&mut *conn)
    .await?;
    let again = super::Recorded {
        id: last.id,
        user_id,
        status: EmailStatus::Sent,
        thread_id: last.gmail_thread_id,
        error: None,
        step: super::StepOf::of(Some(recipient_id), Some(last.step), last.subject),
    };
    super::outcome::run_hooks(rules, conn, &[again]).await?;
    super::wake(conn).await?;
    Ok(true)
}
