/// A password that meets our rules. It is never serialised or printed.
pub struct Password(String);

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Argon2 hashes any length, but an unbounded input is a cheap way to burn CPU.
pub const MAX_PASSWORD_CHARS: usize = 256;

impl Password {
    /// Checks a new password. Spaces are allowed and kept: a passphrase is a good
    /// password.
    pub fn parse(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if raw.trim().is_empty() {
            return Err("Choose a password.".to_string());
        }
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "Use at least {MIN_PASSWORD_CHARS} characters for your password."
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "Use at most {MAX_PASSWORD_CHARS} characters for your password."
            ));
        }
        Ok(Password(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn eight_characters_is_enough() {
        assert!(Password::parse("abcdefgh".into()).is_ok());
        assert!(Password::parse("correct horse battery".into()).is_ok());
    }

    #[test]
    fn short_passwords_are_refused_with_the_rule() {
        let err = Password::parse("abcdefg".into()).unwrap_err();
        assert!(err.contains("at least 8 characters"), "{err}");
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // seven characters, fourteen bytes
        assert!(Password::parse("ééééééé".into()).is_err());
        assert!(Password::parse("éééééééé".into()).is_ok());
    }

    #[test]
    fn blank_and_huge_passwords_are_refused() {
        assert!(Password::parse("          ".into()).is_err());
        assert!(Password::parse("a".repeat(257)).is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("hunter22hunter".into()).unwrap();
        assert_eq!(format!("{p:?}"), "Password(..)");
    }
}
