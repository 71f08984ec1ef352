//! The links we mail (`account_links`): verify an address, reset a password,
//! confirm a new address. A link is `<id><secret>` in URL-safe base64: the row
//! is found by its id and the secret compared, in constant time, with the
//! SHA-256 kept in it; the secret itself is never stored. A link works once,
//! before it expires, and using one voids the account's other links of its
//! kind (docs/accounts.md, "Links").

use crate::domain::UserId;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use time::Duration;
use uuid::Uuid;

const SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The account's address, after sign-up.
    Verify,
    /// A forgotten password.
    Reset,
    /// A new address for the account, which takes effect when confirmed.
    ChangeEmail,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::ChangeEmail => "change_email",
        }
    }

    /// How long a link works.
    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Reset => Duration::hours(1),
            Purpose::Verify | Purpose::ChangeEmail => Duration::hours(24),
        }
    }

    /// The page the link opens (both kinds of verification share one).
    pub fn path(self) -> &'static str {
        match self {
            Purpose::Reset => "/reset/",
            Purpose::Verify | Purpose::ChangeEmail => "/verify/",
        }
    }
}

/// A link that is still good.
#[derive(Debug, Clone)]
pub struct OpenLink {
    pub id: Uuid,
    pub user_id: UserId,
    pub purpose: Purpose,
    /// The address the link went to.
    pub email: String,
}

/// Makes a link for `user_id` to `email` and returns its token (the part of
/// the URL after the page's path).
pub async fn create(
    conn: &mut PgConnection,
    user_id: UserId,
    purpose: Purpose,
    email: &str,
) -> Result<String, sqlx::Error> {
    let id = Uuid::now_v7();
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let hash = Sha256::digest(secret);
    sqlx::query!(
        "INSERT INTO account_links (id, user_id, purpose, email, secret_hash, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))",
        id,
        user_id as UserId,
        purpose.as_str(),
        email,
        hash.as_slice(),
        purpose.lifetime().whole_seconds() as f64,
    )
    .execute(conn)
    .await?;
    let mut token = Vec::with_capacity(16 + SECRET_BYTES);
    token.extend_from_slice(id.as_bytes());
    token.extend_from_slice(&secret);
    Ok(B64.encode(token))
}

/// The id and secret of a token, if it has their shape.
fn parse(token: &str) -> Option<(Uuid, [u8; SECRET_BYTES])> {
    if token.len() > 100 {
        return None;
    }
    let bytes = B64.decode(token.trim()).ok()?;
    if bytes.len() != 16 + SECRET_BYTES {
        return None;
    }
    let id = Uuid::from_slice(&bytes[..16]).ok()?;
    let secret: [u8; SECRET_BYTES] = bytes[16..].try_into().ok()?;
    Some((id, secret))
}

/// The link `token` names, when it is of `purposes`, unused and unexpired,
/// and its secret is right. With `lock`, its row stays locked until the
/// caller's transaction ends, so two uses of one link cannot both succeed.
pub async fn find(
    conn: &mut PgConnection,
    token: &str,
    purposes: &[Purpose],
    lock: bool,
) -> Result<Option<OpenLink>, sqlx::Error> {
    let Some((id, secret)) = parse(token) else {
        return Ok(None);
    };
    let row = if lock {
        sqlx::query!(
            r#"SELECT user_id AS "user_id: UserId", purpose, email, secret_hash FROM account_links
               WHERE id = $1 AND used_at IS NULL AND expires_at > now() FOR UPDATE"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.user_id, r.purpose, r.email, r.secret_hash))
    } else {
        sqlx::query!(
            r#"SELECT user_id AS "user_id: UserId", purpose, email, secret_hash FROM account_links
               WHERE id = $1 AND used_at IS NULL AND expires_at > now()"#,
            id
        )
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| (r.user_id, r.purpose, r.email, r.secret_hash))
    };
    // Without a row, the secret is still compared (with itself), so a guessed
    // id takes as long as a real one.
    let (stored, found) = match &row {
        Some((_, _, _, hash)) => (hash.clone(), true),
        None => (Sha256::digest(secret).to_vec(), false),
    };
    let matches = crate::crypto::constant_time_eq(Sha256::digest(secret).as_slice(), &stored);
    let Some((user_id, purpose, email, _)) = row.filter(|_| found && matches) else {
        return Ok(None);
    };
    let purpose = match purpose.as_str() {
        "verify" => Purpose::Verify,
        "reset" => Purpose::Reset,
        _ => Purpose::ChangeEmail,
    };
    if !purposes.contains(&purpose) {
        return Ok(None);
    }
    Ok(Some(OpenLink {
        id,
        user_id,
        purpose,
        email,
    }))
}

/// Uses `link` up, with every other open link of its kind for the account.
pub async fn use_up(conn: &mut PgConnection, link: &OpenLink) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE account_links SET used_at = now()
         WHERE user_id = $1 AND used_at IS NULL AND (id = $2 OR purpose = $3)",
        link.user_id as UserId,
        link.id,
        link.purpose.as_str(),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Voids every open link of the account (of `purposes`, or all when empty).
pub async fn void(
    conn: &mut PgConnection,
    user_id: UserId,
    purposes: &[Purpose],
) -> Result<u64, sqlx::Error> {
    let kinds: Vec<&str> = purposes.iter().map(|p| p.as_str()).collect();
    Ok(sqlx::query!(
        "UPDATE account_links SET used_at = now()
         WHERE user_id = $1 AND used_at IS NULL AND (cardinality($2::text[]) = 0 OR purpose = ANY($2))",
        user_id as UserId,
        &kinds as &[&str],
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// The address an open change of address would move the account to.
pub async fn pending_email(
    conn: &mut PgConnection,
    user_id: UserId,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT email FROM account_links
         WHERE user_id = $1 AND purpose = 'change_email' AND used_at IS NULL AND expires_at > now()
         ORDER BY created_at DESC LIMIT 1",
        user_id as UserId
    )
    .fetch_optional(conn)
    .await
}

/// Forgets links that expired or were used more than a week ago.
pub async fn forget_old(conn: &mut PgConnection) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM account_links WHERE expires_at < now() - interval '7 days'
                                      OR used_at < now() - interval '7 days'"
    )
    .execute(conn)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_one_shape() {
        let mut bytes = Uuid::nil().as_bytes().to_vec();
        bytes.extend_from_slice(&[7u8; SECRET_BYTES]);
        let token = B64.encode(&bytes);
        assert_eq!(token.len(), 64);
        assert_eq!(parse(&token), Some((Uuid::nil(), [7u8; SECRET_BYTES])));
        assert_eq!(parse(&token[..63]), None);
        assert_eq!(parse(&format!("{token}AAAA")), None);
        assert_eq!(parse("not base64!"), None);
        assert_eq!(parse(&"A".repeat(10_000)), None);
    }
}
