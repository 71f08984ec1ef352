//! Server-only parts of campaigns (docs/campaigns.md).

pub mod edit;
pub mod plan;
pub mod recipients;
pub mod replies;
pub mod repo;
pub mod rules;
pub mod schedule;
pub mod start;
pub mod view;
