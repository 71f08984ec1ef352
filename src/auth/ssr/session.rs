//! Who is logged in, kept in the tower-sessions session (stored in Redis).

use super::{state, users};
use crate::domain::{UserId, UserView};
use crate::error::AppError;
use crate::state::AppState;
use tower_sessions::Session;

const USER_ID: &str = "user_id";

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))
}

/// Starts a logged-in session under a new id, so an id planted before login is
/// worthless after it.
pub async fn log_in(user_id: UserId) -> Result<(), AppError> {
    log_in_with(&session().await?, user_id, state().config.session_idle).await
}

/// `log_in` for handlers that hold the session themselves. The session gets the
/// full idle timeout (one started for a Google sign-in lived only minutes).
pub async fn log_in_with(
    session: &Session,
    user_id: UserId,
    idle: std::time::Duration,
) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.set_expiry(Some(idle_expiry(idle)));
    session.insert(USER_ID, user_id).await?;
    Ok(())
}

/// How long a session lives after its last request.
pub fn idle_expiry(idle: std::time::Duration) -> tower_sessions::Expiry {
    tower_sessions::Expiry::OnInactivity(time::Duration::seconds(idle.as_secs() as i64))
}

/// How long a session that only waits for Google's answer lives: an anonymous
/// visitor's sign-in attempt costs Redis minutes, not a day.
pub const PENDING_SIGN_IN: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// Deletes the session from the store and clears the cookie.
pub async fn log_out() -> Result<(), AppError> {
    session().await?.flush().await?;
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
    load_user(&state().pool, &session).await
}

/// The session's user, or `None`. A session whose user no longer exists is ended.
pub async fn load_user(
    pool: &sqlx::PgPool,
    session: &Session,
) -> Result<Option<UserView>, AppError> {
    let Some(id) = user_id(session).await? else {
        return Ok(None);
    };
    let user = users::find_view(pool, id).await?;
    if user.is_none() {
        session.flush().await?;
    }
    Ok(user)
}

/// The boundary of every server function that acts for a user: the state and
/// the logged-in user's id, or `Unauthorized`. Resolved once here and passed
/// down, so nothing below reads the request context.
pub async fn signed_in() -> Result<(AppState, UserId), AppError> {
    match current_user().await? {
        Some(user) => Ok((state(), user.id)),
        None => Err(AppError::Unauthorized),
    }
}
