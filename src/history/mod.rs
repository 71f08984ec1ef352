//! Sent, failed and uncertain messages: the history, and what the user can do
//! about a message that failed or may have gone out.

use crate::domain::EmailStatus;
use crate::error::AppError;
use crate::queue::Progress;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentEmailView {
    pub id: Uuid,
    pub to: String,
    pub subject: String,
    /// Sent, failed or uncertain.
    pub status: EmailStatus,
    /// When it was sent, or when it failed, in the user's zone.
    pub when: String,
    pub gmail_message_id: Option<String>,
    /// Opens the message in Gmail (sent through Gmail only).
    pub gmail_link: Option<String>,
    /// Where it went: "Gmail", "SMTP" or "Outbox (file name)".
    pub via: String,
    pub error: Option<String>,
    /// The names of the files it attached.
    pub attachments: Vec<String>,
    /// Cc or Bcc addresses it was not sent to, because they are suppressed.
    pub dropped: Vec<String>,
}

/// How many finished messages have each status (the Sent page's tabs).
pub type Counts = crate::domain::FinishedCounts;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentPage {
    pub rows: Vec<SentEmailView>,
    /// One status, or all finished ones.
    pub filter: Option<EmailStatus>,
    pub total: i64,
    /// The links to newer and older rows.
    pub paging: crate::domain::Paging,
    pub counts: Counts,
    /// While sending (the page was opened with `since`): progress, read before
    /// the list, so the list is never older than the counts.
    pub progress: Option<Progress>,
}

/// What the user decides about a failed or uncertain message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A failed message goes back in the queue.
    Retry,
    /// An uncertain message is sent again (same Message-ID).
    SendAgain,
    /// The user checked Gmail: it went out.
    MarkSent,
}

impl Decision {
    const ALL: [Decision; 3] = [Decision::Retry, Decision::SendAgain, Decision::MarkSent];

    fn name(self) -> &'static str {
        match self {
            Decision::Retry => "retry",
            Decision::SendAgain => "send_again",
            Decision::MarkSent => "mark_sent",
        }
    }
}

/// What a Sent page button asks for: a decision about the selected messages
/// (`retry`), or about one row's message (`retry:<id>`). Parsed once, at the
/// boundary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SentAction {
    pub decision: Decision,
    /// A row's own button.
    pub one: Option<Uuid>,
}

impl SentAction {
    pub fn selected(decision: Decision) -> SentAction {
        SentAction {
            decision,
            one: None,
        }
    }

    pub fn one(decision: Decision, id: Uuid) -> SentAction {
        SentAction {
            decision,
            one: Some(id),
        }
    }

    /// The value a button carries.
    pub fn value(self) -> String {
        match self.one {
            Some(id) => format!("{}:{id}", self.decision.name()),
            None => self.decision.name().to_string(),
        }
    }

    pub fn parse(value: &str) -> Option<SentAction> {
        let (name, id) = match value.split_once(':') {
            Some((name, id)) => (name, Some(Uuid::parse_str(id).ok()?)),
            None => (value, None),
        };
        let decision = Decision::ALL.into_iter().find(|d| d.name() == name)?;
        Some(SentAction { decision, one: id })
    }
}

impl From<SentAction> for String {
    fn from(a: SentAction) -> String {
        a.value()
    }
}

impl TryFrom<String> for SentAction {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        SentAction::parse(&value).ok_or_else(|| format!("unknown action {value:?}"))
    }
}

/// The page's tabs: all finished messages, or one status.
pub const FILTERS: &[(Option<EmailStatus>, &str)] = &[
    (None, "All"),
    (Some(EmailStatus::Sent), "Sent"),
    (Some(EmailStatus::Failed), "Failed"),
    (Some(EmailStatus::Uncertain), "Needs a decision"),
    (Some(EmailStatus::Suppressed), "Not sent"),
];

/// A filter as the page's address spells it (`?filter=`).
pub fn filter_value(filter: Option<EmailStatus>) -> &'static str {
    filter.map_or("all", EmailStatus::as_str)
}

/// The filter an address names; anything else is all.
pub fn parse_filter(raw: &str) -> Option<EmailStatus> {
    FILTERS
        .iter()
        .map(|(f, _)| *f)
        .find(|f| filter_value(*f) == raw)
        .flatten()
}

#[server(endpoint = "sent/list")]
pub async fn list_sent(
    filter: String,
    #[server(default)] at: crate::domain::PageAt,
    #[server(default)] since: Option<i64>,
) -> Result<SentPage, AppError> {
    use crate::settings::ssr::zone::UserZone;
    let (state, user) = crate::auth::ssr::session::signed_in_user().await?;
    let user_id = user.id;
    let progress = match since {
        Some(since) => Some(crate::queue::ssr::progress::progress(&state, user_id, since).await?),
        None => None,
    };
    let pool = state.pool.clone();
    let filter = parse_filter(&filter);
    let zone = UserZone::new(&user.time_zone);
    let (rows, paging, total, counts) =
        crate::emails::read::history(&pool, user_id, filter, at, crate::queue::PAGE_SIZE).await?;
    Ok(SentPage {
        rows: rows
            .into_iter()
            .map(|r| {
                let via = match (r.transport.as_deref(), &r.gmail_message_id) {
                    (Some("outbox"), Some(file)) => format!("Outbox ({file})"),
                    (Some("outbox"), None) => "Outbox".into(),
                    (Some("smtp"), _) => "SMTP".into(),
                    _ => "Gmail".into(),
                };
                let gmail_link = match (r.transport.as_deref(), &r.gmail_message_id) {
                    (Some("gmail"), Some(id)) => {
                        Some(format!("https://mail.google.com/mail/u/0/#all/{id}"))
                    }
                    _ => None,
                };
                SentEmailView {
                    id: r.id,
                    to: r.to_addrs.join(", "),
                    subject: r.subject,
                    when: zone.display(r.sent_at.unwrap_or(r.updated_at)),
                    gmail_message_id: r.gmail_message_id.filter(|_| gmail_link.is_some()),
                    gmail_link,
                    via,
                    error: r.last_error,
                    status: r.status,
                    attachments: r.attachments,
                    dropped: r.suppressed_addrs,
                }
            })
            .collect(),
        filter,
        total,
        paging,
        counts,
        progress,
    })
}

/// "Retry" a failed message, "Send again" or "Mark as sent" an uncertain one.
#[server(endpoint = "sent/resolve")]
pub async fn resolve_sent(
    action: SentAction,
    #[server(default)] ids: Vec<Uuid>,
    #[server(default)] filter: String,
) -> Result<u64, AppError> {
    use crate::emails::{self, Resolution};
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let pool = &state.pool;
    let ids = match action.one {
        Some(id) => vec![id],
        None => ids,
    };
    if ids.is_empty() {
        return Err(AppError::field("ids", "Select at least one message first."));
    }
    let resolution = match action.decision {
        Decision::Retry => Resolution::Retry,
        Decision::SendAgain => Resolution::SendAgain,
        Decision::MarkSent => Resolution::MarkSent,
    };
    let changed = emails::resolve(pool, &state.rules, user_id, &ids, resolution).await?;
    if changed == 0
        && resolution != Resolution::MarkSent
        && emails::missing_files(pool, user_id, &ids).await? > 0
    {
        return Err(AppError::field(
            "ids",
            "A file this message attaches was deleted after it was queued, so it cannot be sent again. Upload the file and write a new message.",
        ));
    }
    if changed == 0 {
        // Another user's ids, or messages no longer in that state.
        return Err(AppError::NotFound);
    }
    tracing::info!(%user_id, action = %action.value(), changed, "messages resolved");
    let filter = filter_value(parse_filter(&filter));
    let back = match resolution {
        Resolution::MarkSent => format!("/sent?filter={filter}&marked={changed}"),
        _ => format!("/sent?filter={filter}&requeued={changed}"),
    };
    leptos_axum::redirect(&back);
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::{Decision, SentAction};
    use uuid::Uuid;

    #[test]
    fn sent_actions_parse_once_and_round_trip() {
        let id = Uuid::new_v4();
        for d in Decision::ALL {
            for a in [SentAction::selected(d), SentAction::one(d, id)] {
                assert_eq!(SentAction::parse(&a.value()), Some(a));
            }
        }
        assert_eq!(
            SentAction::one(Decision::Retry, id).value(),
            format!("retry:{id}")
        );
        for bad in ["", "retry:", "retry:nope", "RETRY", "delete", "mark_sent:1"] {
            assert_eq!(SentAction::parse(bad), None, "{bad}");
        }
    }
}
