//! What a message in the mailbox is, from its headers and labels alone, in the
//! order docs/replies.md gives: ours (or written by hand) when Gmail labels it
//! `SENT`; then a delivery failure (RFC 3464), which Gmail also marks
//! `Auto-Submitted`, so it is looked for first; then an automatic reply
//! (RFC 3834); otherwise a person's reply.

use super::gmail::Metadata;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Sent by MailMerger: its `X-MailMerger-Id`.
    Ours(Uuid),
    /// Sent from the mailbox, not by MailMerger: the user wrote by hand.
    Wrote,
    /// A delivery failure; the addresses it names as failed.
    Bounce { failed: Vec<String> },
    /// An automatic answer (out of office, vacation).
    Auto { from: Option<String> },
    /// A person's answer.
    Reply { from: Option<String> },
}

impl Found {
    /// The `mailbox_messages.kind` it is kept as.
    pub fn kind(&self) -> &'static str {
        match self {
            Found::Ours(_) => "ours",
            Found::Wrote => "wrote",
            Found::Bounce { .. } => "bounce",
            Found::Auto { .. } => "auto",
            Found::Reply { .. } => "reply",
        }
    }

    pub fn from(&self) -> Option<&str> {
        match self {
            Found::Auto { from } | Found::Reply { from } => from.as_deref(),
            _ => None,
        }
    }
}

pub fn classify(m: &Metadata) -> Found {
    if m.labels.iter().any(|l| l == "SENT") {
        return match m
            .header("X-MailMerger-Id")
            .and_then(|v| Uuid::parse_str(v.trim()).ok())
        {
            Some(id) => Found::Ours(id),
            None => Found::Wrote,
        };
    }
    let from = m.header("From").and_then(address_in);
    if is_delivery_report(m.header("Content-Type")) || from.as_deref().is_some_and(is_mailer_daemon)
    {
        let failed = m
            .header("X-Failed-Recipients")
            .map(addresses_in)
            .unwrap_or_default();
        return Found::Bounce { failed };
    }
    let auto_submitted = m
        .header("Auto-Submitted")
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| !v.is_empty() && v != "no");
    let precedence = m
        .header("Precedence")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("auto_reply"));
    if auto_submitted || m.header("X-Autoreply").is_some() || precedence {
        return Found::Auto { from };
    }
    Found::Reply { from }
}

/// `multipart/report; report-type=delivery-status`, in any case and quoting.
fn is_delivery_report(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let ct = ct.to_ascii_lowercase();
    ct.trim_start().starts_with("multipart/report")
        && ct.split(';').skip(1).any(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            k.trim() == "report-type" && v.trim().trim_matches('"') == "delivery-status"
        })
}

fn is_mailer_daemon(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    local == "mailer-daemon" || local == "postmaster"
}

/// The address of a `From`-style value (`Name <a@b>` or `a@b`), lowercased.
pub fn address_in(value: &str) -> Option<String> {
    addresses_in(value).into_iter().next()
}

/// At most this many addresses are taken from one header (a bounce naming
/// thousands is someone else's problem).
const MOST_ADDRESSES: usize = 20;

/// Every address in a list header, lowercased; commas inside quoted names do
/// not split. Only what could be an address (an `@`, no spaces, at most 254
/// characters), and at most [`MOST_ADDRESSES`] of them.
pub fn addresses_in(value: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let (mut current, mut quoted, mut angle) = (String::new(), false, false);
    for c in value.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    parts
        .iter()
        .filter_map(|p| {
            let p = p.trim();
            let inner = match (p.rfind('<'), p.rfind('>')) {
                (Some(a), Some(b)) if a < b => &p[a + 1..b],
                _ => p,
            };
            let inner = inner.trim();
            (inner.contains('@') && inner.len() <= 254 && !inner.contains(char::is_whitespace))
                .then(|| inner.to_lowercase())
        })
        .take(MOST_ADDRESSES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(labels: &[&str], headers: &[(&str, &str)]) -> Metadata {
        Metadata {
            id: "1".into(),
            thread_id: "t".into(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            internal_ms: 0,
        }
    }

    #[test]
    fn a_bounce_is_found_before_the_auto_submitted_it_also_carries() {
        let gmail_s_own = message(
            &["INBOX"],
            &[
                (
                    "From",
                    "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                ),
                ("Auto-Submitted", "auto-replied"),
                ("X-Failed-Recipients", "Gone@Example.com, other@example.com"),
                (
                    "Content-Type",
                    "multipart/report; boundary=\"x\"; report-type=delivery-status",
                ),
            ],
        );
        assert_eq!(
            classify(&gmail_s_own),
            Found::Bounce {
                failed: vec!["gone@example.com".into(), "other@example.com".into()]
            }
        );
        // A report from another server, by its content type alone.
        let report = message(
            &["INBOX"],
            &[
                ("From", "MAILER <mx@example.net>"),
                (
                    "Content-Type",
                    "Multipart/Report; Report-Type=\"delivery-status\"; boundary=b",
                ),
            ],
        );
        assert!(matches!(classify(&report), Found::Bounce { failed } if failed.is_empty()));
        // By the sender alone.
        let postmaster = message(&["INBOX"], &[("From", "postmaster@example.org")]);
        assert!(matches!(classify(&postmaster), Found::Bounce { .. }));
        // Another multipart/report is not a delivery failure.
        let read_receipt = message(
            &["INBOX"],
            &[
                ("From", "ann@example.com"),
                (
                    "Content-Type",
                    "multipart/report; report-type=disposition-notification",
                ),
            ],
        );
        assert!(matches!(classify(&read_receipt), Found::Reply { .. }));
    }

    #[test]
    fn automatic_answers_are_told_from_a_person_s() {
        for header in [
            ("Auto-Submitted", "auto-replied"),
            ("Auto-Submitted", "auto-generated; owner-email=\"x@y\""),
            ("X-Autoreply", "yes"),
            ("Precedence", "auto_reply"),
        ] {
            let m = message(&["INBOX"], &[("From", "Ann <ann@example.com>"), header]);
            assert_eq!(
                classify(&m),
                Found::Auto {
                    from: Some("ann@example.com".into())
                },
                "{header:?}"
            );
        }
        // `Auto-Submitted: no` is a person's (RFC 3834).
        let m = message(
            &["INBOX"],
            &[("From", "ann@example.com"), ("Auto-Submitted", "No")],
        );
        assert!(matches!(classify(&m), Found::Reply { .. }));
        let m = message(&["INBOX"], &[("From", "\"Doe, Ann\" <Ann@Example.com>")]);
        assert_eq!(
            classify(&m),
            Found::Reply {
                from: Some("ann@example.com".into())
            }
        );
    }

    #[test]
    fn sent_mail_is_ours_by_its_header_or_written_by_hand() {
        let id = Uuid::now_v7();
        let ours = message(&["SENT"], &[("X-MailMerger-Id", &id.to_string())]);
        assert_eq!(classify(&ours), Found::Ours(id));
        let by_hand = message(&["SENT", "IMPORTANT"], &[("From", "me@gmail.test")]);
        assert_eq!(classify(&by_hand), Found::Wrote);
        // Our header on mail that arrived (someone quoting it) is not ours.
        let inbound = message(&["INBOX"], &[("X-MailMerger-Id", &id.to_string())]);
        assert!(matches!(classify(&inbound), Found::Reply { .. }));
    }

    #[test]
    fn addresses_come_out_of_list_headers() {
        assert_eq!(
            addresses_in("\"Smith, J\" <j@x.org>, k@y.org,  <L@Z.ORG>"),
            vec!["j@x.org", "k@y.org", "l@z.org"]
        );
        assert_eq!(addresses_in("not an address"), Vec::<String>::new());
        let huge = format!("{}@example.com", "a".repeat(300));
        assert_eq!(addresses_in(&huge), Vec::<String>::new());
        let many: Vec<String> = (0..500).map(|i| format!("x{i}@example.com")).collect();
        assert_eq!(addresses_in(&many.join(", ")).len(), 20);
    }
}
