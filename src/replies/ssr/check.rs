//! `mailbox_read`, a claim-time check: with stop-on-reply on, a follow-up
//! goes only after a read of the mailbox that began at most [`FRESH`] ago
//! and reached the end of its history. Otherwise it waits [`WAIT`] (the
//! reader reads such accounts first, and a read that completes makes them
//! due again at once); if reading is failing, it waits until it works or the
//! user turns stop-on-reply off (docs/replies.md, "Never without a check").

use crate::emails::{ClaimCheck, ClaimContext, Verdict};
use async_trait::async_trait;
use sqlx::PgConnection;
use time::Duration;
use uuid::Uuid;

/// How old the last complete read may be when a follow-up is claimed.
pub const FRESH: Duration = Duration::seconds(60);
/// How long a follow-up waits for a fresh read before it is looked at again.
pub const WAIT: Duration = Duration::seconds(30);

pub struct MailboxRead;

#[async_trait]
impl ClaimCheck for MailboxRead {
    fn name(&self) -> &'static str {
        "mailbox_read"
    }

    async fn messages(
        &self,
        conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        if claim.candidates.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = claim.candidates.iter().map(|c| c.id).collect();
        let waiting = sqlx::query_scalar!(
            "SELECT e.id FROM emails e JOIN mailbox_reads m ON m.user_id = e.user_id
             WHERE e.id = ANY($1) AND e.campaign_step >= 2 AND m.enabled
               AND NOT (m.status = 'ok' AND m.checked_at IS NOT NULL AND m.checked_at >= $2)",
            &ids,
            claim.now - FRESH,
        )
        .fetch_all(conn)
        .await?;
        Ok(waiting
            .into_iter()
            .map(|id| Verdict::Defer {
                id,
                until: claim.now + WAIT,
            })
            .collect())
    }
}
