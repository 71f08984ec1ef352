//! Outcomes: what delivery records for the rows it claimed, the outcome hooks
//! that run in the same transaction, lease expiry, and when to look next.

use super::Rules;
use crate::domain::EmailStatus;
use crate::domain::UserId;
use async_trait::async_trait;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

/// A result to record for one claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub id: Uuid,
    pub status: EmailStatus,
    pub error: Option<String>,
    pub provider_id: Option<String>,
    pub thread_id: Option<String>,
    pub next_attempt_at: Option<OffsetDateTime>,
    /// 1 when the attempt does not count (held, or handed back).
    pub refund: i32,
    /// Put back unsent because the instance is stopping.
    pub handed_back: bool,
}

impl Done {
    pub fn of(id: Uuid, status: EmailStatus, error: Option<String>) -> Done {
        Done {
            id,
            status,
            error,
            provider_id: None,
            thread_id: None,
            next_attempt_at: None,
            refund: 0,
            handed_back: false,
        }
    }

    /// Back to the queue as it was: not sent, the attempt not counted.
    pub fn handed_back(id: Uuid) -> Done {
        Done {
            refund: 1,
            handed_back: true,
            ..Done::of(id, EmailStatus::Queued, None)
        }
    }
}

/// An outcome as it was written: only rows the claim still owned are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub id: Uuid,
    pub user_id: UserId,
    pub status: EmailStatus,
    pub thread_id: Option<String>,
    /// Why it failed, was suppressed or cancelled, or may not have gone.
    pub error: Option<String>,
    /// The campaign step it is, with its subject as sent.
    pub step: Option<StepOf>,
}

/// A campaign message: which recipient's sequence, which step of it, and the
/// subject it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOf {
    pub recipient_id: Uuid,
    pub step: i16,
    pub subject: String,
}

impl StepOf {
    /// From a row's `campaign_recipient_id`, `campaign_step` and `subject`.
    pub(super) fn of(
        recipient_id: Option<Uuid>,
        step: Option<i16>,
        subject: String,
    ) -> Option<StepOf> {
        Some(StepOf {
            recipient_id: recipient_id?,
            step: step?,
            subject,
        })
    }
}

/// Runs inside the transaction that records outcomes (delivery's, and a user's
/// "Mark as sent"), so what follows from them commits with them or not at all.
/// An error rolls the outcomes back: the rows stay `sending` and their lease
/// expiry makes them `uncertain`, never lost and never sent twice silently.
#[async_trait]
pub trait OutcomeHook: Send + Sync {
    fn name(&self) -> &'static str;
    async fn recorded(
        &self,
        conn: &mut PgConnection,
        outcomes: &[Recorded],
    ) -> Result<(), sqlx::Error>;
}

pub(super) async fn run_hooks(
    rules: &Rules,
    conn: &mut PgConnection,
    recorded: &[Recorded],
) -> Result<(), sqlx::Error> {
    if recorded.is_empty() {
        return Ok(());
    }
    for hook in &rules.hooks {
        hook.recorded(&mut *conn, recorded).await.inspect_err(|e| {
            tracing::warn!(hook = hook.name(), error = %e, "outcome hook failed");
        })?;
    }
    Ok(())
}

/// Writes a batch of results in one statement, runs the outcome hooks, and
/// wakes the loops if any went back to the queue. Only rows this claim still
/// owns change: a row that the user sent again or marked meanwhile keeps their
/// choice.
pub async fn record(
    pool: &PgPool,
    rules: &Rules,
    lease_id: Uuid,
    done: &[Done],
) -> Result<Vec<Recorded>, sqlx::Error> {
    let ids: Vec<Uuid> = done.iter().map(|d| d.id).collect();
    let statuses: Vec<&str> = done.iter().map(|d| d.status.as_str()).collect();
    let errors: Vec<Option<String>> = done.iter().map(|d| d.error.clone()).collect();
    let provider: Vec<Option<String>> = done.iter().map(|d| d.provider_id.clone()).collect();
    let threads: Vec<Option<String>> = done.iter().map(|d| d.thread_id.clone()).collect();
    let next: Vec<Option<OffsetDateTime>> = done.iter().map(|d| d.next_attempt_at).collect();
    let refunds: Vec<i32> = done.iter().map(|d| d.refund).collect();
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        r#"UPDATE emails e SET status = r.status, last_error = r.error,
                  gmail_message_id = coalesce(r.provider_id, e.gmail_message_id),
                  gmail_thread_id = coalesce(r.thread_id, e.gmail_thread_id),
                  sent_at = CASE WHEN r.status = 'sent' THEN mm_now() ELSE e.sent_at END,
                  next_attempt_at = r.next_attempt_at,
                  attempts = e.attempts - r.refund,
                  claimed_at = CASE WHEN r.status = 'queued' THEN NULL ELSE e.claimed_at END,
                  lease_until = NULL, updated_at = mm_now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::timestamptz[], $7::int4[])
                AS r(id, status, error, provider_id, thread_id, next_attempt_at, refund),
                emails o
           WHERE e.id = r.id AND o.id = e.id AND e.lease_id = $8 AND e.status IN ('sending', 'uncertain')
           RETURNING e.id, e.user_id AS "user_id: UserId", e.status, e.gmail_thread_id,
                     o.claimed_at AS "claimed_at?", e.last_error, e.campaign_recipient_id,
                     e.campaign_step, CASE WHEN e.campaign_recipient_id IS NULL THEN '' ELSE e.subject END
                         AS "subject!",
                     (cardinality(e.to_addrs) + cardinality(e.cc_addrs) + cardinality(e.bcc_addrs))::int8
                         AS "recipients!""#,
        &ids,
        &statuses as &[&str],
        &errors as &[Option<String>],
        &provider as &[Option<String>],
        &threads as &[Option<String>],
        &next as &[Option<OffsetDateTime>],
        &refunds,
        lease_id,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut back = Vec::new();
    let mut recorded = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(status) = EmailStatus::parse(&r.status) else {
            continue;
        };
        // Both statuses it left count; failed and queued do not.
        if !status.counts_toward_cap()
            && let Some(claimed_at) = r.claimed_at
        {
            back.push(super::usage::Change {
                user_id: r.user_id,
                claimed_at,
                recipients: r.recipients,
            });
        }
        recorded.push(Recorded {
            id: r.id,
            user_id: r.user_id,
            status,
            thread_id: r.gmail_thread_id,
            error: r.last_error,
            step: StepOf::of(r.campaign_recipient_id, r.campaign_step, r.subject),
        });
    }
    run_hooks(rules, &mut tx, &recorded).await?;
    let released = super::usage::returned(&mut tx, back).await?;
    if released || recorded.iter().any(|r| r.status == EmailStatus::Queued) {
        super::wake(&mut tx).await?;
    }
    tx.commit().await?;
    Ok(recorded)
}

pub const LEASE_EXPIRED: &str = "Sending was interrupted (the server stopped or lost contact) after the message may have reached Gmail. Check your Gmail Sent folder, then send it again or mark it as sent.";

/// Marks `sending` rows whose lease ran out as `uncertain`: the process that
/// held them died or stalled after Gmail may have accepted them. An outcome
/// like any other: the hooks run with it (a campaign's sequence waits for the
/// user's decision).
pub async fn expire_leases(pool: &PgPool, rules: &Rules) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query!(
        r#"UPDATE emails SET status = 'uncertain', lease_until = NULL, updated_at = mm_now(), last_error = $1
           WHERE status = 'sending' AND lease_until < mm_now()
           RETURNING id, user_id AS "user_id: UserId", gmail_thread_id, campaign_recipient_id, campaign_step,
                     CASE WHEN campaign_recipient_id IS NULL THEN '' ELSE subject END AS "subject!""#,
        LEASE_EXPIRED,
    )
    .fetch_all(&mut *tx)
    .await?;
    let recorded: Vec<Recorded> = rows
        .into_iter()
        .map(|r| Recorded {
            id: r.id,
            user_id: r.user_id,
            status: EmailStatus::Uncertain,
            thread_id: r.gmail_thread_id,
            error: Some(LEASE_EXPIRED.to_string()),
            step: StepOf::of(r.campaign_recipient_id, r.campaign_step, r.subject),
        })
        .collect();
    run_hooks(rules, &mut tx, &recorded).await?;
    tx.commit().await?;
    Ok(recorded.len() as u64)
}

/// How long a loop whose claim found nothing waits before it looks again.
/// Mail that is due now on an open account but was not claimed is locked by
/// another loop's claim (`SKIP LOCKED`), which commits within milliseconds.
pub const CONTENDED: std::time::Duration = std::time::Duration::from_millis(50);

/// How long until a claim could find work (the earliest due time, lease expiry
/// or pacing slot, or `CONTENDED` when due mail was locked by another claim),
/// by the clock; `None` when nothing waits.
pub async fn next_event(pool: &PgPool) -> Result<Option<std::time::Duration>, sqlx::Error> {
    let seconds = sqlx::query_scalar!(
        r#"WITH ready AS (
               SELECT greatest(q.first_due, u.pace_next_at) AS at
               FROM queued_accounts q JOIN users u ON u.id = q.user_id)
           SELECT extract(epoch FROM least(
              (SELECT CASE WHEN min(at) <= mm_now() THEN mm_now() + make_interval(secs => $1::float8)
                           ELSE min(at) END
               FROM ready),
              (SELECT min(lease_until) FROM emails WHERE status = 'sending')
           ) - mm_now())::float8 AS wait"#,
        CONTENDED.as_secs_f64(),
    )
    .fetch_one(pool)
    .await?;
    Ok(seconds.map(|s| std::time::Duration::from_secs_f64(s.max(0.0))))
}
