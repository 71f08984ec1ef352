use super::UserId;
use serde::{Deserialize, Serialize};

/// What the browser may know about the logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: UserId,
    pub name: String,
    pub email: String,
    /// The address was shown to be theirs (a link followed, or Google said so).
    pub email_verified: bool,
    /// For an unverified user only: where the product's own mail (their link)
    /// lands when the server has no mail server for it.
    pub system_outbox: Option<String>,
    /// Named in `ADMIN_EMAILS`, with a verified address: sees the Admin page.
    pub admin: bool,
    /// Google refused our Gmail access: every page asks them to reconnect.
    pub gmail_disconnected: bool,
    /// Their IANA time zone (Settings), read with the session so that lists
    /// need no query of their own for it.
    pub time_zone: String,
}
