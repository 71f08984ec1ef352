//! One step of a loop: a claim, its sends in parallel, and their results
//! recorded together; cut short by a stop (docs/delivery.md, "Stopping").

use super::{Deliverer, MAX_SLEEP, StepReport, Stop};
use crate::domain::EmailStatus;
use crate::emails::{self, Done};
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use uuid::Uuid;

/// Why a message still at Gmail when the instance stopped is `uncertain`.
const STOPPED_MID_SEND: &str = "MailMerger was stopped while Gmail was answering, so this message may have been sent. Check your Gmail Sent folder, then send it again or mark it as sent.";

/// Resolves `grace` after `stop` turns true; never, if it never does.
async fn stop_deadline(mut stop: Stop, grace: Duration) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
    tokio::time::sleep(grace).await;
}

impl Deliverer {
    /// Marks `sending` rows whose lease ran out as `uncertain`: the process that
    /// held them died or stalled after Gmail may have accepted them.
    pub async fn expire_leases(&self) -> Result<u64, sqlx::Error> {
        let n = emails::expire_leases(&self.state.pool, &self.state.rules).await?;
        if n > 0 {
            self.state
                .metrics
                .messages(crate::metrics::Outcome::Uncertain, n);
            tracing::warn!(count = n, "leases expired: messages marked uncertain");
        }
        Ok(n)
    }

    /// One claim, its sends and their results, never interrupted. Tests call this
    /// directly.
    pub async fn run_once(&self) -> Result<StepReport, sqlx::Error> {
        let (_running, stop) = watch::channel(false);
        self.step(&stop).await
    }

    /// One claim, its sends and their results. Once `stop` turns true, messages
    /// not yet handed to the transport go back to the queue, and those still at
    /// the transport when the grace period ends are recorded as `uncertain`.
    #[tracing::instrument(skip_all, fields(claimed))]
    pub async fn step(&self, stop: &Stop) -> Result<StepReport, sqlx::Error> {
        if *stop.borrow() {
            return Ok(StepReport::default());
        }
        let lease_id = Uuid::now_v7();
        let started = Instant::now();
        let claimed = emails::claim(
            &self.state.pool,
            &self.state.rules,
            &self.state.config.delivery,
            self.transport.kind(),
            &self.host,
            lease_id,
        )
        .await?;
        self.state
            .metrics
            .claim_seconds
            .record(started.elapsed().as_secs_f64());
        let mut report = StepReport {
            claimed: claimed.len(),
            ..Default::default()
        };
        tracing::Span::current().record("claimed", claimed.len());
        if claimed.is_empty() {
            return Ok(report);
        }
        // A full batch may have left more due mail that a sibling loop, finding
        // it locked by this claim a moment ago, is waiting to look at again.
        if claimed.len() >= self.state.config.delivery.batch_size as usize {
            self.state.wake.notify_waiters();
        }

        let tokens = self.tokens_for(&claimed).await;
        let ids: Vec<Uuid> = claimed.iter().map(|r| r.id).collect();
        // Which files each message attaches (most attach none).
        let mut attachments = self.attachments_of(&ids).await;
        let concurrency = claimed.len().max(1);
        let mut pending: HashSet<Uuid> = claimed.iter().map(|r| r.id).collect();
        // The rows whose send has started: at the deadline these may have gone.
        let at_transport: Mutex<HashSet<Uuid>> = Mutex::default();
        let mut done: Vec<Done> = Vec::with_capacity(claimed.len());
        let mut sends = futures::stream::iter(claimed)
            .map(|row| {
                let token = tokens.get(&row.user_id).cloned();
                let files = match attachments.as_mut() {
                    Some(map) => Ok(map.remove(&row.id).unwrap_or_default()),
                    None => Err(()),
                };
                let at_transport = &at_transport;
                async move { self.deliver(row, token, files, stop, at_transport).await }
            })
            .buffer_unordered(concurrency);
        let deadline = stop_deadline(stop.clone(), self.state.config.delivery.shutdown_grace);
        tokio::pin!(deadline);
        let cut_short = loop {
            tokio::select! {
                next = sends.next() => match next {
                    Some(d) => {
                        pending.remove(&d.id);
                        done.push(d);
                    }
                    None => break false,
                },
                () = &mut deadline => break true,
            }
        };
        // Cancels the sends still waiting for an answer.
        drop(sends);
        if cut_short {
            let started = at_transport.into_inner().unwrap_or_else(|p| p.into_inner());
            for id in pending {
                done.push(if started.contains(&id) {
                    Done::of(id, EmailStatus::Uncertain, Some(STOPPED_MID_SEND.into()))
                } else {
                    Done::handed_back(id)
                });
            }
            tracing::warn!(
                "stopping: sends still in flight at the deadline were recorded as uncertain"
            );
        }

        for d in &done {
            match d.status {
                EmailStatus::Sent => report.sent += 1,
                EmailStatus::Failed => report.failed += 1,
                EmailStatus::Uncertain => report.uncertain += 1,
                _ if d.handed_back => report.handed_back += 1,
                _ if d.refund > 0 => report.held += 1,
                _ => report.retried += 1,
            }
        }
        self.count(&report);
        emails::record(&self.state.pool, &self.state.rules, lease_id, &done).await?;
        Ok(report)
    }

    fn count(&self, r: &StepReport) {
        use crate::metrics::Outcome;
        let m = &self.state.metrics;
        m.messages(Outcome::Sent, r.sent as u64);
        m.messages(Outcome::Failed, r.failed as u64);
        m.messages(Outcome::Retried, r.retried as u64);
        m.messages(Outcome::Uncertain, r.uncertain as u64);
        m.messages(Outcome::Held, r.held as u64);
        m.messages(Outcome::HandedBack, r.handed_back as u64);
    }

    /// When there may next be something to do: the earliest due time, pacing slot
    /// or lease expiry, at most `MAX_SLEEP` away.
    pub async fn next_wake(&self) -> Duration {
        match emails::next_event(&self.state.pool).await {
            Ok(Some(wait)) => wait.min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the next delivery time");
                Duration::from_secs(2)
            }
        }
    }
}
