//! One claimed message to its transport: its token, its files, the MIME, the
//! send, one token refresh on a 401, and what the outcome means for the row.

use super::transport::Outcome;
use super::{Claimed, Deliverer, Stop, backoff, mime};
use crate::config::TransportKind;
use crate::domain::EmailStatus;
use crate::domain::UserId;
use crate::emails::Done;
use crate::files::ssr::repo::Attachment;
use crate::google::ssr::accounts::{self, TokenError};
use secrecy::SecretString;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;

impl Deliverer {
    /// One access token per account in the batch (Gmail only).
    pub(super) async fn tokens_for(
        &self,
        claimed: &[Claimed],
    ) -> HashMap<UserId, Result<SecretString, Arc<TokenError>>> {
        let mut tokens = HashMap::new();
        if self.transport.kind() != TransportKind::Gmail {
            return tokens;
        }
        let mut users: Vec<UserId> = claimed.iter().map(|r| r.user_id).collect();
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
        user_id: UserId,
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
    pub(super) async fn deliver(
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
        let _memory = match self.reserve_memory(&row, total).await {
            Ok(permit) => permit,
            Err(later) => return later,
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
        let mut outcome = self.send(&row, &message, token.as_ref()).await;
        if outcome == Outcome::Unauthorized {
            // One refresh, one more try.
            token = match self.access_token(row.user_id, token.as_ref()).await {
                Ok(t) => Some(t),
                Err(e) => return self.token_problem(&row, &e),
            };
            outcome = self.send(&row, &message, token.as_ref()).await;
            if outcome == Outcome::Unauthorized {
                outcome = Outcome::Retry {
                    reason: "Gmail refused a freshly refreshed access token.".into(),
                    not_before: None,
                };
            }
        }
        self.finish(&row, outcome)
    }

    async fn send(
        &self,
        row: &Claimed,
        message: &lettre::Message,
        token: Option<&SecretString>,
    ) -> Outcome {
        let started = Instant::now();
        let outcome = self
            .transport
            .send(message, row.thread_id.as_deref(), token)
            .await;
        self.state
            .metrics
            .send_seconds
            .record(started.elapsed().as_secs_f64());
        outcome
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
                    let at = backoff::next_attempt(row.now(), row.attempts, not_before);
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
}
