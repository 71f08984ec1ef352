//! The reading loop: every few seconds, the accounts due for a read (reading
//! on, something to watch, the last read older than [`EVERY`]) are read one
//! after another. Tests call [`Reader::run_once`] instead.

use super::gmail::GmailReader;
use super::read::{Pass, read};
use crate::state::AppState;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often an account with something to watch is read: well inside the
/// freshness a follow-up needs (`check::FRESH`), for 2 units a read when
/// nothing arrived.
pub const EVERY: time::Duration = time::Duration::seconds(30);
const TICK: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Reader {
    state: AppState,
    gmail: std::sync::Arc<GmailReader>,
}

impl Reader {
    /// None without Google configured: there is no mailbox to read.
    pub fn new(state: AppState) -> Option<Reader> {
        let google = state.google.as_ref()?;
        let gmail = GmailReader::new(google.http().clone(), google.gmail_api_url.clone());
        Some(Reader {
            state,
            gmail: std::sync::Arc::new(gmail),
        })
    }

    /// Reads every account that is due once; what each read did.
    pub async fn run_once(&self) -> Result<Vec<Pass>, sqlx::Error> {
        let due = super::repo::due(&self.state.pool, EVERY.as_seconds_f64()).await?;
        let mut passes = Vec::with_capacity(due.len());
        for user_id in due {
            passes.push(read(&self.state, &self.gmail, user_id).await?);
        }
        Ok(passes)
    }

    /// Reads one account now, whether due or not (turning reading on).
    pub async fn read_now(&self, user_id: crate::domain::UserId) -> Result<Pass, sqlx::Error> {
        read(&self.state, &self.gmail, user_id).await
    }
}

/// Runs the reading loop until `stop` says the process is stopping.
pub fn spawn(state: AppState, mut stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let reader = Reader::new(state)?;
    Some(tokio::spawn(async move {
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = reader.run_once().await {
                tracing::warn!(error = %e, "reading mailboxes failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(TICK) => {}
                _ = stop.changed() => {}
            }
        }
    }))
}
