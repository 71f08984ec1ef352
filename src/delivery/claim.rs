//! The loop's SQL: claiming with pacing and the daily cap, recording results,
//! expiring leases, and when to wake next.

use super::Done;
use super::mime::Outgoing;
use crate::config::{DeliveryConfig, TransportKind};
use sqlx::PgPool;
use std::collections::HashMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// A row this loop owns until its lease ends.
pub struct Claimed {
    pub id: Uuid,
    pub user_id: Uuid,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub attempts: i32,
    pub message_id: String,
    pub from_name: String,
    pub from_address: String,
}

impl Claimed {
    pub fn outgoing<'a>(&'a self, files: &'a [super::mime::File]) -> Outgoing<'a> {
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
            files,
        }
    }
}

/// How many of a user's due messages one claim may take, and when their next
/// slot opens, so that each account stays under Gmail's per-user quota and keeps
/// the user's gap between sends (docs/delivery.md, "Pacing").
///
/// Bursts of `b` at least `60 s / floor(p / b)` apart: any 60-second window of
/// claims then holds at most `floor(p / b)` bursts, at most `p` sends, with every
/// instance claiming from the same `pace_next_at`. Sends reach Gmail a little
/// after their claim and not all equally late, so a window at Gmail can catch one
/// burst more; `b` is at most the headroom between the pace and the quota, so
/// even then the quota holds.
fn pace(config: &DeliveryConfig, gap_seconds: i32, now: OffsetDateTime) -> (i64, OffsetDateTime) {
    if !config.pacing {
        return (config.batch_size, now);
    }
    let per_minute = config.sends_per_minute.max(1) as i64;
    let quota = (config.gmail_units_per_minute / crate::config::GMAIL_SEND_UNITS) as i64;
    let spacing_ms = |burst: i64| 60_000 / (per_minute / burst).max(1) + 1;
    if gap_seconds > 0 {
        // One at a time, a random gap of 50–150 % of the setting apart.
        let gap_ms = (gap_seconds as f64 * 1000.0 * (0.5 + rand::random::<f64>())) as i64;
        (
            1,
            now + time::Duration::milliseconds(gap_ms.max(spacing_ms(1))),
        )
    } else {
        // Small bursts: a sixth of the pace, at most the headroom and at most 10.
        let burst = (per_minute / 6)
            .min(quota - per_minute)
            .clamp(1, 10)
            .min(config.batch_size.max(1));
        (burst, now + time::Duration::milliseconds(spacing_ms(burst)))
    }
}

pub async fn claim(
    pool: &PgPool,
    config: &DeliveryConfig,
    transport: TransportKind,
    host: &str,
    lease_id: Uuid,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let needs_gmail = transport == TransportKind::Gmail;
    let mut tx = pool.begin().await?;
    let now: OffsetDateTime = sqlx::query_scalar!(r#"SELECT now() AS "now!""#)
        .fetch_one(&mut *tx)
        .await?;

    // Accounts with due mail that may send now. Mail of a disconnected account is
    // held here, by not being picked.
    let users = sqlx::query!(
        r#"SELECT u.id, u.name, u.daily_send_cap, u.send_gap_seconds,
                  coalesce(g.email, u.email) AS "from_address!"
           FROM users u LEFT JOIN google_accounts g ON g.user_id = u.id
           WHERE u.id IN (
                   SELECT e.user_id FROM emails e
                   JOIN users eu ON eu.id = e.user_id
                   LEFT JOIN google_accounts eg ON eg.user_id = e.user_id
                   WHERE e.status = 'queued' AND e.due_at <= $1 AND eu.pace_next_at <= $1
                     AND (NOT $2 OR eg.gmail_status = 'connected')
                   ORDER BY e.due_at LIMIT 1000)
             AND u.pace_next_at <= $1
           ORDER BY u.pace_next_at
           LIMIT $3
           FOR UPDATE OF u SKIP LOCKED"#,
        now,
        needs_gmail,
        config.batch_size,
    )
    .fetch_all(&mut *tx)
    .await?;
    if users.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let user_ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();

    // Recipients claimed in the last 24 hours, per account (the daily cap).
    let usage: HashMap<Uuid, (i64, Option<OffsetDateTime>)> = sqlx::query!(
        r#"SELECT user_id, coalesce(sum(cardinality(to_addrs) + cardinality(cc_addrs)
                                     + cardinality(bcc_addrs)), 0)::int8 AS "used!",
                  min(claimed_at) AS oldest
           FROM emails
           WHERE user_id = ANY($1) AND claimed_at > $2::timestamptz - interval '24 hours'
             AND status IN ('sending', 'sent', 'uncertain')
           GROUP BY user_id"#,
        &user_ids,
        now,
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.user_id, (r.used, r.oldest)))
    .collect();

    let mut limits = Vec::with_capacity(users.len());
    let mut next_slots = HashMap::new();
    let mut budget = config.batch_size;
    for u in &users {
        let (per_user, next_slot) = pace(config, u.send_gap_seconds, now);
        let take = per_user.min(budget).max(0);
        budget -= take;
        limits.push(take);
        next_slots.insert(u.id, next_slot);
    }

    let candidates = sqlx::query!(
        r#"SELECT c.id AS "id!", c.user_id AS "user_id!", c.recipients AS "recipients!"
           FROM unnest($1::uuid[], $2::int8[]) AS x(uid, lim)
           CROSS JOIN LATERAL (
               SELECT e.id, e.user_id,
                      cardinality(e.to_addrs) + cardinality(e.cc_addrs) + cardinality(e.bcc_addrs) AS recipients
               FROM emails e
               WHERE e.user_id = x.uid AND e.status = 'queued' AND e.due_at <= $3
               ORDER BY e.due_at, e.id
               LIMIT x.lim
               FOR UPDATE OF e SKIP LOCKED
           ) c"#,
        &user_ids,
        &limits,
        now,
    )
    .fetch_all(&mut *tx)
    .await?;

    let mut take = Vec::new();
    let mut too_big = Vec::new();
    let mut used: HashMap<Uuid, i64> = HashMap::new();
    let mut capped: HashMap<Uuid, bool> = HashMap::new();
    for u in &users {
        used.insert(u.id, usage.get(&u.id).map(|x| x.0).unwrap_or(0));
    }
    let caps: HashMap<Uuid, i64> = users
        .iter()
        .map(|u| (u.id, u.daily_send_cap as i64))
        .collect();
    for c in &candidates {
        let cap = caps.get(&c.user_id).copied().unwrap_or(0);
        let recipients = c.recipients as i64;
        if recipients > cap {
            too_big.push(c.id);
            continue;
        }
        if capped.get(&c.user_id).copied().unwrap_or(false) {
            continue;
        }
        let u = used.entry(c.user_id).or_insert(0);
        if *u + recipients > cap {
            capped.insert(c.user_id, true);
            continue;
        }
        *u += recipients;
        take.push(c.id);
    }

    // Accounts at their cap wait until the oldest send in the window leaves it.
    let mut pace_ids = Vec::new();
    let mut pace_at = Vec::new();
    for u in &users {
        let sent_any = take
            .iter()
            .any(|id| candidates.iter().any(|c| c.id == *id && c.user_id == u.id));
        let at = if capped.get(&u.id).copied().unwrap_or(false) && !sent_any {
            let oldest = usage.get(&u.id).and_then(|x| x.1).unwrap_or(now);
            oldest + time::Duration::hours(24)
        } else if sent_any {
            next_slots.get(&u.id).copied().unwrap_or(now)
        } else {
            continue;
        };
        pace_ids.push(u.id);
        pace_at.push(at);
    }
    if !pace_ids.is_empty() {
        sqlx::query!(
            "UPDATE users SET pace_next_at = x.at FROM unnest($1::uuid[], $2::timestamptz[]) AS x(id, at)
             WHERE users.id = x.id",
            &pace_ids,
            &pace_at,
        )
        .execute(&mut *tx)
        .await?;
    }
    if !too_big.is_empty() {
        sqlx::query!(
            "UPDATE emails SET status = 'failed', updated_at = now(),
                    last_error = 'This message has more recipients than your daily sending limit allows. Raise the limit in Settings or split the recipients.'
             WHERE id = ANY($1)",
            &too_big,
        )
        .execute(&mut *tx)
        .await?;
    }
    if take.is_empty() {
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
           RETURNING id, user_id, to_addrs, cc_addrs, bcc_addrs, subject, body_html, body_text,
                     attempts, message_id AS "message_id!""#,
        &take,
        lease_id,
        lease_secs,
        transport.as_str(),
        now,
        host,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;

    let senders: HashMap<Uuid, (&str, &str)> = users
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
                from_name: name.to_string(),
                from_address: address.to_string(),
            }
        })
        .collect())
}

/// Writes a batch of results in one statement. Only rows this claim still owns
/// change: a row that the user sent again or marked meanwhile keeps their choice.
pub(super) async fn record(
    pool: &PgPool,
    lease_id: Uuid,
    done: &[Done],
) -> Result<(), sqlx::Error> {
    let ids: Vec<Uuid> = done.iter().map(|d| d.id).collect();
    let statuses: Vec<String> = done.iter().map(|d| d.status.to_string()).collect();
    let errors: Vec<Option<String>> = done.iter().map(|d| d.error.clone()).collect();
    let provider: Vec<Option<String>> = done.iter().map(|d| d.provider_id.clone()).collect();
    let threads: Vec<Option<String>> = done.iter().map(|d| d.thread_id.clone()).collect();
    let next: Vec<Option<OffsetDateTime>> = done.iter().map(|d| d.next_attempt_at).collect();
    let refunds: Vec<i32> = done.iter().map(|d| d.refund).collect();
    sqlx::query!(
        r#"UPDATE emails e SET status = r.status, last_error = r.error,
                  gmail_message_id = coalesce(r.provider_id, e.gmail_message_id),
                  gmail_thread_id = coalesce(r.thread_id, e.gmail_thread_id),
                  sent_at = CASE WHEN r.status = 'sent' THEN now() ELSE e.sent_at END,
                  next_attempt_at = r.next_attempt_at,
                  attempts = e.attempts - r.refund,
                  claimed_at = CASE WHEN r.status = 'queued' THEN NULL ELSE e.claimed_at END,
                  lease_until = NULL, updated_at = now()
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::timestamptz[], $7::int4[])
                AS r(id, status, error, provider_id, thread_id, next_attempt_at, refund)
           WHERE e.id = r.id AND e.lease_id = $8 AND e.status IN ('sending', 'uncertain')"#,
        &ids,
        &statuses,
        &errors as &[Option<String>],
        &provider as &[Option<String>],
        &threads as &[Option<String>],
        &next as &[Option<OffsetDateTime>],
        &refunds,
        lease_id,
    )
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn expire_leases(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE emails SET status = 'uncertain', lease_until = NULL, updated_at = now(),
                last_error = 'Sending was interrupted (the server stopped or lost contact) after the message may have reached Gmail. Check your Gmail Sent folder, then send it again or mark it as sent.'
         WHERE status = 'sending' AND lease_until < now()"
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The earliest future time at which a claim could find work.
pub async fn next_event(pool: &PgPool) -> Result<Option<OffsetDateTime>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"SELECT least(
              (SELECT min(due_at) FROM emails WHERE status = 'queued' AND due_at > now()),
              (SELECT min(lease_until) FROM emails WHERE status = 'sending'),
              (SELECT min(u.pace_next_at) FROM users u
                WHERE u.pace_next_at > now()
                  AND EXISTS (SELECT 1 FROM emails e WHERE e.user_id = u.id AND e.status = 'queued'))
           ) AS next"#
    )
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(pacing: bool, gmail_units_per_minute: u64, sends_per_minute: u64) -> DeliveryConfig {
        DeliveryConfig {
            enabled: true,
            workers: 1,
            batch_size: 50,
            max_attempts: 8,
            pacing,
            gmail_units_per_minute,
            sends_per_minute,
            lease: Duration::from_secs(150),
            shutdown_grace: Duration::from_secs(8),
        }
    }

    #[test]
    fn pacing_keeps_each_account_under_gmail_s_quota_and_the_user_s_gap() {
        let now = OffsetDateTime::now_utc();
        // 6,000 units: a pace of 54 a minute, bursts of 6 every 6.67 s.
        let (n, next) = pace(&config(true, 6_000, 54), 0, now);
        assert_eq!((n, next - now), (6, time::Duration::milliseconds(6_667)));
        for units in [112, 200, 600, 1_000, 1_200, 6_000, 6_600, 15_000, 100_000] {
            let per_minute = units * 9 / 1000;
            let (n, next) = pace(&config(true, units, per_minute), 0, now);
            let bursts = 60_000 / (next - now).whole_milliseconds() as i64 + 1;
            // Claims: never more than the pace in any minute, and not far below it.
            assert!(n * bursts <= per_minute as i64, "{units}: {n} x {bursts}");
            assert!(
                n * bursts * 10 >= per_minute as i64 * 6,
                "{units}: only {}",
                n * bursts
            );
            // At Gmail, where a window may catch one burst more: within the quota.
            assert!(
                n * (bursts + 1) <= (units / 100) as i64 || n == 1,
                "{units}: {n} x {} over the quota",
                bursts + 1
            );
        }
        // A 60 s gap: one at a time, 30–90 s apart.
        for _ in 0..50 {
            let (n, next) = pace(&config(true, 6_000, 54), 60, now);
            let gap = (next - now).whole_seconds();
            assert_eq!(n, 1);
            assert!((30..=90).contains(&gap), "{gap}");
        }
        // Pacing off: a whole batch, no wait.
        assert_eq!(pace(&config(false, 6_000, 54), 60, now), (50, now));
    }
}
