//! Where a message is in its life (docs/delivery.md). The `emails.status` CHECK
//! constraint lists exactly these; a test keeps the two in step.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    /// Waiting for its time, its account's pace, or a retry.
    Queued,
    /// Claimed by a delivery loop, under a lease.
    Sending,
    /// Gmail (or the transport) accepted it.
    Sent,
    /// Refused for good, or out of attempts.
    Failed,
    /// It may have gone: the lease ran out, or the server stopped while Gmail
    /// was answering. The user decides.
    Uncertain,
    /// The user cancelled it before it was sent.
    Cancelled,
    /// Not sent: its recipient is on the sender's suppression list
    /// (unsubscribed, or added by hand).
    Suppressed,
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 7] = [
        EmailStatus::Queued,
        EmailStatus::Sending,
        EmailStatus::Sent,
        EmailStatus::Failed,
        EmailStatus::Uncertain,
        EmailStatus::Cancelled,
        EmailStatus::Suppressed,
    ];

    /// The statuses a message ends in, which the Sent page lists.
    pub const FINISHED: [EmailStatus; 4] = [
        EmailStatus::Sent,
        EmailStatus::Failed,
        EmailStatus::Uncertain,
        EmailStatus::Suppressed,
    ];

    /// Whether a claimed message in this status counts towards its account's
    /// daily cap: it went, or may have gone.
    pub const fn counts_toward_cap(self) -> bool {
        matches!(
            self,
            EmailStatus::Sending | EmailStatus::Sent | EmailStatus::Uncertain
        )
    }

    /// The text stored in `emails.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Queued => "queued",
            EmailStatus::Sending => "sending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
            EmailStatus::Uncertain => "uncertain",
            EmailStatus::Cancelled => "cancelled",
            EmailStatus::Suppressed => "suppressed",
        }
    }

    /// How pages name it.
    pub const fn label(self) -> &'static str {
        match self {
            EmailStatus::Queued => "Queued",
            EmailStatus::Sending => "Sending",
            EmailStatus::Sent => "Sent",
            EmailStatus::Failed => "Failed",
            EmailStatus::Uncertain => "Needs a decision",
            EmailStatus::Cancelled => "Cancelled",
            EmailStatus::Suppressed => "Not sent",
        }
    }

    pub fn parse(s: &str) -> Option<EmailStatus> {
        EmailStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A status the table cannot hold (its CHECK constraint allows only ours).
#[derive(Debug)]
pub struct UnknownStatus(pub String);

impl std::fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown email status {:?}", self.0)
    }
}

impl std::error::Error for UnknownStatus {}

impl TryFrom<String> for EmailStatus {
    type Error = UnknownStatus;
    fn try_from(raw: String) -> Result<Self, UnknownStatus> {
        EmailStatus::parse(&raw).ok_or(UnknownStatus(raw))
    }
}

/// How many finished messages have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishedCounts {
    pub sent: i64,
    pub failed: i64,
    pub uncertain: i64,
    pub suppressed: i64,
}

impl FinishedCounts {
    /// How many have `status`, or all finished ones.
    pub fn of(&self, status: Option<EmailStatus>) -> i64 {
        match status {
            Some(EmailStatus::Sent) => self.sent,
            Some(EmailStatus::Failed) => self.failed,
            Some(EmailStatus::Uncertain) => self.uncertain,
            Some(EmailStatus::Suppressed) => self.suppressed,
            Some(_) => 0,
            None => self.sent + self.failed + self.uncertain + self.suppressed,
        }
    }
}

impl std::fmt::Display for EmailStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::EmailStatus;

    #[test]
    fn the_table_s_check_constraint_lists_exactly_these() {
        // The latest migration that sets the constraint.
        let sql = include_str!("../../migrations/20261201000004_suppression.sql");
        let check = sql
            .split("CHECK (status IN (")
            .nth(1)
            .and_then(|rest| rest.split("))").next())
            .expect("the status CHECK constraint");
        let listed: Vec<&str> = check
            .split(',')
            .map(|s| s.trim().trim_matches('\''))
            .collect();
        let ours: Vec<&str> = EmailStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(listed, ours);
        for s in EmailStatus::ALL {
            assert_eq!(EmailStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(EmailStatus::parse("Sent"), None);
    }
}
