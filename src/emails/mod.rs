//! The `emails` table and its state machine, owned here and nowhere else
//! (docs/ARCHITECTURE.md, "The email state machine"; docs/delivery.md).
//!
//! Every write to `emails` is a function of this module: the one way in
//! ([`enqueue`]), the delivery loop's claim and outcomes ([`claim`],
//! [`record`], [`expire_leases`]), and what users do to their messages
//! ([`act`], [`resolve`], [`replace_queued`]). The pages' reads of it are here
//! too ([`read`]), so no other module spells a status in SQL. Other
//! capabilities call these; none writes `emails` SQL of its own.
//!
//! Two extension points keep new capabilities out of the claim's SQL:
//! - [`ClaimCheck`]: a named rule asked, inside the claim's transaction, about
//!   the messages about to be claimed; it may hold an account, defer a message or
//!   fail one (`checks.rs`).
//! - [`OutcomeHook`]: runs inside the transaction that records outcomes, so what
//!   follows from "sent" commits with it (`outcome.rs`).
//!
//! Both live in [`Rules`], one per [`crate::state::AppState`].

mod actions;
pub mod allot;
pub mod campaign;
mod checks;
mod claim;
pub mod clock;
pub mod counts;
mod enqueue;
pub mod keyset;
mod outcome;
pub mod read;
mod usage;

pub use actions::{
    Action, Resolution, Selection, act, cancel_all_queued, found_sent, missing_files,
    rename_pending_attachments, resolve,
};
pub use checks::{ClaimCheck, ClaimContext, Verdict, standard_checks};
pub use claim::{Claimed, claim};
pub use enqueue::{Enqueue, NewEmail, Placement, enqueue, replace_queued};
pub use outcome::{
    CONTENDED, Done, OutcomeHook, Recorded, StepOf, expire_leases, next_event, record,
};
pub use usage::{forget_old as forget_old_usage, last_24h as recipients_last_24h};

use crate::domain::UserId;
use sqlx::PgConnection;
use std::sync::Arc;

/// The Postgres channel the delivery loops LISTEN on.
pub const CHANNEL: &str = "mm_delivery";

/// The rules every claim and every recorded outcome go through.
#[derive(Clone)]
pub struct Rules {
    pub checks: Vec<Arc<dyn ClaimCheck>>,
    pub hooks: Vec<Arc<dyn OutcomeHook>>,
}

impl Rules {
    /// The checks the product ships; no outcome hooks yet (campaigns add the
    /// first: "step k sent" schedules step k+1).
    pub fn standard() -> Rules {
        Rules {
            checks: standard_checks(),
            hooks: Vec::new(),
        }
    }
}

/// Wakes the delivery loops of every instance (`NOTIFY`), when the caller's
/// transaction commits. Postgres folds the notifications of one transaction
/// into one.
pub async fn wake(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_notify('mm_delivery', '')")
        .execute(conn)
        .await?;
    Ok(())
}

/// Lets an account's held mail be looked at again now, and wakes delivery: for
/// whatever lifts a hold ([`Verdict::HoldAccount`]), such as Gmail reconnected
/// or a higher daily limit.
pub async fn release(conn: &mut PgConnection, user_id: UserId) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET pace_next_at = '-infinity', cap_parked = false WHERE id = $1",
        user_id as UserId
    )
    .execute(&mut *conn)
    .await?;
    wake(conn).await
}
