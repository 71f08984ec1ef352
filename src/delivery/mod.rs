//! The delivery loop (docs/delivery.md).
//!
//! `queued -> sending -> sent`, or back to `queued` for a retry, or `failed`, or
//! `uncertain` when it may have gone out. Claims take rows with `FOR UPDATE SKIP
//! LOCKED` and a lease, so any number of loops in any number of instances share
//! one queue and never send a row twice; a `sending` row whose lease expired
//! becomes `uncertain`, never `queued`. Pacing and the daily cap live in Postgres,
//! so they hold across instances and survive a Redis flush.

pub mod backoff;
mod claim;
pub mod mime;
pub mod transport;

use crate::config::TransportKind;
use crate::domain::EmailStatus;
use crate::files::ssr::repo::{self as files, Attachment};
use crate::files::{MESSAGE_ATTACHMENTS_MAX_BYTES, format_size};
use crate::google::ssr::accounts::{self, TokenError};
use crate::state::AppState;
use crate::storage::StorageError;
use futures::StreamExt;
use secrecy::SecretString;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use transport::{GmailTransport, OutboxTransport, Outcome, SmtpTransport, Transport};
use uuid::Uuid;

pub use claim::Claimed;

/// Why a message still at Gmail when the instance stopped is `uncertain`.
const STOPPED_MID_SEND: &str = "MailMerger was stopped while Gmail was answering, so this message may have been sent. Check your Gmail Sent folder, then send it again or mark it as sent.";

/// The longest a loop sleeps without looking: `PgListener` loses notifications
/// while it reconnects.
pub const MAX_SLEEP: Duration = Duration::from_secs(30);

/// What one step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub uncertain: usize,
    pub held: usize,
    /// Put back unsent because this instance was stopping.
    pub handed_back: usize,
}

#[derive(Clone)]
pub struct Deliverer {
    state: AppState,
    transport: Arc<dyn Transport>,
    /// The right-hand side of our Message-IDs.
    host: String,
    /// Bounds the memory that messages with attachments take while they are
    /// built and sent: one permit per KiB, about three times a message's files.
    attachment_memory: Arc<tokio::sync::Semaphore>,
}

/// KiB of attachments (×3 for the base64 copies) being sent at once, per process.
const ATTACHMENT_MEMORY_KIB: usize = 96 * 1024;

/// A result to record for one claimed row.
struct Done {
    id: Uuid,
    status: EmailStatus,
    error: Option<String>,
    provider_id: Option<String>,
    thread_id: Option<String>,
    next_attempt_at: Option<OffsetDateTime>,
    /// 1 when the attempt does not count (held for a disconnected account).
    refund: i32,
    /// Put back unsent because the instance is stopping.
    handed_back: bool,
}

impl Done {
    fn of(id: Uuid, status: EmailStatus, error: Option<String>) -> Done {
        Done {
            id,
            status,
            error,
            provider_id: None,
            thread_id: None,
            next_attempt_at: None,
            refund: 0,
            handed_back: false,
        }
    }

    /// Back to the queue as it was: not sent, the attempt not counted.
    fn handed_back(id: Uuid) -> Done {
        Done {
            refund: 1,
            handed_back: true,
            ..Done::of(id, EmailStatus::Queued, None)
        }
    }
}

/// Whether the instance is stopping: `true` once SIGTERM arrived. The loops then
/// claim nothing more, hand back what they have not started to send, and give
/// sends already in flight `SHUTDOWN_GRACE_SECS` (docs/delivery.md, "Stopping").
pub type Stop = watch::Receiver<bool>;

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
    pub fn new(state: AppState) -> anyhow::Result<Self> {
        let config = &state.config;
        let transport: Arc<dyn Transport> = match config.transport() {
            TransportKind::Gmail => {
                let google = state
                    .google
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("Google is not configured"))?;
                Arc::new(GmailTransport::new(
                    google.http().clone(),
                    &google.gmail_api_url,
                )?)
            }
            TransportKind::Smtp => {
                let url = config
                    .smtp_url
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("SMTP_URL is not set"))?;
                Arc::new(SmtpTransport::new(url, config.http_timeout)?)
            }
            TransportKind::Outbox => Arc::new(OutboxTransport::new(config.outbox_dir.clone())?),
        };
        let host = config
            .base_url
            .host_str()
            .unwrap_or("mailmerger.local")
            .to_string();
        Ok(Deliverer {
            state,
            transport,
            host,
            attachment_memory: Arc::new(tokio::sync::Semaphore::new(ATTACHMENT_MEMORY_KIB)),
        })
    }

    pub fn kind(&self) -> TransportKind {
        self.transport.kind()
    }

    /// Marks `sending` rows whose lease ran out as `uncertain`: the process that
    /// held them died or stalled after Gmail may have accepted them.
    pub async fn expire_leases(&self) -> Result<u64, sqlx::Error> {
        let n = claim::expire_leases(&self.state.pool).await?;
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
        let claimed = claim::claim(
            &self.state.pool,
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

        let tokens = self.tokens_for(&claimed).await;
        let ids: Vec<Uuid> = claimed.iter().map(|r| r.id).collect();
        // Which files each message attaches (most attach none).
        let mut attachments: Option<HashMap<Uuid, Vec<Attachment>>> =
            match files::for_emails(&self.state.pool, &ids).await {
                Ok(list) => {
                    let mut by_email: HashMap<Uuid, Vec<Attachment>> = HashMap::new();
                    for a in list {
                        by_email.entry(a.email_id).or_default().push(a);
                    }
                    Some(by_email)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read the batch's attachments");
                    None
                }
            };
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
        claim::record(&self.state.pool, lease_id, &done).await?;
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

    /// One access token per account in the batch (Gmail only).
    async fn tokens_for(
        &self,
        claimed: &[Claimed],
    ) -> HashMap<Uuid, Result<SecretString, Arc<TokenError>>> {
        let mut tokens = HashMap::new();
        if self.transport.kind() != TransportKind::Gmail {
            return tokens;
        }
        let mut users: Vec<Uuid> = claimed.iter().map(|r| r.user_id).collect();
        users.sort_unstable();
        users.dedup();
        // One query for every account's stored token; a refresh only where needed.
        let stored = accounts::stored_access_tokens(&self.state.pool, &self.state.cipher, &users)
            .await
            .unwrap_or_default();
        for user_id in users {
            let token = match stored.get(&user_id) {
                Some(token) => Ok(token.clone()),
                None => self.access_token(user_id, None).await.map_err(Arc::new),
            };
            tokens.insert(user_id, token);
        }
        tokens
    }

    async fn access_token(
        &self,
        user_id: Uuid,
        rejected: Option<&SecretString>,
    ) -> Result<SecretString, TokenError> {
        let Some(google) = &self.state.google else {
            return Err(TokenError::NotConnected);
        };
        let before = rejected.is_some();
        let token =
            accounts::access_token(&self.state, &self.state.cipher, google, user_id, rejected)
                .await;
        if before && token.is_ok() {
            self.state.metrics.token_refreshes.increment(1);
        }
        token
    }

    #[tracing::instrument(skip_all, fields(email_id = %row.id, user_id = %row.user_id))]
    async fn deliver(
        &self,
        row: Claimed,
        token: Option<Result<SecretString, Arc<TokenError>>>,
        attachments: Result<Vec<Attachment>, ()>,
        stop: &Stop,
        at_transport: &Mutex<HashSet<Uuid>>,
    ) -> Done {
        if *stop.borrow() {
            return Done::handed_back(row.id);
        }
        let kind = self.transport.kind();
        let Ok(attachments) = attachments else {
            return self.finish(
                &row,
                Outcome::Retry {
                    reason: "Could not look up the message's attachments.".into(),
                    not_before: None,
                },
            );
        };
        // Held until the message is sent, so its files count against the budget.
        let total: u64 = attachments.iter().map(|a| a.size).sum();
        let _memory = if total > 0 {
            let kib = (total.div_ceil(1024) * 3).min(ATTACHMENT_MEMORY_KIB as u64) as u32;
            // Never wait so long that the claim's lease runs out: put it back for
            // a moment instead (the attempt does not count).
            let wait = self.state.config.delivery.lease / 4;
            match tokio::time::timeout(wait, self.attachment_memory.acquire_many(kib)).await {
                Ok(permit) => permit.ok(),
                Err(_) => {
                    let why = "Waiting for other messages with large attachments to go.";
                    return Done {
                        next_attempt_at: Some(
                            OffsetDateTime::now_utc() + time::Duration::seconds(5),
                        ),
                        refund: 1,
                        ..Done::of(row.id, EmailStatus::Queued, Some(why.into()))
                    };
                }
            }
        } else {
            None
        };
        let files = match self.read_files(&attachments, total).await {
            Ok(files) => files,
            Err(outcome) => return self.finish(&row, outcome),
        };
        let message = match mime::build(&row.outgoing(&files), kind == TransportKind::Gmail) {
            Ok(m) => m,
            Err(e) => return self.finish(&row, Outcome::Failed { reason: e.0 }),
        };
        let mut token = match token {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => return self.token_problem(&row, &e),
        };
        // The last moment to hand the message back unsent.
        if *stop.borrow() {
            return Done::handed_back(row.id);
        }
        at_transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(row.id);
        let mut outcome = self.send(&message, token.as_ref()).await;
        if outcome == Outcome::Unauthorized {
            // One refresh, one more try.
            token = match self.access_token(row.user_id, token.as_ref()).await {
                Ok(t) => Some(t),
                Err(e) => return self.token_problem(&row, &e),
            };
            outcome = self.send(&message, token.as_ref()).await;
            if outcome == Outcome::Unauthorized {
                outcome = Outcome::Retry {
                    reason: "Gmail refused a freshly refreshed access token.".into(),
                    not_before: None,
                };
            }
        }
        self.finish(&row, outcome)
    }

    async fn send(&self, message: &lettre::Message, token: Option<&SecretString>) -> Outcome {
        let started = Instant::now();
        let outcome = self.transport.send(message, token).await;
        self.state
            .metrics
            .send_seconds
            .record(started.elapsed().as_secs_f64());
        outcome
    }

    /// Reads a message's files from storage, now that it is being sent. A file
    /// deleted since it was queued fails the message, naming the file.
    async fn read_files(
        &self,
        attachments: &[Attachment],
        total: u64,
    ) -> Result<Vec<mime::File>, Outcome> {
        if let Some(gone) = attachments.iter().find(|a| a.key.is_none()) {
            return Err(Outcome::Failed {
                reason: format!(
                    "The attachment “{}” was deleted after this message was queued, so the message was not sent. Upload the file again and write a new message.",
                    gone.name
                ),
            });
        }
        if total > MESSAGE_ATTACHMENTS_MAX_BYTES {
            return Err(Outcome::Failed {
                reason: format!(
                    "The attachments now add up to {}, over Gmail's 25 MB per message (a file was replaced by a larger one).",
                    format_size(total)
                ),
            });
        }
        let mut files = Vec::with_capacity(attachments.len());
        for a in attachments {
            let key = a.key.as_deref().unwrap_or_default();
            let bytes = match self
                .state
                .storage
                .read(key, MESSAGE_ATTACHMENTS_MAX_BYTES)
                .await
            {
                Ok(bytes) => bytes,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read an attachment");
                    let why = match e {
                        StorageError::NotFound => "its stored copy is missing",
                        StorageError::Unavailable(_) => "file storage is not answering",
                    };
                    return Err(Outcome::Retry {
                        reason: format!("Could not read the attachment “{}”: {why}.", a.name),
                        not_before: None,
                    });
                }
            };
            files.push(mime::File {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                bytes,
            });
        }
        Ok(files)
    }

    fn token_problem(&self, row: &Claimed, e: &TokenError) -> Done {
        match e {
            TokenError::Revoked | TokenError::NotConnected => Done {
                refund: 1,
                ..Done::of(row.id, EmailStatus::Queued, None)
            },
            TokenError::Unavailable(why) => self.finish(
                row,
                Outcome::Retry {
                    reason: format!("Could not get a Gmail access token: {why}"),
                    not_before: None,
                },
            ),
        }
    }

    fn finish(&self, row: &Claimed, outcome: Outcome) -> Done {
        let done = |status, error: Option<String>| Done::of(row.id, status, error);
        match outcome {
            Outcome::Sent {
                provider_id,
                thread_id,
            } => Done {
                provider_id,
                thread_id,
                ..done(EmailStatus::Sent, None)
            },
            Outcome::Failed { reason } => {
                tracing::info!(reason, "message failed");
                done(EmailStatus::Failed, Some(reason))
            }
            Outcome::Uncertain { reason } => {
                tracing::warn!(reason, "message uncertain");
                done(EmailStatus::Uncertain, Some(reason))
            }
            Outcome::Retry { reason, not_before } => {
                let max = self.state.config.delivery.max_attempts;
                if row.attempts >= max {
                    done(
                        EmailStatus::Failed,
                        Some(format!("Gave up after {} attempts. {reason}", row.attempts)),
                    )
                } else {
                    let at =
                        backoff::next_attempt(OffsetDateTime::now_utc(), row.attempts, not_before);
                    tracing::info!(reason, attempts = row.attempts, "retry scheduled");
                    Done {
                        next_attempt_at: Some(at),
                        ..done(EmailStatus::Queued, Some(reason))
                    }
                }
            }
            Outcome::Unauthorized => done(
                EmailStatus::Queued,
                Some("Gmail refused the access token.".into()),
            ),
        }
    }

    /// When there may next be something to do: the earliest due time, pacing slot
    /// or lease expiry, at most `MAX_SLEEP` away.
    pub async fn next_wake(&self) -> Duration {
        match claim::next_event(&self.state.pool).await {
            Ok(Some(at)) => {
                let wait = at - OffsetDateTime::now_utc();
                Duration::try_from(wait)
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_SLEEP)
            }
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the next delivery time");
                Duration::from_secs(2)
            }
        }
    }
}

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
        if let Err(e) = listener.listen("mm_delivery").await {
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
