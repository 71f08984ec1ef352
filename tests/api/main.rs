//! Integration tests: a real server on a random port, a fresh database per test
//! (`#[sqlx::test]`), and a random Redis key prefix per spawned app.

mod abuse;
mod accounts;
mod campaigns;
mod compose;
mod delivery;
mod files;
mod google;
mod helpers;
mod instances;
mod lists;
mod merge;
mod outages;
mod replies;
mod rules;
mod security;
mod templates;
mod trust;
mod unsubscribe;
