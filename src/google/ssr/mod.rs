//! Server-only parts of Google: the OAuth client, the account and token store,
//! and the sign-in / connect routes.

pub mod accounts;
pub mod client;
pub mod routes;
