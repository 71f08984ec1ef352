//! Server-only parts of Write email, and what the mail merge shares with it:
//! the sender's choices, address lists and the recipient limit.

pub mod message;
pub mod submissions;

use crate::domain::EmailAddress;
use crate::domain::UserId;
use crate::error::AppError;
use crate::settings::ssr::zone;
use crate::state::AppState;

/// Parses a comma-separated list of addresses.
pub fn address_list(raw: &str) -> Result<Vec<EmailAddress>, String> {
    raw.split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            EmailAddress::parse(s).map_err(|_| format!("\"{s}\" is not a valid email address."))
        })
        .collect()
}

/// At most this many recipients in one message, counting To, Cc and Bcc (Gmail's
/// API limit).
pub const MAX_RECIPIENTS: usize = 100;

pub fn check_recipient_count(field: &str, count: usize) -> Result<(), AppError> {
    if count > MAX_RECIPIENTS {
        return Err(AppError::field(
            field,
            format!("At most {MAX_RECIPIENTS} recipients per message, counting To, Cc and Bcc."),
        ));
    }
    Ok(())
}

/// What the compose and merge pages show about the sender: their templates to pick
/// from, their time zone and their name.
pub struct Sender {
    pub templates: Vec<crate::templates::TemplateChoice>,
    pub zone: zone::UserZone,
    pub name: String,
    /// Files the user can attach.
    pub files: Vec<crate::files::FileView>,
}

impl Sender {
    pub async fn load(state: &AppState, user_id: UserId) -> Result<Self, AppError> {
        let templates = crate::templates::ssr::cache::list(state, user_id).await?;
        let zone = zone::UserZone::of_user(&state.pool, user_id).await?;
        let name = crate::auth::ssr::users::find_view(&state.pool, user_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let files = crate::files::ssr::repo::list(&state.pool, user_id).await?;
        Ok(Sender {
            files,
            templates: templates
                .into_iter()
                .map(|t| crate::templates::TemplateChoice {
                    id: t.id,
                    name: t.name,
                })
                .collect(),
            zone,
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::address_list;

    #[test]
    fn address_lists_are_split_and_checked() {
        let list = address_list(" a@x.io, B@Y.io ;").unwrap();
        let list: Vec<&str> = list.iter().map(|a| a.as_str()).collect();
        assert_eq!(list, ["a@x.io", "B@y.io"]);
        assert!(address_list("").unwrap().is_empty());
        assert!(
            address_list("a@x.io, nope")
                .unwrap_err()
                .contains("\"nope\"")
        );
    }
}
