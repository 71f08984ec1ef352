//! "Sign in with Google" and "Connect Gmail": plain forms that post here (so they
//! work without JavaScript and pass the same-origin check), a redirect to Google,
//! and the callback. State and the PKCE verifier wait in the session.
//!
//! Outcomes come back to the pages as short codes (`/login?google=denied`), never
//! as text from the request, so nothing is reflected.

use super::accounts::{self, ConnectOutcome};
use super::client::{Intent, can_read, can_send};
use crate::auth::ssr::session;
use crate::domain::{PersonName, safe_next_path};
use crate::error::AppError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

const FLOW: &str = "google_oauth_flow";
pub const CALLBACK_PATH: &str = "/auth/google/callback";

#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    verifier: String,
    intent: Intent,
    next: Option<String>,
    /// For "Connect Gmail": who asked.
    user_id: Option<crate::domain::UserId>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/google/login", post(start_sign_in))
        .route("/auth/google/connect", post(start_connect))
        .route("/auth/google/replies", post(start_replies))
        .route(CALLBACK_PATH, get(callback))
}

#[derive(Deserialize)]
struct StartForm {
    #[serde(default)]
    next: Option<String>,
}

fn back_to_login(code: &str) -> Response {
    Redirect::to(&format!("/login?google={code}")).into_response()
}

fn back_to_settings(code: &str) -> Response {
    Redirect::to(&format!("/settings?gmail={code}")).into_response()
}

async fn start_sign_in(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<StartForm>,
) -> Response {
    start(&state, &session, Intent::SignIn, form.next, None).await
}

async fn start_connect(State(state): State<AppState>, session: Session) -> Response {
    let user_id = match session::user_id(&session).await {
        Ok(Some(id)) => id,
        Ok(None) => return Redirect::to("/login?next=%2Fsettings").into_response(),
        Err(e) => return e.into_response(),
    };
    start(&state, &session, Intent::Connect, None, Some(user_id)).await
}

/// "Turn on stop on reply": asks Google for `gmail.metadata` as well.
async fn start_replies(State(state): State<AppState>, session: Session) -> Response {
    let user_id = match session::user_id(&session).await {
        Ok(Some(id)) => id,
        Ok(None) => return Redirect::to("/login?next=%2Fsettings").into_response(),
        Err(e) => return e.into_response(),
    };
    start(&state, &session, Intent::Replies, None, Some(user_id)).await
}

async fn start(
    state: &AppState,
    session: &Session,
    intent: Intent,
    next: Option<String>,
    user_id: Option<crate::domain::UserId>,
) -> Response {
    let Some(google) = &state.google else {
        return match intent {
            Intent::SignIn => back_to_login("not_configured"),
            Intent::Connect | Intent::Replies => back_to_settings("not_configured"),
        };
    };
    let login_hint = match user_id {
        Some(id) => accounts::find_for_user(&state.pool, id)
            .await
            .ok()
            .flatten()
            .map(|a| a.email),
        None => None,
    };
    let start = google.authorize_url(intent, login_hint.as_deref());
    let flow = Flow {
        state: start.state,
        verifier: start.verifier,
        intent,
        next: next.as_deref().and_then(safe_next_path).map(str::to_string),
        user_id,
    };
    if user_id.is_none() {
        session.set_expiry(Some(session::idle_expiry(session::PENDING_SIGN_IN)));
    }
    if let Err(e) = session.insert(FLOW, &flow).await {
        return AppError::from(e).into_response();
    }
    Redirect::to(start.url.as_str()).into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn callback(
    State(state): State<AppState>,
    session: Session,
    parts: axum::http::request::Parts,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let client = crate::accounts::ssr::sessions::Client::from_request(
        &parts,
        state.config.limits.trusted_proxy_hops,
    );
    let flow: Option<Flow> = match session.remove(FLOW).await {
        Ok(flow) => flow,
        Err(e) => return AppError::from(e).into_response(),
    };
    // The state must be the one this browser was sent off with.
    let Some(flow) = flow.filter(|f| q.state.as_deref() == Some(f.state.as_str())) else {
        tracing::warn!("OAuth callback with an unknown or missing state");
        return back_to_login("expired");
    };
    let back = |code: &str| match flow.intent {
        Intent::SignIn => back_to_login(code),
        Intent::Connect | Intent::Replies => back_to_settings(code),
    };
    if let Some(error) = q.error {
        tracing::info!(error, "Google consent not given");
        return back(if error == "access_denied" {
            "denied"
        } else {
            "failed"
        });
    }
    let (Some(code), Some(google)) = (q.code, state.google.as_ref()) else {
        return back("failed");
    };
    let tokens = match google.exchange_code(&code, &flow.verifier).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "code exchange failed");
            return back("failed");
        }
    };
    let info = match google.userinfo(&tokens.access_token).await {
        Ok(info) => info,
        Err(e) => {
            tracing::warn!(error = %e, "userinfo failed");
            return back("failed");
        }
    };
    match flow.intent {
        Intent::SignIn => sign_in(&state, &session, &client, info, flow.next).await,
        Intent::Connect | Intent::Replies => {
            // Connect only for the user who started it, still logged in.
            let current = session::user_id(&session).await.ok().flatten();
            let Some(user_id) = flow.user_id.filter(|id| Some(*id) == current) else {
                return back_to_login("expired");
            };
            let sending = can_send(&tokens.scopes);
            match accounts::connect(&state, &state.cipher, user_id, &info, &tokens, sending).await {
                Ok(ConnectOutcome::Connected) if flow.intent == Intent::Replies => {
                    if !can_read(&tokens.scopes) {
                        return Redirect::to("/settings?gmail=connected&replies=missing_scope")
                            .into_response();
                    }
                    match crate::replies::ssr::repo::turn_on(&state.pool, user_id).await {
                        Ok(()) => {
                            tracing::info!(%user_id, "stop on reply turned on");
                            Redirect::to("/settings?replies=on").into_response()
                        }
                        Err(_) => back_to_settings("failed"),
                    }
                }
                Ok(ConnectOutcome::Connected) => {
                    tracing::info!(%user_id, "Gmail connected");
                    back_to_settings("connected")
                }
                Ok(ConnectOutcome::MissingSendScope) => back_to_settings("missing_scope"),
                Ok(ConnectOutcome::NoRefreshToken) => back_to_settings("no_refresh_token"),
                Ok(ConnectOutcome::BelongsToAnotherUser) => back_to_settings("other_user"),
                Err(_) => back_to_settings("failed"),
            }
        }
    }
}

async fn sign_in(
    state: &AppState,
    session: &Session,
    client: &crate::accounts::ssr::sessions::Client,
    info: super::client::UserInfo,
    next: Option<String>,
) -> Response {
    let destination = next.unwrap_or_else(|| "/dashboard".into());
    let user_id = match accounts::find_by_sub(&state.pool, &info.sub).await {
        Ok(Some(account)) => account.user_id,
        Ok(None) => {
            if !info.email_verified {
                return back_to_login("unverified");
            }
            // Never link a verified account by email: it must log in with its
            // password and connect Google from Settings. An unverified one is
            // claimed by the address's owner (docs/accounts.md).
            let normalized = info.email.trim().to_lowercase();
            match crate::auth::ssr::users::find_credentials(&state.pool, &normalized).await {
                Ok(Some(existing)) => {
                    return claim(state, session, client, existing.id, &info).await;
                }
                Ok(None) => {}
                Err(e) => return e.into_response(),
            }
            if !state.config.signup.allows_google(info.hd.as_deref()) {
                return back_to_login(match state.config.signup {
                    crate::config::SignupPolicy::Closed => "signup_closed",
                    _ => "signup_domain",
                });
            }
            let name = info
                .name
                .as_deref()
                .and_then(|n| PersonName::parse(n).ok())
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(|| normalized.split('@').next().unwrap_or("").to_string());
            match accounts::create_user_with_google(&state.pool, &info, &name).await {
                Ok(id) => {
                    tracing::info!(user_id = %id, "account created with Google");
                    id
                }
                Err(_) => return back_to_login("email_taken"),
            }
        }
        Err(e) => return e.into_response(),
    };
    match crate::accounts::ssr::is_suspended(&state.pool, user_id).await {
        Ok(false) => {}
        Ok(true) => return back_to_login("suspended"),
        Err(e) => return e.into_response(),
    }
    if let Err(e) = session::log_in_with(state, session, user_id, client).await {
        return e.into_response();
    }
    if let Err(e) = session::mark_google_sign_in(session).await {
        return e.into_response();
    }
    Redirect::to(&destination).into_response()
}

/// The owner of an address, verified by Google, takes an unverified account
/// registered with it; a verified one is refused as before.
async fn claim(
    state: &AppState,
    session: &Session,
    client: &crate::accounts::ssr::sessions::Client,
    user_id: crate::domain::UserId,
    info: &super::client::UserInfo,
) -> Response {
    use crate::accounts::ssr::{claim, routes::CLAIMED_KEY};
    let claimed = match claim::claim(state, user_id, info).await {
        Ok(Some(c)) => c,
        Ok(None) => return back_to_login("email_taken"),
        Err(e) => return e.into_response(),
    };
    if let Err(e) = session::log_in_with(state, session, user_id, client).await {
        return e.into_response();
    }
    if let Err(e) = session.insert(CLAIMED_KEY, &claimed).await {
        return AppError::from(e).into_response();
    }
    Redirect::to("/account/claimed").into_response()
}
