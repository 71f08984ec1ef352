//! The fake's mailboxes, for reading replies: every message an account sent
//! (as Gmail keeps it, with Gmail's own Message-ID) or received from a test
//! control, a history whose ids jump as Gmail's do, and a window past which a
//! history id answers 404. Headers and labels only: what `gmail.metadata`
//! shows (docs/google.md, "Reading replies").

use mail_parser::MessageParser;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct Stored {
    pub id: String,
    pub thread_id: String,
    pub labels: Vec<String>,
    /// Top-level headers, unfolded, in order.
    pub headers: Vec<(String, String)>,
    /// Milliseconds since the epoch, as Gmail's `internalDate`.
    pub internal_ms: i64,
}

impl Stored {
    /// The top-level headers of raw RFC 5322 bytes.
    pub fn headers_of(raw: &[u8]) -> Vec<(String, String)> {
        let Some(m) = MessageParser::default().parse(raw) else {
            return Vec::new();
        };
        m.headers()
            .iter()
            .filter_map(|h| {
                let name = h.name().to_string();
                let value = m.header_raw(name.as_str())?.replace("\r\n", "");
                Some((name, value.trim().to_string()))
            })
            .collect()
    }

    fn metadata(&self, wanted: &[String]) -> Value {
        let headers: Vec<Value> = self
            .headers
            .iter()
            .filter(|(name, _)| {
                wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(name))
            })
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect();
        json!({
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": self.labels,
            "snippet": "",
            "sizeEstimate": 1000,
            "historyId": "0",
            "internalDate": self.internal_ms.to_string(),
            "payload": {"mimeType": self.header("Content-Type").unwrap_or_default(),
                        "headers": headers},
        })
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }
}

#[derive(Default)]
pub struct Mailbox {
    messages: Vec<Stored>,
    by_id: HashMap<String, usize>,
    /// (history id, index into `messages`), oldest first.
    history: Vec<(u64, usize)>,
    history_id: u64,
    /// A start id below this answers 404.
    oldest_valid: u64,
}

/// A page of `messages.list`, `history.list` and of the 404 window.
pub const PAGE: usize = 100;

impl Mailbox {
    /// A new mailbox: its history starts at an id of its own.
    pub fn fresh() -> Self {
        Mailbox {
            history_id: 1_000 + (rand::random::<u64>() % 1_000),
            ..Default::default()
        }
    }

    pub fn history_id(&self) -> u64 {
        self.history_id
    }

    pub fn add(&mut self, message: Stored) {
        // Gmail's ids grow, but not one by one.
        self.history_id += 1 + rand::random::<u64>() % 40;
        let index = self.messages.len();
        self.by_id.insert(message.id.clone(), index);
        self.messages.push(message);
        self.history.push((self.history_id, index));
    }

    pub fn get(&self, id: &str) -> Option<&Stored> {
        self.by_id.get(id).map(|i| &self.messages[*i])
    }

    pub fn metadata(&self, id: &str, wanted: &[String]) -> Option<Value> {
        self.get(id).map(|m| m.metadata(wanted))
    }

    pub fn thread(&self, id: &str, wanted: &[String]) -> Option<Value> {
        let messages: Vec<Value> = self
            .messages
            .iter()
            .filter(|m| m.thread_id == id)
            .map(|m| m.metadata(wanted))
            .collect();
        (!messages.is_empty()).then(|| json!({"id": id, "messages": messages}))
    }

    /// Every history id before now stops being valid, as when Gmail's window
    /// moved past it.
    pub fn expire_history(&mut self) {
        self.oldest_valid = self.history_id + 1;
    }

    /// `history.list` from `start`: `None` for Gmail's 404.
    pub fn history_since(&self, start: u64, page_token: Option<&str>) -> Option<Value> {
        if start < self.oldest_valid || start > self.history_id {
            return None;
        }
        let skip: usize = page_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let records: Vec<&(u64, usize)> = self.history.iter().filter(|(h, _)| *h > start).collect();
        let page: Vec<Value> = records
            .iter()
            .skip(skip)
            .take(PAGE)
            .map(|(h, i)| {
                let m = &self.messages[*i];
                let brief = json!({"id": m.id, "threadId": m.thread_id, "labelIds": m.labels});
                json!({"id": h.to_string(), "messages": [brief.clone()],
                       "messagesAdded": [{"message": brief}]})
            })
            .collect();
        let mut answer = json!({"historyId": self.history_id.to_string()});
        // Gmail leaves `history` out when nothing was added.
        if !page.is_empty() {
            answer["history"] = json!(page);
        }
        if records.len() > skip + PAGE {
            answer["nextPageToken"] = json!((skip + PAGE).to_string());
        }
        Some(answer)
    }

    /// `messages.list`, newest first.
    pub fn list(&self, page_token: Option<&str>) -> Value {
        let skip: usize = page_token.and_then(|t| t.parse().ok()).unwrap_or(0);
        let page: Vec<Value> = self
            .messages
            .iter()
            .rev()
            .skip(skip)
            .take(PAGE)
            .map(|m| json!({"id": m.id, "threadId": m.thread_id}))
            .collect();
        let mut answer = json!({"resultSizeEstimate": self.messages.len()});
        if !page.is_empty() {
            answer["messages"] = json!(page);
        }
        if self.messages.len() > skip + PAGE {
            answer["nextPageToken"] = json!((skip + PAGE).to_string());
        }
        answer
    }
}

/// What a test adds to a mailbox (`/_fake/mailbox`): a message as it would
/// arrive.
#[derive(Clone, Debug, Deserialize)]
pub struct Incoming {
    /// The mailbox it arrives in.
    pub email: String,
    /// The thread it joins; a new one when absent.
    #[serde(default)]
    pub thread_id: Option<String>,
    pub kind: IncomingKind,
    /// Who it is from (for `sent`: who it went to).
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomingKind {
    /// A person's answer.
    Reply,
    /// An out-of-office answer (`Auto-Submitted: auto-replied`).
    AutoReply,
    /// Gmail's delivery-status report for `from`, which could not be reached.
    Bounce,
    /// Written by the mailbox's owner by hand, to `from`.
    Sent,
}

impl Incoming {
    /// The message's labels and headers, as Gmail would show them.
    pub fn stored(&self, id: String, thread_id: String, internal_ms: i64) -> Stored {
        let from = self
            .from
            .clone()
            .unwrap_or_else(|| "someone@example.test".into());
        let subject = self.subject.clone().unwrap_or_else(|| "Re: hello".into());
        let message_id = format!("<{id}.fake@mail.example.test>");
        let date = "Wed, 02 Dec 2026 10:00:00 +0000".to_string();
        let mut headers = vec![
            ("Date".to_string(), date),
            ("Message-ID".into(), message_id),
        ];
        let mut labels = vec!["INBOX".to_string(), "UNREAD".to_string()];
        let mut h = |n: &str, v: &str| headers.push((n.to_string(), v.to_string()));
        match self.kind {
            IncomingKind::Reply => {
                h("From", &from);
                h("To", &self.email);
                h("Subject", &subject);
                h("Content-Type", "text/plain; charset=UTF-8");
            }
            IncomingKind::AutoReply => {
                h("From", &from);
                h("To", &self.email);
                h("Subject", &format!("Out of office: {subject}"));
                h("Auto-Submitted", "auto-replied");
                h("Content-Type", "text/plain; charset=UTF-8");
            }
            IncomingKind::Bounce => {
                h(
                    "From",
                    "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                );
                h("To", &self.email);
                h("Subject", "Delivery Status Notification (Failure)");
                h("Auto-Submitted", "auto-replied");
                h("X-Failed-Recipients", &from);
                h(
                    "Content-Type",
                    "multipart/report; boundary=\"000\"; report-type=delivery-status",
                );
            }
            IncomingKind::Sent => {
                h("From", &self.email);
                h("To", &from);
                h("Subject", &subject);
                h("Content-Type", "text/plain; charset=UTF-8");
                labels = vec!["SENT".to_string()];
            }
        }
        Stored {
            id,
            thread_id,
            labels,
            headers,
            internal_ms,
        }
    }
}
