//! Server-only parts of authentication.

pub mod password;
pub mod session;
pub mod session_store;
pub mod throttle;
pub mod users;

use crate::state::AppState;
use leptos::prelude::*;

/// The application state, provided to every server function by `leptos_routes`.
pub fn state() -> AppState {
    expect_context::<AppState>()
}

/// The client's address as a per-IP limit counts it (an IPv6 client by its /64),
/// taking `TRUSTED_PROXY_HOPS` into account.
pub async fn client_ip() -> Option<String> {
    let parts = use_context::<axum::http::request::Parts>()?;
    crate::server::client_ip::limit_key_of(&parts, state().config.limits.trusted_proxy_hops)
}
