//! The Gmail reads stop-on-reply makes, with `gmail.metadata` (headers and
//! labels, never bodies): `users.getProfile`, `history.list`, `messages.list`
//! (never with `q`: the metadata scope refuses it) and `messages.get` with
//! `format=metadata`. Each costs quota units (docs/google.md, "Reading
//! replies"); the caller pays for them from the account's read budget first.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// Quota units per call, in Google's 2026 table.
pub const PROFILE_UNITS: u32 = 1;
pub const HISTORY_UNITS: u32 = 2;
pub const LIST_UNITS: u32 = 5;
pub const GET_UNITS: u32 = 20;

/// The headers a classification reads.
pub const HEADERS: [&str; 11] = [
    "From",
    "To",
    "Subject",
    "Message-ID",
    "Content-Type",
    "Auto-Submitted",
    "X-Autoreply",
    "Precedence",
    "X-Failed-Recipients",
    "X-MailMerger-Id",
    "Date",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The access token was refused: refresh and try once more.
    #[error("Gmail refused the access token")]
    Unauthorized,
    /// The grant does not include reading (never given, or taken back).
    #[error(
        "Google does not let MailMerger read this mailbox (the gmail.metadata permission is missing)"
    )]
    NotGranted,
    /// The history id is too old or unknown (Gmail's 404).
    #[error("Gmail no longer has the history from where the last read stopped")]
    NotFound,
    #[error("Gmail's quota: {0}")]
    Quota(String),
    #[error("{0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, Deserialize)]
pub struct Brief {
    pub id: String,
    #[serde(rename = "threadId")]
    pub thread_id: String,
    /// Present in history records; `messages.list` gives none.
    #[serde(rename = "labelIds", default)]
    pub labels: Option<Vec<String>>,
}

pub struct HistoryPage {
    pub added: Vec<Brief>,
    pub next_page: Option<String>,
    pub history_id: String,
}

pub struct ListPage {
    pub messages: Vec<Brief>,
    pub next_page: Option<String>,
}

/// One message's headers and labels.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    pub id: String,
    pub thread_id: String,
    pub labels: Vec<String>,
    pub headers: Vec<(String, String)>,
    /// Milliseconds since the epoch (`internalDate`).
    pub internal_ms: i64,
}

impl Metadata {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct GmailReader {
    http: reqwest::Client,
    base: Url,
}

impl GmailReader {
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        GmailReader { http, base }
    }

    async fn get<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        token: &SecretString,
    ) -> Result<T, ReadError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| ReadError::Unavailable(format!("a bad Gmail URL: {e}")))?;
        let response = self
            .http
            .get(url)
            .query(query)
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                ReadError::Unavailable(format!("could not reach Gmail: {}", e.without_url()))
            })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return response.json::<T>().await.map_err(|e| {
                ReadError::Unavailable(format!("an unreadable answer from Gmail ({e})"))
            });
        }
        let body = response.text().await.unwrap_or_default();
        Err(classify_error(status, &body))
    }

    pub async fn profile(&self, token: &SecretString) -> Result<String, ReadError> {
        #[derive(Deserialize)]
        struct Profile {
            #[serde(rename = "historyId")]
            history_id: String,
        }
        let p: Profile = self.get("gmail/v1/users/me/profile", &[], token).await?;
        Ok(p.history_id)
    }

    pub async fn history(
        &self,
        token: &SecretString,
        start: &str,
        page: Option<&str>,
    ) -> Result<HistoryPage, ReadError> {
        #[derive(Deserialize)]
        struct Added {
            message: Brief,
        }
        #[derive(Deserialize)]
        struct Record {
            #[serde(rename = "messagesAdded", default)]
            added: Vec<Added>,
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            history: Vec<Record>,
            #[serde(rename = "nextPageToken")]
            next: Option<String>,
            #[serde(rename = "historyId")]
            history_id: String,
        }
        let mut query = vec![
            ("startHistoryId", start),
            ("historyTypes", "messageAdded"),
            ("maxResults", "500"),
        ];
        if let Some(p) = page {
            query.push(("pageToken", p));
        }
        let a: Answer = self.get("gmail/v1/users/me/history", &query, token).await?;
        Ok(HistoryPage {
            added: a
                .history
                .into_iter()
                .flat_map(|r| r.added.into_iter().map(|a| a.message))
                .collect(),
            next_page: a.next,
            history_id: a.history_id,
        })
    }

    pub async fn list(
        &self,
        token: &SecretString,
        page: Option<&str>,
    ) -> Result<ListPage, ReadError> {
        #[derive(Deserialize)]
        struct Answer {
            #[serde(default)]
            messages: Vec<Brief>,
            #[serde(rename = "nextPageToken")]
            next: Option<String>,
        }
        let mut query = vec![("maxResults", "100")];
        if let Some(p) = page {
            query.push(("pageToken", p));
        }
        let a: Answer = self
            .get("gmail/v1/users/me/messages", &query, token)
            .await?;
        Ok(ListPage {
            messages: a.messages,
            next_page: a.next,
        })
    }

    pub async fn metadata(&self, token: &SecretString, id: &str) -> Result<Metadata, ReadError> {
        #[derive(Deserialize)]
        struct Header {
            name: String,
            value: String,
        }
        #[derive(Deserialize, Default)]
        struct Payload {
            #[serde(default)]
            headers: Vec<Header>,
        }
        #[derive(Deserialize)]
        struct Answer {
            id: String,
            #[serde(rename = "threadId")]
            thread_id: String,
            #[serde(rename = "labelIds", default)]
            labels: Vec<String>,
            #[serde(default)]
            payload: Payload,
            #[serde(rename = "internalDate", default)]
            internal: Option<String>,
        }
        let mut query = vec![("format", "metadata")];
        query.extend(HEADERS.iter().map(|h| ("metadataHeaders", *h)));
        // An id is Gmail's (hex); nothing else goes into the path.
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ReadError::NotFound);
        }
        let a: Answer = self
            .get(&format!("gmail/v1/users/me/messages/{id}"), &query, token)
            .await?;
        Ok(Metadata {
            id: a.id,
            thread_id: a.thread_id,
            labels: a.labels,
            headers: a
                .payload
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            internal_ms: a.internal.and_then(|s| s.parse().ok()).unwrap_or(0),
        })
    }
}

fn classify_error(status: u16, body: &str) -> ReadError {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| format!("Gmail answered {status}"));
    let reason = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v["error"]["errors"][0]["reason"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    match status {
        401 => ReadError::Unauthorized,
        404 => ReadError::NotFound,
        429 => ReadError::Quota(message),
        403 if reason.contains("RateLimit") || reason.contains("rateLimit") => {
            ReadError::Quota(message)
        }
        403 => ReadError::NotGranted,
        _ => ReadError::Unavailable(format!("Gmail answered {status}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_s_errors_say_what_to_do() {
        let body = |code: u16, reason: &str| {
            format!(
                r#"{{"error":{{"code":{code},"message":"m","errors":[{{"reason":"{reason}"}}]}}}}"#
            )
        };
        assert_eq!(
            classify_error(401, &body(401, "authError")),
            ReadError::Unauthorized
        );
        assert_eq!(
            classify_error(403, &body(403, "insufficientPermissions")),
            ReadError::NotGranted
        );
        assert_eq!(
            classify_error(403, &body(403, "userRateLimitExceeded")),
            ReadError::Quota("m".into())
        );
        assert_eq!(
            classify_error(429, &body(429, "rateLimitExceeded")),
            ReadError::Quota("m".into())
        );
        assert_eq!(classify_error(404, "{}"), ReadError::NotFound);
        assert!(
            matches!(classify_error(503, "oops"), ReadError::Unavailable(m) if m.contains("503"))
        );
    }
}
