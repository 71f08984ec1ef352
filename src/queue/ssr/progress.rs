//! The progress bar's reading of what is going out, and whether it is held.

use crate::config::TransportKind;
use crate::domain::UserId;
use crate::error::AppError;
use crate::queue::Progress;
use crate::state::AppState;
use time::OffsetDateTime;

/// How far back the finished counts may look: an address with an older (or
/// made-up) `since` would make every poll count the whole history.
const LOOK_BACK: time::Duration = time::Duration::days(1);

/// Progress of what is due now. `since` is a Unix time (the moment the user
/// pressed a send button); finished counts start there, at most a day ago.
pub async fn progress(state: &AppState, user_id: UserId, since: i64) -> Result<Progress, AppError> {
    let earliest = OffsetDateTime::now_utc() - LOOK_BACK;
    let since = OffsetDateTime::from_unix_timestamp(since)
        .unwrap_or(earliest)
        .max(earliest);
    let p = crate::emails::read::going(&state.pool, user_id, since).await?;
    let held = p.remaining > 0 && held(state, user_id).await?;
    Ok(Progress {
        remaining: p.remaining,
        sent: p.sent,
        failed: p.failed,
        uncertain: p.uncertain,
        held,
    })
}

/// Whether this user's mail waits for a Gmail connection.
pub async fn held(state: &AppState, user_id: UserId) -> Result<bool, AppError> {
    if state.config.transport() != TransportKind::Gmail {
        return Ok(false);
    }
    let status = sqlx::query_scalar!(
        "SELECT gmail_status FROM google_accounts WHERE user_id = $1",
        user_id as UserId
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(status.as_deref() != Some("connected"))
}
