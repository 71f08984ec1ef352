//! Server-only parts of stop on reply (docs/replies.md): the Gmail reads, the
//! classification, one read of a mailbox, the claim check and the loop.

pub mod budget;
pub mod check;
pub mod classify;
pub mod correct;
pub mod gmail;
pub mod read;
pub mod reader;
pub mod repo;
