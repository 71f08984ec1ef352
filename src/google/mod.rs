//! Google sign-in and the Gmail connection. The browser sees only what the
//! settings page shows; tokens stay on the server, encrypted.

#[cfg(feature = "ssr")]
pub mod ssr;
