//! Who may send (docs/accounts.md): a suspended account's mail waits until it
//! is unsuspended; through SMTP, mail whose From is the account's own address
//! goes only once that address is verified ("Verification"). Refused at queue
//! time with the reason, and held (not failed) at claim time, so that nothing
//! queued earlier goes out. Gmail sends From the connected Gmail address, which
//! Google verified; the local outbox reaches nobody: neither needs a verified
//! address.

use crate::config::TransportKind;
use crate::domain::UserId;
use crate::emails::{ClaimCheck, ClaimContext, Verdict};
use crate::error::AppError;
use crate::state::AppState;
use async_trait::async_trait;
use sqlx::PgConnection;
use time::Duration;

pub const UNVERIFIED: &str = "Verify your email address before sending: mail goes out From it, so we need to know it is yours. Open the link we sent you, or send it again from the banner at the top of the page.";

/// How long an unverified sender's mail waits before it is looked at again;
/// verifying releases it at once.
pub const UNVERIFIED_RECHECK: Duration = Duration::minutes(10);

pub const SUSPENDED: &str =
    "This account is suspended, so nothing is sent from it. Ask whoever runs this server.";

/// The queue-time check of every way mail is queued.
pub async fn may_queue(state: &AppState, user_id: UserId) -> Result<(), AppError> {
    let Some(user) = sqlx::query!(
        r#"SELECT email_verified_at IS NOT NULL AS "verified!", suspended_at IS NOT NULL AS "suspended!"
           FROM users WHERE id = $1"#,
        user_id as UserId
    )
    .fetch_optional(&state.pool)
    .await?
    else {
        return Err(AppError::Unauthorized);
    };
    if user.suspended {
        return Err(AppError::BadRequest(SUSPENDED.into()));
    }
    if state.config.transport() == TransportKind::Smtp && !user.verified {
        return Err(AppError::BadRequest(UNVERIFIED.into()));
    }
    Ok(())
}

/// The claim-time check: a suspended account's mail, and over SMTP an
/// unverified sender's, stays queued.
pub struct SenderAllowed;

#[async_trait]
impl ClaimCheck for SenderAllowed {
    fn name(&self) -> &'static str {
        "sender_allowed"
    }

    async fn accounts(
        &self,
        conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        if claim.accounts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<UserId> = claim.accounts.iter().map(|a| a.id).collect();
        let held = sqlx::query_scalar!(
            r#"SELECT id AS "id!: UserId" FROM users
               WHERE id = ANY($1)
                 AND (suspended_at IS NOT NULL OR ($2 AND email_verified_at IS NULL))"#,
            &ids as &[UserId],
            claim.transport == TransportKind::Smtp,
        )
        .fetch_all(conn)
        .await?;
        Ok(held
            .into_iter()
            .map(|user_id| Verdict::HoldAccount {
                user_id,
                until: claim.now + UNVERIFIED_RECHECK,
            })
            .collect())
    }
}
