//! Server-only parts of the queue.

pub mod composing;
pub mod history;
pub mod imports;
pub mod merging;
pub mod submissions;
pub mod upload;
pub mod zone;

use crate::error::AppError;
use crate::state::AppState;
use uuid::Uuid;

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
    pub templates: Vec<(Uuid, String)>,
    pub zone: zone::UserZone,
    pub name: String,
    /// Files the user can attach.
    pub files: Vec<crate::files::FileView>,
}

impl Sender {
    pub async fn load(state: &AppState, user_id: Uuid) -> Result<Self, AppError> {
        let templates = crate::templates::ssr::cache::list(state, user_id).await?;
        let zone = zone::UserZone::of_user(&state.pool, user_id).await?;
        let name = crate::auth::ssr::users::find_view(&state.pool, user_id)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        let files = crate::files::ssr::repo::list(&state.pool, user_id).await?;
        Ok(Sender {
            files,
            templates: templates.into_iter().map(|t| (t.id, t.name)).collect(),
            zone,
            name,
        })
    }
}
