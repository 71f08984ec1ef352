//! Who is logged in, kept in the tower-sessions session (stored in Redis).

use super::state;
use crate::accounts::ssr::sessions::{self, Client};
use crate::domain::{UserId, UserView};
use crate::error::AppError;
use crate::state::AppState;
use tower_sessions::Session;

const USER_ID: &str = "user_id";
/// The session's row in `user_sessions` (docs/accounts.md, "Sessions").
const SESSION_ROW: &str = "session_row";
/// When the stored session and its cookie were last given a new idle deadline
/// (unix seconds).
const RENEWED_AT: &str = "renewed_at";

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))
}

/// Starts a logged-in session under a new id, so an id planted before login is
/// worthless after it.
pub async fn log_in(user_id: UserId) -> Result<(), AppError> {
    let state = state();
    let client = request_client(&state);
    log_in_with(&state, &session().await?, user_id, &client).await
}

/// Where the current server-function request comes from.
pub fn request_client(state: &AppState) -> Client {
    match leptos::prelude::use_context::<axum::http::request::Parts>() {
        Some(parts) => Client::from_request(&parts, state.config.limits.trusted_proxy_hops),
        None => Client::default(),
    }
}

/// `log_in` for handlers that hold the session themselves. The session gets the
/// full idle timeout (one started for a Google sign-in lived only minutes), and
/// a row in the account's sessions.
pub async fn log_in_with(
    state: &AppState,
    session: &Session,
    user_id: UserId,
    client: &Client,
) -> Result<(), AppError> {
    let row = sessions::start(&state.pool, user_id, client).await?;
    session.cycle_id().await?;
    session.set_expiry(Some(idle_expiry(state.config.session_idle)));
    session.insert(USER_ID, user_id).await?;
    session.insert(SESSION_ROW, row).await?;
    session.insert(RENEWED_AT, now_seconds()).await?;
    Ok(())
}

/// When this session was started by a Google sign-in (unix seconds): a recent
/// one confirms what an account without a password cannot confirm otherwise
/// (deleting it).
const GOOGLE_SIGNED_IN_AT: &str = "google_signed_in_at";

pub async fn mark_google_sign_in(session: &Session) -> Result<(), AppError> {
    session.insert(GOOGLE_SIGNED_IN_AT, now_seconds()).await?;
    Ok(())
}

/// Whether this session's Google sign-in happened within `within`.
pub async fn signed_in_with_google_within(
    session: &Session,
    within: time::Duration,
) -> Result<bool, AppError> {
    let at = session.get::<i64>(GOOGLE_SIGNED_IN_AT).await?;
    Ok(at.is_some_and(|at| now_seconds() - at <= within.whole_seconds()))
}

/// The session's row in the account's sessions, if it is logged in.
pub async fn row(session: &Session) -> Result<Option<uuid::Uuid>, AppError> {
    Ok(session.get::<uuid::Uuid>(SESSION_ROW).await?)
}

/// How often a session's idle deadline moves: min(60 s, a tenth of the idle
/// timeout). In between, requests only read the session (docs/security.md,
/// "The session cookie").
pub fn renewal_interval(idle: std::time::Duration) -> std::time::Duration {
    (idle / 10).min(std::time::Duration::from_secs(60))
}

/// Whether a session last renewed at `renewed_at` (unix seconds) is due again
/// at `now`.
pub fn needs_renewal(renewed_at: Option<i64>, now: i64, idle: std::time::Duration) -> bool {
    match renewed_at {
        Some(at) => now.saturating_sub(at) >= renewal_interval(idle).as_secs() as i64,
        None => true,
    }
}

fn now_seconds() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Moves the idle deadline of a stored session when it is due: the change makes
/// tower-sessions save the record (with a new TTL) and send the cookie again.
/// Sessions with nothing in them are left alone, and so is a store that cannot
/// be read (the request reports that itself).
pub async fn renew(session: &Session, idle: std::time::Duration) {
    if session.id().is_none() {
        return;
    }
    let Ok(renewed_at) = session.get::<i64>(RENEWED_AT).await else {
        return;
    };
    if renewed_at.is_none() && session.is_empty().await {
        return;
    }
    let now = now_seconds();
    if needs_renewal(renewed_at, now, idle) {
        let _ = session.insert(RENEWED_AT, now).await;
    }
}

/// How long a session lives after its last request.
pub fn idle_expiry(idle: std::time::Duration) -> tower_sessions::Expiry {
    tower_sessions::Expiry::OnInactivity(time::Duration::seconds(idle.as_secs() as i64))
}

/// How long a session that only waits for Google's answer lives: an anonymous
/// visitor's sign-in attempt costs Redis minutes, not a day.
pub const PENDING_SIGN_IN: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Deletes the session from the store and from the account's sessions, and
/// clears the cookie.
pub async fn log_out() -> Result<(), AppError> {
    let session = session().await?;
    if let (Some(user_id), Some(row)) = (user_id(&session).await?, row(&session).await?) {
        let mut conn = state().pool.acquire().await?;
        sessions::end(&mut conn, user_id, row).await?;
    }
    session.flush().await?;
    Ok(())
}

/// The user id of a session, if it is logged in.
pub async fn user_id(session: &Session) -> Result<Option<UserId>, AppError> {
    Ok(session.get::<UserId>(USER_ID).await?)
}

/// The logged-in user. Page requests carry it already (the login gate loaded it);
/// server-function calls look it up.
pub async fn current_user() -> Result<Option<UserView>, AppError> {
    if let Some(user) = leptos::prelude::use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<UserView>().cloned())
    {
        return Ok(Some(user));
    }
    let session = session().await?;
    load_user(&state(), &session).await
}

/// The session's user, or `None`. A session that is over (ended from another
/// one, too old, its user gone) is deleted from the store.
pub async fn load_user(state: &AppState, session: &Session) -> Result<Option<UserView>, AppError> {
    let Some(id) = user_id(session).await? else {
        return Ok(None);
    };
    let user = match row(session).await? {
        Some(row) => sessions::user_of(&state.pool, id, row, state.config.session_max_age).await?,
        // A session from before sessions were listed: it logs in again.
        None => None,
    };
    let Some(mut user) = user else {
        session.flush().await?;
        return Ok(None);
    };
    user.admin = crate::admin::ssr::is_admin(state, &user);
    if !user.email_verified {
        user.system_outbox = state.system_mail.outbox().map(|p| p.display().to_string());
    }
    Ok(Some(user))
}

/// The boundary of every server function that acts for a user: the state and
/// the logged-in user's id, or `Unauthorized`. Resolved once here and passed
/// down, so nothing below reads the request context.
pub async fn signed_in() -> Result<(AppState, UserId), AppError> {
    let (state, user) = signed_in_user().await?;
    Ok((state, user.id))
}

/// `signed_in` with the whole user, for a function that needs more of them
/// than the id (their time zone, say) without a query of its own.
pub async fn signed_in_user() -> Result<(AppState, UserView), AppError> {
    let Some(user) = current_user().await? else {
        return Err(AppError::Unauthorized);
    };
    let state = state();
    if !may_act(&state, &user) {
        return Err(AppError::BadRequest(VERIFY_FIRST.into()));
    }
    Ok((state, user))
}

pub const VERIFY_FIRST: &str = "Verify your email address first: open the link we sent you.";

/// Under `SIGNUP=domains` an account can do nothing until its address is
/// verified (docs/accounts.md, "Sign-up policy").
pub fn may_act(state: &AppState, user: &UserView) -> bool {
    user.email_verified || !state.config.signup.requires_verification()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_session_is_renewed_once_a_minute_or_a_tenth_of_its_idle_time() {
        let day = Duration::from_secs(86_400);
        assert_eq!(renewal_interval(day), Duration::from_secs(60));
        assert_eq!(
            renewal_interval(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert!(needs_renewal(None, 1_000, day));
        assert!(!needs_renewal(Some(1_000), 1_059, day));
        assert!(needs_renewal(Some(1_000), 1_060, day));
        // A clock that went back does not renew on every request.
        assert!(!needs_renewal(Some(2_000), 1_000, day));
    }
}
