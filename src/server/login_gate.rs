//! Sends logged-out visitors of protected pages to `/login?next=…` with a 303,
//! before Leptos starts streaming (after which no status can be set), and puts the
//! logged-in user in the request for the page to use.

use super::unavailable;
use crate::auth::ssr::session::load_user;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// Pages anyone may see.
const PUBLIC_PAGES: &[&str] = &["/", "/login", "/signup"];
/// Pages a logged-in user has no use for.
const GUEST_PAGES: &[&str] = &["/login", "/signup"];

fn is_page(path: &str) -> bool {
    // Server functions check the session themselves; static files and health
    // checks are public.
    !(path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path.starts_with("/auth/")
        // Unsubscribe links: for recipients, who have no account.
        || path.starts_with("/u/")
        // The pages of the links we mail, and "Forgot your password?": plain
        // routes that look at the session themselves (accounts::ssr::routes).
        || path.starts_with("/verify/")
        || path.starts_with("/reset/")
        // (and /account/deleted, a public page of the app)
        || path.starts_with("/account/")
        || path == "/forgot"
        || path == "/metrics"
        || path == "/healthz"
        || path == "/readyz"
        || path == "/favicon.ico"
        || path == "/robots.txt")
}

pub async fn login_gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !matches!(*req.method(), Method::GET | Method::HEAD) || !is_page(&path) {
        return next.run(req).await;
    }
    let public = PUBLIC_PAGES.contains(&path.as_str());
    let has_cookie = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(super::SESSION_COOKIE));
    if public && !has_cookie {
        return next.run(req).await;
    }
    let Some(session) = req.extensions().get::<Session>().cloned() else {
        return next.run(req).await;
    };
    let user = match load_user(&state, &session).await {
        Ok(user) => user,
        // Public pages need neither Postgres nor Redis: serve them anyway.
        Err(_) if public => return next.run(req).await,
        Err(_) => return unavailable::page(),
    };
    match user {
        Some(user) => {
            if GUEST_PAGES.contains(&path.as_str()) {
                return Redirect::to("/dashboard").into_response();
            }
            if !public && !crate::auth::ssr::session::may_act(&state, &user) {
                return crate::accounts::ssr::routes::verify_first(&state, &user);
            }
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        None if public => next.run(req).await,
        None => {
            let wanted = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/dashboard");
            let next_param: String =
                url::form_urlencoded::byte_serialize(wanted.as_bytes()).collect();
            Redirect::to(&format!("/login?next={next_param}")).into_response()
        }
    }
}
