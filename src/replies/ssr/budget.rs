//! An account's read budget: the quota units reading may spend in any 60
//! seconds, as Google counts them (real time, a sliding minute). Sending
//! paces itself to 90 % of the per-user quota; reads take what is left
//! (docs/replies.md, "The quota").

use time::{Duration, OffsetDateTime};

pub struct Budget {
    limit: u32,
    spent: Vec<(OffsetDateTime, i32)>,
}

impl Budget {
    /// From what the last reads spent (`mailbox_reads.spent_at/_units`).
    pub fn load(at: &[OffsetDateTime], units: &[i32], limit: u32) -> Budget {
        let mut b = Budget {
            limit,
            spent: at.iter().copied().zip(units.iter().copied()).collect(),
        };
        b.trim(OffsetDateTime::now_utc());
        b
    }

    fn trim(&mut self, now: OffsetDateTime) {
        self.spent.retain(|(t, _)| now - *t < Duration::minutes(1));
    }

    /// What is spent in the last minute.
    pub fn used(&self) -> u32 {
        self.spent.iter().map(|(_, u)| *u as u32).sum()
    }

    /// Takes `units` if the last minute leaves room for them.
    pub fn take(&mut self, units: u32) -> bool {
        self.take_at(units, OffsetDateTime::now_utc())
    }

    fn take_at(&mut self, units: u32, now: OffsetDateTime) -> bool {
        self.trim(now);
        if self.used() + units > self.limit {
            return false;
        }
        self.spent.push((now, units as i32));
        true
    }

    /// For storing again.
    pub fn parts(&self) -> (Vec<OffsetDateTime>, Vec<i32>) {
        self.spent.iter().copied().unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sixty_seconds_spend_more_than_the_limit() {
        let t0 = OffsetDateTime::now_utc();
        let mut b = Budget::load(&[], &[], 100);
        let mut spent_at = Vec::new();
        // A read every second for three minutes, 20 units each.
        for s in 0..180 {
            let at = t0 + Duration::seconds(s);
            if b.take_at(20, at) {
                spent_at.push(at);
            }
        }
        for (i, start) in spent_at.iter().enumerate() {
            let within = spent_at[i..]
                .iter()
                .take_while(|t| **t - *start < Duration::minutes(1))
                .count();
            assert!(
                within * 20 <= 100,
                "{within} reads within a minute of {start}"
            );
        }
        // It went on in each minute, not once at the start.
        assert!(spent_at.len() >= 15, "{}", spent_at.len());
    }

    #[test]
    fn what_was_spent_before_counts_until_a_minute_has_passed() {
        let now = OffsetDateTime::now_utc();
        let at = [now - Duration::seconds(70), now - Duration::seconds(10)];
        let b = Budget::load(&at, &[50, 30], 40);
        assert_eq!(b.used(), 30);
        let (kept, units) = b.parts();
        assert_eq!((kept.len(), units), (1, vec![30]));
        let mut b = b;
        assert!(!b.take(20));
        assert!(b.take(10));
    }
}
