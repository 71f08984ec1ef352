//! The daily cap's ledger (`send_usage`): recipients claimed per account per
//! minute, so what an account used in the rolling 24 hours is a read of at most
//! 1,440 rows, not a sum over every message it sent (docs/delivery.md, "The
//! daily cap").
//!
//! A message counts from its claim while it is `sending`, `sent` or
//! `uncertain`. The claim adds it ([`claimed`]); a message that leaves those
//! statuses without having gone (failed, or back in the queue) is taken off the
//! minute it was claimed in ([`returned`]). An account's ledger rows are only
//! written by a transaction that holds the account's `users` row: the claim
//! holds it (`FOR UPDATE SKIP LOCKED`, never waiting), and [`returned`] locks
//! the rows in id order first, so no two transactions wait on each other in a
//! cycle.

use crate::domain::UserId;
use sqlx::PgConnection;
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

/// The end of the minute `at` falls in: a claim stays in the rolling window
/// until 24 hours after it, at most a minute longer than its own time.
pub fn minute_end(at: OffsetDateTime) -> OffsetDateTime {
    let secs = at.unix_timestamp();
    let end = secs.div_euclid(60) * 60 + 60;
    OffsetDateTime::from_unix_timestamp(end).unwrap_or(at)
}

/// Recipients of one message, claimed at `claimed_at`.
#[derive(Debug, Clone, Copy)]
pub struct Change {
    pub user_id: UserId,
    pub claimed_at: OffsetDateTime,
    pub recipients: i64,
}

/// Recipients counted in the 24 hours before `now`, and the end of the oldest
/// minute that still counts (when the next of them leaves the window, less 24
/// hours), per account.
pub async fn last_24h(
    conn: &mut PgConnection,
    user_ids: &[UserId],
    now: OffsetDateTime,
) -> Result<HashMap<UserId, (i64, Option<OffsetDateTime>)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT user_id AS "user_id: UserId", sum(recipients)::int8 AS "used!",
                  min(minute_end) AS oldest
           FROM send_usage
           WHERE user_id = ANY($1) AND minute_end > $2::timestamptz - interval '24 hours'
             AND recipients > 0
           GROUP BY user_id"#,
        user_ids as &[UserId],
        now,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.user_id, (r.used, r.oldest)))
        .collect())
}

/// Adds what a claim took.
pub async fn claimed(
    conn: &mut PgConnection,
    taken: impl IntoIterator<Item = Change>,
) -> Result<(), sqlx::Error> {
    let (users, minutes, counts) = by_minute(taken);
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query!(
        "INSERT INTO send_usage AS s (user_id, minute_end, recipients)
         SELECT u, m, n FROM unnest($1::uuid[], $2::timestamptz[], $3::int4[]) WITH ORDINALITY AS x(u, m, n, i)
         ORDER BY i
         ON CONFLICT (user_id, minute_end) DO UPDATE SET recipients = s.recipients + excluded.recipients",
        &users as &[UserId],
        &minutes,
        &counts,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Takes off what went back without being sent, and lets an account that was
/// parked at its cap be looked at again now (the place it freed may let its next
/// message go). A minute is never taken below zero: a message claimed before the
/// ledger existed has nothing to hand back. Returns whether an account was
/// released, so the caller wakes delivery.
pub async fn returned(
    conn: &mut PgConnection,
    back: impl IntoIterator<Item = Change>,
) -> Result<bool, sqlx::Error> {
    let (users, minutes, counts) = by_minute(back);
    if users.is_empty() {
        return Ok(false);
    }
    // The accounts' rows first, in id order: an account's ledger is written
    // only under its row lock (the claim holds it too), so ledger rows are
    // never waited on in a cycle.
    let mut accounts = users.clone();
    accounts.dedup();
    sqlx::query!(
        "SELECT 1 AS one FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &accounts as &[UserId],
    )
    .fetch_all(&mut *conn)
    .await?;
    let released = sqlx::query!(
        "UPDATE users SET pace_next_at = least(pace_next_at, mm_now()), cap_parked = false
         WHERE id = ANY($1) AND cap_parked",
        &accounts as &[UserId],
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query!(
        "UPDATE send_usage s SET recipients = greatest(s.recipients - x.n, 0)
         FROM unnest($1::uuid[], $2::timestamptz[], $3::int4[]) AS x(u, m, n)
         WHERE s.user_id = x.u AND s.minute_end = x.m",
        &users as &[UserId],
        &minutes,
        &counts,
    )
    .execute(conn)
    .await?;
    Ok(released > 0)
}

/// One sum per account and minute, in key order (the lock order).
fn by_minute(
    changes: impl IntoIterator<Item = Change>,
) -> (Vec<UserId>, Vec<OffsetDateTime>, Vec<i32>) {
    let mut sums: BTreeMap<(UserId, OffsetDateTime), i64> = BTreeMap::new();
    for c in changes {
        *sums
            .entry((c.user_id, minute_end(c.claimed_at)))
            .or_default() += c.recipients;
    }
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for ((user, minute), n) in sums {
        if n > 0 {
            out.0.push(user);
            out.1.push(minute);
            out.2.push(n.min(i32::MAX as i64) as i32);
        }
    }
    out
}

/// Forgets minutes that left the window more than an hour ago. Returns how
/// many.
pub async fn forget_old(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("DELETE FROM send_usage WHERE minute_end < mm_now() - interval '25 hours'")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_claim_counts_until_the_end_of_its_minute() {
        assert_eq!(
            minute_end(datetime!(2026-12-01 10:00:30 UTC)),
            datetime!(2026-12-01 10:01:00 UTC)
        );
        assert_eq!(
            minute_end(datetime!(2026-12-01 10:00:00 UTC)),
            datetime!(2026-12-01 10:01:00 UTC)
        );
        assert_eq!(
            minute_end(datetime!(2026-12-01 10:00:59.999 UTC)),
            datetime!(2026-12-01 10:01:00 UTC)
        );
    }
}
