//! Server-only parts of authentication.

pub mod password;
pub mod session;
pub mod session_store;
pub mod throttle;
pub mod users;

use crate::state::AppState;
use axum::extract::ConnectInfo;
use leptos::prelude::*;
use std::net::SocketAddr;

/// The application state, provided to every server function by `leptos_routes`.
pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// The client's IP address: the socket peer, or the first `X-Forwarded-For` hop
/// when `TRUST_FORWARDED_FOR` says a proxy we trust sets it.
pub async fn client_ip() -> Option<String> {
    let parts = use_context::<axum::http::request::Parts>()?;
    if state().config.trust_forwarded_for
        && let Some(forwarded) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    {
        return Some(forwarded.to_string());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}
