//! Server-only parts of accounts: the links we mail and what following them
//! does, the sessions index, and Google claiming an unverified account
//! (docs/accounts.md).

pub mod claim;
pub mod delete;
pub mod export;
pub mod links;
pub mod mail;
pub mod routes;
pub mod sending;
pub mod sessions;

use crate::domain::{EmailAddress, Password, UserId};
use crate::error::AppError;
use crate::state::AppState;
use links::{OpenLink, Purpose};
use mail::Letter;
use std::time::Duration;

/// Mails about one address (forgot password) per window, and from one IP.
pub const FORGOT_PER_ADDRESS: u64 = 5;
pub const FORGOT_PER_IP: u64 = 30;
/// "Send the link again" per account per window.
pub const VERIFY_MAILS_PER_USER: u64 = 5;
pub const MAIL_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The whole URL of a link: built from `APP_BASE_URL`, never from the request.
fn link_url(state: &AppState, purpose: Purpose, token: &str) -> String {
    let base = state.config.base_url.as_str().trim_end_matches('/');
    format!("{base}{}{token}", purpose.path())
}

/// Makes a link and mails it, in the background.
async fn mail_link(
    state: &AppState,
    user_id: UserId,
    name: &str,
    purpose: Purpose,
    email: &str,
) -> Result<(), AppError> {
    let mut conn = state.pool.acquire().await?;
    let token = links::create(&mut conn, user_id, purpose, email).await?;
    drop(conn);
    let url = link_url(state, purpose, &token);
    let hello = if name.trim().is_empty() {
        "Hello,".to_string()
    } else {
        format!("Hello {},", name.trim())
    };
    let (subject, text) = match purpose {
        Purpose::Verify => (
            "Verify your email address for MailMerger",
            format!(
                "{hello}\n\nPlease confirm that this address is yours by opening this link and pressing \"Verify my address\":\n\n{url}\n\nThe link works once, for 24 hours. If you did not create a MailMerger account, you can ignore this message: nothing is sent from this address until it is verified.\n"
            ),
        ),
        Purpose::ChangeEmail => (
            "Confirm your new email address for MailMerger",
            format!(
                "{hello}\n\nYou asked to change your MailMerger account's address to this one. Open this link and press \"Use this address\" to confirm:\n\n{url}\n\nThe link works once, for 24 hours. Until then your account keeps its old address. If you did not ask for this, ignore this message.\n"
            ),
        ),
        Purpose::Reset => (
            "Reset your MailMerger password",
            format!(
                "{hello}\n\nSomeone (we hope you) asked to reset the password of your MailMerger account. Open this link to choose a new one:\n\n{url}\n\nThe link works once, for one hour. If you did not ask, ignore this message: your password stays as it is.\n"
            ),
        ),
    };
    state.system_mail.send_later(Letter {
        to: email.to_string(),
        subject: subject.into(),
        text,
    });
    Ok(())
}

/// After sign-up: the link that verifies the address.
pub async fn start_verification(
    state: &AppState,
    user_id: UserId,
    name: &str,
    email: &str,
) -> Result<(), AppError> {
    mail_link(state, user_id, name, Purpose::Verify, email).await
}

/// "Send the link again": limited per account. Nothing to do for a verified
/// address.
pub async fn resend_verification(state: &AppState, user_id: UserId) -> Result<(), AppError> {
    let key = state
        .keys
        .account_attempts("verify-mail", &user_id.to_string());
    crate::limits::allow(&state.redis, &key, VERIFY_MAILS_PER_USER, MAIL_WINDOW).await?;
    let user = sqlx::query!(
        "SELECT name, email, email_verified_at IS NOT NULL AS \"verified!\" FROM users WHERE id = $1",
        user_id as UserId
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppError::Unauthorized)?;
    if user.verified {
        return Ok(());
    }
    mail_link(state, user_id, &user.name, Purpose::Verify, &user.email).await
}

/// What following a verification link did.
#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    /// The account's address is verified.
    Address,
    /// The account now has this address, verified.
    NewAddress(String),
}

/// Uses a verification or change-of-address link. `Ok(None)`: the link is not
/// (or no longer) good. A new address another account took meanwhile is a
/// `BadRequest` saying so.
pub async fn verify(state: &AppState, token: &str) -> Result<Option<Verified>, AppError> {
    let mut tx = state.pool.begin().await?;
    let Some(link) = links::find(
        &mut tx,
        token,
        &[Purpose::Verify, Purpose::ChangeEmail],
        true,
    )
    .await?
    else {
        return Ok(None);
    };
    let outcome = match link.purpose {
        Purpose::Verify => {
            let done = sqlx::query!(
                "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
                 WHERE id = $1 AND lower(email) = lower($2)",
                link.user_id as UserId,
                link.email,
            )
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                // The account has another address now: this link verified the old one.
                return Ok(None);
            }
            Verified::Address
        }
        _ => {
            let old = change_address(&mut tx, &link).await?;
            notify_old_address(state, &old, &link.email);
            Verified::NewAddress(link.email.clone())
        }
    };
    links::use_up(&mut tx, &link).await?;
    if link.purpose == Purpose::ChangeEmail {
        // Reset and verification links that went to the old address stop working.
        links::void(&mut tx, link.user_id, &[Purpose::Reset, Purpose::Verify]).await?;
    }
    // Mail held for an unverified sender can go now (docs/accounts.md).
    crate::emails::release(&mut tx, link.user_id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %link.user_id, purpose = link.purpose.as_str(), "address verified");
    Ok(Some(outcome))
}

/// Moves the account to the link's address; returns the old one.
async fn change_address(tx: &mut sqlx::PgConnection, link: &OpenLink) -> Result<String, AppError> {
    let old = sqlx::query_scalar!(
        "SELECT email FROM users WHERE id = $1 FOR UPDATE",
        link.user_id as UserId
    )
    .fetch_one(&mut *tx)
    .await?;
    let result = sqlx::query!(
        "UPDATE users SET email = $2, email_verified_at = now(), updated_at = now() WHERE id = $1",
        link.user_id as UserId,
        link.email,
    )
    .execute(&mut *tx)
    .await;
    match result {
        Ok(_) => Ok(old),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("users_email_key") => {
            Err(AppError::BadRequest(
                "Another account uses that address now, so yours keeps its old one.".into(),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

fn notify_old_address(state: &AppState, old: &str, new: &str) {
    state.system_mail.send_later(Letter {
        to: old.to_string(),
        subject: "Your MailMerger address was changed".into(),
        text: format!(
            "Hello,\n\nYour MailMerger account now uses the address {new} instead of this one. If you did not do this, reset your password from the login page at once and write to whoever runs this MailMerger.\n"
        ),
    });
}

/// "Forgot your password?": counts the attempt, then does the rest in the
/// background, so the answer is the same, in the same time, whether or not the
/// address has an account.
pub async fn forgot(state: &AppState, email: &str, ip: Option<&str>) -> Result<(), AppError> {
    let normalized = email.trim().to_lowercase();
    let address = crate::auth::ssr::throttle::address_key(&normalized);
    let keys = &state.keys;
    crate::limits::allow(
        &state.redis,
        &keys.account_attempts("forgot", &address),
        FORGOT_PER_ADDRESS,
        MAIL_WINDOW,
    )
    .await?;
    if let Some(ip) = ip {
        crate::limits::allow(
            &state.redis,
            &keys.account_attempts("forgot-ip", ip),
            FORGOT_PER_IP,
            MAIL_WINDOW,
        )
        .await?;
    }
    let state = state.clone();
    tokio::spawn(async move {
        let user = sqlx::query!(
            r#"SELECT id AS "id: UserId", name, email FROM users WHERE lower(email) = $1"#,
            normalized
        )
        .fetch_optional(&state.pool)
        .await;
        match user {
            Ok(Some(u)) => {
                if let Err(e) = mail_link(&state, u.id, &u.name, Purpose::Reset, &u.email).await {
                    tracing::warn!(error = %e, "reset link not made");
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "reset: could not look the address up"),
        }
    });
    Ok(())
}

/// Whether a reset link is good (the page shows its form only then).
pub async fn reset_link_open(state: &AppState, token: &str) -> Result<bool, AppError> {
    let mut conn = state.pool.acquire().await?;
    Ok(links::find(&mut conn, token, &[Purpose::Reset], false)
        .await?
        .is_some())
}

/// Sets a new password through a reset link: every session ends, the address
/// counts as verified (the link reached it), and a notice goes to it.
/// `Ok(false)`: the link is not (or no longer) good.
pub async fn reset(state: &AppState, token: &str, password: Password) -> Result<bool, AppError> {
    // Look before the expensive hash, so a dead link costs nothing.
    if !reset_link_open(state, token).await? {
        return Ok(false);
    }
    let hash = crate::auth::ssr::password::hash(&state.hashing, password).await?;
    let mut tx = state.pool.begin().await?;
    let Some(link) = links::find(&mut tx, token, &[Purpose::Reset], true).await? else {
        return Ok(false);
    };
    // Only while the account still has the address the link went to.
    let Some(email) = sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now()),
                updated_at = now()
         WHERE id = $1 AND lower(email) = lower($3) RETURNING email",
        link.user_id as UserId,
        hash,
        link.email,
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(false);
    };
    sessions::end_all(&mut tx, link.user_id).await?;
    links::use_up(&mut tx, &link).await?;
    crate::emails::release(&mut tx, link.user_id).await?;
    tx.commit().await?;
    tracing::info!(user_id = %link.user_id, "password reset");
    password_notice(state, &email);
    Ok(true)
}

fn password_notice(state: &AppState, email: &str) {
    state.system_mail.send_later(Letter {
        to: email.to_string(),
        subject: "Your MailMerger password was changed".into(),
        text: "Hello,\n\nThe password of your MailMerger account was just changed, and the account was logged out everywhere else. If you did not do this, choose \"Forgot your password?\" on the login page at once.\n".into(),
    });
}

/// The account's password hash, for checking the current password.
async fn password_hash(state: &AppState, user_id: UserId) -> Result<Option<String>, AppError> {
    Ok(sqlx::query_scalar!(
        "SELECT password_hash FROM users WHERE id = $1",
        user_id as UserId
    )
    .fetch_optional(&state.pool)
    .await?
    .flatten())
}

/// Checks the account's current password, throttled like a login (by the
/// account's address and the client's IP). An account without a password
/// passes only when `current` is empty and `allow_none`.
pub async fn check_password(
    state: &AppState,
    user_id: UserId,
    email: &str,
    current: String,
    ip: Option<&str>,
) -> Result<bool, AppError> {
    let stored = password_hash(state, user_id).await?;
    if stored.is_none() {
        return Ok(false);
    }
    let throttle =
        crate::auth::ssr::throttle::LoginThrottle::new(state, &email.trim().to_lowercase(), ip);
    throttle.attempt().await?;
    let ok = crate::auth::ssr::password::verify(&state.hashing, current, stored).await?;
    if ok {
        throttle.succeeded().await?;
    }
    Ok(ok)
}

/// Whether the account has a password (a Google-only one has none).
pub async fn has_password(state: &AppState, user_id: UserId) -> Result<bool, AppError> {
    Ok(password_hash(state, user_id).await?.is_some())
}

/// Sets the password from Settings: with the current one (or, for an account
/// that has none, without); the account's other sessions end.
pub async fn change_password(
    state: &AppState,
    user_id: UserId,
    keep_session: Option<uuid::Uuid>,
    new: Password,
) -> Result<(), AppError> {
    let hash = crate::auth::ssr::password::hash(&state.hashing, new).await?;
    let mut tx = state.pool.begin().await?;
    let email = sqlx::query_scalar!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1 RETURNING email",
        user_id as UserId,
        hash,
    )
    .fetch_one(&mut *tx)
    .await?;
    match keep_session {
        Some(keep) => {
            sessions::end_others(&mut tx, user_id, keep).await?;
        }
        None => sessions::end_all(&mut tx, user_id).await?,
    }
    links::void(&mut tx, user_id, &[Purpose::Reset]).await?;
    tx.commit().await?;
    tracing::info!(%user_id, "password changed");
    password_notice(state, &email);
    Ok(())
}

/// Starts a change of address: the link goes to the new one, and the account
/// keeps the old one until it is followed.
pub async fn request_address_change(
    state: &AppState,
    user_id: UserId,
    name: &str,
    new: &EmailAddress,
) -> Result<(), AppError> {
    let taken = sqlx::query_scalar!(
        "SELECT id FROM users WHERE lower(email) = $1 AND id <> $2",
        new.normalized(),
        user_id as UserId
    )
    .fetch_optional(&state.pool)
    .await?
    .is_some();
    if taken {
        return Err(AppError::field(
            "email",
            "Another account uses this address.",
        ));
    }
    let mut conn = state.pool.acquire().await?;
    links::void(&mut conn, user_id, &[Purpose::ChangeEmail]).await?;
    drop(conn);
    mail_link(state, user_id, name, Purpose::ChangeEmail, new.as_str()).await
}

/// Housekeeping: links used or expired a week ago, sessions that are over.
pub async fn forget_old(state: &AppState) -> Result<(), sqlx::Error> {
    let mut conn = state.pool.acquire().await?;
    links::forget_old(&mut conn).await?;
    sessions::forget_old(
        &mut conn,
        state.config.session_max_age,
        state.config.session_idle,
    )
    .await?;
    Ok(())
}

/// `mailmerger create-user`: an account made by the operator, its address
/// taken as verified.
pub async fn create_verified_user(
    pool: &sqlx::PgPool,
    email: &str,
    name: &str,
    password: String,
) -> Result<UserId, String> {
    use crate::domain::PersonName;
    let email = EmailAddress::parse(email).map_err(|e| format!("--email: {e}"))?;
    let name = PersonName::parse(name).map_err(|e| format!("--name: {e}"))?;
    let password = Password::parse(password).map_err(|e| format!("password: {e}"))?;
    let hashing = crate::limits::CpuPool::new("password hashing", 1, 1, Duration::from_secs(30));
    let hash = crate::auth::ssr::password::hash(&hashing, password)
        .await
        .map_err(|e| e.to_string())?;
    crate::auth::ssr::users::create(pool, &name, &email, &hash, true)
        .await
        .map_err(|e| match e {
            AppError::Invalid { .. } => "an account with this address already exists".to_string(),
            other => other.to_string(),
        })
}

pub async fn is_suspended(pool: &sqlx::PgPool, user_id: UserId) -> Result<bool, AppError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT suspended_at IS NOT NULL AS "s!" FROM users WHERE id = $1"#,
        user_id as UserId
    )
    .fetch_optional(pool)
    .await?
    .unwrap_or(false))
}

/// Suspends or unsuspends an account (the Admin page). Suspending ends its
/// sessions at once (the session query looks at it) and holds its mail at
/// claim time; unsuspending lets the held mail go.
pub async fn set_suspended(
    state: &AppState,
    user_id: UserId,
    suspended: bool,
) -> Result<bool, AppError> {
    let mut tx = state.pool.begin().await?;
    let done = sqlx::query!(
        "UPDATE users SET suspended_at = CASE WHEN $2 THEN coalesce(suspended_at, now()) END,
                updated_at = now()
         WHERE id = $1",
        user_id as UserId,
        suspended,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if done && !suspended {
        crate::emails::release(&mut tx, user_id).await?;
    }
    tx.commit().await?;
    Ok(done)
}
