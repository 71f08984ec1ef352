//! Campaigns: a sequence of steps sent to the recipients of a CSV, each
//! follow-up a reply in the first message's Gmail thread, within send windows
//! (docs/campaigns.md). This slice holds the schedule arithmetic the claim, the
//! next step and the plan share; the campaign itself lands on top of it.

#[cfg(feature = "ssr")]
pub mod ssr;
