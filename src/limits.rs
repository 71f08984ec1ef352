//! Bounds on what one request may make the server do (docs/limits.md): CPU-heavy
//! work runs off the async threads, a few at a time with a short queue, and
//! counters in Redis limit how often a client or user may ask.

use crate::error::AppError;
use fred::prelude::*;
use fred::types::ExpireOptions;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Blocking work (argon2, rendering a whole CSV) with at most `concurrency` jobs
/// running and at most `queue` waiting; beyond that the request is refused with
/// `Busy`, so a burst costs memory for a few jobs, not for every request.
pub struct CpuPool {
    name: &'static str,
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
    /// The longest a job may wait for its turn.
    wait: Duration,
}

impl CpuPool {
    pub fn new(name: &'static str, concurrency: usize, queue: usize, wait: Duration) -> Self {
        CpuPool {
            name,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            queue,
            wait,
        }
    }

    /// Runs `job` on a blocking thread once a slot is free.
    pub async fn run<T, F>(&self, job: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.queue {
                    self.waiting.fetch_sub(1, Ordering::SeqCst);
                    return Err(self.busy());
                }
                let acquired =
                    tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await;
                self.waiting.fetch_sub(1, Ordering::SeqCst);
                match acquired {
                    Ok(Ok(p)) => p,
                    _ => return Err(self.busy()),
                }
            }
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(AppError::internal)
    }

    fn busy(&self) -> AppError {
        tracing::warn!(pool = self.name, "refused: too much work waiting");
        AppError::Busy { retry_after: 5 }
    }
}

/// One attempt counted in a fixed window that starts at the first attempt:
/// `INCR`, `EXPIRE … NX` and `TTL` in one `MULTI`, so concurrent requests see
/// distinct counts and the window is always set. Returns the count including
/// this attempt and the seconds left in the window.
pub async fn count(redis: &Pool, key: &str, window: Duration) -> Result<(u64, u64), AppError> {
    let window = window.as_secs().max(1) as i64;
    let tx = redis.multi();
    let _: () = tx.incr(key).await?;
    let _: () = tx.expire(key, window, Some(ExpireOptions::NX)).await?;
    let _: () = tx.ttl(key).await?;
    let (n, _, ttl): (i64, i64, i64) = tx.exec(true).await?;
    Ok((n.max(0) as u64, ttl.max(1) as u64))
}

/// Takes one attempt back (a successful login does not count against its IP).
pub async fn uncount(redis: &Pool, key: &str) -> Result<(), AppError> {
    let n: i64 = redis.decr(key).await?;
    if n <= 0 {
        let _: i64 = redis.del(key).await?;
    }
    Ok(())
}

/// Counts an attempt under `key` and refuses it when it is over `max` in the window.
pub async fn allow(redis: &Pool, key: &str, max: u64, window: Duration) -> Result<(), AppError> {
    let (n, ttl) = count(redis, key, window).await?;
    if n > max {
        return Err(AppError::RateLimited { retry_after: ttl });
    }
    Ok(())
}

/// The expensive server functions, each limited per user per minute.
#[derive(Debug, Clone, Copy)]
pub enum Costly {
    Preview,
    Report,
    Upload,
    QueueAction,
}

impl Costly {
    fn name(self) -> &'static str {
        match self {
            Costly::Preview => "preview",
            Costly::Report => "report",
            Costly::Upload => "upload",
            Costly::QueueAction => "queue",
        }
    }
}

/// The logged-in user, with this call of `what` counted against their limit:
/// the first line of every expensive server function.
pub async fn signed_in_for(
    what: Costly,
) -> Result<(crate::state::AppState, crate::domain::UserId), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    per_user(&state, user_id, what).await?;
    Ok((state, user_id))
}

/// Counts one call of `what` by `user_id`; `RateLimited` with the wait when the
/// user is over the minute's limit.
pub async fn per_user(
    state: &crate::state::AppState,
    user_id: crate::domain::UserId,
    what: Costly,
) -> Result<(), AppError> {
    let rates = state.config.limits.per_minute;
    let max = match what {
        Costly::Preview => rates.previews,
        Costly::Report => rates.reports,
        Costly::Upload => rates.uploads,
        Costly::QueueAction => rates.queue_actions,
    };
    let key = state.keys.rate(what.name(), user_id);
    allow(&state.redis, &key, max, Duration::from_secs(60)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_pool_with_a_full_queue_refuses_at_once() {
        let pool = Arc::new(CpuPool::new("test", 1, 1, Duration::from_secs(5)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || hold.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let waiting = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One running, one waiting: the third is refused without waiting.
        let refused = pool.run(|| 3).await.unwrap_err();
        assert_eq!(refused, AppError::Busy { retry_after: 5 });
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap().unwrap(), Some(()));
        assert_eq!(waiting.await.unwrap().unwrap(), 2);
        assert_eq!(pool.run(|| 4).await.unwrap(), 4);
    }
}
