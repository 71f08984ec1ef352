//! The index of each account's sessions (`user_sessions`). The session record
//! in Redis is keyed by its cookie's id only; it names its row here, and a
//! session whose row is gone, that started before the account's
//! `sessions_not_before`, that is older than `SESSION_MAX_DAYS`, or whose
//! account is suspended, is over
//! (docs/accounts.md, "Sessions").

use crate::domain::{UserId, UserView};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// `last_seen_at` is written when it is older than this, not on every request.
pub const SEEN_EVERY: Duration = Duration::from_secs(5 * 60);

/// Where a session was started from, as the sessions list shows it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub user_agent: String,
    pub ip: Option<String>,
}

impl Client {
    /// From a request's headers and peer (`TRUSTED_PROXY_HOPS` applies).
    pub fn from_request(parts: &axum::http::request::Parts, trusted_proxy_hops: usize) -> Self {
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        Client {
            user_agent,
            ip: crate::server::client_ip::of_request(parts, trusted_proxy_hops)
                .map(|ip| ip.to_string()),
        }
    }
}

/// Records a new session of `user_id`; its id goes into the session record.
pub async fn start(pool: &PgPool, user_id: UserId, client: &Client) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query!(
        "INSERT INTO user_sessions (id, user_id, user_agent, ip) VALUES ($1, $2, $3, $4)",
        id,
        user_id as UserId,
        client.user_agent,
        client.ip,
    )
    .execute(pool)
    .await?;
    Ok(id)
}

/// The user of a session that is still on, or `None`: one query, which also
/// reads what the pages show of the account. Notes the visit when the last one
/// noted is older than [`SEEN_EVERY`].
pub async fn user_of(
    pool: &PgPool,
    user_id: UserId,
    session: Uuid,
    max_age: Duration,
) -> Result<Option<UserView>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT u.name, u.email, u.time_zone, u.email_verified_at IS NOT NULL AS "verified!",
                  coalesce(g.gmail_status = 'disconnected', false) AS "gmail_disconnected!",
                  s.last_seen_at < now() - make_interval(secs => $4) AS "stale!"
           FROM users u
           JOIN user_sessions s ON s.id = $2 AND s.user_id = u.id
           LEFT JOIN google_accounts g ON g.user_id = u.id
           WHERE u.id = $1 AND s.started_at >= u.sessions_not_before
             AND s.started_at > now() - make_interval(secs => $3)
             AND u.suspended_at IS NULL"#,
        user_id as UserId,
        session,
        max_age.as_secs_f64(),
        SEEN_EVERY.as_secs_f64(),
    )
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.stale {
        sqlx::query!(
            "UPDATE user_sessions SET last_seen_at = now() WHERE id = $1",
            session
        )
        .execute(pool)
        .await?;
    }
    Ok(Some(UserView {
        id: user_id,
        name: row.name,
        email: row.email,
        email_verified: row.verified,
        system_outbox: None,
        admin: false,
        gmail_disconnected: row.gmail_disconnected,
        time_zone: row.time_zone,
    }))
}

/// One session, as Settings lists it.
pub struct Listed {
    pub id: Uuid,
    pub started_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub user_agent: String,
    pub ip: Option<String>,
}

/// The account's sessions that are still on, the latest seen first.
pub async fn list(
    pool: &PgPool,
    user_id: UserId,
    max_age: Duration,
    idle: Duration,
) -> Result<Vec<Listed>, sqlx::Error> {
    sqlx::query_as!(
        Listed,
        "SELECT s.id, s.started_at, s.last_seen_at, s.user_agent, s.ip
         FROM user_sessions s JOIN users u ON u.id = s.user_id
         WHERE s.user_id = $1 AND s.started_at >= u.sessions_not_before
           AND s.started_at > now() - make_interval(secs => $2)
           AND s.last_seen_at > now() - make_interval(secs => $3)
         ORDER BY s.last_seen_at DESC, s.id DESC
         LIMIT 200",
        user_id as UserId,
        max_age.as_secs_f64(),
        (idle + SEEN_EVERY).as_secs_f64(),
    )
    .fetch_all(pool)
    .await
}

/// Ends one session of the account; false when it has no such session.
pub async fn end(conn: &mut PgConnection, user_id: UserId, id: Uuid) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM user_sessions WHERE user_id = $1 AND id = $2",
        user_id as UserId,
        id
    )
    .execute(conn)
    .await?
    .rows_affected()
        > 0)
}

/// Ends every session of the account but `keep`; how many ended.
pub async fn end_others(
    conn: &mut PgConnection,
    user_id: UserId,
    keep: Uuid,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2",
        user_id as UserId,
        keep
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Ends every session of the account, also one being started meanwhile (it
/// started before the new "not before").
pub async fn end_all(conn: &mut PgConnection, user_id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET sessions_not_before = now(), updated_at = now() WHERE id = $1",
        user_id as UserId
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "DELETE FROM user_sessions WHERE user_id = $1",
        user_id as UserId
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forgets sessions that are over anyway: idle past the timeout (their Redis
/// record has expired) or past the absolute lifetime.
pub async fn forget_old(
    conn: &mut PgConnection,
    max_age: Duration,
    idle: Duration,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM user_sessions
         WHERE started_at < now() - make_interval(secs => $1)
            OR last_seen_at < now() - make_interval(secs => $2)",
        max_age.as_secs_f64(),
        (idle + SEEN_EVERY * 2).as_secs_f64(),
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// "Chrome on macOS": enough to tell one's own sessions apart. Unknown agents
/// show as they came, shortened.
pub fn describe(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") || ua.contains("Opera") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("CriOS/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        ""
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        ""
    };
    match (browser, os) {
        ("", "") if ua.trim().is_empty() => "Unknown browser".into(),
        ("", "") => ua.chars().take(60).collect(),
        ("", os) => format!("A browser on {os}"),
        (b, "") => b.into(),
        (b, os) => format!("{b} on {os}"),
    }
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[test]
    fn sessions_are_named_by_browser_and_system() {
        assert_eq!(
            describe(
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
            ),
            "Chrome on macOS"
        );
        assert_eq!(
            describe("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"),
            "Firefox on Linux"
        );
        assert_eq!(
            describe(
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
            ),
            "Safari on iOS"
        );
        assert_eq!(describe(""), "Unknown browser");
        assert_eq!(describe("curl/8.5.0"), "curl/8.5.0");
    }
}
