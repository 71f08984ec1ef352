//! Claim-time checks: named rules asked, inside the claim's transaction and with
//! its rows locked, first about the accounts that may send (before the batch is
//! shared, so a held account takes no share of it), then about the messages the
//! claim is about to take. A check answers with verdicts; the claim applies them
//! and never needs to know why. New rules (send windows, a paused campaign,
//! suppressed recipients, a suspended sender) are new checks here, not edits to
//! the claim's SQL.

use super::allot::{Account, Candidate};
use crate::config::TransportKind;
use crate::domain::UserId;
use async_trait::async_trait;
use sqlx::PgConnection;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// What a claim is about to take.
pub struct ClaimContext<'a> {
    /// The claim's one time (every check and the claim's SQL use it).
    pub now: OffsetDateTime,
    pub transport: TransportKind,
    /// The accounts with due mail whose pace allows a send now (when asked about
    /// messages: those no check held).
    pub accounts: &'a [Account],
    /// The due messages, in the order they would go; empty when asked about
    /// accounts.
    pub candidates: &'a [Candidate],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// None of this account's mail goes now, and the account is not looked at
    /// again before `until`, unless something lifts the hold first
    /// (`emails::release`).
    HoldAccount {
        user_id: UserId,
        until: OffsetDateTime,
    },
    /// This message stays queued and is not due before `until`; no attempt is
    /// counted.
    Defer { id: Uuid, until: OffsetDateTime },
    /// This message cannot go as it is; the user sees `reason` on the Sent page.
    Fail { id: Uuid, reason: String },
    /// This message must not go to its recipient at all: it ends `suppressed`,
    /// and the user sees `reason` on the Sent page.
    Suppress { id: Uuid, reason: String },
    /// These Cc or Bcc addresses (lowercased) are taken off the message, which
    /// goes to the rest; Sent lists what was dropped.
    DropRecipients { id: Uuid, addresses: Vec<String> },
    /// This message is no longer wanted (its campaign was cancelled, its
    /// recipient replied): it ends `cancelled`, saying why.
    Cancel { id: Uuid, reason: String },
}

#[async_trait]
pub trait ClaimCheck: Send + Sync {
    /// Names the check in logs.
    fn name(&self) -> &'static str;

    /// About whole accounts, before their messages are picked: a check that
    /// holds an account answers here.
    async fn accounts(
        &self,
        _conn: &mut PgConnection,
        _claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        Ok(Vec::new())
    }

    /// About the messages picked for the accounts not held.
    async fn messages(
        &self,
        _conn: &mut PgConnection,
        _claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        Ok(Vec::new())
    }
}

pub fn standard_checks() -> Vec<Arc<dyn ClaimCheck>> {
    vec![Arc::new(SenderConnected), Arc::new(FitsDailyCap)]
}

/// How long a disconnected account's mail waits before it is looked at again;
/// connecting Gmail releases it at once.
pub const DISCONNECTED_RECHECK: Duration = Duration::minutes(5);

/// Through Gmail, an account sends only while its Gmail is connected; its mail
/// waits (queued, nothing counted) until it is connected again.
pub struct SenderConnected;

#[async_trait]
impl ClaimCheck for SenderConnected {
    fn name(&self) -> &'static str {
        "sender_connected"
    }

    async fn accounts(
        &self,
        conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        if claim.transport != TransportKind::Gmail || claim.accounts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<UserId> = claim.accounts.iter().map(|a| a.id).collect();
        let held = sqlx::query_scalar!(
            r#"SELECT u.id AS "id!: UserId" FROM unnest($1::uuid[]) AS u(id)
               WHERE NOT EXISTS (SELECT 1 FROM google_accounts g
                                 WHERE g.user_id = u.id AND g.gmail_status = 'connected')"#,
            &ids as &[UserId]
        )
        .fetch_all(conn)
        .await?;
        Ok(held
            .into_iter()
            .map(|user_id| Verdict::HoldAccount {
                user_id,
                until: claim.now + DISCONNECTED_RECHECK,
            })
            .collect())
    }
}

pub const TOO_MANY_RECIPIENTS: &str = "This message has more recipients than your daily sending limit allows. Raise the limit in Settings or split the recipients.";

/// A message with more recipients than its account may send in a day would wait
/// for ever: it fails, saying so.
pub struct FitsDailyCap;

#[async_trait]
impl ClaimCheck for FitsDailyCap {
    fn name(&self) -> &'static str {
        "fits_daily_cap"
    }

    async fn messages(
        &self,
        _conn: &mut PgConnection,
        claim: &ClaimContext<'_>,
    ) -> Result<Vec<Verdict>, sqlx::Error> {
        Ok(claim
            .candidates
            .iter()
            .filter(|c| {
                claim
                    .accounts
                    .iter()
                    .find(|a| a.id == c.user_id)
                    .is_some_and(|a| c.recipients > a.cap)
            })
            .map(|c| Verdict::Fail {
                id: c.id,
                reason: TOO_MANY_RECIPIENTS.into(),
            })
            .collect())
    }
}

/// What the claim does with the verdicts: the candidates that remain, the
/// accounts held (with until when), the messages deferred and those failed.
#[derive(Debug, Default)]
pub(super) struct Applied {
    pub remaining: Vec<Candidate>,
    pub held: Vec<(UserId, OffsetDateTime)>,
    pub deferred: Vec<(Uuid, OffsetDateTime)>,
    pub failed: Vec<(Uuid, String)>,
    pub suppressed: Vec<(Uuid, String)>,
    pub cancelled: Vec<(Uuid, String)>,
    /// Messages that go, to fewer recipients: (id, a dropped address).
    pub dropped: Vec<(Uuid, String)>,
}

/// Folds the verdicts: a held account keeps none of its candidates; a message
/// suppressed is suppressed whatever else was said, then one cancelled is
/// cancelled, one failed fails, one
/// deferred waits; of two holds or deferrals the later wins. Dropped recipients
/// apply to a message that still goes.
pub(super) fn apply(candidates: &[Candidate], verdicts: Vec<Verdict>) -> Applied {
    use std::collections::HashMap;
    let mut held: HashMap<UserId, OffsetDateTime> = HashMap::new();
    let mut deferred: HashMap<Uuid, OffsetDateTime> = HashMap::new();
    let mut failed: HashMap<Uuid, String> = HashMap::new();
    let mut suppressed: HashMap<Uuid, String> = HashMap::new();
    let mut cancelled: HashMap<Uuid, String> = HashMap::new();
    let mut dropped: HashMap<Uuid, Vec<String>> = HashMap::new();
    for v in verdicts {
        match v {
            Verdict::HoldAccount { user_id, until } => {
                let e = held.entry(user_id).or_insert(until);
                *e = (*e).max(until);
            }
            Verdict::Defer { id, until } => {
                let e = deferred.entry(id).or_insert(until);
                *e = (*e).max(until);
            }
            Verdict::Fail { id, reason } => {
                failed.entry(id).or_insert(reason);
            }
            Verdict::Suppress { id, reason } => {
                suppressed.entry(id).or_insert(reason);
            }
            Verdict::DropRecipients { id, addresses } => {
                dropped.entry(id).or_default().extend(addresses);
            }
            Verdict::Cancel { id, reason } => {
                cancelled.entry(id).or_insert(reason);
            }
        }
    }
    let mut out = Applied::default();
    for c in candidates {
        if held.contains_key(&c.user_id) {
            continue;
        }
        if let Some(reason) = suppressed.remove(&c.id) {
            out.suppressed.push((c.id, reason));
        } else if let Some(reason) = cancelled.remove(&c.id) {
            out.cancelled.push((c.id, reason));
        } else if let Some(reason) = failed.remove(&c.id) {
            out.failed.push((c.id, reason));
        } else if let Some(until) = deferred.remove(&c.id) {
            out.deferred.push((c.id, until));
        } else {
            if let Some(mut gone) = dropped.remove(&c.id) {
                gone.sort();
                gone.dedup();
                out.dropped.extend(gone.into_iter().map(|a| (c.id, a)));
            }
            out.remaining.push(*c);
        }
    }
    out.held = held.into_iter().collect();
    out.held.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_hold_whole_accounts_and_fail_before_they_defer() {
        let now = OffsetDateTime::now_utc();
        let (a, b) = (
            UserId::from_uuid(Uuid::new_v4()),
            UserId::from_uuid(Uuid::new_v4()),
        );
        let c = |user_id| Candidate {
            id: Uuid::new_v4(),
            user_id,
            recipients: 1,
        };
        let cs = [c(a), c(a), c(b), c(b), c(b)];
        let later = now + Duration::hours(1);
        let applied = apply(
            &cs,
            vec![
                Verdict::HoldAccount {
                    user_id: a,
                    until: now,
                },
                Verdict::HoldAccount {
                    user_id: a,
                    until: later,
                },
                Verdict::Defer {
                    id: cs[2].id,
                    until: later,
                },
                Verdict::Defer {
                    id: cs[3].id,
                    until: later,
                },
                Verdict::Fail {
                    id: cs[3].id,
                    reason: "no".into(),
                },
                // About a message not in the claim: nothing.
                Verdict::Fail {
                    id: Uuid::new_v4(),
                    reason: "other".into(),
                },
            ],
        );
        assert_eq!(applied.held, [(a, later)]);
        assert_eq!(applied.deferred, [(cs[2].id, later)]);
        assert_eq!(applied.failed, [(cs[3].id, "no".to_string())]);
        assert_eq!(
            applied.remaining.iter().map(|c| c.id).collect::<Vec<_>>(),
            [cs[4].id]
        );
    }

    #[test]
    fn a_suppressed_message_ends_suppressed_and_dropped_recipients_go_with_one_that_goes() {
        let user = UserId::from_uuid(Uuid::new_v4());
        let c = || Candidate {
            id: Uuid::new_v4(),
            user_id: user,
            recipients: 2,
        };
        let cs = [c(), c(), c()];
        let applied = apply(
            &cs,
            vec![
                Verdict::Fail {
                    id: cs[0].id,
                    reason: "too big".into(),
                },
                Verdict::Suppress {
                    id: cs[0].id,
                    reason: "unsubscribed".into(),
                },
                Verdict::DropRecipients {
                    id: cs[1].id,
                    addresses: vec!["b@x.io".into(), "a@x.io".into(), "a@x.io".into()],
                },
                // Dropped from a message that does not go: nothing to drop.
                Verdict::DropRecipients {
                    id: cs[0].id,
                    addresses: vec!["c@x.io".into()],
                },
            ],
        );
        assert_eq!(applied.suppressed, [(cs[0].id, "unsubscribed".to_string())]);
        assert!(applied.failed.is_empty());
        assert_eq!(
            applied.dropped,
            [
                (cs[1].id, "a@x.io".to_string()),
                (cs[1].id, "b@x.io".to_string())
            ]
        );
        assert_eq!(
            applied.remaining.iter().map(|c| c.id).collect::<Vec<_>>(),
            [cs[1].id, cs[2].id]
        );
    }
}
