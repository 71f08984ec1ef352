//! Claiming: the accounts that may send now, their due messages locked, the
//! claim-time checks asked, the pace and the daily cap applied (`allot.rs`), and
//! the rows taken under a lease, all in one transaction at one time.

use super::Rules;
use super::allot::{self, Account, Candidate};
use super::checks::{self, ClaimContext, Verdict};
use super::outcome::{Recorded, StepOf};
use crate::config::{DeliveryConfig, TransportKind};
use crate::delivery::mime::{File, Outgoing};
use crate::domain::EmailStatus;
use crate::domain::UserId;
use sqlx::PgPool;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// A row this loop owns until its lease ends.
pub struct Claimed {
    pub id: Uuid,
    pub user_id: UserId,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub attempts: i32,
    pub message_id: String,
    /// The one-click unsubscribe URL, sent as `List-Unsubscribe`.
    pub list_unsubscribe: Option<String>,
    /// The Gmail conversation it goes into (a follow-up's), known before it is
    /// sent.
    pub thread_id: Option<String>,
    /// A follow-up's earlier steps' Message-IDs as the recipient got them,
    /// oldest first (`In-Reply-To` is the last, `References` all of them).
    pub references: Vec<String>,
    pub from_name: String,
    pub from_address: String,
    /// The claim's time by the clock, and when it was taken here: `now()`.
    pub claimed_at: OffsetDateTime,
    pub claimed: std::time::Instant,
}

impl Claimed {
    /// The time by the clock (`mm_now()`), for retries scheduled after a send.
    pub fn now(&self) -> OffsetDateTime {
        self.claimed_at + self.claimed.elapsed()
    }

    pub fn outgoing<'a>(&'a self, files: &'a [File]) -> Outgoing<'a> {
        Outgoing {
            from_name: &self.from_name,
            from_address: &self.from_address,
            to: &self.to,
            cc: &self.cc,
            bcc: &self.bcc,
            subject: &self.subject,
            html: &self.html,
            text: &self.text,
            message_id: &self.message_id,
            mailmerger_id: self.id,
            list_unsubscribe: self.list_unsubscribe.as_deref(),
            references: &self.references,
            files,
        }
    }
}

/// One claim of at most `config.batch_size` messages for `lease_id`. `host` is
/// the right-hand side of new Message-IDs.
pub async fn claim(
    pool: &PgPool,
    rules: &Rules,
    config: &DeliveryConfig,
    transport: TransportKind,
    host: &str,
    lease_id: Uuid,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let now = super::clock::now(&mut tx).await?;
    let started = std::time::Instant::now();

    // Accounts with due mail whose pace slot is open, the longest waiting first
    // (`queued_accounts` is one index probe per account with queued mail).
    let users = sqlx::query!(
        r#"SELECT u.id AS "id: UserId", u.name, u.daily_send_cap, u.send_gap_seconds,
                  coalesce(g.email, u.email) AS "from_address!"
           FROM queued_accounts q
           JOIN users u ON u.id = q.user_id
           LEFT JOIN google_accounts g ON g.user_id = u.id
           WHERE q.first_due <= $1 AND u.pace_next_at <= $1
           ORDER BY u.pace_next_at
           LIMIT $2
           FOR UPDATE OF u SKIP LOCKED"#,
        now,
        config.batch_size,
    )
    .fetch_all(&mut *tx)
    .await?;
    if users.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let user_ids: Vec<UserId> = users.iter().map(|u| u.id).collect();

    // Recipients claimed in the last 24 hours, per account (the daily cap).
    let usage = super::usage::last_24h(&mut tx, &user_ids, now).await?;

    let slots: Vec<allot::Slot> = users
        .iter()
        .map(|u| allot::pace(config, u.send_gap_seconds, now, rand::random()))
        .collect();
    let everyone: Vec<Account> = users
        .iter()
        .zip(&slots)
        .map(|(u, slot)| {
            let (used, oldest) = usage.get(&u.id).copied().unwrap_or((0, None));
            Account {
                id: u.id,
                cap: u.daily_send_cap as i64,
                used,
                oldest,
                next_slot: slot.next,
            }
        })
        .collect();

    // The checks about accounts, before the batch is shared: a held account
    // takes no share of it.
    let mut context = ClaimContext {
        now,
        transport,
        accounts: &everyone,
        candidates: &[],
    };
    let mut held = Vec::new();
    for check in &rules.checks {
        held.extend(noted(
            check.name(),
            check.accounts(&mut tx, &context).await?,
        ));
    }
    let held = checks::apply(&[], held).held;
    let (accounts, bursts): (Vec<Account>, Vec<i64>) = everyone
        .iter()
        .zip(&slots)
        .filter(|(a, _)| !held.iter().any(|(id, _)| *id == a.id))
        .map(|(a, s)| (a.clone(), s.burst))
        .unzip();
    let ids: Vec<UserId> = accounts.iter().map(|a| a.id).collect();
    let limits = allot::share(&bursts, config.batch_size);

    let candidates: Vec<Candidate> = sqlx::query!(
        r#"SELECT c.id AS "id!", c.user_id AS "user_id!: UserId", c.recipients AS "recipients!"
           FROM unnest($1::uuid[], $2::int8[]) AS x(uid, lim)
           CROSS JOIN LATERAL (
               -- One-off mail, then follow-ups, then step 1 of campaigns
               -- (`claim_order`), each by due time: one index range each,
               -- read only as far as the account's share needs.
               SELECT m.* FROM (VALUES (0::int2), (1::int2), (2::int2)) AS k(o)
               CROSS JOIN LATERAL (
                   SELECT e.id, e.user_id,
                          cardinality(e.to_addrs) + cardinality(e.cc_addrs) + cardinality(e.bcc_addrs) AS recipients
                   FROM emails e
                   WHERE e.user_id = x.uid AND e.status = 'queued' AND e.claim_order = k.o
                     AND e.due_at <= $3
                   ORDER BY e.due_at, e.id
                   LIMIT x.lim
                   FOR UPDATE OF e SKIP LOCKED
               ) m
               LIMIT x.lim
           ) c"#,
        &ids as &[UserId],
        &limits,
        now,
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| Candidate {
        id: r.id,
        user_id: r.user_id,
        recipients: r.recipients as i64,
    })
    .collect();

    // The checks about messages, then the cap on what they leave.
    context.accounts = &accounts;
    context.candidates = &candidates;
    let mut verdicts: Vec<Verdict> = held
        .iter()
        .map(|&(user_id, until)| Verdict::HoldAccount { user_id, until })
        .collect();
    for check in &rules.checks {
        verdicts.extend(noted(
            check.name(),
            check.messages(&mut tx, &context).await?,
        ));
    }
    let applied = checks::apply(&candidates, verdicts);
    let allotment = allot::allot(&accounts, &applied.remaining, now);

    let (park_ids, park_at): (Vec<UserId>, Vec<OffsetDateTime>) =
        applied.held.iter().chain(&allotment.park).copied().unzip();
    if !park_ids.is_empty() {
        sqlx::query!(
            "UPDATE users SET pace_next_at = x.at, cap_parked = users.id = ANY($3)
             FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, at)
             WHERE users.id = x.id",
            &park_ids as &[UserId],
            &park_at,
            &allotment.at_cap as &[UserId],
        )
        .execute(&mut *tx)
        .await?;
    }
    // Deferred messages wait; failed, suppressed and cancelled ones end saying
    // why, in one statement, and what ended goes through the outcome hooks (a
    // campaign's sequence ends with its step).
    if !applied.deferred.is_empty()
        || !applied.failed.is_empty()
        || !applied.suppressed.is_empty()
        || !applied.cancelled.is_empty()
    {
        let mut ids = Vec::new();
        let mut until: Vec<Option<OffsetDateTime>> = Vec::new();
        let mut ends: Vec<Option<&str>> = Vec::new();
        let mut reasons: Vec<Option<String>> = Vec::new();
        for (id, at) in &applied.deferred {
            ids.push(*id);
            until.push(Some(*at));
            ends.push(None);
            reasons.push(None);
        }
        let ending = [
            (EmailStatus::Failed, applied.failed),
            (EmailStatus::Suppressed, applied.suppressed),
            (EmailStatus::Cancelled, applied.cancelled),
        ];
        for (status, list) in ending {
            for (id, reason) in list {
                ids.push(id);
                until.push(None);
                ends.push(Some(status.as_str()));
                reasons.push(Some(reason));
            }
        }
        let ended = sqlx::query!(
            r#"UPDATE emails e SET status = coalesce(x.status, e.status),
                    last_error = coalesce(x.reason, e.last_error),
                    next_attempt_at = coalesce(x.until, e.next_attempt_at), updated_at = $5
             FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[]) AS x(id, until, status, reason)
             WHERE e.id = x.id AND e.status = 'queued'
             RETURNING e.id, e.user_id AS "user_id: UserId", e.status, e.gmail_thread_id, e.last_error,
                       e.campaign_recipient_id, e.campaign_step,
                       CASE WHEN e.campaign_recipient_id IS NULL THEN '' ELSE e.subject END AS "subject!""#,
            &ids,
            &until as &[Option<OffsetDateTime>],
            &ends as &[Option<&str>],
            &reasons as &[Option<String>],
            now,
        )
        .fetch_all(&mut *tx)
        .await?;
        let ended: Vec<Recorded> = ended
            .into_iter()
            .filter_map(|r| {
                let status = EmailStatus::parse(&r.status)?;
                (status != EmailStatus::Queued).then(|| Recorded {
                    id: r.id,
                    user_id: r.user_id,
                    status,
                    thread_id: r.gmail_thread_id,
                    error: r.last_error,
                    step: StepOf::of(r.campaign_recipient_id, r.campaign_step, r.subject),
                })
            })
            .collect();
        super::outcome::run_hooks(rules, &mut tx, &ended).await?;
    }
    // Recipients a check took off a message that still goes (a suppressed Cc).
    if !applied.dropped.is_empty() {
        let (ids, addresses): (Vec<Uuid>, Vec<String>) = applied.dropped.iter().cloned().unzip();
        sqlx::query!(
            "UPDATE emails e
             SET cc_addrs = ARRAY(SELECT a FROM unnest(e.cc_addrs) a WHERE lower(a) <> ALL(x.gone)),
                 bcc_addrs = ARRAY(SELECT a FROM unnest(e.bcc_addrs) a WHERE lower(a) <> ALL(x.gone)),
                 suppressed_addrs = ARRAY(SELECT DISTINCT unnest(e.suppressed_addrs || x.gone)),
                 updated_at = $3
             FROM (SELECT id, array_agg(address) AS gone
                   FROM unnest($1::uuid[], $2::text[]) AS d(id, address) GROUP BY id) x
             WHERE e.id = x.id AND e.status = 'queued'",
            &ids,
            &addresses,
            now,
        )
        .execute(&mut *tx)
        .await?;
    }
    if allotment.take.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }

    let lease_secs = config.lease.as_secs_f64();
    let rows = sqlx::query!(
        r#"UPDATE emails SET status = 'sending', lease_id = $2,
                  lease_until = $5::timestamptz + make_interval(secs => $3::float8), claimed_at = $5,
                  attempts = attempts + 1, transport = $4, last_error = NULL,
                  message_id = coalesce(message_id, '<' || id::text || '@' || $6 || '>'),
                  updated_at = $5
           WHERE id = ANY($1)
           RETURNING id, user_id AS "user_id: UserId", to_addrs, cc_addrs, bcc_addrs, subject, body_html, body_text,
                     attempts, message_id AS "message_id!", list_unsubscribe, gmail_thread_id,
                     -- What the recipient saw of the earlier steps: the id Gmail
                     -- gave (read back), or ours where the transport keeps it. The
                     -- LIMIT keeps the status test out of the index scan: with it
                     -- inside, the planner may AND in the finished-mail index and
                     -- read thousands of entries a row (docs/replies.md).
                     ARRAY(SELECT q.mid FROM (
                               SELECT p.campaign_step, p.status,
                                      coalesce(nullif(p.rfc_message_id, ''),
                                               CASE WHEN p.transport <> 'gmail' THEN p.message_id END) AS mid
                               FROM emails p
                               WHERE p.campaign_recipient_id = emails.campaign_recipient_id
                                 AND p.campaign_step < emails.campaign_step
                               ORDER BY p.campaign_step LIMIT 10) q
                           WHERE q.status = 'sent' AND q.mid IS NOT NULL
                           ORDER BY q.campaign_step) AS "references!""#,
        &allotment.take,
        lease_id,
        lease_secs,
        transport.as_str(),
        now,
        host,
    )
    .fetch_all(&mut *tx)
    .await?;
    super::usage::claimed(
        &mut tx,
        rows.iter().map(|r| super::usage::Change {
            user_id: r.user_id,
            claimed_at: now,
            recipients: (r.to_addrs.len() + r.cc_addrs.len() + r.bcc_addrs.len()) as i64,
        }),
    )
    .await?;
    tx.commit().await?;

    let senders: HashMap<UserId, (&str, &str)> = users
        .iter()
        .map(|u| (u.id, (u.name.as_str(), u.from_address.as_str())))
        .collect();
    Ok(rows
        .into_iter()
        .map(|r| {
            let (name, address) = senders.get(&r.user_id).copied().unwrap_or(("", ""));
            Claimed {
                id: r.id,
                user_id: r.user_id,
                to: r.to_addrs,
                cc: r.cc_addrs,
                bcc: r.bcc_addrs,
                subject: r.subject,
                html: r.body_html,
                text: r.body_text,
                attempts: r.attempts,
                message_id: r.message_id,
                list_unsubscribe: r.list_unsubscribe,
                thread_id: r.gmail_thread_id,
                references: r.references,
                from_name: name.to_string(),
                from_address: address.to_string(),
                claimed_at: now,
                claimed: started,
            }
        })
        .collect())
}

/// Logs what a check said, and passes it on.
fn noted(check: &'static str, verdicts: Vec<Verdict>) -> Vec<Verdict> {
    if !verdicts.is_empty() {
        tracing::debug!(check, verdicts = verdicts.len(), "claim check");
    }
    verdicts
}
