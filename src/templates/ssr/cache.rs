//! Each user's template list, cached in Redis: read-through with a TTL, dropped on
//! every write. Postgres stays the source of truth, so a flushed or unreachable
//! Redis only costs a query.

use crate::domain::UserId;
use crate::error::AppError;
use crate::state::AppState;
use crate::templates::TemplateSummary;
use fred::prelude::*;
use fred::types::Expiration;
use std::sync::atomic::{AtomicBool, Ordering};

const TTL_SECONDS: i64 = 300;

/// Set while Redis is failing, so the outage is logged once, not per request.
static BYPASSING: AtomicBool = AtomicBool::new(false);

fn redis_failed(e: &fred::error::Error) {
    if !BYPASSING.swap(true, Ordering::Relaxed) {
        tracing::warn!(error = %e, "template cache unavailable: reading from Postgres until Redis answers");
    }
}

fn redis_ok() {
    if BYPASSING.swap(false, Ordering::Relaxed) {
        tracing::info!("template cache available again");
    }
}

pub async fn list(state: &AppState, user_id: UserId) -> Result<Vec<TemplateSummary>, AppError> {
    let key = state.keys.templates(user_id);
    match state.redis.get::<Option<String>, _>(&key).await {
        Ok(Some(json)) => {
            redis_ok();
            if let Ok(list) = serde_json::from_str(&json) {
                return Ok(list);
            }
        }
        Ok(None) => redis_ok(),
        Err(e) => redis_failed(&e),
    }
    let list = super::repo::list(&state.pool, user_id).await?;
    if !BYPASSING.load(Ordering::Relaxed)
        && let Ok(json) = serde_json::to_string(&list)
    {
        let stored: Result<(), _> = state
            .redis
            .set(&key, json, Some(Expiration::EX(TTL_SECONDS)), None, false)
            .await;
        if let Err(e) = stored {
            redis_failed(&e);
        }
    }
    Ok(list)
}

/// Drops the user's cached list after a write.
pub async fn invalidate(state: &AppState, user_id: UserId) {
    let dropped: Result<i64, _> = state.redis.del(state.keys.templates(user_id)).await;
    if let Err(e) = dropped {
        // The entry expires by itself within the TTL.
        tracing::warn!(error = %e, %user_id, "could not drop the cached template list");
    }
}
