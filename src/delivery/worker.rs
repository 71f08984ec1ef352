//! The loops: `DELIVERY_WORKERS` of them per instance, and the LISTEN that
//! wakes them.

use super::Deliverer;
use crate::emails;
use crate::state::AppState;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts the listener and `DELIVERY_WORKERS` loops. They stop claiming when
/// `shutdown` turns true, finish the batch in hand, and end.
pub fn spawn(
    state: AppState,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let deliverer = Deliverer::new(state.clone())?;
    tracing::info!(
        transport = deliverer.kind().as_str(),
        workers = state.config.delivery.workers,
        "delivery loop started"
    );
    let mut handles = vec![tokio::spawn(listen(state.clone(), shutdown.clone()))];
    for worker in 0..state.config.delivery.workers {
        let d = deliverer.clone();
        let wake = state.wake.clone();
        let mut stop = shutdown.clone();
        handles.push(tokio::spawn(async move {
            loop {
                if *stop.borrow() {
                    break;
                }
                // Registered before the work, so a NOTIFY during it is not lost.
                let notified = wake.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if worker == 0
                    && let Err(e) = d.expire_leases().await
                {
                    tracing::warn!(error = %e, "lease sweep failed");
                }
                let wait = match d.step(&stop).await {
                    Ok(r) if r.claimed > 0 => continue,
                    Ok(_) => d.next_wake().await,
                    Err(e) => {
                        tracing::warn!(error = %e, "delivery step failed; waiting before the next");
                        Duration::from_secs(2)
                    }
                };
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
            tracing::info!(worker, "delivery loop stopped");
        }));
    }
    Ok(handles)
}

/// LISTEN mm_delivery, waking the loops on every notification and after every
/// reconnect (notifications sent meanwhile are lost).
async fn listen(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        let mut listener = match sqlx::postgres::PgListener::connect_with(&state.pool).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = shutdown.changed() => return,
                }
            }
        };
        if let Err(e) = listener.listen(emails::CHANNEL).await {
            tracing::warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        }
        state.wake.notify_waiters();
        loop {
            tokio::select! {
                n = listener.try_recv() => match n {
                    Ok(Some(_)) => state.wake.notify_waiters(),
                    // The connection dropped; the next call reconnects.
                    Ok(None) => state.wake.notify_waiters(),
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection lost");
                        break;
                    }
                },
                _ = shutdown.changed() => return,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
