//! The claim's arithmetic, apart from its SQL: how fast each account may send
//! (the pace), how a claim's batch is shared between accounts, and which of an
//! account's due messages fit its rolling daily cap (docs/delivery.md, "Pacing"
//! and "The daily cap"). Pure functions, so that the promises are tested here
//! case by case and over many random cases.

use crate::config::DeliveryConfig;
use crate::domain::UserId;
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// One account's pace for a claim: at most `burst` messages now, and no more
/// before `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub burst: i64,
    pub next: OffsetDateTime,
}

/// The pace of one account, which stays under Gmail's per-user quota and keeps
/// the user's gap between sends. `jitter` in `[0, 1)` spreads a user's gap over
/// 50–150 % of its setting.
///
/// Bursts of `b` at least `60 s / floor(p / b)` apart: any 60-second window of
/// claims then holds at most `floor(p / b)` bursts, at most `p` sends, with every
/// instance claiming from the same `pace_next_at`. Sends reach Gmail a little
/// after their claim and not all equally late, so a window at Gmail can catch one
/// burst more; `b` is at most the headroom between the pace and the quota, so
/// even then the quota holds.
pub fn pace(config: &DeliveryConfig, gap_seconds: i32, now: OffsetDateTime, jitter: f64) -> Slot {
    if !config.pacing {
        return Slot {
            burst: config.batch_size,
            next: now,
        };
    }
    let per_minute = config.sends_per_minute.max(1) as i64;
    let quota = (config.gmail_units_per_minute / crate::config::GMAIL_SEND_UNITS) as i64;
    let spacing_ms = |burst: i64| 60_000 / (per_minute / burst).max(1) + 1;
    if gap_seconds > 0 {
        // One at a time, a random gap of 50–150 % of the setting apart.
        let gap_ms = (gap_seconds as f64 * 1000.0 * (0.5 + jitter)) as i64;
        Slot {
            burst: 1,
            next: now + Duration::milliseconds(gap_ms.max(spacing_ms(1))),
        }
    } else {
        // Small bursts: a sixth of the pace, at most the headroom and at most 10.
        let burst = (per_minute / 6)
            .min(quota - per_minute)
            .clamp(1, 10)
            .min(config.batch_size.max(1));
        Slot {
            burst,
            next: now + Duration::milliseconds(spacing_ms(burst)),
        }
    }
}

/// How many messages each account may take from one claim of `budget`: its
/// burst, in the order given (the account waiting longest first), until the
/// budget runs out. An account that gets nothing keeps its place (its pace is
/// not moved), so it comes first in the next claim.
pub fn share(bursts: &[i64], budget: i64) -> Vec<i64> {
    let mut left = budget.max(0);
    bursts
        .iter()
        .map(|&b| {
            let take = b.max(0).min(left);
            left -= take;
            take
        })
        .collect()
}

/// An account in a claim: its daily cap (recipients per rolling 24 hours), the
/// recipients claimed in the last 24 hours, when the oldest of those claims
/// counts until (the end of its minute: `usage.rs`), and its next pace slot.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: UserId,
    pub cap: i64,
    pub used: i64,
    pub oldest: Option<OffsetDateTime>,
    pub next_slot: OffsetDateTime,
}

/// A message that may be claimed, in the order the account's messages are due.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub id: Uuid,
    pub user_id: UserId,
    pub recipients: i64,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Allotment {
    /// The messages to claim, in the candidates' order.
    pub take: Vec<Uuid>,
    /// Accounts' next pace slots: after a send, the slot after this one; at the
    /// cap with nothing sent, when the oldest claim leaves the 24 hours.
    pub park: Vec<(UserId, OffsetDateTime)>,
    /// Which of those were parked at their cap.
    pub at_cap: Vec<UserId>,
}

/// Which candidates fit their account's cap. An account's messages go in order
/// and stop at the first that does not fit, so a large message is not passed by
/// later small ones for ever. Candidates of accounts not listed are not taken.
pub fn allot(accounts: &[Account], candidates: &[Candidate], now: OffsetDateTime) -> Allotment {
    let mut used: HashMap<UserId, i64> = accounts.iter().map(|a| (a.id, a.used)).collect();
    let caps: HashMap<UserId, i64> = accounts.iter().map(|a| (a.id, a.cap)).collect();
    let mut capped: HashMap<UserId, bool> = HashMap::new();
    let mut sent: HashMap<UserId, bool> = HashMap::new();
    let mut take = Vec::new();
    for c in candidates {
        let (Some(&cap), Some(u)) = (caps.get(&c.user_id), used.get_mut(&c.user_id)) else {
            continue;
        };
        if capped.contains_key(&c.user_id) {
            continue;
        }
        if *u + c.recipients > cap {
            capped.insert(c.user_id, true);
            continue;
        }
        *u += c.recipients;
        sent.insert(c.user_id, true);
        take.push(c.id);
    }
    let mut at_cap = Vec::new();
    let park = accounts
        .iter()
        .filter_map(|a| {
            if sent.contains_key(&a.id) {
                Some((a.id, a.next_slot))
            } else if capped.contains_key(&a.id) {
                at_cap.push(a.id);
                Some((a.id, a.oldest.unwrap_or(now) + Duration::hours(24)))
            } else {
                None
            }
        })
        .collect();
    Allotment { take, park, at_cap }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn config(pacing: bool, gmail_units_per_minute: u64, sends_per_minute: u64) -> DeliveryConfig {
        DeliveryConfig {
            enabled: true,
            workers: 1,
            batch_size: 50,
            max_attempts: 8,
            pacing,
            gmail_units_per_minute,
            sends_per_minute,
            lease: std::time::Duration::from_secs(150),
            shutdown_grace: std::time::Duration::from_secs(8),
        }
    }

    /// Random cases from a fixed seed: a failure names its case and reruns alike.
    fn cases(n: usize) -> impl Iterator<Item = (usize, StdRng)> {
        (0..n).map(|i| (i, StdRng::seed_from_u64(0x6d61_696c ^ i as u64)))
    }

    #[test]
    fn pacing_keeps_each_account_under_gmail_s_quota_and_the_user_s_gap() {
        let now = OffsetDateTime::now_utc();
        // 6,000 units: a pace of 54 a minute, bursts of 6 every 6.67 s.
        let s = pace(&config(true, 6_000, 54), 0, now, 0.5);
        assert_eq!((s.burst, s.next - now), (6, Duration::milliseconds(6_667)));
        // A 60 s gap: one at a time, 30–90 s apart.
        for jitter in [0.0, 0.25, 0.5, 0.999] {
            let s = pace(&config(true, 6_000, 54), 60, now, jitter);
            assert_eq!(s.burst, 1);
            assert!((30..=90).contains(&(s.next - now).whole_seconds()));
        }
        // Pacing off: a whole batch, no wait.
        let s = pace(&config(false, 6_000, 54), 60, now, 0.5);
        assert_eq!((s.burst, s.next), (50, now));
    }

    #[test]
    fn property_the_pace_never_exceeds_itself_or_the_quota_and_is_not_far_below() {
        let now = OffsetDateTime::now_utc();
        for (case, mut rng) in cases(5_000) {
            // Any quota from 2 sends a minute up; the pace at 90 % of it, as
            // config.rs derives it.
            let units: u64 = rng.gen_range(200..=200_000);
            let per_minute = (units / 100 * 9 / 10).max(1);
            let s = pace(&config(true, units, per_minute), 0, now, 0.5);
            let bursts = 60_000 / (s.next - now).whole_milliseconds() as i64 + 1;
            let quota = (units / 100) as i64;
            assert!(
                s.burst >= 1 && s.burst <= 10,
                "case {case}: burst {}",
                s.burst
            );
            // Claims: never more than the pace in any minute...
            assert!(
                s.burst * bursts <= per_minute as i64,
                "case {case} ({units} units): {} x {bursts}",
                s.burst
            );
            // ...and at Gmail, where a window may catch one burst more, within
            // the quota (a pace of one at a time is at most a minute's quota).
            assert!(
                s.burst * (bursts + 1) <= quota || s.burst == 1,
                "case {case} ({units} units): {} x {} over {quota}",
                s.burst,
                bursts + 1
            );
            // Not far below the pace (whole bursts in whole slots lose a little).
            assert!(
                s.burst * bursts * 10 >= per_minute as i64 * 6 || per_minute < 6,
                "case {case} ({units} units): only {} of {per_minute}",
                s.burst * bursts
            );
        }
    }

    #[test]
    fn the_batch_goes_to_the_longest_waiting_accounts_first() {
        assert_eq!(share(&[6, 6, 6], 50), [6, 6, 6]);
        assert_eq!(share(&[6, 6, 6], 10), [6, 4, 0]);
        assert_eq!(share(&[6, 6], 0), [0, 0]);
    }

    #[test]
    fn property_the_share_is_within_the_batch_and_each_burst_and_fair_in_order() {
        for (case, mut rng) in cases(10_000) {
            let n = rng.gen_range(0..40);
            let bursts: Vec<i64> = (0..n).map(|_| rng.gen_range(1..=10)).collect();
            let budget = rng.gen_range(0..=200);
            let got = share(&bursts, budget);
            assert_eq!(got.len(), bursts.len());
            let total: i64 = got.iter().sum();
            assert!(
                total <= budget,
                "case {case}: {total} over the batch {budget}"
            );
            assert_eq!(
                total,
                budget.min(bursts.iter().sum()),
                "case {case}: the batch not used"
            );
            for (i, (&g, &b)) in got.iter().zip(&bursts).enumerate() {
                assert!((0..=b).contains(&g), "case {case}: {g} of a burst of {b}");
                // Short only when the batch ran out: nobody after it got any.
                if g < b {
                    assert!(got[i + 1..].iter().all(|&x| x == 0), "case {case}: {got:?}");
                }
            }
        }
    }

    fn account(cap: i64, used: i64, now: OffsetDateTime) -> Account {
        Account {
            id: UserId::from_uuid(Uuid::new_v4()),
            cap,
            used,
            oldest: Some(now - Duration::hours(3)),
            next_slot: now + Duration::seconds(7),
        }
    }

    #[test]
    fn an_account_stops_at_its_cap_and_waits_for_its_oldest_send_to_age_out() {
        let now = OffsetDateTime::now_utc();
        let a = account(10, 7, now);
        let b = account(10, 0, now);
        let msg = |user: &Account, recipients| Candidate {
            id: Uuid::new_v4(),
            user_id: user.id,
            recipients,
        };
        // a: 2 fit, then 3 does not, and the 1 after it waits its turn.
        let c = [msg(&a, 2), msg(&a, 3), msg(&a, 1), msg(&b, 4)];
        let got = allot(&[a.clone(), b.clone()], &c, now);
        assert_eq!(got.take, [c[0].id, c[3].id]);
        assert_eq!(got.park, [(a.id, a.next_slot), (b.id, b.next_slot)]);
        assert!(got.at_cap.is_empty(), "both sent: parked for their pace");
        // At the cap with nothing taken: parked until 24 hours after the oldest.
        let full = account(10, 10, now);
        let got = allot(std::slice::from_ref(&full), &[msg(&full, 1)], now);
        assert!(got.take.is_empty());
        assert_eq!(got.park, [(full.id, now + Duration::hours(21))]);
        assert_eq!(got.at_cap, [full.id]);
        // No candidates: nothing moves.
        assert_eq!(
            allot(std::slice::from_ref(&b), &[], now),
            Allotment::default()
        );
    }

    #[test]
    fn property_no_account_goes_over_its_cap_and_order_is_kept() {
        let now = OffsetDateTime::now_utc();
        for (case, mut rng) in cases(5_000) {
            let accounts: Vec<Account> = (0..rng.gen_range(1..8))
                .map(|_| {
                    let cap = rng.gen_range(1..=500);
                    account(cap, rng.gen_range(0..=cap), now)
                })
                .collect();
            let mut candidates = Vec::new();
            for a in &accounts {
                for _ in 0..rng.gen_range(0..12) {
                    candidates.push(Candidate {
                        id: Uuid::new_v4(),
                        user_id: a.id,
                        recipients: rng.gen_range(1..=100),
                    });
                }
            }
            let got = allot(&accounts, &candidates, now);
            for a in &accounts {
                let mine: Vec<&Candidate> =
                    candidates.iter().filter(|c| c.user_id == a.id).collect();
                let taken: Vec<&&Candidate> =
                    mine.iter().filter(|c| got.take.contains(&c.id)).collect();
                let recipients: i64 = taken.iter().map(|c| c.recipients).sum();
                assert!(a.used + recipients <= a.cap, "case {case}: over the cap");
                // What is taken is a prefix of the account's messages, and the
                // first one left out did not fit.
                assert!(
                    mine.iter()
                        .take(taken.len())
                        .all(|c| got.take.contains(&c.id)),
                    "case {case}: a later message passed an earlier one"
                );
                if let Some(next) = mine.get(taken.len()) {
                    assert!(
                        a.used + recipients + next.recipients > a.cap,
                        "case {case}: left one that fits"
                    );
                }
                let parked = got.park.iter().find(|(id, _)| *id == a.id).map(|p| p.1);
                let expected = if !taken.is_empty() {
                    Some(a.next_slot)
                } else if !mine.is_empty() {
                    Some(a.oldest.unwrap() + Duration::hours(24))
                } else {
                    None
                };
                assert_eq!(parked, expected, "case {case}");
            }
        }
    }
}
