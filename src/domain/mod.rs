//! Pure types shared by the server and the browser. Raw input is parsed into these
//! at the edge; inner code never re-checks strings.

mod email;
mod email_status;
mod next_path;
mod page_at;
mod password;
mod person_name;
mod user;
mod user_id;

pub use email::EmailAddress;
pub use email_status::{EmailStatus, FinishedCounts};
pub use next_path::safe_next_path;
pub use page_at::{PageAt, Paging, RowKey};
pub use password::Password;
pub use person_name::PersonName;
pub use user::UserView;
pub use user_id::UserId;

/// "45 seconds", "1 minute", "15 minutes", "2 hours": for messages to people.
pub fn human_duration(seconds: u64) -> String {
    fn plural(n: u64, unit: &str) -> String {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    }
    match seconds {
        0..=59 => plural(seconds.max(1), "second"),
        60..=3599 => plural(seconds.div_ceil(60), "minute"),
        _ => plural(seconds.div_ceil(3600), "hour"),
    }
}

#[cfg(test)]
mod tests {
    use super::human_duration;

    #[test]
    fn durations_read_like_a_person_wrote_them() {
        assert_eq!(human_duration(0), "1 second");
        assert_eq!(human_duration(45), "45 seconds");
        assert_eq!(human_duration(60), "1 minute");
        assert_eq!(human_duration(61), "2 minutes");
        assert_eq!(human_duration(900), "15 minutes");
        assert_eq!(human_duration(7200), "2 hours");
    }
}
