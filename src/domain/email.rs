use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid email address, trimmed, with its domain lowercased.
///
/// The rules follow what people actually type and what Gmail accepts: the HTML
/// living standard's `valid e-mail address` plus RFC 5321's lengths, and a domain
/// with at least one dot. Comparison for uniqueness is case-insensitive on the whole
/// address (see [`EmailAddress::normalized`]).
///
/// Deserialising parses, so an address that arrives through serde (a form, a
/// server function's JSON) is checked like one typed into a field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

const INVALID: &str = "Enter an email address like name@example.com.";

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("Enter your email address.".to_string());
        }
        if s.len() > 254 {
            return Err("That email address is too long.".to_string());
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return Err(INVALID.to_string());
        };
        if !valid_local(local) || !valid_domain(domain) {
            return Err(INVALID.to_string());
        }
        Ok(EmailAddress(format!(
            "{local}@{}",
            domain.to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form two addresses are compared in: all lowercase.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        EmailAddress::parse(&raw)
    }
}

impl From<EmailAddress> for String {
    fn from(address: EmailAddress) -> String {
        address.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::EmailAddress;

    #[test]
    fn deserialising_parses_like_a_typed_address() {
        let e: EmailAddress = serde_json::from_str(r#"" Ada@Example.COM ""#).unwrap();
        assert_eq!(e.as_str(), "Ada@example.com");
        assert!(serde_json::from_str::<EmailAddress>(r#""not an address""#).is_err());
        assert_eq!(serde_json::to_string(&e).unwrap(), r#""Ada@example.com""#);
    }

    #[test]
    fn accepts_ordinary_addresses_and_trims_them() {
        let e = EmailAddress::parse("  Ada.Lovelace+cv@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ada.Lovelace+cv@example.com");
        assert_eq!(e.normalized(), "ada.lovelace+cv@example.com");
        assert!(EmailAddress::parse("o'brien@mail.example.co.uk").is_ok());
        assert!(EmailAddress::parse("x@a-b.io").is_ok());
    }

    #[test]
    fn the_same_address_in_other_case_normalizes_equal() {
        let a = EmailAddress::parse("Bob@Example.com").unwrap();
        let b = EmailAddress::parse("bob@example.COM").unwrap();
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "bob@",
            "bob@localhost",
            "bob@example..com",
            "bob@-example.com",
            "bob@example-.com",
            ".bob@example.com",
            "bob.@example.com",
            "bo..b@example.com",
            "bob smith@example.com",
            "bob@exa mple.com",
            "bob@example.123",
            "bob@@example.com",
            "bob@example.com\r\nBcc: evil@example.com",
            "bób@example.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn empty_input_asks_for_an_address() {
        assert_eq!(
            EmailAddress::parse(" ").unwrap_err(),
            "Enter your email address."
        );
    }

    #[test]
    fn rejects_overlong_parts() {
        let local = "a".repeat(65);
        assert!(EmailAddress::parse(&format!("{local}@example.com")).is_err());
        let label = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("bob@{label}.com")).is_err());
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(63).repeat(3));
        assert!(EmailAddress::parse(&long).is_err());
    }
}
