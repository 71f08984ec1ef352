//! Times in the user's time zone: what they type and what they read.

use crate::domain::UserId;
use crate::error::AppError;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use sqlx::PgPool;
use time::OffsetDateTime;

pub struct UserZone {
    pub name: String,
    zone: TimeZone,
}

impl UserZone {
    pub fn new(name: &str) -> Self {
        match TimeZone::get(name) {
            Ok(zone) => UserZone {
                name: name.to_string(),
                zone,
            },
            Err(_) => UserZone {
                name: "UTC".into(),
                zone: TimeZone::UTC,
            },
        }
    }

    pub async fn of_user(pool: &PgPool, user_id: UserId) -> Result<Self, AppError> {
        let name = sqlx::query_scalar!(
            "SELECT time_zone FROM users WHERE id = $1",
            user_id as UserId
        )
        .fetch_one(pool)
        .await?;
        Ok(UserZone::new(&name))
    }

    /// The zone itself, for schedule arithmetic.
    pub fn tz(&self) -> &TimeZone {
        &self.zone
    }

    /// The day a time falls on: "Thu 3 Dec".
    pub fn day(&self, t: OffsetDateTime) -> String {
        match Timestamp::from_second(t.unix_timestamp()) {
            Ok(ts) => ts
                .to_zoned_datetime(self.zone.clone())
                .strftime("%a %-d %b")
                .to_string(),
            Err(_) => t.date().to_string(),
        }
    }

    /// A time as a `datetime-local` value in this zone ("2026-12-01T09:00").
    pub fn local_input(&self, t: OffsetDateTime) -> String {
        match Timestamp::from_second(t.unix_timestamp()) {
            Ok(ts) => ts
                .to_zoned_datetime(self.zone.clone())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string(),
            Err(_) => String::new(),
        }
    }

    /// "Tue 1 Dec 2026, 9:00 AM, Europe/Berlin"
    pub fn display(&self, t: OffsetDateTime) -> String {
        let Ok(ts) = Timestamp::from_second(t.unix_timestamp()) else {
            return t.to_string();
        };
        format!(
            "{}, {}",
            ts.to_zoned_datetime(self.zone.clone())
                .strftime("%a %-d %b %Y, %-I:%M %p"),
            self.name
        )
    }

    /// When to send: now, or (`when == "later"`) the local time given, which must
    /// not be in the past.
    pub fn send_time(&self, when: &str, local: &str) -> Result<OffsetDateTime, String> {
        let now = OffsetDateTime::now_utc();
        if when != "later" {
            return Ok(now);
        }
        let at = self.parse_local(local)?;
        if at < now - time::Duration::minutes(1) {
            return Err("Choose a time in the future, or send now.".into());
        }
        Ok(at)
    }

    /// A `datetime-local` value ("2026-12-01T09:00") read in this zone.
    pub fn parse_local(&self, input: &str) -> Result<OffsetDateTime, String> {
        let civil: DateTime = input
            .trim()
            .parse()
            .map_err(|_| "Enter a date and time, such as 2026-12-01 09:00.".to_string())?;
        let zoned = civil
            .to_zoned_datetime(self.zone.clone())
            .map_err(|_| "That time does not exist in your time zone.".to_string())?;
        OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second())
            .map_err(|_| "That date is out of range.".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_read_and_shown_in_the_users_zone() {
        let berlin = UserZone::new("Europe/Berlin");
        let t = berlin.parse_local("2026-12-01T09:00").unwrap();
        assert_eq!(t.unix_timestamp(), 1_796_112_000); // 08:00 UTC
        assert_eq!(berlin.display(t), "Tue 1 Dec 2026, 9:00 AM, Europe/Berlin");
        assert_eq!(
            UserZone::new("UTC").display(t),
            "Tue 1 Dec 2026, 8:00 AM, UTC"
        );
    }

    #[test]
    fn unknown_zones_fall_back_to_utc_and_bad_input_is_explained() {
        assert_eq!(UserZone::new("Mars/Olympus").name, "UTC");
        assert!(
            UserZone::new("UTC")
                .parse_local("tomorrow")
                .unwrap_err()
                .contains("Enter a date")
        );
    }
}
