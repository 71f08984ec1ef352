//! The user's correction of what a read found (docs/replies.md, "What it
//! does"): a reply that was none lets the sequence go on with its next step;
//! an automatic answer that was a reply ends it. The correction is kept on the
//! message (`mailbox_messages.corrected`), and a later read never reads that
//! message again, so it holds.

use crate::campaigns::ssr::replies::{self as campaigns, Target};
use crate::campaigns::{Correction, RecipientState};
use crate::domain::UserId;
use crate::error::AppError;
use crate::state::AppState;
use uuid::Uuid;

pub async fn correct(
    state: &AppState,
    user_id: UserId,
    campaign_id: Uuid,
    recipient_id: Uuid,
    what: Correction,
) -> Result<(), AppError> {
    let mut tx = state.pool.begin().await?;
    let target = sqlx::query_as!(
        Target,
        "SELECT r.id, r.campaign_id, r.address, c.stop_on_auto
         FROM campaign_recipients r JOIN campaigns c ON c.id = r.campaign_id
         WHERE r.id = $1 AND r.campaign_id = $2 AND r.user_id = $3",
        recipient_id,
        campaign_id,
        user_id as UserId,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let found = sqlx::query!(
        r#"SELECT gmail_id, coalesce(corrected, kind) AS "kind!", received_at FROM mailbox_messages
           WHERE user_id = $1 AND recipient_id = $2
             AND coalesce(corrected, kind) IN ('reply', 'auto', 'wrote')
           ORDER BY received_at DESC LIMIT 1 FOR UPDATE"#,
        user_id as UserId,
        recipient_id,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        AppError::BadRequest("Stop on reply found nothing from this recipient to correct.".into())
    })?;
    let day = crate::unsubscribe::ssr::repo::day(found.received_at);
    let corrected = match (what, found.kind.as_str()) {
        (Correction::GoOn, _) => {
            if !campaigns::resume(&mut tx, &state.rules, user_id, recipient_id).await? {
                return Err(AppError::BadRequest(
                    "This sequence cannot go on: it ended for another reason, or its campaign has ended.".into(),
                ));
            }
            "auto"
        }
        (Correction::Stop, "auto") => {
            let reason = format!(
                "You said the automatic answer of {day} was a reply: no more steps go to them."
            );
            campaigns::stop(&mut tx, user_id, &target, RecipientState::Replied, &reason).await?;
            "reply"
        }
        (Correction::Stop, _) => {
            return Err(AppError::BadRequest(
                "Only an automatic answer can be corrected to a reply; this sequence ended already."
                    .into(),
            ));
        }
    };
    sqlx::query!(
        "UPDATE mailbox_messages SET corrected = $3 WHERE user_id = $1 AND gmail_id = $2",
        user_id as UserId,
        found.gmail_id,
        corrected,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(%user_id, %recipient_id, correction = what.as_str(), "stop on reply corrected");
    Ok(())
}
