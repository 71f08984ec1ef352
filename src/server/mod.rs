//! The HTTP server: start-up, the router and its middleware.

mod api_status;
pub mod client_ip;
mod headers;
mod health;
mod login_gate;
pub mod multipart;
pub mod request_id;
mod same_origin;
pub mod startup;
#[cfg(feature = "fake-google")]
mod test_controls;
pub mod unavailable;
pub mod upkeep;

pub use unavailable::page as unavailable_page;

use crate::app::{App, shell};
use crate::auth::ssr::session_store::PrefixedRedisStore;
use crate::state::AppState;
use axum::Router;
use axum::routing::get;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::SessionManagerLayer;
use tower_sessions::cookie::SameSite;

pub const SESSION_COOKIE: &str = "mm_session";
/// The cookie's name on https: the `__Host-` prefix makes browsers refuse it
/// unless it is `Secure`, for this host only, on `/`.
pub const SECURE_SESSION_COOKIE: &str = "__Host-mm_session";

pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// Paths that carry a token (unsubscribe, verification and reset links) are
/// logged without it.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    const TOKEN_PATHS: &[&str] = &["/u/", "/verify/", "/reset/"];
    match TOKEN_PATHS.iter().find(|p| path.starts_with(**p)) {
        Some(prefix) => format!("{prefix}…").into(),
        None => path.into(),
    }
}

/// The whole application: pages, server functions, health checks and middleware.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let sessions = SessionManagerLayer::new(PrefixedRedisStore::new(
        state.redis.clone(),
        state.keys.clone(),
    ))
    .with_name(session_cookie_name(state.config.is_https()))
    .with_http_only(true)
    .with_same_site(SameSite::Lax)
    .with_secure(state.config.is_https())
    .with_expiry(crate::auth::ssr::session::idle_expiry(
        state.config.session_idle,
    ))
    // Saved when changed; `renew_session` changes it once per renewal interval,
    // so the inactivity deadline moves with the visits without a write per
    // request.
    .with_always_save(false);

    let trace = TraceLayer::new_for_http()
        // The path only: query strings can carry OAuth codes and other secrets.
        .make_span_with(|req: &axum::http::Request<_>| {
            let id = req
                .headers()
                .get(request_id::HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let path = loggable_path(req.uri().path());
            tracing::info_span!("http", method = %req.method(), path = %path, request_id = %id)
        })
        .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG));

    let raw = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::endpoint))
        .merge(crate::google::ssr::routes::routes())
        .merge(crate::files::ssr::download::routes())
        .merge(crate::unsubscribe::ssr::routes::routes())
        .merge(crate::unsubscribe::ssr::import::routes())
        .merge(crate::accounts::ssr::routes::routes());
    #[cfg(feature = "fake-google")]
    let raw = raw.merge(test_controls::routes());
    raw.leptos_routes_with_context(&state, routes, headers::provide_page_policy, {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    })
    .fallback(leptos_axum::file_and_error_handler_with_context::<
        AppState,
        _,
    >(headers::provide_page_policy, shell))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        login_gate::login_gate,
    ))
    .layer(axum::middleware::from_fn(api_status::api_status))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        renew_session,
    ))
    .layer(sessions)
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        same_origin::same_origin,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        headers::security_headers,
    ))
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        crate::metrics::track,
    ))
    .layer(trace)
    // Outermost, so the log span and every error carry the id.
    .layer(axum::middleware::from_fn_with_state(
        state.clone(),
        request_id::request_id,
    ))
    .with_state(state)
}

/// Gives a stored session a new idle deadline when it is due
/// (`auth::ssr::session::renew`).
async fn renew_session(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(session) = req.extensions().get::<tower_sessions::Session>().cloned() {
        crate::auth::ssr::session::renew(&session, state.config.session_idle).await;
    }
    next.run(req).await
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY a response written in pieces (a streamed page) waits
    // for the client's delayed ACK: about 40 ms a page under load.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// SIGINT and SIGTERM, caught from the moment this is called: a signal that
/// arrives while the server is still starting is not lost (nor does it kill the
/// process outright, as the default action would).
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    #[cfg(unix)]
    let mut interrupt =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        #[cfg(unix)]
        {
            let term = async {
                match terminate.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match interrupt.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => {},
                _ = int => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: no new claims, finishing in-flight work");
    }
}

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn unsubscribe_tokens_never_reach_the_request_log() {
        assert_eq!(loggable_path("/u/AQIDBAUGBwgJCgsMDQ4PEA"), "/u/…");
        assert_eq!(loggable_path("/u/"), "/u/…");
        assert_eq!(loggable_path("/verify/AQID"), "/verify/…");
        assert_eq!(loggable_path("/reset/AQID"), "/reset/…");
        assert_eq!(loggable_path("/sent"), "/sent");
        assert_eq!(loggable_path("/files/1/download"), "/files/1/download");
    }
}
