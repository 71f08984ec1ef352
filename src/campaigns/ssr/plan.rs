//! The plan shown before a campaign starts: messages a day, when step 1
//! finishes, when the last follow-up can go. It runs the claim's own
//! arithmetic (`emails::allot`: the pace and the rolling daily cap) and the
//! windows and delays of `schedule`, over a simulated clock, assuming mean gaps,
//! no errors, no replies and no other mail from the account (docs/campaigns.md,
//! "The plan").

use super::schedule::{Window, days_later};
use crate::config::DeliveryConfig;
use crate::domain::UserId;
use crate::emails::allot::{Account, Candidate, allot, pace};
use jiff::tz::TimeZone;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// What the plan assumes about the account.
pub struct Sender<'a> {
    pub config: &'a DeliveryConfig,
    pub daily_cap: i64,
    pub gap_seconds: i32,
    /// Where days are counted for "a day".
    pub zone: TimeZone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub messages: u64,
    /// Messages on an ordinary sending day (the median of days that send).
    pub per_day: u64,
    pub step1_done: OffsetDateTime,
    pub last: OffsetDateTime,
}

/// A message the simulation has yet to send: due, which recipient, which step.
type Pending = Reverse<(OffsetDateTime, u32, u8)>;

/// Follow-ups and first steps, each by due time: a claim takes due follow-ups
/// before due first steps, as the claim does (`claim_order`).
#[derive(Default)]
struct Queue([BinaryHeap<Pending>; 2]);

impl Queue {
    fn push(&mut self, due: OffsetDateTime, r: u32, step: u8) {
        self.0[usize::from(step == 1)].push(Reverse((due, r, step)));
    }

    fn earliest(&self) -> Option<OffsetDateTime> {
        self.0.iter().filter_map(|h| h.peek().map(|p| p.0.0)).min()
    }

    /// The next message due at `now`, follow-ups first.
    fn pop_due(&mut self, now: OffsetDateTime) -> Option<(u32, u8)> {
        for heap in &mut self.0 {
            if heap.peek().is_some_and(|p| p.0.0 <= now) {
                return heap.pop().map(|Reverse((_, r, step))| (r, step));
            }
        }
        None
    }
}

/// Plans `zones.len()` recipients (each in its zone) through step 1 and the
/// follow-ups `delays` days apart, from `start`.
pub fn plan(
    sender: &Sender<'_>,
    window: &Window,
    zones: &[TimeZone],
    delays: &[i16],
    start: OffsetDateTime,
) -> Option<Plan> {
    if zones.is_empty() {
        return None;
    }
    let steps = 1 + delays.len() as u8;
    let mut pending = Queue::default();
    for (i, z) in zones.iter().enumerate() {
        pending.push(window.next_slot(z, start).not_before, i as u32, 1);
    }
    let id = UserId::from_uuid(Uuid::nil());
    // Recipients claimed, by when (the rolling 24 hours of the cap).
    let mut ledger: VecDeque<(OffsetDateTime, i64)> = VecDeque::new();
    let mut used = 0i64;
    let mut slot = start;
    let mut now = start;
    let mut sent_per_day: BTreeMap<jiff::civil::Date, u64> = BTreeMap::new();
    let (mut messages, mut step1_done, mut last) = (0u64, start, start);
    // A guard against a window or cap that never lets anything go.
    for _ in 0..10_000_000u64 {
        let Some(due) = pending.earliest() else {
            break;
        };
        now = now.max(slot).max(due);
        while let Some(&(at, n)) = ledger.front() {
            if at + Duration::hours(24) > now {
                break;
            }
            used -= n;
            ledger.pop_front();
        }
        let pace = pace(sender.config, sender.gap_seconds, now, 0.5);
        let mut batch: Vec<(u32, u8)> = Vec::new();
        while (batch.len() as i64) < pace.burst {
            let Some((r, step)) = pending.pop_due(now) else {
                break;
            };
            let opening = window.next_slot(&zones[r as usize], now).not_before;
            if opening > now {
                // The claim-time check: wait for the next opening.
                pending.push(opening, r, step);
                continue;
            }
            batch.push((r, step));
        }
        if batch.is_empty() {
            continue;
        }
        let account = Account {
            id,
            cap: sender.daily_cap,
            used,
            oldest: ledger.front().map(|(at, _)| *at),
            next_slot: pace.next,
        };
        let candidates: Vec<Candidate> = batch
            .iter()
            .enumerate()
            .map(|(i, _)| Candidate {
                id: Uuid::from_u128(i as u128),
                user_id: id,
                recipients: 1,
            })
            .collect();
        let allotment = allot(&[account], &candidates, now);
        let taken = allotment.take.len();
        for (i, &(r, step)) in batch.iter().enumerate() {
            if i >= taken {
                pending.push(now, r, step);
                continue;
            }
            messages += 1;
            last = now;
            if step == 1 {
                step1_done = step1_done.max(now);
            }
            let day = super::schedule::local_date(&sender.zone, now);
            *sent_per_day.entry(day).or_default() += 1;
            if step < steps {
                let zone = &zones[r as usize];
                let delay = delays[(step - 1) as usize] as i64;
                let due = window
                    .next_slot(zone, days_later(zone, now, delay))
                    .not_before;
                pending.push(due, r, step + 1);
            }
        }
        if taken > 0 {
            used += taken as i64;
            ledger.push_back((now, taken as i64));
        }
        if let Some((_, at)) = allotment.park.first() {
            slot = *at;
        }
    }
    let mut days: Vec<u64> = sent_per_day.into_values().collect();
    days.sort_unstable();
    Some(Plan {
        messages,
        per_day: days.get(days.len() / 2).copied().unwrap_or(0),
        step1_done,
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pacing: bool) -> DeliveryConfig {
        DeliveryConfig {
            enabled: true,
            workers: 1,
            batch_size: 50,
            max_attempts: 8,
            pacing,
            gmail_units_per_minute: 6_000,
            sends_per_minute: 54,
            lease: std::time::Duration::from_secs(150),
            shutdown_grace: std::time::Duration::from_secs(8),
        }
    }

    #[test]
    fn the_daily_cap_sets_the_pace_and_follow_ups_wait_their_days() {
        let zone = TimeZone::get("Europe/Berlin").unwrap();
        let config = config(true);
        let sender = Sender {
            config: &config,
            daily_cap: 60,
            gap_seconds: 0,
            zone: zone.clone(),
        };
        // Monday to Friday, 9:00 to 17:00.
        let window = Window::new([true, true, true, true, true, false, false], 540, 1020).unwrap();
        // Monday 30 Nov 2026, 08:00 in Berlin.
        let start = time::macros::datetime!(2026-11-30 07:00 UTC);
        let zones = vec![zone.clone(); 150];
        let p = plan(&sender, &window, &zones, &[3, 3], start).unwrap();
        assert_eq!(p.messages, 450);
        assert_eq!(p.per_day, 60);
        // 150 at 60 a day: Monday, Tuesday, and the last 30 on Wednesday 2 Dec.
        assert_eq!(p.step1_done.date(), time::macros::date!(2026 - 12 - 02));
        // Every send inside the window, in Berlin (UTC+1 in December).
        for t in [p.step1_done, p.last] {
            let hour = t.hour() + 1;
            assert!((9..17).contains(&hour), "{t}");
        }
        // The last follow-up: no earlier than six days after the last step 1,
        // on a weekday, after the cap let everything through.
        assert!(p.last >= p.step1_done + Duration::days(6), "{p:?}");
        assert!(p.last.weekday().number_days_from_monday() < 5, "{p:?}");
    }

    #[test]
    fn without_pacing_or_cap_pressure_everything_goes_at_the_openings() {
        let zone = TimeZone::get("Asia/Tokyo").unwrap();
        let config = config(false);
        let sender = Sender {
            config: &config,
            daily_cap: 10_000,
            gap_seconds: 0,
            zone: zone.clone(),
        };
        let window = Window::always();
        let start = time::macros::datetime!(2026-12-01 00:00 UTC);
        let p = plan(&sender, &window, &vec![zone; 1_000], &[2], start).unwrap();
        assert_eq!(p.messages, 2_000);
        assert_eq!(p.step1_done, start);
        assert_eq!(p.last, start + Duration::days(2));
        assert!(plan(&sender, &window, &[], &[2], start).is_none());
    }
}
