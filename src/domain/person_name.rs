/// A person's display name: trimmed, 1 to 100 characters, no control characters
/// (it ends up in the From header of their mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("Enter your name.".to_string());
        }
        if s.chars().count() > 100 {
            return Err("Use at most 100 characters for your name.".to_string());
        }
        if s.chars().any(char::is_control) {
            return Err("Your name cannot contain line breaks or tabs.".to_string());
        }
        Ok(PersonName(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::PersonName;

    #[test]
    fn names_are_trimmed() {
        assert_eq!(
            PersonName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(
            PersonName::parse("Zoë Ñúñez").unwrap().as_str(),
            "Zoë Ñúñez"
        );
    }

    #[test]
    fn empty_long_and_multiline_names_are_refused() {
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("Ada\r\nBcc: x@example.com").is_err());
    }
}
