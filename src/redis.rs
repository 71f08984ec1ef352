//! The Redis connection and the one place keys are named.

use fred::prelude::*;
use std::time::Duration;

/// How long any Redis command may take before we answer "unavailable".
pub const COMMAND_TIMEOUT: Duration = Duration::from_millis(800);

/// Connects a small pool, failing within `wait` if Redis does not answer.
pub async fn connect(url: &str, wait: Duration) -> Result<Pool, String> {
    let config = Config::from_url(url).map_err(|e| e.to_string())?;
    let pool = Builder::from_config(config)
        .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
        .with_connection_config(|c| {
            c.connection_timeout = Duration::from_millis(800);
            c.internal_command_timeout = Duration::from_millis(800);
            c.max_command_attempts = 1;
        })
        .set_policy(ReconnectPolicy::new_exponential(0, 100, 2_000, 2))
        .build_pool(4)
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(wait, pool.init()).await {
        Ok(Ok(_connection_task)) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no answer within {} s", wait.as_secs())),
    }
    let _: String = pool.ping(None).await.map_err(|e| e.to_string())?;
    Ok(pool)
}

/// Builds every Redis key from one configurable prefix, so that several apps (or
/// tests) can share one Redis without touching each other's keys.
#[derive(Debug, Clone)]
pub struct RedisKeys {
    prefix: String,
}

impl RedisKeys {
    pub fn new(prefix: impl Into<String>) -> Self {
        RedisKeys {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn session(&self, id: &str) -> String {
        format!("{}session:{id}", self.prefix)
    }

    pub fn templates(&self, user_id: crate::domain::UserId) -> String {
        format!("{}templates:{user_id}", self.prefix)
    }

    /// `address` is a digest of the normalised address (auth::ssr::throttle).
    pub fn login_failures_email(&self, address: &str) -> String {
        format!("{}login-failures:email:{address}", self.prefix)
    }

    pub fn login_failures_ip(&self, ip: &str) -> String {
        format!("{}login-failures:ip:{ip}", self.prefix)
    }

    /// A user's calls of one expensive server function in the current minute.
    pub fn rate(&self, what: &str, user_id: crate::domain::UserId) -> String {
        format!("{}rate:{what}:{user_id}", self.prefix)
    }

    /// Invalid unsubscribe links tried from one address.
    pub fn bad_links_ip(&self, ip: &str) -> String {
        format!("{}bad-links:ip:{ip}", self.prefix)
    }

    /// Attempts at an account flow (`what`: forgot, verify-mail, …) by one
    /// address digest, user or IP (`who`).
    pub fn account_attempts(&self, what: &str, who: &str) -> String {
        format!("{}account:{what}:{who}", self.prefix)
    }

    pub fn signups_ip(&self, ip: &str) -> String {
        format!("{}signups:ip:{ip}", self.prefix)
    }
}
