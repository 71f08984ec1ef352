//! Templates: reusable emails with `{{ placeholders }}`, owned by one user.
//!
//! The server functions here are the feature's whole API; `crate::pages::templates`
//! renders them.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr;

/// A template to pick in a form (Write email, Mail merge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateChoice {
    pub id: Uuid,
    pub name: String,
}

/// A row of the templates list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateSummary {
    pub id: Uuid,
    pub name: String,
    pub subject: String,
    pub placeholders: Vec<String>,
    /// When it was last edited, for people ("Wed 25 Nov 2026, 16:40 UTC").
    pub updated: String,
}

/// A template as its author wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateDetail {
    pub id: Uuid,
    pub name: String,
    pub subject: String,
    /// Markdown with placeholders.
    pub body: String,
    pub placeholders: Vec<String>,
    /// Why the template, saved before a rule was added, cannot be used as it is:
    /// the field (`subject` or `body`) and the message shown next to it.
    pub problem_field: Option<String>,
    pub problem: Option<String>,
}

#[server(endpoint = "templates/list")]
pub async fn list_templates() -> Result<Vec<TemplateSummary>, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    ssr::cache::list(&state, user_id).await
}

#[server(endpoint = "templates/get")]
pub async fn get_template(id: Uuid) -> Result<TemplateDetail, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let mut template = ssr::repo::get(&state.pool, user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    // It opens either way, showing what must change.
    if let Err(e) = ssr::body::prepare(&template.subject, &template.body) {
        template.problem_field = Some(e.field.to_string());
        template.problem = Some(e.message);
    }
    Ok(template)
}

/// Creates a template (`id` empty) or updates one, then returns to the list.
#[server(endpoint = "templates/save")]
pub async fn save_template(
    id: String,
    name: String,
    subject: String,
    body: String,
) -> Result<Uuid, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let existing = match id.trim() {
        "" => None,
        raw => Some(Uuid::parse_str(raw).map_err(|_| AppError::NotFound)?),
    };
    let input = ssr::input::TemplateInput::parse(&name, &subject, &body)?;
    let saved = match existing {
        None => ssr::repo::create(&state.pool, user_id, &input).await?,
        Some(id) => ssr::repo::update(&state.pool, user_id, id, &input).await?,
    };
    ssr::cache::invalidate(&state, user_id).await;
    tracing::info!(%user_id, template_id = %saved, "template saved");
    leptos_axum::redirect("/templates");
    Ok(saved)
}

/// Copies a template as "Copy of …".
#[server(endpoint = "templates/duplicate")]
pub async fn duplicate_template(id: Uuid) -> Result<Uuid, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let copy = ssr::repo::duplicate(&state.pool, user_id, id).await?;
    ssr::cache::invalidate(&state, user_id).await;
    leptos_axum::redirect("/templates");
    Ok(copy)
}

#[server(endpoint = "templates/delete")]
pub async fn delete_template(id: Uuid) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    ssr::repo::delete(&state.pool, user_id, id).await?;
    ssr::cache::invalidate(&state, user_id).await;
    leptos_axum::redirect("/templates");
    Ok(())
}

/// The body as formatted HTML, placeholders shown as written, for the editor's
/// live preview. The same Markdown pipeline as saving.
#[server(endpoint = "templates/preview")]
pub async fn preview_template(subject: String, body: String) -> Result<String, AppError> {
    crate::limits::signed_in_for(crate::limits::Costly::Preview).await?;
    let subject = if subject.trim().is_empty() {
        "(no subject)".to_string()
    } else {
        subject
    };
    // The same limits as saving.
    let subject = ssr::input::subject(&subject).map_err(|m| AppError::field("subject", m))?;
    let body = ssr::input::markdown(&body).map_err(|m| AppError::field("body", m))?;
    ssr::body::preview(&subject, &body).map_err(|e| AppError::field(e.field, e.message))
}
