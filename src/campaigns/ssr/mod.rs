//! Server-only parts of campaigns (docs/campaigns.md).

pub mod schedule;
