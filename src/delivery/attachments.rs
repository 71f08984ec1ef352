//! A message's files: looked up for the whole batch, read from storage when the
//! message is sent, and the memory they may take while they are.

use super::mime;
use super::transport::Outcome;
use super::{Claimed, Deliverer};
use crate::domain::EmailStatus;
use crate::emails::Done;
use crate::files::ssr::repo::{self as files, Attachment};
use crate::files::{MESSAGE_ATTACHMENTS_MAX_BYTES, format_size};
use crate::storage::StorageError;
use std::collections::HashMap;
use uuid::Uuid;

/// KiB of attachments (×3 for the base64 copies) being sent at once, per process.
pub(super) const ATTACHMENT_MEMORY_KIB: usize = 96 * 1024;

impl Deliverer {
    /// Which files each message of the batch attaches (most attach none), or
    /// `None` when they could not be looked up (each message then retries).
    pub(super) async fn attachments_of(
        &self,
        ids: &[Uuid],
    ) -> Option<HashMap<Uuid, Vec<Attachment>>> {
        match files::for_emails(&self.state.pool, ids).await {
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
        }
    }

    /// Reserves memory for a message's `total` bytes of files, held until it is
    /// sent. Never waits so long that the claim's lease runs out: the message
    /// goes back for a moment instead (the attempt does not count).
    pub(super) async fn reserve_memory(
        &self,
        row: &Claimed,
        total: u64,
    ) -> Result<Option<tokio::sync::SemaphorePermit<'_>>, Done> {
        if total == 0 {
            return Ok(None);
        }
        let kib = (total.div_ceil(1024) * 3).min(ATTACHMENT_MEMORY_KIB as u64) as u32;
        let wait = self.state.config.delivery.lease / 4;
        match tokio::time::timeout(wait, self.attachment_memory.acquire_many(kib)).await {
            Ok(permit) => Ok(permit.ok()),
            Err(_) => {
                let why = "Waiting for other messages with large attachments to go.";
                Err(Done {
                    next_attempt_at: Some(row.now() + time::Duration::seconds(5)),
                    refund: 1,
                    ..Done::of(row.id, EmailStatus::Queued, Some(why.into()))
                })
            }
        }
    }

    /// Reads a message's files from storage, now that it is being sent. A file
    /// deleted since it was queued fails the message, naming the file.
    pub(super) async fn read_files(
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
                Err(StorageError::TooLarge { .. }) => {
                    // Its stored copy outgrew its row (replaced meanwhile): no
                    // retry can make it fit.
                    return Err(Outcome::Failed {
                        reason: format!(
                            "The attachment “{}” is now larger than Gmail's 25 MB per message, so the message was not sent.",
                            a.name
                        ),
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not read an attachment");
                    let why = match e {
                        StorageError::NotFound => "its stored copy is missing",
                        _ => "file storage is not answering",
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
}
