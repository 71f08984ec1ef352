//! Unsubscribe and suppression: one-click unsubscribe links in messages, and
//! each user's suppression list, which every send checks when it is claimed
//! (docs/unsubscribe.md).

use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
pub mod ssr;

/// How an address got on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// The recipient used the link in a message.
    Unsubscribed,
    /// The user added it on the Suppression page.
    Added,
    /// The user imported it from a CSV file.
    Imported,
    /// Mail to it bounced.
    Bounced,
}

impl Reason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "unsubscribed",
            Reason::Added => "added",
            Reason::Imported => "imported",
            Reason::Bounced => "bounced",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [
            Reason::Unsubscribed,
            Reason::Added,
            Reason::Imported,
            Reason::Bounced,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// What the Suppression page says.
    pub const fn label(self) -> &'static str {
        match self {
            Reason::Unsubscribed => "Unsubscribed",
            Reason::Added => "Added by you",
            Reason::Imported => "Imported",
            Reason::Bounced => "Bounced",
        }
    }
}

/// One entry of the list, for the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionView {
    pub address: String,
    pub reason: Reason,
    /// "1 Dec 2026"
    pub since: String,
    /// RFC 3339, for the export.
    pub since_iso: String,
}

/// A page of the suppression list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionPage {
    pub rows: Vec<SuppressionView>,
    /// Matching the search.
    pub total: i64,
    pub search: String,
    pub page: i64,
    pub pages: i64,
}

/// Rows per page of the list.
pub const PAGE_SIZE: i64 = 50;

/// The most addresses one import may hold.
pub const MAX_IMPORT_ROWS: usize = 50_000;

#[server(endpoint = "suppression/list")]
pub async fn list_suppressions(
    #[server(default)] search: String,
    #[server(default)] page: i64,
) -> Result<SuppressionPage, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let page = page.max(1);
    let search: String = search.trim().chars().take(254).collect();
    let (rows, total) = ssr::repo::page(
        &state.pool,
        user_id,
        &search,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await?;
    Ok(SuppressionPage {
        rows,
        total,
        search,
        page,
        pages: (total + PAGE_SIZE - 1) / PAGE_SIZE,
    })
}

/// Adds an address by hand; back to the list saying so, or with the error
/// next to the field.
#[server(endpoint = "suppression/add")]
pub async fn add_suppression(address: String) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let back = match crate::domain::EmailAddress::parse(&address) {
        Ok(a) => {
            let mut conn = state.pool.acquire().await?;
            let added =
                ssr::repo::add(&mut conn, user_id, &[a.normalized()], Reason::Added).await?;
            let key = if added > 0 { "added" } else { "already" };
            format!("/suppression?{key}={}", ssr::query(&a.normalized()))
        }
        Err(message) => format!(
            "/suppression?error={}&address={}",
            ssr::query(&message),
            ssr::query(address.chars().take(254).collect::<String>().as_str())
        ),
    };
    leptos_axum::redirect(&back);
    Ok(())
}

/// Takes an address off the list: the user's mail may reach it again.
#[server(endpoint = "suppression/remove")]
pub async fn remove_suppression(address: String) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let removed = ssr::repo::remove(&state.pool, user_id, address.trim()).await?;
    if !removed {
        return Err(AppError::NotFound);
    }
    leptos_axum::redirect(&format!(
        "/suppression?removed={}",
        ssr::query(&address.trim().to_lowercase())
    ));
    Ok(())
}

/// Imports addresses from a CSV file (a column called email or address, or
/// the first column). Back to the list with what was added and which lines were
/// not addresses.
#[server(endpoint = "suppression/import", input = MultipartFormData)]
pub async fn import_suppressions(data: MultipartData) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let back = match crate::limits::per_user(&state, user_id, crate::limits::Costly::Upload).await {
        Ok(()) => match ssr::import::import(&state, user_id, data).await? {
            Ok(report) => report.query(),
            Err(message) => format!("/suppression?import_error={}", ssr::query(&message)),
        },
        Err(e @ AppError::RateLimited { .. }) => {
            format!("/suppression?import_error={}", ssr::query(&e.to_string()))
        }
        Err(e) => return Err(e),
    };
    leptos_axum::redirect(&back);
    Ok(())
}
