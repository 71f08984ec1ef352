//! The delivery loop (docs/delivery.md): `worker.rs` runs the loops and
//! LISTENs, `step.rs` is one claim and its results, `send.rs` one message to its
//! transport, `attachments.rs` the files and the memory they may take. The
//! `emails` module owns every statement about the rows.
//!
//! `queued -> sending -> sent`, or back to `queued` for a retry, or `failed`, or
//! `uncertain` when it may have gone out. Claims take rows with `FOR UPDATE SKIP
//! LOCKED` and a lease, so any number of loops in any number of instances share
//! one queue and never send a row twice; a `sending` row whose lease expired
//! becomes `uncertain`, never `queued`. Pacing and the daily cap live in Postgres,
//! so they hold across instances and survive a Redis flush.

mod attachments;
pub mod backoff;
pub mod mime;
mod send;
mod step;
pub mod transport;
mod worker;

use crate::config::TransportKind;
use crate::state::AppState;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use transport::{GmailTransport, OutboxTransport, SmtpTransport, Transport};

pub use crate::emails::Claimed;

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

pub use worker::spawn;

/// Whether the instance is stopping: `true` once SIGTERM arrived. The loops then
/// claim nothing more, hand back what they have not started to send, and give
/// sends already in flight `SHUTDOWN_GRACE_SECS` (docs/delivery.md, "Stopping").
pub type Stop = watch::Receiver<bool>;

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
            attachment_memory: Arc::new(tokio::sync::Semaphore::new(
                attachments::ATTACHMENT_MEMORY_KIB,
            )),
        })
    }

    pub fn kind(&self) -> TransportKind {
        self.transport.kind()
    }
}
