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
