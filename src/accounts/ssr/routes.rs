//! The pages of the links we mail, and "Forgot your password?": plain pages
//! outside Leptos (no script, so they cost the bundle nothing and work
//! anywhere), posting plain forms to themselves.
//!
//! A link opened by GET only shows a button: mail scanners open links, and
//! only the POST uses the link up. These pages send `Referrer-Policy:
//! no-referrer`, so the token in their URL never leaves in a `Referer`
//! (docs/accounts.md, "Links").

use super::Verified;
use crate::auth::ssr::session;
use crate::domain::{EmailAddress, Password};
use crate::error::AppError;
use crate::server::unavailable::{count_bad_link, escape, plain_page};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tower_sessions::Session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/verify/{token}", get(show_verify).post(verify))
        .route("/reset/{token}", get(show_reset).post(reset))
        .route("/forgot", get(show_forgot).post(forgot))
        .route("/account/verify/resend", post(resend))
        .route("/account/claimed", get(claimed))
        .route("/account/export", get(export))
}

/// A page of ours that must not tell anyone where it was (its URL may hold a
/// link's token).
fn private(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

fn page(status: StatusCode, title: &str, inner: &str) -> Response {
    private(plain_page(status, title, inner))
}

/// Where the product's own mail lands when no mail server is set up: said on
/// every page that says "we sent you a link", as nobody receives it otherwise.
fn outbox_note(state: &AppState) -> String {
    match state.system_mail.outbox() {
        Some(dir) => format!(
            r#"<p class="hint">This server has no mail server for its own mail, so the message was saved as a <code>.eml</code> file in <code>{}</code> on the server.</p>"#,
            escape(&dir.display().to_string())
        ),
        None => String::new(),
    }
}

/// A labelled field as `TextField` renders it, with its error beside it.
fn field(
    label: &str,
    name: &str,
    kind: &str,
    autocomplete: &str,
    hint: Option<&str>,
    value: &str,
    error: Option<&str>,
) -> String {
    let id = format!("field-{name}");
    let hint_html = hint
        .map(|h| format!(r#"<p class="hint" id="{id}-hint">{}</p>"#, escape(h)))
        .unwrap_or_default();
    let described = if hint.is_some() {
        format!("{id}-hint {id}-error")
    } else {
        format!("{id}-error")
    };
    format!(
        r#"<div class="field{invalid}"><label for="{id}">{label}</label>{hint_html}<input id="{id}" type="{kind}" name="{name}" value="{value}" autocomplete="{autocomplete}" aria-invalid="{aria}" aria-describedby="{described}"><p class="field-error" id="{id}-error">{error}</p></div>"#,
        invalid = if error.is_some() { " invalid" } else { "" },
        label = escape(label),
        value = escape(value),
        aria = error.is_some(),
        error = escape(error.unwrap_or("")),
    )
}

async fn dead_link(state: &AppState, parts: &Parts, what: &str, again: &str) -> Response {
    if let Some(refused) = count_bad_link(state, parts).await {
        return private(refused);
    }
    page(
        StatusCode::NOT_FOUND,
        "This link does not work",
        &format!(
            "<p>This {what} link was already used, has expired, or was not copied whole.</p><p>{again}</p>"
        ),
    )
}

fn failed(e: AppError) -> Response {
    private(e.into_response())
}

// --- verification -----------------------------------------------------------------------

async fn show_verify(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
) -> Response {
    use super::links::{self, Purpose};
    let mut conn = match state.pool.acquire().await {
        Ok(c) => c,
        Err(e) => return failed(e.into()),
    };
    let link = match links::find(
        &mut conn,
        &token,
        &[Purpose::Verify, Purpose::ChangeEmail],
        false,
    )
    .await
    {
        Ok(l) => l,
        Err(e) => return failed(e.into()),
    };
    drop(conn);
    let Some(link) = link else {
        return dead_link(
            &state,
            &parts,
            "verification",
            r#"<a href="/dashboard">Go to MailMerger</a> to send a new one."#,
        )
        .await;
    };
    let (title, ask, button) = match link.purpose {
        Purpose::ChangeEmail => (
            "Confirm your new address",
            "Use this address for your MailMerger account from now on?",
            "Use this address",
        ),
        _ => (
            "Verify your email address",
            "Confirm that this address is yours?",
            "Verify my address",
        ),
    };
    page(
        StatusCode::OK,
        title,
        &format!(
            r#"<p>{ask}</p><p><strong>{email}</strong></p>
<form method="post" action=""><button type="submit" class="primary">{button}</button></form>"#,
            email = escape(&link.email),
        ),
    )
}

async fn verify(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
) -> Response {
    match super::verify(&state, &token).await {
        Ok(Some(Verified::Address)) => page(
            StatusCode::OK,
            "Your address is verified",
            r#"<p>Thank you. Mail can now go out from this address.</p><p><a class="button primary" href="/dashboard">Go to MailMerger</a></p>"#,
        ),
        Ok(Some(Verified::NewAddress(email))) => page(
            StatusCode::OK,
            "Your address is changed",
            &format!(
                r#"<p>Your account now uses <strong>{}</strong>. Log in with it from now on.</p><p><a class="button primary" href="/settings">Go to Settings</a></p>"#,
                escape(&email)
            ),
        ),
        Ok(None) => {
            dead_link(
                &state,
                &parts,
                "verification",
                r#"<a href="/dashboard">Go to MailMerger</a> to send a new one."#,
            )
            .await
        }
        Err(AppError::BadRequest(message)) => page(
            StatusCode::CONFLICT,
            "Your address is not changed",
            &format!(
                r#"<p>{}</p><p><a href="/settings">Go to Settings</a></p>"#,
                escape(&message)
            ),
        ),
        Err(e) => failed(e),
    }
}

// --- password reset ---------------------------------------------------------------------

const RESET_AGAIN: &str = r#"<a href="/forgot">Ask for a new link</a>."#;

fn reset_form(error: Option<&str>) -> String {
    format!(
        r#"<form method="post" action="" class="stack" novalidate>
{field}
<button type="submit" class="primary">Set new password</button>
</form>
<p class="aside">Setting it logs you out everywhere, and we mail you a notice.</p>"#,
        field = field(
            "New password",
            "password",
            "password",
            "new-password",
            Some("At least 8 characters. A few words make a good password."),
            "",
            error,
        )
    )
}

async fn show_reset(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
) -> Response {
    match super::reset_link_open(&state, &token).await {
        Ok(true) => page(StatusCode::OK, "Choose a new password", &reset_form(None)),
        Ok(false) => dead_link(&state, &parts, "password reset", RESET_AGAIN).await,
        Err(e) => failed(e),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn reset(
    State(state): State<AppState>,
    parts: Parts,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let password = match Password::parse(form.password) {
        Ok(p) => p,
        Err(message) => {
            // The link is not used up by a password that does not do.
            return match super::reset_link_open(&state, &token).await {
                Ok(true) => page(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Choose a new password",
                    &reset_form(Some(&message)),
                ),
                Ok(false) => dead_link(&state, &parts, "password reset", RESET_AGAIN).await,
                Err(e) => failed(e),
            };
        }
    };
    match super::reset(&state, &token, password).await {
        Ok(true) => private(Redirect::to("/login?reset=done").into_response()),
        Ok(false) => dead_link(&state, &parts, "password reset", RESET_AGAIN).await,
        Err(e) => failed(e),
    }
}

// --- forgot password --------------------------------------------------------------------

fn forgot_form(value: &str, error: Option<&str>) -> String {
    format!(
        r#"<p>Enter the address of your account, and we mail you a link to choose a new password.</p>
<form method="post" action="/forgot" class="stack" novalidate>
{field}
<button type="submit" class="primary">Send the link</button>
</form>
<p class="aside"><a href="/login">Back to log in</a></p>"#,
        field = field("Email", "email", "email", "username", None, value, error),
    )
}

async fn show_forgot() -> Response {
    page(
        StatusCode::OK,
        "Forgot your password?",
        &forgot_form("", None),
    )
}

#[derive(Deserialize)]
struct EmailForm {
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    parts: Parts,
    Form(form): Form<EmailForm>,
) -> Response {
    let email = form.email.trim();
    let shown: String = email.chars().take(254).collect();
    if let Err(message) = EmailAddress::parse(email) {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Forgot your password?",
            &forgot_form(&shown, Some(&message)),
        );
    }
    let ip = crate::server::client_ip::limit_key_of(&parts, state.config.limits.trusted_proxy_hops);
    match super::forgot(&state, email, ip.as_deref()).await {
        Ok(()) => page(
            StatusCode::OK,
            "Check your email",
            &format!(
                r#"<p>If an account uses <strong>{}</strong>, we have sent it a link to choose a new password. The link works for one hour.</p>{}<p class="aside"><a href="/login">Back to log in</a></p>"#,
                escape(&shown),
                outbox_note(&state)
            ),
        ),
        Err(e @ AppError::RateLimited { .. }) => {
            let mut res = page(
                StatusCode::TOO_MANY_REQUESTS,
                "Forgot your password?",
                &forgot_form(&shown, Some(&e.to_string())),
            );
            if let AppError::RateLimited { retry_after } = e
                && let Ok(v) = HeaderValue::from_str(&retry_after.to_string())
            {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Err(e) => failed(e),
    }
}

// --- signed in ----------------------------------------------------------------------------

async fn resend(State(state): State<AppState>, session: Session) -> Response {
    let user = match session::load_user(&state, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => return Redirect::to("/login?next=%2Fdashboard").into_response(),
        Err(e) => return failed(e),
    };
    if user.email_verified {
        return Redirect::to("/dashboard").into_response();
    }
    match super::resend_verification(&state, user.id).await {
        Ok(()) => page(
            StatusCode::OK,
            "We sent you a new link",
            &format!(
                r#"<p>We sent a new link to <strong>{}</strong>. It works for 24 hours; earlier links still work until they expire.</p>{}<p><a href="/dashboard">Back to MailMerger</a></p>"#,
                escape(&user.email),
                outbox_note(&state)
            ),
        ),
        Err(e @ AppError::RateLimited { .. }) => page(
            StatusCode::TOO_MANY_REQUESTS,
            "No new link yet",
            &format!(
                r#"<p>{}</p><p><a href="/dashboard">Back to MailMerger</a></p>"#,
                escape(&e.to_string())
            ),
        ),
        Err(e) => failed(e),
    }
}

/// Every page of an unverified account under `SIGNUP=domains`: it can do
/// nothing until the address is verified.
pub fn verify_first(state: &AppState, user: &crate::domain::UserView) -> Response {
    page(
        StatusCode::OK,
        "Verify your email address",
        &format!(
            r#"<p>Before you can use MailMerger here, open the link we sent to <strong>{}</strong>.</p>{}
<form method="post" action="/account/verify/resend" class="inline-form"><button type="submit" class="primary">Send the link again</button></form>
<form method="post" action="/api/logout" class="inline-form"><button type="submit">Log out</button></form>"#,
            escape(&user.email),
            outbox_note(state)
        ),
    )
}

/// The session key under which a claim leaves what it did for this page.
pub const CLAIMED_KEY: &str = "claimed";

/// After a Google sign-in claimed an unverified account: what the account
/// already held, so nothing planted in it goes unnoticed.
async fn claimed(State(state): State<AppState>, session: Session) -> Response {
    let user = match session::load_user(&state, &session).await {
        Ok(Some(u)) => u,
        Ok(None) => return Redirect::to("/login").into_response(),
        Err(e) => return failed(e),
    };
    let what: super::claim::Claimed = session
        .get(CLAIMED_KEY)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let templates = crate::templates::ssr::repo::list(&state.pool, user.id).await;
    let files = crate::files::ssr::repo::list(&state.pool, user.id).await;
    let (Ok(templates), Ok(files)) = (templates, files) else {
        return crate::server::unavailable_page();
    };
    let templates: Vec<String> = templates.into_iter().map(|t| t.name).collect();
    let files: Vec<String> = files.into_iter().map(|f| f.name).collect();
    let list = |items: &[String], none: &str| {
        if items.is_empty() {
            format!("<p class=\"muted\">{none}</p>")
        } else {
            format!(
                "<ul>{}</ul>",
                items
                    .iter()
                    .map(|i| format!("<li>{}</li>", escape(i)))
                    .collect::<String>()
            )
        }
    };
    let removed = what
        .removed_google
        .map(|g| {
            format!(
                "<li>The Google account {} it was connected to was removed, and its access revoked.</li>",
                escape(&g)
            )
        })
        .unwrap_or_default();
    page(
        StatusCode::OK,
        "This account is yours now",
        &format!(
            r#"<p>Someone had created an account with <strong>{email}</strong> but never verified it. Google confirmed the address is yours, so the account is now yours alone:</p>
<ul><li>Its password was removed, and everyone logged in to it was logged out.</li>{removed}<li>{mail} queued messages and {campaigns} campaigns were cancelled.</li><li>Its open verification and reset links no longer work.</li></ul>
<p>It already held these. Delete anything you did not make.</p>
<h2>Templates</h2>{templates}
<h2>Files</h2>{files}
<p><a class="button primary" href="/templates">Review templates</a> <a class="button" href="/files">Review files</a> <a href="/dashboard">Go to the dashboard</a></p>"#,
            email = escape(&user.email),
            mail = what.cancelled_mail,
            campaigns = what.cancelled_campaigns,
            templates = list(&templates, "No templates."),
            files = list(&files, "No files."),
        ),
    )
}

/// Zips made per account per window: each reads every message and file.
pub const EXPORTS_PER_USER: u64 = 3;

/// "Download my data".
async fn export(State(state): State<AppState>, session: Session) -> Response {
    let user = match session::load_user(&state, &session).await {
        Ok(Some(u)) if session::may_act(&state, &u) => u,
        Ok(Some(u)) => return verify_first(&state, &u),
        Ok(None) => return Redirect::to("/login?next=%2Fsettings").into_response(),
        Err(e) => return failed(e),
    };
    let key = state.keys.account_attempts("export", &user.id.to_string());
    if let Err(e) =
        crate::limits::allow(&state.redis, &key, EXPORTS_PER_USER, super::MAIL_WINDOW).await
    {
        return failed(e);
    }
    let file = match super::export::build(&state, user.id).await {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let len = file.metadata().map(|m| m.len()).ok();
    let day = time::OffsetDateTime::now_utc().date();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(file),
    ));
    let mut res = Response::new(body);
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"mailmerger-data-{day}.zip\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some(len) = len
        && let Ok(v) = HeaderValue::from_str(&len.to_string())
    {
        headers.insert(header::CONTENT_LENGTH, v);
    }
    tracing::info!(user_id = %user.id, bytes = len.unwrap_or(0), "data exported");
    res
}
