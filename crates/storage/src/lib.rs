//! Encrypted blob storage. Every object is sealed with its owner's data key before it
//! leaves the process (see `envelope`); data keys are stored only wrapped by the master
//! key (see `keys`). Deleting a user's wrapped key makes every copy of their blobs —
//! backups and replicas included — unreadable.

use std::path::Path as FsPath;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart};

pub mod envelope;
pub mod keys;
#[cfg(feature = "testing")]
pub mod testing;

pub use keys::{DataKey, KeyRing, KeyWrapper, LocalKeyWrapper};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object not found")]
    NotFound,
    /// Wrong key, tampered bytes, or an object moved to another path.
    #[error("object failed authentication")]
    Corrupt,
    /// The store refused our credentials (a wrong secret, a missing permission): a fault
    /// of configuration, not an outage that passes.
    #[error("storage refused access: {0}")]
    Denied(String),
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Sealed objects from this size go up in parts: a single PUT of a large object fails as a
/// whole on one dropped connection, and S3 takes none above 5 GB.
const MULTIPART_FROM: usize = 16 << 20;
/// S3 wants parts of at least 5 MiB (all but the last).
const PART_SIZE: usize = 8 << 20;

impl From<object_store::Error> for StorageError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound,
            e @ (object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }) => {
                StorageError::Denied(e.to_string())
            }
            other => StorageError::Backend(other.to_string()),
        }
    }
}

fn remove_staging(dir: &FsPath, before_ms: i64) -> std::io::Result<usize> {
    let mut removed = 0;
    // Files come and go while we walk (renames into place, deletes): a vanished one is skipped.
    let gone = |e: &std::io::Error| e.kind() == std::io::ErrorKind::NotFound;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(e),
        };
        if meta.is_dir() {
            removed += remove_staging(&path, before_ms)?;
            continue;
        }
        let staging = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit_once('#'))
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let modified = meta
            .modified()?
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        if staging && modified < before_ms {
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                Err(e) if gone(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

/// How to reach an S3-compatible bucket.
pub struct S3Bucket<'a> {
    pub name: &'a str,
    pub region: &'a str,
    pub endpoint: Option<&'a str>,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub allow_http: bool,
}

/// One stored object: its path and when it was last written (ms since the epoch).
#[derive(Debug, Clone)]
pub struct Listed {
    pub path: String,
    pub modified_ms: i64,
}

/// Where sealed blobs live: a local folder by default, any object_store backend at scale.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Set for the local backend, whose writes we fsync before reporting success.
    local_root: Option<std::path::PathBuf>,
}

impl Blobs {
    pub fn local(root: &FsPath) -> Result<Self, StorageError> {
        std::fs::create_dir_all(root).map_err(|e| StorageError::Backend(e.to_string()))?;
        let store = LocalFileSystem::new_with_prefix(root).map_err(|e| StorageError::Backend(e.to_string()))?;
        Ok(Self { store: Arc::new(store), local_root: Some(root.to_path_buf()) })
    }

    /// An S3-compatible bucket; `endpoint` (MinIO, R2…) switches to path-style requests.
    pub fn s3(bucket: &S3Bucket<'_>) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket.name)
            .with_region(bucket.region)
            .with_access_key_id(bucket.access_key_id)
            .with_secret_access_key(bucket.secret_access_key)
            // Jobs retry on their own and pages answer 503 in an outage: give up within
            // seconds, not after the library's three minutes of retries.
            .with_retry(RetryConfig {
                max_retries: 4,
                retry_timeout: Duration::from_secs(10),
                ..RetryConfig::default()
            })
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(bucket.allow_http)
                    .with_connect_timeout(Duration::from_secs(3))
                    .with_timeout(Duration::from_secs(60)),
            );
        if let Some(endpoint) = bucket.endpoint {
            builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|e| StorageError::Backend(e.to_string()))?;
        Ok(Self::with_store(Arc::new(store)))
    }

    pub fn with_store(store: Arc<dyn ObjectStore>) -> Self {
        Self { store, local_root: None }
    }

    /// Seals `plain` with `key` (bound to `path`) and writes it durably.
    pub async fn put(&self, key: &DataKey, path: &str, plain: &[u8]) -> Result<u64, StorageError> {
        let sealed = envelope::seal(key, path, plain).map_err(|_| StorageError::Corrupt)?;
        let len = sealed.len() as u64;
        self.write(&Path::from(path), Bytes::from(sealed)).await?;
        if let Some(root) = &self.local_root {
            // object_store renames a temp file into place; make data and rename durable.
            let file = root.join(path);
            let dir = file.parent().map(FsPath::to_path_buf);
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::File::open(&file)?.sync_all()?;
                if let Some(dir) = dir {
                    std::fs::File::open(dir)?.sync_all()?;
                }
                Ok(())
            })
            .await
            .map_err(|e| StorageError::Backend(e.to_string()))?
            .map_err(|e| StorageError::Backend(e.to_string()))?;
        }
        Ok(len)
    }

    /// Writes sealed bytes, in parts when they are large.
    async fn write(&self, location: &Path, sealed: Bytes) -> Result<(), StorageError> {
        if sealed.len() >= MULTIPART_FROM {
            // A failed part aborts the upload (its parts are removed), leaving no object.
            let mut upload = WriteMultipart::new_with_chunk_size(self.store.put_multipart(location).await?, PART_SIZE);
            upload.put(sealed);
            upload.finish().await?;
        } else {
            self.store.put(location, PutPayload::from(sealed)).await?;
        }
        Ok(())
    }

    /// Reads and opens a blob; fails as `Corrupt` unless it was sealed with `key` at `path`.
    pub async fn get(&self, key: &DataKey, path: &str) -> Result<Vec<u8>, StorageError> {
        let sealed: Bytes = self.store.get(&Path::from(path)).await?.bytes().await?;
        envelope::open(key, path, &sealed).map_err(|_| StorageError::Corrupt)
    }

    /// Whether the backend answers (for readiness checks): a missing probe object is fine.
    pub async fn ping(&self) -> Result<(), StorageError> {
        match self.store.head(&Path::from("readyz/probe")).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deleting what is already gone is fine.
    pub async fn delete(&self, path: &str) -> Result<(), StorageError> {
        match self.store.delete(&Path::from(path)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Removes partial writes a crash left behind, older than `before_ms`: the local backend
    /// writes `name#N` beside the object and renames it into place, so a killed process can
    /// leave one that no listing shows. Other backends have no such files. Returns the count.
    pub async fn remove_stale_staging(&self, before_ms: i64) -> Result<usize, StorageError> {
        let Some(root) = self.local_root.clone() else { return Ok(0) };
        tokio::task::spawn_blocking(move || remove_staging(&root, before_ms))
            .await
            .map_err(|e| StorageError::Backend(e.to_string()))?
            .map_err(|e| StorageError::Backend(e.to_string()))
    }

    /// Copies every object under `prefix` to `to` as stored, still sealed (a backup of the
    /// bucket, or its restore). Returns how many were copied.
    pub async fn copy_objects(&self, to: &Blobs, prefix: &str) -> Result<usize, StorageError> {
        let listed = self.list(prefix).await?;
        for object in &listed {
            let location = Path::from(object.path.as_str());
            let bytes = self.store.get(&location).await?.bytes().await?;
            to.write(&location, bytes).await?;
        }
        Ok(listed.len())
    }

    /// Every object under `prefix`, for the orphan sweeper and account deletion.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>, StorageError> {
        use futures_util::TryStreamExt;
        let prefix = Path::from(prefix);
        let objects: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        Ok(objects
            .into_iter()
            .map(|o| Listed { path: o.location.to_string(), modified_ms: o.last_modified.timestamp_millis() })
            .collect())
    }
}
