//! The session store: Redis, with every key under `REDIS_KEY_PREFIX`.
//!
//! This is tower-sessions-redis-store's `RedisStore` (the same MessagePack record,
//! `SET NX` on create, `SET XX` on save, expiry as `EXAT`) with one change: that
//! store writes the bare session id as the key, and every key we write must carry
//! the configured prefix, so that tests and several deployments can share a Redis.

use crate::redis::RedisKeys;
use async_trait::async_trait;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Debug, Clone)]
pub struct PrefixedRedisStore {
    redis: Pool,
    keys: RedisKeys,
}

impl PrefixedRedisStore {
    pub fn new(redis: Pool, keys: RedisKeys) -> Self {
        PrefixedRedisStore { redis, keys }
    }

    async fn write(&self, record: &Record, options: SetOptions) -> session_store::Result<bool> {
        let bytes =
            rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let expire = Expiration::EXAT(record.expiry_date.unix_timestamp());
        self.redis
            .set(
                self.keys.session(&record.id.to_string()),
                bytes.as_slice(),
                Some(expire),
                Some(options),
                false,
            )
            .await
            .map_err(backend)
    }
}

fn backend(e: fred::error::Error) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for PrefixedRedisStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A session with nothing in it is not stored: a request with an unknown
        // (say, random) cookie must not leave a key behind for the whole idle
        // timeout (docs/limits.md).
        if record.data.is_empty() {
            return Ok(());
        }
        while !self.write(record, SetOptions::NX).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(record, SetOptions::XX).await?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let data: Option<Vec<u8>> = self
            .redis
            .get(self.keys.session(&id.to_string()))
            .await
            .map_err(backend)?;
        data.map(|d| {
            rmp_serde::from_slice(&d).map_err(|e| session_store::Error::Decode(e.to_string()))
        })
        .transpose()
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let _: i64 = self
            .redis
            .del(self.keys.session(&id.to_string()))
            .await
            .map_err(backend)?;
        Ok(())
    }
}
