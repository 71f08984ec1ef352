use super::UserId;
use serde::{Deserialize, Serialize};

/// What the browser may know about the logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: UserId,
    pub name: String,
    pub email: String,
    /// Google refused our Gmail access: every page asks them to reconnect.
    pub gmail_disconnected: bool,
}
