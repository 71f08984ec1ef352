//! When to try again after a temporary failure.

use time::{Duration, OffsetDateTime};

/// Exponential backoff with full jitter: attempt 1 waits 0.5–1 s, attempt 2
/// 1–2 s, ... capped at an hour; a time Gmail named ("Retry after ...") wins when
/// it is later.
pub fn next_attempt(
    now: OffsetDateTime,
    attempts: i32,
    not_before: Option<OffsetDateTime>,
) -> OffsetDateTime {
    let exp = attempts.clamp(1, 13) - 1;
    let base_ms = (1_000i64 << exp).min(3_600_000);
    let jitter = rand::random::<f64>() * 0.5 + 0.5;
    let backoff = now + Duration::milliseconds((base_ms as f64 * jitter) as i64);
    match not_before {
        Some(t) if t > backoff => t,
        _ => backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_and_gmail_s_time_wins() {
        let now = OffsetDateTime::now_utc();
        for attempts in 1..=12 {
            let at = next_attempt(now, attempts, None);
            let base = (1_000i64 << (attempts - 1)).min(3_600_000);
            let waited = (at - now).whole_milliseconds() as i64;
            assert!(
                waited >= base / 2 && waited <= base,
                "attempt {attempts}: {waited}"
            );
        }
        let later = now + Duration::minutes(10);
        assert_eq!(next_attempt(now, 1, Some(later)), later);
        assert!(next_attempt(now, 1, Some(now - Duration::minutes(1))) > now);
    }
}
