//! When campaign mail may go: send windows (days of the week and hours, in a
//! time zone) and follow-up delays counted in calendar days, so a follow-up
//! "3 days later" goes at the same local time across a DST change
//! (docs/campaigns.md, "Schedule"). Pure functions: the claim-time check, the
//! scheduling of the next step and the plan all use these.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};
use time::OffsetDateTime;

/// Minutes in a day: a window may end at midnight (24:00).
pub const DAY: u16 = 24 * 60;

/// Days of the week (Monday first) and the hours of each of them that mail may
/// go in, local to some time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    days: [bool; 7],
    /// Minutes after midnight: `start < end <= DAY`.
    start: u16,
    end: u16,
}

/// The part of a window a message may go in: from `not_before` until
/// `not_after` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Window {
    /// Every day, all day.
    pub fn always() -> Window {
        Window {
            days: [true; 7],
            start: 0,
            end: DAY,
        }
    }

    pub fn new(days: [bool; 7], start: u16, end: u16) -> Result<Window, &'static str> {
        if !days.contains(&true) {
            return Err("Choose at least one day of the week.");
        }
        if end > DAY || start >= end {
            return Err("The window must end after it starts, on the same day.");
        }
        Ok(Window { days, start, end })
    }

    pub fn days(&self) -> [bool; 7] {
        self.days
    }

    /// The days as stored: bit 0 Monday … bit 6 Sunday.
    pub fn day_bits(&self) -> i16 {
        self.days
            .iter()
            .enumerate()
            .filter(|(_, on)| **on)
            .map(|(i, _)| 1i16 << i)
            .sum()
    }

    /// A window as stored (`campaigns.window_days`, `window_start`, `window_end`).
    pub fn from_stored(bits: i16, start: i16, end: i16) -> Result<Window, &'static str> {
        let mut days = [false; 7];
        for (i, day) in days.iter_mut().enumerate() {
            *day = bits & (1 << i) != 0;
        }
        let minutes = |m: i16| u16::try_from(m).map_err(|_| "The window's hours are out of range.");
        Window::new(days, minutes(start)?, minutes(end)?)
    }

    pub fn hours(&self) -> (u16, u16) {
        (self.start, self.end)
    }

    /// The first time at or after `at` that the window is open in `zone`, and
    /// when that opening closes. A local time that does not exist (the hour a
    /// clock skips) is read as the time after the gap.
    pub fn next_slot(&self, zone: &TimeZone, at: OffsetDateTime) -> Slot {
        let at_ts = timestamp(at);
        let local = at_ts.to_zoned_datetime(zone.clone());
        // Eight days always hold an open day (one is chosen) whose close is
        // after `at`.
        for offset in 0..8i64 {
            let Ok(day) = local.date().checked_add(offset.days()) else {
                break;
            };
            let weekday = day.weekday().to_monday_zero_offset() as usize;
            if !self.days[weekday] {
                continue;
            }
            let open = minute_of(zone, day, self.start);
            let close = minute_of(zone, day, self.end);
            if at_ts < close {
                return Slot {
                    not_before: offset_date_time(open.max(at_ts)),
                    not_after: offset_date_time(close),
                };
            }
        }
        // Unreachable with a valid window; never send outside one.
        Slot {
            not_before: at + time::Duration::weeks(1),
            not_after: at + time::Duration::weeks(1),
        }
    }

    /// Whether mail may go at `at`.
    pub fn is_open(&self, zone: &TimeZone, at: OffsetDateTime) -> bool {
        self.next_slot(zone, at).not_before == at
    }
}

/// The same local time `days` calendar days after `at`, in `zone`: across a DST
/// change that is 23 or 25 hours a day, not 24.
pub fn days_later(zone: &TimeZone, at: OffsetDateTime, days: i64) -> OffsetDateTime {
    let local: ZonedDateTime = timestamp(at).to_zoned_datetime(zone.clone());
    match local.checked_add(days.days()) {
        Ok(later) => offset_date_time(later.timestamp()),
        Err(_) => at + time::Duration::days(days),
    }
}

/// The calendar day `at` falls on in `zone`.
pub fn local_date(zone: &TimeZone, at: OffsetDateTime) -> jiff::civil::Date {
    timestamp(at).to_zoned_datetime(zone.clone()).date()
}

/// Midnight plus `minutes` on `day` in `zone`; 24:00 is the next midnight.
fn minute_of(zone: &TimeZone, day: jiff::civil::Date, minutes: u16) -> Timestamp {
    let (day, minutes) = if minutes >= DAY {
        (day.tomorrow().unwrap_or(day), 0)
    } else {
        (day, minutes)
    };
    let civil = day.at((minutes / 60) as i8, (minutes % 60) as i8, 0, 0);
    zone.to_ambiguous_zoned_datetime(civil)
        .compatible()
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(t.unix_timestamp_nanos()).unwrap_or(Timestamp::MIN)
}

fn offset_date_time(t: Timestamp) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(t.as_nanosecond())
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_is_stored_as_day_bits_and_minutes() {
        let w = Window::new([true, false, true, false, true, false, true], 540, 1020).unwrap();
        assert_eq!(w.day_bits(), 1 + 4 + 16 + 64);
        assert_eq!(Window::from_stored(w.day_bits(), 540, 1020), Ok(w));
        assert!(Window::from_stored(0, 540, 1020).is_err());
        assert!(Window::from_stored(1, -1, 1020).is_err());
    }
    use time::macros::datetime;

    const WEEKDAYS: [bool; 7] = [true, true, true, true, true, false, false];

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    #[test]
    fn a_tokyo_working_day_window_holds_mail_to_tokyo_s_hours() {
        let tokyo = zone("Asia/Tokyo");
        let window = Window::new(WEEKDAYS, 9 * 60, 17 * 60).unwrap();
        // Tue 1 Dec 10:00 in Tokyo: open now, until 17:00 there.
        let now = datetime!(2026-12-01 01:00 UTC);
        assert_eq!(
            window.next_slot(&tokyo, now),
            Slot {
                not_before: now,
                not_after: datetime!(2026-12-01 08:00 UTC)
            }
        );
        assert!(window.is_open(&tokyo, now));
        // Fri 4 Dec 17:30 in Tokyo: closed until Monday 09:00 there.
        let friday_evening = datetime!(2026-12-04 08:30 UTC);
        assert!(!window.is_open(&tokyo, friday_evening));
        assert_eq!(
            window.next_slot(&tokyo, friday_evening),
            Slot {
                not_before: datetime!(2026-12-07 00:00 UTC),
                not_after: datetime!(2026-12-07 08:00 UTC)
            }
        );
        // 03:00 in Tokyo: not before 09:00 the same day.
        assert_eq!(
            window
                .next_slot(&tokyo, datetime!(2026-12-02 18:00 UTC))
                .not_before,
            datetime!(2026-12-03 00:00 UTC)
        );
    }

    #[test]
    fn three_days_later_is_the_same_local_time_across_a_dst_change() {
        let berlin = zone("Europe/Berlin");
        // Fri 23 Oct 2026 10:00 CEST (UTC+2); summer time ends on Sun 25 Oct.
        let sent = datetime!(2026-10-23 08:00 UTC);
        // Mon 26 Oct 10:00 CET (UTC+1): 73 hours later, not 72.
        assert_eq!(
            days_later(&berlin, sent, 3),
            datetime!(2026-10-26 09:00 UTC)
        );
        assert_eq!(
            days_later(&zone("UTC"), sent, 3),
            datetime!(2026-10-26 08:00 UTC)
        );
    }

    #[test]
    fn a_window_opening_in_the_skipped_hour_opens_after_it() {
        let berlin = zone("Europe/Berlin");
        // Sun 29 Mar 2026: clocks go from 02:00 to 03:00.
        let window = Window::new([true; 7], 2 * 60 + 30, 6 * 60).unwrap();
        let slot = window.next_slot(&berlin, datetime!(2026-03-28 23:00 UTC));
        assert_eq!(slot.not_before, datetime!(2026-03-29 01:30 UTC)); // 03:30 CEST
        assert_eq!(slot.not_after, datetime!(2026-03-29 04:00 UTC)); // 06:00 CEST
    }

    #[test]
    fn a_window_to_midnight_and_always_are_open_when_they_say() {
        let utc = zone("UTC");
        let evening = Window::new([true; 7], 18 * 60, DAY).unwrap();
        assert_eq!(
            evening
                .next_slot(&utc, datetime!(2026-12-01 23:59 UTC))
                .not_after,
            datetime!(2026-12-02 00:00 UTC)
        );
        assert!(Window::always().is_open(&utc, datetime!(2026-12-06 03:00 UTC)));
    }

    #[test]
    fn a_window_must_have_a_day_and_end_after_it_starts() {
        assert!(Window::new([false; 7], 9 * 60, 17 * 60).is_err());
        assert!(Window::new(WEEKDAYS, 17 * 60, 9 * 60).is_err());
        assert!(Window::new(WEEKDAYS, 9 * 60, 9 * 60).is_err());
        assert!(Window::new(WEEKDAYS, 0, DAY + 1).is_err());
    }
}
