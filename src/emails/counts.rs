//! How many of an account's messages are in each status, without counting them
//! (docs/lists.md, "Counts"). Triggers on `emails` add a row of changes to
//! `email_counts` for every statement that moves messages between statuses, in
//! that statement's transaction; a reader sums the account's rows, so the
//! counts are exact in any snapshot. [`fold`] keeps the rows few.

use crate::domain::{EmailStatus, UserId};
use sqlx::PgPool;
use std::collections::HashMap;

/// The account's messages by status (a status with none is absent).
pub async fn of_user(
    pool: &PgPool,
    user_id: UserId,
) -> Result<HashMap<EmailStatus, i64>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"SELECT status, sum(n)::int8 AS "n!" FROM email_counts
           WHERE user_id = $1 GROUP BY status"#,
        user_id as UserId
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((EmailStatus::parse(&r.status)?, r.n)))
        .filter(|(_, n)| *n != 0)
        .collect())
}

/// Folds each (account, status) with several rows into one, and drops those
/// that sum to nothing; returns how many rows went. One statement, so readers
/// see the rows before or after, never half. One instance at a time (an
/// advisory lock): writers only add rows, which this never waits for.
pub async fn fold(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mine = sqlx::query_scalar!(
        r#"SELECT pg_try_advisory_xact_lock(hashtext('mailmerger.email_counts.fold')) AS "got!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if !mine {
        return Ok(0);
    }
    let gone = sqlx::query!(
        r#"WITH many AS (
               SELECT user_id, status FROM email_counts
               GROUP BY user_id, status HAVING count(*) > 1 OR sum(n) = 0
               LIMIT 10000
           ), gone AS (
               DELETE FROM email_counts c USING many m
               WHERE c.user_id = m.user_id AND c.status = m.status
               RETURNING c.user_id, c.status, c.n
           ), kept AS (
               INSERT INTO email_counts (user_id, status, n)
               SELECT user_id, status, sum(n) FROM gone
               GROUP BY user_id, status HAVING sum(n) <> 0
               RETURNING 1 AS one
           )
           SELECT (SELECT count(*) FROM gone) - (SELECT count(*) FROM kept) AS "folded!""#
    )
    .fetch_one(&mut *tx)
    .await?
    .folded;
    tx.commit().await?;
    Ok(gone as u64)
}
