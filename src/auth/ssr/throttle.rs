//! Slows down guessing and mass sign-up (docs/limits.md).
//!
//! A login attempt is counted per email address and per IP address *before* the
//! password is checked, atomically with starting its window, so a burst of
//! parallel guesses gets exactly the limit of real checks. Over the limit the
//! password is not checked at all. A successful login forgives the address's
//! failures and takes its attempt back from the IP's count.

use crate::error::AppError;
use crate::limits;
use crate::state::AppState;
use fred::prelude::KeysInterface;
use sha2::{Digest, Sha256};

pub struct LoginThrottle<'a> {
    state: &'a AppState,
    email_key: String,
    ip_key: Option<String>,
}

/// An email address as part of a key: bounded and not readable in Redis.
pub fn address_key(normalized_email: &str) -> String {
    let digest = Sha256::digest(normalized_email.as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl<'a> LoginThrottle<'a> {
    pub fn new(state: &'a AppState, normalized_email: &str, ip: Option<&str>) -> Self {
        LoginThrottle {
            state,
            email_key: state
                .keys
                .login_failures_email(&address_key(normalized_email)),
            ip_key: ip.map(|ip| state.keys.login_failures_ip(ip)),
        }
    }

    /// Counts this attempt; `RateLimited` when either count is over its limit.
    pub async fn attempt(&self) -> Result<(), AppError> {
        let limits = self.state.config.login_throttle;
        let redis = &self.state.redis;
        let (n, ttl) = limits::count(redis, &self.email_key, limits.window).await?;
        let mut refused = (n > limits.max_failures_per_email).then_some(ttl);
        if let Some(ip_key) = &self.ip_key {
            let (n, ttl) = limits::count(redis, ip_key, limits.window).await?;
            if n > limits.max_failures_per_ip {
                refused = Some(refused.map_or(ttl, |t| t.max(ttl)));
            }
        }
        match refused {
            Some(retry_after) => Err(AppError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    /// The password was right: the address starts afresh, and the IP's count
    /// keeps only its failures.
    pub async fn succeeded(&self) -> Result<(), AppError> {
        let _: i64 = self.state.redis.del(&self.email_key).await?;
        if let Some(ip_key) = &self.ip_key {
            limits::uncount(&self.state.redis, ip_key).await?;
        }
        Ok(())
    }
}

/// Counts a sign-up from `ip`; `RateLimited` past `SIGNUP_MAX_PER_IP` in the window.
pub async fn signup_allowed(state: &AppState, ip: Option<&str>) -> Result<(), AppError> {
    let Some(ip) = ip else { return Ok(()) };
    let limits = &state.config.limits;
    limits::allow(
        &state.redis,
        &state.keys.signups_ip(ip),
        limits.signups_per_ip,
        limits.signup_window,
    )
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn address_keys_are_short_and_opaque() {
        let k = super::address_key(&"a".repeat(100_000));
        assert_eq!(k.len(), 32);
        assert_ne!(super::address_key("a@x.io"), super::address_key("b@x.io"));
    }
}
