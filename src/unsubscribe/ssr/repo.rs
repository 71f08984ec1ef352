//! The `suppressions` table: each user's addresses that get no more mail from
//! them. Addresses are stored lowercased and compared that way.

use crate::domain::{EmailAddress, UserId};
use crate::error::{AppError, FieldErrors};
use crate::unsubscribe::{Reason, SuppressionView};
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use time::OffsetDateTime;

/// "1 Dec 2026", for reasons shown next to a message.
pub fn day(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[day padding:none] [month repr:short] [year]");
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| t.date().to_string())
}

/// Why a message to `address` is not sent.
pub fn not_sent_because(address: &str, reason: Reason, since: OffsetDateTime) -> String {
    format!("Not sent: {}", listed_because(address, reason, since))
}

/// The one-click unsubscribe: idempotent, and harmless for a sender that no
/// longer exists (there is nothing left to send from).
pub async fn unsubscribe(pool: &PgPool, user: UserId, address: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO suppressions (user_id, address, reason)
         SELECT id, $2, 'unsubscribed' FROM users WHERE id = $1
         ON CONFLICT (user_id, address) DO NOTHING",
        user as UserId,
        address.to_lowercase(),
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Adds addresses (lowercased) with `reason`; those already listed keep their
/// entry. Returns how many were new.
pub async fn add(
    conn: &mut PgConnection,
    user: UserId,
    addresses: &[String],
    reason: Reason,
) -> Result<u64, sqlx::Error> {
    let lower: Vec<String> = addresses.iter().map(|a| a.to_lowercase()).collect();
    let done = sqlx::query!(
        "INSERT INTO suppressions (user_id, address, reason)
         SELECT $1, a, $3 FROM unnest($2::text[]) AS a
         ON CONFLICT (user_id, address) DO NOTHING",
        user as UserId,
        &lower,
        reason.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

pub async fn remove(pool: &PgPool, user: UserId, address: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "DELETE FROM suppressions WHERE user_id = $1 AND address = $2",
        user as UserId,
        address.to_lowercase(),
    )
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Which of `addresses` are on the user's list, by lowercased address.
pub async fn find(
    conn: &mut PgConnection,
    user: UserId,
    addresses: &[String],
) -> Result<HashMap<String, (Reason, OffsetDateTime)>, sqlx::Error> {
    let lower: Vec<String> = addresses.iter().map(|a| a.to_lowercase()).collect();
    let rows = sqlx::query!(
        "SELECT address, reason, created_at FROM suppressions
         WHERE user_id = $1 AND address = ANY($2)",
        user as UserId,
        &lower,
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.address, (Reason::parse(&r.reason)?, r.created_at))))
        .collect())
}

/// Refuses addresses on the user's list, each field's with an error next to
/// it: at queue time, so the user can take them off before anything is queued.
pub async fn refuse_listed(
    conn: &mut PgConnection,
    user: UserId,
    fields: &[(&str, &[EmailAddress])],
) -> Result<(), AppError> {
    let all: Vec<String> = fields
        .iter()
        .flat_map(|(_, list)| list.iter().map(EmailAddress::normalized))
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let listed = find(conn, user, &all).await?;
    if listed.is_empty() {
        return Ok(());
    }
    let mut errors = FieldErrors::default();
    for (field, list) in fields {
        let found: Vec<String> = list
            .iter()
            .filter_map(|a| {
                let (reason, since) = listed.get(&a.normalized())?;
                Some(listed_because(a.as_str(), *reason, *since))
            })
            .collect();
        if !found.is_empty() {
            errors.check::<()>(
                field,
                Err(format!(
                    "{} Take it out to send this message.",
                    found.join(" ")
                )),
            );
        }
    }
    Err(errors.into_error())
}

/// "grace@example.com unsubscribed on 1 Dec 2026."
pub fn listed_because(address: &str, reason: Reason, since: OffsetDateTime) -> String {
    let when = day(since);
    match reason {
        Reason::Unsubscribed => format!("{address} unsubscribed on {when}."),
        Reason::Bounced => format!("{address} bounced on {when}."),
        Reason::Added | Reason::Imported => {
            format!("{address} is on your suppression list (since {when}).")
        }
    }
}

/// A page of the list, newest first, optionally only addresses containing
/// `search`; with how many match.
pub async fn page(
    pool: &PgPool,
    user: UserId,
    search: &str,
    limit: i64,
    offset: i64,
) -> Result<(Vec<SuppressionView>, i64), sqlx::Error> {
    let pattern = format!("%{}%", like_escape(&search.trim().to_lowercase()));
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM suppressions WHERE user_id = $1 AND address LIKE $2"#,
        user as UserId,
        pattern,
    )
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as!(
        Row,
        "SELECT address, reason, created_at FROM suppressions
         WHERE user_id = $1 AND address LIKE $2
         ORDER BY created_at DESC, address LIMIT $3 OFFSET $4",
        user as UserId,
        pattern,
        limit,
        offset,
    )
    .fetch_all(pool)
    .await?;
    Ok((rows.into_iter().filter_map(view).collect(), total))
}

/// Every entry, oldest first: the export.
pub async fn all(pool: &PgPool, user: UserId) -> Result<Vec<SuppressionView>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        "SELECT address, reason, created_at FROM suppressions WHERE user_id = $1
         ORDER BY created_at, address",
        user as UserId,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter_map(view).collect())
}

fn view(r: Row) -> Option<SuppressionView> {
    Some(SuppressionView {
        reason: Reason::parse(&r.reason)?,
        since: day(r.created_at),
        since_iso: r
            .created_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        address: r.address,
    })
}

struct Row {
    address: String,
    reason: String,
    created_at: OffsetDateTime,
}

/// `%` and `_` in a search are the characters themselves.
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
