//! Housekeeping in every instance (each step is safe to run in several at once):
//! every minute, deletions storage has not confirmed, expired CSV imports, old
//! idempotency keys (docs/limits.md), the daily cap's spent minutes
//! (docs/delivery.md), campaigns whose last sequences ended (docs/campaigns.md),
//! the rows of the message counts (docs/lists.md), and links and sessions that
//! are over (docs/accounts.md); every 15 s, the figures `/metrics` serves
//! (docs/operations.md).

use crate::state::AppState;
use std::time::Duration;

pub async fn run_once(state: &AppState) {
    match crate::files::ssr::repo::sweep(state).await {
        Ok(n) if n > 0 => tracing::info!(removed = n, "stored objects removed"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "storage deletion sweep failed"),
    }
    let days = state.config.limits.import_retention_days;
    match crate::mailmerge::ssr::imports::expire(&state.pool, days).await {
        Ok(n) if n > 0 => tracing::info!(expired = n, "old CSV imports deleted"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "import expiry failed"),
    }
    if let Err(e) = crate::compose::ssr::submissions::expire(&state.pool).await {
        tracing::warn!(error = %e, "submission expiry failed");
    }
    if let Err(e) = crate::emails::forget_old_usage(&state.pool).await {
        tracing::warn!(error = %e, "daily-cap ledger expiry failed");
    }
    if let Err(e) = crate::campaigns::ssr::repo::finish_all_done(&state.pool).await {
        tracing::warn!(error = %e, "finishing campaigns failed");
    }
    if let Err(e) = crate::replies::ssr::repo::forget_unrelated(&state.pool).await {
        tracing::warn!(error = %e, "forgetting old mailbox reads failed");
    }
    if let Err(e) = crate::emails::counts::fold(&state.pool).await {
        tracing::warn!(error = %e, "folding the message counts failed");
    }
    if let Err(e) = crate::accounts::ssr::forget_old(state).await {
        tracing::warn!(error = %e, "forgetting old links and sessions failed");
    }
}

const METRICS_EVERY: Duration = Duration::from_secs(15);
const HOUSEKEEPING_EVERY: u32 = 4;

/// Runs `run_once` every minute and refreshes the metrics every 15 s, until
/// shutdown.
pub fn spawn(
    state: AppState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        for tick in 0u32.. {
            if tick % HOUSEKEEPING_EVERY == 0 {
                run_once(&state).await;
            }
            state.metrics.refresh(&state.pool).await;
            tokio::select! {
                _ = tokio::time::sleep(METRICS_EVERY) => {}
                _ = shutdown.changed() => return,
            }
        }
    })
}
