//! Where media bytes live: an `object_store` (a local directory by default;
//! S3-compatible stores plug in the same way), addressed by content. A key
//! is `{tenant}/{sha256}/{variant}`: the tenant keeps one tenant's objects
//! apart from another's even for identical bytes, the hash makes URLs
//! immutable (new bytes, new key) and unguessable without the bytes, and the
//! variant names the original or a rendition (`w640.webp`).

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the media variant name {0:?} is not one this api writes")]
    BadVariant(String),
    #[error("media storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("media storage directory {0}: {1}")]
    Directory(String, std::io::Error),
}

/// The media store of this process.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
}

/// One stored object: its tenant, content hash and variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaKey {
    pub tenant: Uuid,
    /// Lowercase hex SHA-256 of the original upload.
    pub sha256: String,
    /// `original.jpg`, `w640.webp`, ...
    pub variant: String,
}

impl MediaKey {
    fn path(&self) -> Result<Path, StorageError> {
        let variant_ok = !self.variant.is_empty()
            && self.variant.len() <= 64
            && self
                .variant
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
            && !self.variant.starts_with('.');
        let hash_ok = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !variant_ok || !hash_ok {
            return Err(StorageError::BadVariant(self.variant.clone()));
        }
        Ok(Path::from(format!(
            "{}/{}/{}",
            self.tenant, self.sha256, self.variant
        )))
    }
}

impl MediaStore {
    /// Objects under `dir` (created when missing).
    pub fn local(dir: &std::path::Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|err| StorageError::Directory(dir.display().to_string(), err))?;
        Ok(MediaStore {
            store: Arc::new(LocalFileSystem::new_with_prefix(dir)?),
        })
    }

    /// Objects in an S3-compatible bucket. `endpoint` (MinIO, moto, a
    /// provider's URL) uses path-style requests; plain `http://` is allowed
    /// only for loopback endpoints.
    pub fn s3(
        bucket: &str,
        endpoint: Option<&str>,
        region: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> Result<Self, StorageError> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(region)
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key);
        if let Some(endpoint) = endpoint {
            let loopback = url::Url::parse(endpoint).ok().is_some_and(|url| {
                matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
                    || url.host_str() == Some("localhost")
            });
            builder = builder
                .with_endpoint(endpoint)
                .with_virtual_hosted_style_request(false)
                .with_allow_http(loopback);
        }
        Ok(MediaStore {
            store: Arc::new(builder.build()?),
        })
    }

    /// Objects in this process's memory (tests).
    pub fn in_memory() -> Self {
        MediaStore {
            store: Arc::new(InMemory::new()),
        }
    }

    pub async fn put(&self, key: &MediaKey, bytes: Bytes) -> Result<(), StorageError> {
        self.store
            .put(&key.path()?, PutPayload::from_bytes(bytes))
            .await?;
        Ok(())
    }

    /// The object's bytes; `None` when there is none.
    pub async fn get(&self, key: &MediaKey) -> Result<Option<Bytes>, StorageError> {
        match self.store.get(&key.path()?).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Bytes `range` (all of them for `None`) and the object's whole size;
    /// `None` when there is no object.
    pub async fn read(
        &self,
        key: &MediaKey,
        range: Option<Range<u64>>,
    ) -> Result<Option<(Bytes, u64)>, StorageError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..Default::default()
        };
        match self.store.get_opts(&key.path()?, options).await {
            Ok(found) => {
                let size = found.meta.size;
                Ok(Some((found.bytes().await?, size)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// The object's size; `None` when there is none.
    pub async fn size(&self, key: &MediaKey) -> Result<Option<u64>, StorageError> {
        match self.store.head(&key.path()?).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes one object (none there is fine).
    pub async fn delete(&self, key: &MediaKey) -> Result<(), StorageError> {
        match self.store.delete(&key.path()?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// Deletes every variant of one upload; answers how many objects went.
    pub async fn delete_all(&self, tenant: Uuid, sha256: &str) -> Result<usize, StorageError> {
        let probe = MediaKey {
            tenant,
            sha256: sha256.to_owned(),
            variant: "original".into(),
        };
        probe.path()?;
        let prefix = Path::from(format!("{tenant}/{sha256}"));
        let found: Vec<_> = self.store.list(Some(&prefix)).try_collect().await?;
        for object in &found {
            self.store.delete(&object.location).await?;
        }
        Ok(found.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tenant: Uuid, variant: &str) -> MediaKey {
        MediaKey {
            tenant,
            sha256: "ab".repeat(32),
            variant: variant.into(),
        }
    }

    #[tokio::test]
    async fn objects_round_trip_by_tenant_hash_and_variant_on_disk() {
        let dir = std::env::temp_dir().join(format!("cms-media-{}", Uuid::now_v7()));
        let store = MediaStore::local(&dir).unwrap_or_else(|err| panic!("{err}"));
        let (alpha, beta) = (Uuid::now_v7(), Uuid::now_v7());
        let original = key(alpha, "original.jpg");
        store
            .put(&original, Bytes::from_static(b"0123456789"))
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        store
            .put(&key(alpha, "w640.webp"), Bytes::from_static(b"webp"))
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let read = store
            .get(&original)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(read.as_deref(), Some(&b"0123456789"[..]));
        let range = store
            .read(&original, Some(2..5))
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(range, Some((Bytes::from_static(b"234"), 10)));
        // The same bytes under another tenant are another object.
        let theirs = store
            .get(&key(beta, "original.jpg"))
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(theirs, None);
        assert!(dir
            .join(alpha.to_string())
            .join("ab".repeat(32))
            .join("original.jpg")
            .exists());
        let deleted = store
            .delete_all(alpha, &"ab".repeat(32))
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(deleted, 2);
        assert_eq!(store.get(&original).await.ok().flatten(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn keys_cannot_climb_out_of_their_place() {
        let store = MediaStore::in_memory();
        let tenant = Uuid::now_v7();
        for variant in ["../x", "a/b", ".hidden", "", "W640.webp"] {
            assert!(matches!(
                store.put(&key(tenant, variant), Bytes::new()).await,
                Err(StorageError::BadVariant(_))
            ));
        }
        let bad_hash = MediaKey {
            tenant,
            sha256: "../../etc".into(),
            variant: "original".into(),
        };
        assert!(store.get(&bad_hash).await.is_err());
    }
}
