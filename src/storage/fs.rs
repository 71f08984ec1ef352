//! Files in a directory (`STORAGE_DIR`): the default for a first run.

use super::{Object, Storage, StorageError, valid_key};
use futures::StreamExt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub struct FsStorage {
    dir: PathBuf,
}

impl FsStorage {
    pub fn new(dir: PathBuf) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("STORAGE_DIR {}: {e}", dir.display()))?;
        Ok(FsStorage { dir })
    }

    fn path(&self, key: &str) -> Result<PathBuf, StorageError> {
        if !valid_key(key) {
            return Err(StorageError::NotFound);
        }
        Ok(self.dir.join(key))
    }
}

fn unavailable(e: std::io::Error) -> StorageError {
    StorageError::Unavailable(e.to_string())
}

#[async_trait::async_trait]
impl Storage for FsStorage {
    fn kind(&self) -> &'static str {
        "fs"
    }

    async fn put(
        &self,
        key: &str,
        path: &Path,
        _len: u64,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let target = self.path(key)?;
        let parent = target.parent().unwrap_or(&self.dir).to_path_buf();
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(unavailable)?;
        // Copied beside the target, then renamed: a reader never sees half a file.
        let partial = parent.join(format!(".partial-{}", Uuid::new_v4()));
        let copied = async {
            tokio::fs::copy(path, &partial).await?;
            tokio::fs::File::open(&partial).await?.sync_all().await?;
            tokio::fs::rename(&partial, &target).await
        }
        .await;
        if let Err(e) = copied {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(unavailable(e));
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Object, StorageError> {
        let file = match tokio::fs::File::open(self.path(key)?).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(StorageError::NotFound),
            Err(e) => return Err(unavailable(e)),
        };
        let len = file.metadata().await.map_err(unavailable)?.len();
        Ok(Object {
            len: Some(len),
            body: tokio_util::io::ReaderStream::new(file).boxed(),
        })
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn check(&self) -> Result<(), StorageError> {
        let meta = tokio::fs::metadata(&self.dir).await.map_err(unavailable)?;
        if !meta.is_dir() {
            return Err(StorageError::Unavailable(format!(
                "{} is not a directory",
                self.dir.display()
            )));
        }
        Ok(())
    }
}
