//! Unsubscribe links, the `/u/` route, the suppression list and its
//! claim-time check (docs/unsubscribe.md).

pub mod check;
pub mod import;
pub mod links;
pub mod repo;
pub mod routes;

/// A value for a query string.
pub fn query(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
