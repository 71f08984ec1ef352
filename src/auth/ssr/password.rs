//! argon2id hashing, always off the async threads, a few at a time
//! (`AppState::hashing`): each hash holds 19 MiB.

use crate::domain::Password;
use crate::error::AppError;
use crate::limits::CpuPool;
use argon2::Argon2;
use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use std::sync::OnceLock;

/// Hashes with argon2id (the crate's defaults: v19, m=19 MiB, t=2, p=1).
#[tracing::instrument(skip_all)]
pub async fn hash(pool: &CpuPool, password: Password) -> Result<String, AppError> {
    pool.run(move || hash_blocking(password.expose())).await?
}

fn hash_blocking(password: &str) -> Result<String, AppError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::internal(anyhow::anyhow!("argon2 hash: {e}")))
}

/// True when `password` matches `stored`. With no stored hash (no such user, or a
/// Google-only account) it still spends the time of one verification, so response
/// times do not tell which email addresses have accounts.
#[tracing::instrument(skip_all)]
pub async fn verify(
    pool: &CpuPool,
    password: String,
    stored: Option<String>,
) -> Result<bool, AppError> {
    pool.run(move || {
        let (hash, real) = match stored {
            Some(h) => (h, true),
            None => (dummy_hash().to_string(), false),
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| AppError::internal(anyhow::anyhow!("stored hash unreadable: {e}")))?;
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(real && ok)
    })
    .await?
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking("not a real password, only here to spend time")
            .unwrap_or_else(|_| String::new())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> CpuPool {
        CpuPool::new("test", 2, 2, std::time::Duration::from_secs(5))
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let pool = pool();
        let h = hash(&pool, Password::parse("correct horse".into()).unwrap())
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(
            verify(&pool, "correct horse".into(), Some(h.clone()))
                .await
                .unwrap()
        );
        assert!(!verify(&pool, "wrong horse!".into(), Some(h)).await.unwrap());
    }

    #[tokio::test]
    async fn no_stored_hash_never_verifies() {
        assert!(!verify(&pool(), "anything".into(), None).await.unwrap());
    }
}
