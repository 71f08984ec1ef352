//! Settings: the Gmail connection, and how the user's mail is paced (time zone,
//! daily cap, gap between sends).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Gmail allows about 500 a day for consumer accounts and 2,000 for Workspace.
pub const MAX_DAILY_CAP: i32 = 2_000;
pub const MAX_GAP_SECONDS: i32 = 3_600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GmailView {
    pub email: String,
    /// none, connected or disconnected.
    pub status: String,
    pub scopes: Vec<String>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub time_zone: String,
    pub daily_send_cap: i32,
    pub send_gap_seconds: i32,
    /// gmail, smtp or outbox.
    pub transport: String,
    /// Where the outbox writes, when that is the transport.
    pub outbox_dir: Option<String>,
    pub gmail: Option<GmailView>,
    /// Recipients sent to in the last 24 hours (what the cap counts).
    pub sent_last_24h: i64,
    /// Stop on reply (with Gmail only).
    pub replies: Option<crate::replies::RepliesView>,
}

/// Whether "Sign in with Google" is offered (a Google client is configured).
#[server(endpoint = "google/enabled")]
pub async fn google_enabled() -> Result<bool, AppError> {
    Ok(crate::auth::ssr::state().google.is_some())
}

#[server(endpoint = "settings/get")]
pub async fn get_settings() -> Result<SettingsView, AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    ssr::load(&state, user_id).await
}

#[server(endpoint = "settings/save")]
pub async fn save_settings(
    time_zone: String,
    daily_send_cap: String,
    send_gap_seconds: String,
) -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let mut errors = crate::error::FieldErrors::default();
    let zone = errors.check("time_zone", parse_zone(&time_zone));
    let cap = errors.check("daily_send_cap", parse_cap(&daily_send_cap));
    let gap = errors.check("send_gap_seconds", parse_gap(&send_gap_seconds));
    let (Some(zone), Some(cap), Some(gap)) = (zone, cap, gap) else {
        return Err(errors.into_error());
    };
    ssr::save(&state, user_id, &zone, cap, gap).await?;
    leptos_axum::redirect("/settings?saved=1");
    Ok(())
}

/// Revokes our access at Google, then forgets the tokens.
#[server(endpoint = "settings/disconnect")]
pub async fn disconnect_gmail() -> Result<(), AppError> {
    let (state, user_id) = crate::auth::ssr::session::signed_in().await?;
    let revoked = ssr::disconnect(&state, user_id).await?;
    leptos_axum::redirect(if revoked {
        "/settings?gmail=disconnected"
    } else {
        "/settings?gmail=disconnected_unrevoked"
    });
    Ok(())
}

#[cfg(feature = "ssr")]
fn parse_zone(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    match jiff::tz::TimeZone::get(name) {
        Ok(_) if !name.is_empty() => Ok(name.to_string()),
        _ => Err("Choose a time zone such as Europe/Berlin or America/New_York.".into()),
    }
}

pub fn parse_cap(raw: &str) -> Result<i32, String> {
    match raw.trim().parse::<i32>() {
        Ok(n) if (1..=MAX_DAILY_CAP).contains(&n) => Ok(n),
        _ => Err(format!(
            "Enter a whole number from 1 to {MAX_DAILY_CAP} (Gmail allows about 500 a day, 2,000 for Workspace)."
        )),
    }
}

pub fn parse_gap(raw: &str) -> Result<i32, String> {
    match raw.trim().parse::<i32>() {
        Ok(n) if (0..=MAX_GAP_SECONDS).contains(&n) => Ok(n),
        _ => Err(format!(
            "Enter a number of seconds from 0 to {MAX_GAP_SECONDS}."
        )),
    }
}

/// What the settings page says for `?gmail=<code>` after a Google round trip.
pub fn gmail_message(code: &str) -> Option<(bool, &'static str)> {
    Some(match code {
        "connected" => (
            true,
            "Gmail is connected. Your queued mail will go out from it.",
        ),
        "disconnected" => (
            true,
            "Gmail is disconnected, and MailMerger's access was revoked at Google.",
        ),
        "disconnected_unrevoked" => (
            false,
            "Gmail is disconnected here, but Google could not be reached to revoke our access. Remove MailMerger at myaccount.google.com/permissions.",
        ),
        "missing_scope" => (
            false,
            "Gmail is not connected: you did not allow \"Send email on your behalf\". Connect again and leave that box ticked.",
        ),
        "no_refresh_token" => (
            false,
            "Google did not give MailMerger lasting access. Remove MailMerger at myaccount.google.com/permissions, then connect again.",
        ),
        "other_user" => (
            false,
            "That Google account is already linked to another MailMerger account.",
        ),
        "denied" => (
            false,
            "Gmail was not connected: you cancelled on Google's page.",
        ),
        "not_configured" => (
            false,
            "Google is not set up on this server (no GOOGLE_CLIENT_ID).",
        ),
        "failed" => (
            false,
            "Google could not be reached or refused the request. Please try again.",
        ),
        _ => return None,
    })
}

#[cfg(feature = "ssr")]
pub mod ssr;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked() {
        assert_eq!(parse_cap(" 400 "), Ok(400));
        assert!(
            parse_cap("0").is_err() && parse_cap("5000").is_err() && parse_cap("lots").is_err()
        );
        assert_eq!(parse_gap("0"), Ok(0));
        assert!(parse_gap("-1").is_err());
    }

    #[test]
    fn every_connect_outcome_has_words() {
        for code in [
            "connected",
            "missing_scope",
            "no_refresh_token",
            "other_user",
            "denied",
            "failed",
        ] {
            assert!(gmail_message(code).is_some(), "{code}");
        }
        assert!(gmail_message("<script>").is_none());
    }
}
