//! A message the fake Gmail accepted: its exact bytes, and the parts a test checks.

use mail_parser::{Address, MessageParser, MimeHeaders};
use serde_json::json;
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
pub struct Received {
    /// The Gmail account it was sent from (the access token's owner).
    pub account: String,
    pub id: String,
    pub thread_id: String,
    /// `json` or `upload`.
    pub endpoint: &'static str,
    /// As Gmail keeps it: with Gmail's own Message-ID in place of the client's.
    pub raw: Vec<u8>,
    /// The Message-ID it was sent with, angle brackets included.
    pub sent_message_id: Option<String>,
    /// When it was accepted.
    pub at: std::time::Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub size: usize,
    pub sha256: String,
}

impl Received {
    pub fn new(
        account: String,
        id: String,
        thread_id: String,
        endpoint: &'static str,
        raw: Vec<u8>,
        sent_message_id: Option<String>,
    ) -> Self {
        Received {
            account,
            id,
            thread_id,
            endpoint,
            raw,
            sent_message_id,
            at: std::time::Instant::now(),
        }
    }

    fn parsed(&self) -> Option<mail_parser::Message<'_>> {
        MessageParser::default().parse(&self.raw[..])
    }

    /// The decoded value of a header (`Subject`, `Message-ID`, ...).
    pub fn header(&self, name: &str) -> Option<String> {
        let message = self.parsed()?;
        let value = message.header(name)?;
        if let Some(text) = value.as_text() {
            return Some(text.to_string());
        }
        if let Some(address) = value.as_address() {
            return Some(addresses(Some(address)).join(", "));
        }
        value.as_datetime().map(|d| d.to_rfc3339())
    }

    /// A header's value exactly as it was sent (unfolded, trimmed).
    pub fn raw_header(&self, name: &str) -> Option<String> {
        let m = self.parsed()?;
        Some(m.header_raw(name)?.replace("\r\n", "").trim().to_string())
    }

    /// Whether the raw bytes carry this header at all.
    pub fn has_header(&self, name: &str) -> bool {
        self.parsed().is_some_and(|m| {
            m.headers()
                .iter()
                .any(|h| h.name().eq_ignore_ascii_case(name))
        })
    }

    pub fn from(&self) -> Vec<String> {
        self.parsed()
            .map(|m| addresses(m.from()))
            .unwrap_or_default()
    }

    pub fn from_name(&self) -> Option<String> {
        let m = self.parsed()?;
        let name = m.from()?.first()?.name()?.to_string();
        Some(name)
    }

    pub fn to(&self) -> Vec<String> {
        self.parsed().map(|m| addresses(m.to())).unwrap_or_default()
    }

    pub fn cc(&self) -> Vec<String> {
        self.parsed().map(|m| addresses(m.cc())).unwrap_or_default()
    }

    pub fn bcc(&self) -> Vec<String> {
        self.parsed()
            .map(|m| addresses(m.bcc()))
            .unwrap_or_default()
    }

    pub fn subject(&self) -> Option<String> {
        self.parsed()?.subject().map(str::to_string)
    }

    /// The Message-ID as Gmail keeps it (its own, unless told to keep ours).
    pub fn message_id(&self) -> Option<String> {
        self.parsed()?.message_id().map(str::to_string)
    }

    /// Our stable id of the message (`X-MailMerger-Id`).
    pub fn mailmerger_id(&self) -> Option<String> {
        self.header("X-MailMerger-Id")
    }

    pub fn text(&self) -> Option<String> {
        self.parsed()?.body_text(0).map(|t| t.into_owned())
    }

    pub fn html(&self) -> Option<String> {
        self.parsed()?.body_html(0).map(|t| t.into_owned())
    }

    /// The top-level content type, e.g. `multipart/alternative`.
    pub fn content_type(&self) -> Option<String> {
        let m = self.parsed()?;
        let ct = m.content_type()?;
        Some(match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
    }

    pub fn attachments(&self) -> Vec<Attachment> {
        let Some(m) = self.parsed() else {
            return Vec::new();
        };
        m.attachments()
            .map(|part| {
                let contents = part.contents();
                Attachment {
                    filename: part.attachment_name().unwrap_or("").to_string(),
                    content_type: part
                        .content_type()
                        .map(|ct| match ct.subtype() {
                            Some(sub) => format!("{}/{}", ct.ctype(), sub),
                            None => ct.ctype().to_string(),
                        })
                        .unwrap_or_default(),
                    size: contents.len(),
                    sha256: hex(&Sha256::digest(contents)),
                }
            })
            .collect()
    }

    /// What the test listing endpoint shows.
    pub fn summary(&self) -> serde_json::Value {
        json!({
            "id": self.id,
            "threadId": self.thread_id,
            "account": self.account,
            "endpoint": self.endpoint,
            "size": self.raw.len(),
            "from": self.from(),
            "fromName": self.from_name(),
            "to": self.to(),
            "cc": self.cc(),
            "bcc": self.bcc(),
            "subject": self.subject(),
            "messageId": self.message_id(),
            "sentMessageId": self.sent_message_id,
            "mailmergerId": self.mailmerger_id(),
            "contentType": self.content_type(),
            "text": self.text(),
            "html": self.html(),
            "attachments": self.attachments().iter().map(|a| json!({
                "filename": a.filename,
                "contentType": a.content_type,
                "size": a.size,
                "sha256": a.sha256,
            })).collect::<Vec<_>>(),
            "raw": String::from_utf8_lossy(&self.raw),
        })
    }
}

fn addresses(list: Option<&Address<'_>>) -> Vec<String> {
    list.map(|a| {
        a.iter()
            .filter_map(|addr| addr.address().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
