//! The merge engine: placeholders, rendering and CSV recipients.
//!
//! The browser gets only the scanner (for the live list of keys). Rendering runs
//! on the server, and previews call the same `render` as sending does, so a
//! preview is exactly what is sent.

pub mod scan;

#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod plan;
#[cfg(feature = "ssr")]
pub mod recipients;
#[cfg(feature = "ssr")]
pub mod render;

pub use scan::{normalize_key, placeholders};
