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
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 6] = [
        EmailStatus::Queued,
        EmailStatus::Sending,
        EmailStatus::Sent,
        EmailStatus::Failed,
        EmailStatus::Uncertain,
        EmailStatus::Cancelled,
    ];

    /// The text stored in `emails.status`.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Queued => "queued",
            EmailStatus::Sending => "sending",
            EmailStatus::Sent => "sent",
            EmailStatus::Failed => "failed",
            EmailStatus::Uncertain => "uncertain",
            EmailStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<EmailStatus> {
        EmailStatus::ALL.into_iter().find(|v| v.as_str() == s)
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
        let sql = include_str!("../../migrations/20261125000003_emails.sql");
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
