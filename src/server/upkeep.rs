//! Housekeeping every minute, in every instance (each step is safe to run in
//! several at once): deletions storage has not confirmed, expired CSV imports,
//! and old idempotency keys (docs/limits.md).

use crate::state::AppState;
use std::time::Duration;

pub async fn run_once(state: &AppState) {
    match crate::files::ssr::repo::sweep(state).await {
        Ok(n) if n > 0 => tracing::info!(removed = n, "stored objects removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "storage deletion sweep failed"),
    }
    let days = state.config.limits.import_retention_days;
    match crate::queue::ssr::imports::expire(&state.pool, days).await {
        Ok(n) if n > 0 => tracing::info!(expired = n, "old CSV imports deleted"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "import expiry failed"),
    }
    if let Err(e) = crate::queue::ssr::submissions::expire(&state.pool).await {
        tracing::warn!(error = %e, "submission expiry failed");
    }
}

/// Runs `run_once` every minute until shutdown.
pub fn spawn(
    state: AppState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            run_once(&state).await;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}
