//! Slows down guessing: failed logins are counted per email address and per IP
//! address in Redis, each in a fixed window that starts at the first failure.

use crate::error::AppError;
use crate::state::AppState;
use fred::prelude::*;

pub struct LoginThrottle<'a> {
    state: &'a AppState,
    email_key: String,
    ip_key: Option<String>,
}

impl<'a> LoginThrottle<'a> {
    pub fn new(state: &'a AppState, normalized_email: &str, ip: Option<&str>) -> Self {
        LoginThrottle {
            state,
            email_key: state.keys.login_failures_email(normalized_email),
            ip_key: ip.map(|ip| state.keys.login_failures_ip(ip)),
        }
    }

    fn limits(&self) -> [(Option<&String>, u64); 2] {
        let limits = self.state.config.login_throttle;
        [
            (Some(&self.email_key), limits.max_failures_per_email),
            (self.ip_key.as_ref(), limits.max_failures_per_ip),
        ]
    }

    /// `RateLimited` while either counter is at its limit.
    pub async fn check(&self) -> Result<(), AppError> {
        let redis = &self.state.redis;
        for (key, max) in self.limits() {
            let Some(key) = key else { continue };
            let failures: Option<u64> = redis.get(key).await?;
            if failures.unwrap_or(0) >= max {
                let ttl: i64 = redis.ttl(key).await?;
                return Err(AppError::RateLimited {
                    retry_after: ttl.max(1) as u64,
                });
            }
        }
        Ok(())
    }

    pub async fn record_failure(&self) -> Result<(), AppError> {
        let redis = &self.state.redis;
        let window = self.state.config.login_throttle.window.as_secs() as i64;
        for (key, _) in self.limits() {
            let Some(key) = key else { continue };
            let count: i64 = redis.incr(key).await?;
            if count == 1 {
                let _: bool = redis.expire(key, window, None).await?;
            }
        }
        Ok(())
    }

    /// A successful login forgives the email's failures (not the IP's).
    pub async fn clear(&self) -> Result<(), AppError> {
        let _: i64 = self.state.redis.del(&self.email_key).await?;
        Ok(())
    }
}
