//! Server-only parts of the queue.

pub mod composing;
pub mod imports;
pub mod merging;
pub mod repo;
pub mod upload;
pub mod zone;
