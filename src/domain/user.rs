use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What the browser may know about the logged-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    /// Google refused our Gmail access: every page asks them to reconnect.
    pub gmail_disconnected: bool,
}
