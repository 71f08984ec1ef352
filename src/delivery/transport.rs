//! Where a built message goes: Gmail's API, an SMTP server, or the local outbox.
//! Each answers with an `Outcome` the loop knows how to record.

use crate::config::TransportKind;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;
use time::OffsetDateTime;
use url::Url;

/// What happened to one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        provider_id: Option<String>,
        thread_id: Option<String>,
    },
    /// Not sent; try again later (not before `not_before` when Gmail named a time).
    Retry {
        reason: String,
        not_before: Option<OffsetDateTime>,
    },
    /// Not sent, and trying again will not help.
    Failed { reason: String },
    /// It may have been sent: the user decides.
    Uncertain { reason: String },
    /// Gmail refused the access token (401): refresh and try once more.
    Unauthorized,
}

#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    fn kind(&self) -> TransportKind;
    /// Sends `message`; `thread_id` (Gmail's) puts it in that conversation of
    /// the sender's mailbox, where the transport can.
    async fn send(
        &self,
        message: &Message,
        thread_id: Option<&str>,
        access_token: Option<&SecretString>,
    ) -> Outcome;
}

// --- Gmail ----------------------------------------------------------------------------

/// Above this many raw bytes the JSON body (base64, a third larger) would pass
/// about 1 MB, which the JSON endpoint refuses: use the upload endpoint.
pub const GMAIL_JSON_LIMIT: usize = 750_000;

pub struct GmailTransport {
    http: reqwest::Client,
    json_url: Url,
    upload_url: Url,
}

impl GmailTransport {
    pub fn new(http: reqwest::Client, base: &Url) -> anyhow::Result<Self> {
        Ok(GmailTransport {
            http,
            json_url: base.join("gmail/v1/users/me/messages/send")?,
            upload_url: base.join("upload/gmail/v1/users/me/messages/send?uploadType=multipart")?,
        })
    }
}

#[async_trait::async_trait]
impl Transport for GmailTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::Gmail
    }

    async fn send(
        &self,
        message: &Message,
        thread_id: Option<&str>,
        access_token: Option<&SecretString>,
    ) -> Outcome {
        let Some(token) = access_token else {
            return Outcome::Unauthorized;
        };
        let raw = message.formatted();
        let metadata = match thread_id {
            Some(thread) => serde_json::json!({ "threadId": thread }),
            None => serde_json::json!({}),
        };
        let request = if raw.len() > GMAIL_JSON_LIMIT {
            // `uploadType=media` takes the message alone; `multipart` carries the
            // thread beside it (docs/google.md, "Sending").
            let (content_type, body) = upload_body(&metadata, raw);
            self.http
                .post(self.upload_url.clone())
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body)
        } else {
            use base64::Engine;
            let mut body = metadata;
            body["raw"] = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(&raw)
                .into();
            self.http.post(self.json_url.clone()).json(&body)
        };
        let response = match request.bearer_auth(token.expose_secret()).send().await {
            Ok(r) => r,
            Err(e) => return network_outcome(&e),
        };
        let status = response.status().as_u16();
        match response.text().await {
            Ok(body) => classify_gmail(status, &body),
            // The status arrived, the body did not: a 2xx still means accepted.
            Err(_) if (200..300).contains(&status) => Outcome::Sent {
                provider_id: None,
                thread_id: None,
            },
            Err(e) => network_outcome(&e),
        }
    }
}

/// A `multipart/related` upload: the JSON metadata, then the message. The
/// boundary is random, so it cannot occur in the message by accident.
fn upload_body(metadata: &serde_json::Value, raw: Vec<u8>) -> (String, Vec<u8>) {
    let boundary = format!("mm_{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::with_capacity(raw.len() + 256);
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(&raw);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/related; boundary={boundary}"), body)
}

fn network_outcome(e: &reqwest::Error) -> Outcome {
    if e.is_connect() {
        // Nothing reached Gmail.
        Outcome::Retry {
            reason: "Could not connect to Gmail.".into(),
            not_before: None,
        }
    } else if e.is_timeout() {
        Outcome::Uncertain {
            reason: "Gmail did not answer in time; the message may have been sent.".into(),
        }
    } else {
        Outcome::Uncertain {
            reason:
                "The connection to Gmail broke during the send; the message may have been sent."
                    .into(),
        }
    }
}

#[derive(Deserialize)]
struct Sent {
    id: Option<String>,
    #[serde(rename = "threadId")]
    thread_id: Option<String>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize, Default)]
struct ErrorItem {
    #[serde(default)]
    reason: String,
}

/// Gmail's answer, by status and error reason (docs/google.md, "Sending").
pub fn classify_gmail(status: u16, body: &str) -> Outcome {
    if (200..300).contains(&status) {
        let sent: Option<Sent> = serde_json::from_str(body).ok();
        return Outcome::Sent {
            provider_id: sent.as_ref().and_then(|s| s.id.clone()),
            thread_id: sent.and_then(|s| s.thread_id),
        };
    }
    let error: ErrorBody = serde_json::from_str(body).unwrap_or_default();
    let message = error.error.message.trim().to_string();
    let reasons: Vec<&str> = error
        .error
        .errors
        .iter()
        .map(|e| e.reason.as_str())
        .collect();
    let said = |fallback: &str| {
        if message.is_empty() {
            fallback.to_string()
        } else {
            format!("Gmail said: {message}")
        }
    };
    match status {
        401 => Outcome::Unauthorized,
        429 => Outcome::Retry {
            reason: said("Gmail asked us to slow down (429)."),
            not_before: retry_after(&message),
        },
        403 if reasons.iter().any(|r| {
            matches!(
                *r,
                "userRateLimitExceeded" | "rateLimitExceeded" | "dailyLimitExceeded" | "quotaExceeded"
            )
        }) =>
        {
            Outcome::Retry {
                reason: said("Gmail's sending limit was reached (403)."),
                not_before: retry_after(&message),
            }
        }
        403 if reasons.contains(&"domainPolicy") => Outcome::Failed {
            reason: format!(
                "Your Google Workspace administrator does not allow sending through the Gmail API. {}",
                said("")
            )
            .trim()
            .to_string(),
        },
        500 | 502 | 503 | 504 => Outcome::Retry {
            reason: said(&format!("Gmail had a temporary problem ({status}).")),
            not_before: None,
        },
        s if s >= 500 => Outcome::Retry {
            reason: said(&format!("Gmail had a problem ({s}).")),
            not_before: None,
        },
        s => Outcome::Failed {
            reason: said(&format!("Gmail refused the message ({s}).")),
        },
    }
}

/// "... Retry after 2026-01-21T12:57:51.196Z" in Gmail's 429 text.
pub fn retry_after(message: &str) -> Option<OffsetDateTime> {
    let at = message.find("Retry after ")? + "Retry after ".len();
    let stamp = message[at..].split_whitespace().next()?;
    let stamp = stamp.trim_end_matches(['.', ',', ')']);
    OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).ok()
}

// --- SMTP -----------------------------------------------------------------------------

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
}

impl SmtpTransport {
    pub fn new(url: &SecretString, timeout: Duration) -> anyhow::Result<Self> {
        let inner = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|e| anyhow::anyhow!("SMTP_URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        Ok(SmtpTransport { inner })
    }
}

#[async_trait::async_trait]
impl Transport for SmtpTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::Smtp
    }

    async fn send(&self, message: &Message, _: Option<&str>, _: Option<&SecretString>) -> Outcome {
        match self.inner.send(message.clone()).await {
            Ok(response) => Outcome::Sent {
                provider_id: response
                    .message()
                    .next()
                    .map(|l| l.chars().take(200).collect()),
                thread_id: None,
            },
            Err(e) if e.is_permanent() => Outcome::Failed {
                reason: format!("The mail server refused the message: {e}"),
            },
            Err(e) if e.is_transient() => Outcome::Retry {
                reason: format!("The mail server asked us to try later: {e}"),
                not_before: None,
            },
            Err(e) if e.is_timeout() => Outcome::Uncertain {
                reason: "The mail server did not answer in time; the message may have been sent."
                    .into(),
            },
            // Connection refused, TLS or DNS trouble: nothing was accepted.
            Err(e) => Outcome::Retry {
                reason: format!("Could not reach the mail server: {e}"),
                not_before: None,
            },
        }
    }
}

// --- the local outbox -------------------------------------------------------------------

/// `.eml` files in a directory: what a first run without Google uses.
pub struct OutboxTransport {
    inner: AsyncFileTransport<Tokio1Executor>,
    pub dir: PathBuf,
}

impl OutboxTransport {
    pub fn new(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create the outbox {}: {e}", dir.display()))?;
        Ok(OutboxTransport {
            inner: AsyncFileTransport::new(&dir),
            dir,
        })
    }
}

#[async_trait::async_trait]
impl Transport for OutboxTransport {
    fn kind(&self) -> TransportKind {
        TransportKind::Outbox
    }

    async fn send(&self, message: &Message, _: Option<&str>, _: Option<&SecretString>) -> Outcome {
        match self.inner.send(message.clone()).await {
            Ok(id) => Outcome::Sent {
                provider_id: Some(format!("{id}.eml")),
                thread_id: None,
            },
            Err(e) => Outcome::Retry {
                reason: format!("Could not write to the outbox: {e}"),
                not_before: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_answers_are_sorted_by_what_to_do() {
        assert_eq!(
            classify_gmail(200, r#"{"id":"m1","threadId":"t1","labelIds":["SENT"]}"#),
            Outcome::Sent {
                provider_id: Some("m1".into()),
                thread_id: Some("t1".into())
            }
        );
        assert_eq!(classify_gmail(401, "{}"), Outcome::Unauthorized);
        let r429 = classify_gmail(
            429,
            r#"{"error":{"code":429,"message":"User-rate limit exceeded.  Retry after 2026-01-21T12:57:51.196Z"}}"#,
        );
        match r429 {
            Outcome::Retry {
                not_before: Some(t),
                ..
            } => {
                assert_eq!(t.unix_timestamp(), 1_769_000_271)
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_gmail(503, ""),
            Outcome::Retry {
                not_before: None,
                ..
            }
        ));
        assert!(matches!(
            classify_gmail(
                403,
                r#"{"error":{"code":403,"message":"User Rate Limit Exceeded","errors":[{"reason":"userRateLimitExceeded"}]}}"#
            ),
            Outcome::Retry { .. }
        ));
        match classify_gmail(
            400,
            r#"{"error":{"code":400,"message":"Invalid To header","errors":[{"reason":"badRequest"}]}}"#,
        ) {
            Outcome::Failed { reason } => assert_eq!(reason, "Gmail said: Invalid To header"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify_gmail(403, r#"{"error":{"code":403,"message":"Delegation denied","errors":[{"reason":"domainPolicy"}]}}"#),
            Outcome::Failed { reason } if reason.contains("administrator")
        ));
    }
}
