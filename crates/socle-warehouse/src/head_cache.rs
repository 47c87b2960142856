//! The store DataFusion reads a remote warehouse through: the bucket's store, with the size and
//! date of each data file remembered after its first `HEAD`.
//!
//! Why: a table of the warehouse is a list of files named by the manifest, and DataFusion asks
//! the store for the size of each listed file (a `HEAD`) every time it plans a scan of it. The
//! marts stage reads the same canonical tables for each of its models, so on an object store the
//! same files were asked for again and again (15 times each for the fixtures' night): about a
//! third of a night's requests. A data file of the warehouse is never rewritten in place (its
//! name carries the run that wrote it; a new night writes new files), so its size and date,
//! once known, stay true for as long as it exists; a deleted file answers its next `GET` with
//! "not found" as before.
//!
//! Only `.parquet` files outside a Delta log are remembered (the log's entries and checkpoints,
//! manifests and the `CURRENT` pointer are read fresh), and at most [`MAX_ENTRIES`] of them (the
//! map is emptied when full: a long-running server reads many nights' files).

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Files whose size and date are remembered at most (about 200 bytes each).
const MAX_ENTRIES: usize = 200_000;

/// See the module.
#[derive(Debug)]
pub(crate) struct HeadCache {
    inner: Arc<dyn ObjectStore>,
    heads: Mutex<HashMap<Path, ObjectMeta>>,
}

impl HeadCache {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> HeadCache {
        HeadCache {
            inner,
            heads: Mutex::new(HashMap::new()),
        }
    }

    /// A poisoned lock still holds a whole map (each change is one insert or clear).
    fn heads(&self) -> MutexGuard<'_, HashMap<Path, ObjectMeta>> {
        self.heads.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Whether the object at `location` is a data file of the warehouse (never rewritten in place).
fn immutable(location: &Path) -> bool {
    let key = location.as_ref();
    key.ends_with(".parquet") && !key.contains("/_delta_log/") && !key.starts_with("_delta_log/")
}

/// A plain `HEAD`: no condition, no range, no version (anything else goes to the store).
fn plain_head(options: &GetOptions) -> bool {
    options.head
        && options.range.is_none()
        && options.if_match.is_none()
        && options.if_none_match.is_none()
        && options.if_modified_since.is_none()
        && options.if_unmodified_since.is_none()
        && options.version.is_none()
}

impl fmt::Display for HeadCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HeadCache({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for HeadCache {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.heads().remove(location);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.heads().remove(location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if !(plain_head(&options) && immutable(location)) {
            return self.inner.get_opts(location, options).await;
        }
        let known = self.heads().get(location).cloned();
        let meta = match known {
            Some(meta) => meta,
            None => {
                let meta = self.inner.get_opts(location, options).await?.meta;
                let mut heads = self.heads();
                if heads.len() >= MAX_ENTRIES {
                    heads.clear();
                }
                heads.insert(location.clone(), meta.clone());
                meta
            }
        };
        let range: Range<u64> = 0..meta.size;
        Ok(GetResult {
            payload: GetResultPayload::Stream(Box::pin(futures::stream::empty())),
            meta,
            range,
            attributes: Default::default(),
        })
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        // Deletions come from the warehouse's own store, not through here; forget everything
        // this one is asked to delete anyway.
        self.heads().clear();
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.heads().remove(to);
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn a_data_files_head_is_asked_once_and_the_rest_passes_through() -> Result<()> {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let cache = HeadCache::new(Arc::clone(&inner));
        let data = Path::from("shared/inscriptions/annee_scolaire=2024-2025/code_css=866000/r1.parquet");
        let log = Path::from("shared/inscriptions/_delta_log/00000000000000000000.checkpoint.parquet");
        inner.put(&data, PutPayload::from_static(b"abcd")).await?;
        inner.put(&log, PutPayload::from_static(b"ab")).await?;
        assert_eq!(cache.head(&data).await?.size, 4);
        assert_eq!(cache.head(&log).await?.size, 2);
        // Behind the cache's back (the warehouse's own store deletes and writes directly): the
        // data file's size is remembered, the log's is read again.
        inner.delete(&data).await?;
        inner.put(&log, PutPayload::from_static(b"abc")).await?;
        assert_eq!(cache.head(&data).await?.size, 4);
        assert_eq!(cache.head(&log).await?.size, 3);
        // Reads go to the store: the deleted file is not found.
        assert!(cache.get(&data).await.is_err());
        // A write through the cache forgets what it knew of that file.
        cache.put(&data, PutPayload::from_static(b"abcdef")).await?;
        assert_eq!(cache.head(&data).await?.size, 6);
        assert_eq!(cache.get(&data).await?.bytes().await?.len(), 6);
        Ok(())
    }
}
