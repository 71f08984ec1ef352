//! Server-only parts of templates.

pub mod body;
pub mod cache;
pub mod input;
pub mod repo;
