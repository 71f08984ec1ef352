//! Who is logged in, kept in the tower-sessions session (stored in Redis).

use super::{state, users};
use crate::domain::UserView;
use crate::error::AppError;
use tower_sessions::Session;
use uuid::Uuid;

const USER_ID: &str = "user_id";

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal(anyhow::anyhow!("no session layer: {e}")))
}

/// Starts a logged-in session under a new id, so an id planted before login is
/// worthless after it.
pub async fn log_in(user_id: Uuid) -> Result<(), AppError> {
    log_in_with(&session().await?, user_id).await
}

/// `log_in` for handlers that hold the session themselves.
pub async fn log_in_with(session: &Session, user_id: Uuid) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(USER_ID, user_id).await?;
    Ok(())
}

/// Deletes the session from the store and clears the cookie.
pub async fn log_out() -> Result<(), AppError> {
    session().await?.flush().await?;
    Ok(())
}

/// The user id of a session, if it is logged in.
pub async fn user_id(session: &Session) -> Result<Option<Uuid>, AppError> {
    Ok(session.get::<Uuid>(USER_ID).await?)
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

/// The logged-in user id of the current server-function call, or `Unauthorized`.
pub async fn require_user_id() -> Result<Uuid, AppError> {
    match current_user().await? {
        Some(user) => Ok(user.id),
        None => Err(AppError::Unauthorized),
    }
}
