//! Object storage for uploaded files: S3-compatible stores and the local
//! filesystem, behind one trait. Keys are made here, never from a file name.

mod fs;
mod s3;

use crate::config::StorageConfig;
use crate::domain::UserId;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use uuid::Uuid;

pub use fs::FsStorage;
pub use s3::S3Storage;

pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// An object being read: its length when the store says, and its bytes as they come.
pub struct Object {
    pub len: Option<u64>,
    pub body: ByteStream,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the object does not exist")]
    NotFound,
    /// The object is larger than the caller can take (`read`'s `max`).
    #[error("the object is larger than {max} bytes")]
    TooLarge { max: u64 },
    /// The store could not be reached or refused the call; the text is for logs.
    #[error("file storage is unavailable: {0}")]
    Unavailable(String),
}

#[async_trait::async_trait]
pub trait Storage: Send + Sync {
    /// `fs` or `s3`, for logs and the health check.
    fn kind(&self) -> &'static str;
    /// Stores the `len` bytes of the file at `path` under `key`, streaming them.
    async fn put(
        &self,
        key: &str,
        path: &Path,
        len: u64,
        content_type: &str,
    ) -> Result<(), StorageError>;
    /// Opens `key` for reading.
    async fn get(&self, key: &str) -> Result<Object, StorageError>;
    /// Removes `key`; removing a key that is not there succeeds.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;
    /// Whether the store answers (and, for S3, that the bucket exists).
    async fn check(&self) -> Result<(), StorageError>;

    /// The whole object in memory, refusing one larger than `max` bytes. For
    /// attaching to a message, which needs every byte at once anyway.
    async fn read(&self, key: &str, max: u64) -> Result<Bytes, StorageError> {
        let mut object = self.get(key).await?;
        if object.len.is_some_and(|len| len > max) {
            return Err(StorageError::TooLarge { max });
        }
        let mut buf = bytes::BytesMut::with_capacity(object.len.unwrap_or(0) as usize);
        while let Some(chunk) = object.body.next().await {
            let chunk = chunk.map_err(|e| StorageError::Unavailable(e.to_string()))?;
            // A store that gave no length, or the wrong one, is held to `max` too.
            if (buf.len() + chunk.len()) as u64 > max {
                return Err(StorageError::TooLarge { max });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

/// The configured backend.
pub fn from_config(config: &StorageConfig) -> anyhow::Result<Arc<dyn Storage>> {
    Ok(match config {
        StorageConfig::Fs { dir } => Arc::new(FsStorage::new(dir.clone())?),
        StorageConfig::S3(s3) => Arc::new(S3Storage::new(s3)),
    })
}

/// A new key for one of `user_id`'s files: `files/<user>/<random>`.
pub fn new_key(user_id: UserId) -> String {
    format!("files/{user_id}/{}", Uuid::new_v4())
}

/// Keys are ours, but the filesystem backend still refuses anything that could
/// leave its directory.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 200
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reading_more_than_the_caller_takes_is_too_large_not_an_outage() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStorage::new(dir.path().join("store")).unwrap();
        let file = dir.path().join("ten");
        std::fs::write(&file, b"0123456789").unwrap();
        let key = new_key(UserId::from_uuid(Uuid::now_v7()));
        store.put(&key, &file, 10, "text/plain").await.unwrap();
        assert_eq!(&store.read(&key, 10).await.unwrap()[..], b"0123456789");
        assert!(matches!(
            store.read(&key, 9).await,
            Err(StorageError::TooLarge { max: 9 })
        ));
        assert!(matches!(
            store.read("files/none/x", 9).await,
            Err(StorageError::NotFound)
        ));
    }

    #[test]
    fn keys_are_generated_and_checked() {
        let user = UserId::from_uuid(Uuid::now_v7());
        let key = new_key(user);
        assert!(key.starts_with(&format!("files/{user}/")));
        assert!(valid_key(&key));
        assert_ne!(new_key(user), key);
        for bad in [
            "",
            "../etc/passwd",
            "files//x",
            "files/./x",
            "a b",
            "files/x\0",
        ] {
            assert!(!valid_key(bad), "{bad:?}");
        }
    }
}
