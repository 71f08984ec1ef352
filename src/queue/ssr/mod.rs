//! Server-only parts of the queue page: the progress of what is going out.

pub mod progress;
