//! A user's id as its own type, so that a user id and a template, file or
//! message id cannot be swapped without the compiler noticing. The session and
//! the server-function boundary (`auth::ssr::signed_in`) produce it; everything
//! below takes it.

use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct UserId(Uuid);

impl UserId {
    /// The id of a `users` row, as read from the database or a session.
    pub const fn from_uuid(id: Uuid) -> Self {
        UserId(id)
    }

    pub const fn as_uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::UserId;
    use uuid::Uuid;

    #[test]
    fn serialises_as_the_bare_uuid() {
        let id = Uuid::now_v7();
        let user = UserId::from_uuid(id);
        assert_eq!(
            serde_json::to_string(&user).unwrap(),
            serde_json::to_string(&id).unwrap()
        );
        assert_eq!(user.to_string(), id.to_string());
    }
}
