//! The product's own mail: verification and reset links, and the notices that
//! follow a change. It goes through `SYSTEM_SMTP_URL`, or into
//! `<OUTBOX_DIR>/system/` as `.eml` files; never through a user's Gmail
//! (docs/accounts.md, "System mail").
//!
//! Sending happens in the background: a request that asks for mail answers in
//! the same time whether or not any went, so its timing tells nobody whether an
//! address has an account.

use crate::config::SystemMailConfig;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Messages being sent at once; more wait their turn (each is one small
/// SMTP conversation or one file).
const AT_ONCE: usize = 4;

enum Via {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(AsyncFileTransport<Tokio1Executor>),
}

pub struct SystemMail {
    from: Mailbox,
    via: Via,
    outbox: PathBuf,
    gate: Arc<Semaphore>,
}

/// One message of ours: plain text, to one address.
pub struct Letter {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl SystemMail {
    pub fn new(config: &SystemMailConfig, timeout: Duration) -> anyhow::Result<Self> {
        let via = match &config.smtp_url {
            Some(url) => Via::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| anyhow::anyhow!("SYSTEM_SMTP_URL: {e}"))?
                    .timeout(Some(timeout))
                    .build(),
            ),
            None => {
                std::fs::create_dir_all(&config.outbox_dir).map_err(|e| {
                    anyhow::anyhow!(
                        "cannot create the system outbox {}: {e}",
                        config.outbox_dir.display()
                    )
                })?;
                Via::Outbox(AsyncFileTransport::new(&config.outbox_dir))
            }
        };
        Ok(SystemMail {
            from: config.from.clone(),
            via,
            outbox: config.outbox_dir.clone(),
            gate: Arc::new(Semaphore::new(AT_ONCE)),
        })
    }

    /// Where the mail lands when no mail server is set up: the pages that say
    /// "we sent you a link" say so, as nobody would receive it otherwise.
    pub fn outbox(&self) -> Option<&Path> {
        match self.via {
            Via::Outbox(_) => Some(&self.outbox),
            Via::Smtp(_) => None,
        }
    }

    /// Builds the message now and sends it in the background. A failure is
    /// logged (without the address or the text, which may hold a link).
    pub fn send_later(self: &Arc<Self>, letter: Letter) {
        let message = match self.build(&letter) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "system mail not built");
                return;
            }
        };
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let Ok(_permit) = this.gate.acquire().await else {
                return;
            };
            let sent = match &this.via {
                Via::Smtp(smtp) => smtp
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Via::Outbox(files) => files
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            };
            match sent {
                Ok(()) => tracing::info!(subject = %letter.subject, "system mail sent"),
                Err(e) => {
                    tracing::warn!(error = %e, subject = %letter.subject, "system mail not sent")
                }
            }
        });
    }

    fn build(&self, letter: &Letter) -> anyhow::Result<Message> {
        let to: Mailbox = letter
            .to
            .parse()
            .map_err(|e| anyhow::anyhow!("recipient: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&letter.subject)
            // Ours, not a person's: out-of-office replies stay away (RFC 3834).
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("Auto-Submitted"),
                "auto-generated".into(),
            ))
            .header(ContentType::TEXT_PLAIN)
            .body(letter.text.clone())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }
}
