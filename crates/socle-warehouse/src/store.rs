//! Where the warehouse's files live: the local disk, or an object store for `--warehouse
//! s3://bucket/prefix` (S3 and S3-compatible servers, tested), `gs://` or `az://`/`abfss://`
//! (Google Cloud Storage, Azure: object_store's own clients, untested).
//!
//! **One path space.** Every module of the warehouse computes paths under the warehouse root
//! (`layout`) and does its file operations through this module's functions, which mirror
//! `std::fs`. For a local warehouse they *are* `std::fs`. For a warehouse on an object store the
//! root is a local **work folder** (`SOCLE_WORK_DIR`, by default one per bucket and prefix
//! under the system's temporary folder) registered with its [`Remote`]: a path under it is an
//! object `<prefix>/<path relative to the root>` in the bucket, except the parts that must stay
//! on the machine that runs (the staging folders, where a night's files are written before they
//! are published, and the local lock file). So the publication protocol is the same on both:
//! files are written to staging, then "moved" into place (uploaded, then deleted locally), then
//! the manifest is swapped (one PUT, atomic on an object store).
//!
//! **Commits on an object store** never rely on a rename: each Delta commit is a create-only PUT
//! (`If-None-Match: *`, object_store's default conditional put on S3, see [`crate::delta`]), the
//! run lock is a lease object taken the same way ([`crate::RunLock`]), and
//! `AWS_S3_ALLOW_UNSAFE_RENAME` is refused: a store that cannot do conditional writes cannot hold
//! a warehouse written by several CSS at once.
//!
//! Credentials and endpoint come from the environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`...), as
//! object_store reads them.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, RwLock};
use std::time::SystemTime;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::WarehouseError;
use crate::layout::SOCLE_DIR;

/// The environment variable naming the local work folder of a warehouse on an object store.
pub const WORK_DIR_ENV: &str = "SOCLE_WORK_DIR";
/// Refused: delta-rs's old unsafe-rename commits on S3 (lost commits under concurrent writers).
pub const UNSAFE_RENAME_ENV: &str = "AWS_S3_ALLOW_UNSAFE_RENAME";

/// A warehouse on an object store: its URL, the bucket's store and the local work folder that
/// stands for its root in the warehouse's path space.
#[derive(Debug)]
pub struct Remote {
    /// `s3://bucket/prefix` (no trailing slash).
    url: String,
    /// `s3://bucket`: what DataFusion's and delta-rs's registries key the store by.
    bucket_url: url::Url,
    /// The store, rooted at the bucket.
    store: Arc<dyn ObjectStore>,
    /// The same store for DataFusion's reads: data files' sizes remembered (`head_cache`).
    read_store: Arc<dyn ObjectStore>,
    /// The warehouse's prefix in the bucket (may be empty).
    prefix: String,
    /// The local folder standing for the warehouse root.
    work_dir: PathBuf,
}

static REMOTES: LazyLock<RwLock<Vec<Arc<Remote>>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// Options given by the program for locations (URL prefix, object_store key, value), on top of
/// the environment: see [`configure`].
static OPTIONS: LazyLock<RwLock<Vec<(String, String, String)>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// Sets object_store options (`aws_endpoint`, `aws_allow_http`, `aws_access_key_id`...) for
/// every warehouse whose URL starts with `location_prefix`, on top of the environment: for a
/// program that embeds Socle (and the tests, which must not change the process environment).
/// Applies to warehouses connected from then on.
pub fn configure(location_prefix: &str, options: &[(&str, &str)]) {
    if let Ok(mut all) = OPTIONS.write() {
        for (k, v) in options {
            all.push((location_prefix.to_string(), (*k).to_string(), (*v).to_string()));
        }
    }
}

impl Remote {
    /// The warehouse's URL (`s3://bucket/prefix`), for messages.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The bucket's URL (`s3://bucket`).
    pub fn bucket_url(&self) -> &url::Url {
        &self.bucket_url
    }

    /// The store, rooted at the bucket.
    pub fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.store)
    }

    /// The store to register with a DataFusion session that reads the warehouse: the same
    /// bucket, each data file's size asked once per process instead of at each scan (see
    /// `head_cache`).
    pub fn read_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.read_store)
    }

    /// The object key of a path relative to the warehouse root.
    pub fn key(&self, rel: &str) -> ObjectPath {
        let rel = rel.trim_matches('/');
        match (self.prefix.is_empty(), rel.is_empty()) {
            (true, _) => ObjectPath::from(rel),
            (false, true) => ObjectPath::from(self.prefix.as_str()),
            (false, false) => ObjectPath::from(format!("{}/{rel}", self.prefix)),
        }
    }

    /// The URL of a path relative to the warehouse root (`s3://bucket/prefix/rel`).
    pub fn object_url(&self, rel: &str) -> String {
        format!("{}/{}", self.bucket_url.as_str().trim_end_matches('/'), self.key(rel))
    }
}

/// Whether `location` names a warehouse on an object store (`s3://...`) rather than a folder.
pub fn is_remote_location(location: &Path) -> bool {
    location.to_str().is_some_and(|s| s.contains("://"))
}

/// Connects to the warehouse at `location` (`s3://bucket/prefix`), registers it and returns the
/// local work folder standing for its root. Connecting twice to the same location returns the
/// same work folder.
pub(crate) fn connect(location: &Path) -> Result<PathBuf, WarehouseError> {
    let text = location.to_str().unwrap_or_default().trim_end_matches('/');
    let invalid = |why: &str| WarehouseError::InvalidLocation {
        location: text.to_string(),
        reason: why.to_string(),
    };
    if let Some(existing) = registered().iter().find(|r| r.url == text) {
        return Ok(existing.work_dir.clone());
    }
    if std::env::var(UNSAFE_RENAME_ENV).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0") {
        return Err(WarehouseError::UnsafeRename);
    }
    let url = url::Url::parse(text).map_err(|e| invalid(&e.to_string()))?;
    let bucket = url
        .host_str()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| invalid("pas de compartiment"))?;
    let prefix = url.path().trim_matches('/').to_string();
    let options: Vec<(String, String)> = OPTIONS
        .read()
        .map(|o| o.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|(p, _, _)| text.starts_with(p.as_str()))
        .map(|(_, k, v)| (k, v))
        .collect();
    let bad_key = |e: object_store::Error| invalid(&e.to_string());
    let built = |e: object_store::Error| invalid(&e.to_string());
    let store: Arc<dyn ObjectStore> = match url.scheme() {
        "s3" | "s3a" => {
            let mut builder = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            for (key, value) in options {
                builder = builder.with_config(key.parse().map_err(bad_key)?, value);
            }
            Arc::new(builder.build().map_err(built)?)
        }
        // Azure and Google Cloud Storage: object_store's conditional writes exist there too;
        // not tested by Socle's suite (no local server).
        "az" | "abfs" | "abfss" | "adl" | "azure" => {
            let mut builder = object_store::azure::MicrosoftAzureBuilder::from_env().with_url(format!(
                "{}://{}",
                url.scheme(),
                url.authority()
            ));
            for (key, value) in options {
                builder = builder.with_config(key.parse().map_err(bad_key)?, value);
            }
            Arc::new(builder.build().map_err(built)?)
        }
        "gs" => {
            let mut builder = object_store::gcp::GoogleCloudStorageBuilder::from_env().with_bucket_name(bucket);
            for (key, value) in options {
                builder = builder.with_config(key.parse().map_err(bad_key)?, value);
            }
            Arc::new(builder.build().map_err(built)?)
        }
        _ => {
            return Err(invalid(
                "seuls s3://, gs:// et az:// (abfss://) sont pris en charge, ou un dossier",
            ));
        }
    };
    let bucket_url =
        url::Url::parse(&format!("{}://{}", url.scheme(), url.authority())).map_err(|e| invalid(&e.to_string()))?;
    let work_dir = match std::env::var_os(WORK_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let name: String = format!("{bucket}-{prefix}")
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
                .collect();
            std::env::temp_dir().join("socle-work").join(name)
        }
    };
    std::fs::create_dir_all(&work_dir).map_err(|e| WarehouseError::io("creating folder", &work_dir, e))?;
    let work_dir = std::fs::canonicalize(&work_dir).map_err(|e| WarehouseError::io("resolving", &work_dir, e))?;
    crate::delta::register_object_store_scheme(&bucket_url);
    let remote = Arc::new(Remote {
        url: text.to_string(),
        bucket_url,
        read_store: Arc::new(crate::head_cache::HeadCache::new(Arc::clone(&store))),
        store,
        prefix,
        work_dir: work_dir.clone(),
    });
    if let Ok(mut all) = REMOTES.write() {
        all.retain(|r| r.work_dir != work_dir);
        all.push(remote);
    }
    tracing::info!(warehouse = %text, work_dir = %work_dir.display(), "warehouse on an object store");
    Ok(work_dir)
}

fn registered() -> Vec<Arc<Remote>> {
    REMOTES.read().map(|r| r.clone()).unwrap_or_default()
}

/// Connects to the object store of the warehouse at `location` (`s3://bucket/prefix`) without
/// reading the warehouse: for the cluster's roles, which must start before the first night has
/// created it.
pub fn connect_remote(location: &Path) -> Result<Arc<Remote>, WarehouseError> {
    let work_dir = connect(location)?;
    remote_of_root(&work_dir).ok_or_else(|| WarehouseError::InvalidLocation {
        location: location.display().to_string(),
        reason: "non inscrit après connexion".to_string(),
    })
}

/// The remote whose work folder is `root`, if the warehouse at `root` is on an object store.
pub fn remote_of_root(root: &Path) -> Option<Arc<Remote>> {
    registered().into_iter().find(|r| r.work_dir == root)
}

/// The remote object a local path stands for: `None` for a path of a local warehouse, or of the
/// parts of a remote one that stay local (staging, the local lock).
pub(crate) fn remote_of(path: &Path) -> Option<(Arc<Remote>, String)> {
    let remotes = registered();
    if remotes.is_empty() {
        return None;
    }
    let remote = remotes.into_iter().find(|r| path.starts_with(&r.work_dir))?;
    let rel = path.strip_prefix(&remote.work_dir).ok()?;
    let rel: Vec<&str> = rel.components().filter_map(|c| c.as_os_str().to_str()).collect();
    let rel = rel.join("/");
    let local_only = rel == format!("{SOCLE_DIR}/lock")
        || rel == format!("{SOCLE_DIR}/staging")
        || rel.starts_with(&format!("{SOCLE_DIR}/staging/"));
    (!local_only).then_some((remote, rel))
}

// ----- blocking on the store's I/O -------------------------------------------------------------

/// The runtime of every remote call and Delta commit: one for the process, so the store's
/// pooled connections outlive each call.
fn io_runtime() -> io::Result<&'static tokio::runtime::Runtime> {
    // Built once, inside the lock: a runtime built by a thread that lost a race could not be
    // dropped from an asynchronous context.
    static RUNTIME: LazyLock<io::Result<tokio::runtime::Runtime>> = LazyLock::new(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .thread_name("socle-io")
            .enable_all()
            .build()
    });
    RUNTIME.as_ref().map_err(|e| io::Error::new(e.kind(), e.to_string()))
}

/// Runs `future` to completion on the I/O runtime: the warehouse is synchronous and is called
/// both from plain threads and from inside the CLI's and the server's runtimes (where blocking
/// the calling runtime's thread on itself would panic), so from inside a runtime it blocks a
/// thread of its own.
pub(crate) fn block_on<F>(future: F) -> Result<F::Output, WarehouseError>
where
    F: Future + Send,
    F::Output: Send,
{
    let rt = io_runtime().map_err(|e| WarehouseError::io("starting", "I/O runtime", e))?;
    if tokio::runtime::Handle::try_current().is_err() {
        return Ok(rt.block_on(future));
    }
    std::thread::scope(|s| s.spawn(|| rt.block_on(future)).join())
        .map_err(|_| WarehouseError::io("running", "I/O runtime", io::Error::other("the I/O thread panicked")))
}

fn io_err(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e.to_string()),
        object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. } => {
            io::Error::new(io::ErrorKind::AlreadyExists, e.to_string())
        }
        other => io::Error::other(other.to_string()),
    }
}

fn blocking<T: Send>(future: impl Future<Output = io::Result<T>> + Send) -> io::Result<T> {
    block_on(future).map_err(|e| io::Error::other(e.to_string()))?
}

// ----- std::fs, local or remote ----------------------------------------------------------------

/// `fs::read`.
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    match remote_of(path) {
        None => std::fs::read(path),
        Some((r, rel)) => blocking(async move {
            let got = r.store.get(&r.key(&rel)).await.map_err(io_err)?;
            Ok(got.bytes().await.map_err(io_err)?.to_vec())
        }),
    }
}

/// `fs::read_to_string`.
pub(crate) fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes a whole file at once: `fs::write` locally (the caller syncs or renames as it needs),
/// one PUT (atomic) remotely.
pub(crate) fn write(path: &Path, bytes: Vec<u8>) -> io::Result<()> {
    match remote_of(path) {
        None => std::fs::write(path, bytes),
        Some((r, rel)) => blocking(async move {
            r.store
                .put(&r.key(&rel), PutPayload::from(bytes))
                .await
                .map_err(io_err)?;
            Ok(())
        }),
    }
}

/// Creates a file that must not exist yet: `AlreadyExists` if it does (`O_EXCL` locally, a
/// create-only PUT, `If-None-Match: *`, remotely).
pub(crate) fn create_new(path: &Path, bytes: Vec<u8>) -> io::Result<()> {
    match remote_of(path) {
        None => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
            f.write_all(&bytes)?;
            f.sync_all()
        }
        Some((r, rel)) => blocking(async move {
            let opts = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            r.store
                .put_opts(&r.key(&rel), PutPayload::from(bytes), opts)
                .await
                .map_err(io_err)?;
            Ok(())
        }),
    }
}

/// A file's size and modification time.
pub(crate) fn metadata(path: &Path) -> io::Result<(u64, SystemTime)> {
    match remote_of(path) {
        None => {
            let m = std::fs::metadata(path)?;
            Ok((m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
        }
        Some((r, rel)) => blocking(async move {
            let m = r.store.head(&r.key(&rel)).await.map_err(io_err)?;
            Ok((m.size, SystemTime::from(m.last_modified)))
        }),
    }
}

/// Whether a file exists (a folder counts locally).
pub(crate) fn exists(path: &Path) -> bool {
    match remote_of(path) {
        None => path.exists(),
        Some(_) => metadata(path).is_ok() || is_dir(path),
    }
}

/// Whether a path is a file.
pub(crate) fn is_file(path: &Path) -> bool {
    match remote_of(path) {
        None => path.is_file(),
        Some(_) => metadata(path).is_ok(),
    }
}

/// Whether a path is a folder (remotely: a prefix holding at least one object).
pub(crate) fn is_dir(path: &Path) -> bool {
    match remote_of(path) {
        None => path.is_dir(),
        Some((r, rel)) => blocking(async move {
            let prefix = r.key(&rel);
            let mut objects = r.store.list(Some(&prefix));
            Ok(objects.next().await.is_some_and(|o| o.is_ok()))
        })
        .unwrap_or(false),
    }
}

/// One entry of a folder.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub path: PathBuf,
    pub is_dir: bool,
}

/// `fs::read_dir`, collected and sorted by name. A missing folder is `NotFound` locally and
/// empty remotely (object stores have no folders).
pub(crate) fn read_dir(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut entries = match remote_of(dir) {
        None => {
            let mut out = Vec::new();
            for e in std::fs::read_dir(dir)? {
                let e = e?;
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                out.push(Entry {
                    name,
                    path: e.path(),
                    is_dir,
                });
            }
            out
        }
        Some((r, rel)) => {
            let listed = blocking(async move {
                let prefix = r.key(&rel);
                r.store.list_with_delimiter(Some(&prefix)).await.map_err(io_err)
            })?;
            let name_of = |p: &ObjectPath| p.filename().map(str::to_string);
            let dirs = listed
                .common_prefixes
                .iter()
                .filter_map(name_of)
                .map(|name| (name, true));
            let files = listed
                .objects
                .iter()
                .filter_map(|o| name_of(&o.location))
                .map(|n| (n, false));
            dirs.chain(files)
                .map(|(name, is_dir)| Entry {
                    path: dir.join(&name),
                    name,
                    is_dir,
                })
                .collect()
        }
    };
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// Every file under `dir`, recursively (one listing remotely); empty for a missing folder.
pub(crate) fn walk_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    match remote_of(dir) {
        None => {
            let mut out = Vec::new();
            let mut stack = vec![dir.to_path_buf()];
            while let Some(d) = stack.pop() {
                let entries = match read_dir(&d) {
                    Ok(e) => e,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for e in entries {
                    if e.is_dir {
                        stack.push(e.path);
                    } else {
                        out.push(e.path);
                    }
                }
            }
            Ok(out)
        }
        Some((r, rel)) => {
            let base = dir.to_path_buf();
            let keys: Vec<String> = blocking(async move {
                let prefix = r.key(&rel);
                let objects: Vec<object_store::ObjectMeta> =
                    r.store.list(Some(&prefix)).try_collect().await.map_err(io_err)?;
                let strip = format!("{prefix}/");
                Ok(objects
                    .into_iter()
                    .filter_map(|o| o.location.as_ref().strip_prefix(&strip).map(str::to_string))
                    .collect())
            })?;
            Ok(keys.iter().map(|k| crate::layout::resolve(&base, k)).collect())
        }
    }
}

/// A digest of the objects under a remote folder (names, ETags, dates): changes whenever one is
/// written. Empty string for a local folder.
pub(crate) fn fingerprint(dir: &Path) -> io::Result<String> {
    use sha2::Digest;
    // A server asks on every request: one listing per second at most.
    const FRESH: std::time::Duration = std::time::Duration::from_secs(1);
    type Cached = Vec<(PathBuf, std::time::Instant, String)>;
    static CACHE: LazyLock<std::sync::Mutex<Cached>> = LazyLock::new(|| std::sync::Mutex::new(Vec::new()));
    let Some((r, rel)) = remote_of(dir) else {
        return Ok(String::new());
    };
    if let Ok(cache) = CACHE.lock()
        && let Some((_, _, stamp)) = cache.iter().find(|(d, at, _)| d == dir && at.elapsed() < FRESH)
    {
        return Ok(stamp.clone());
    }
    let listed = blocking(async move {
        let prefix = r.key(&rel);
        r.store
            .list(Some(&prefix))
            .try_collect::<Vec<object_store::ObjectMeta>>()
            .await
            .map_err(io_err)
    })?;
    let mut digest = sha2::Sha256::new();
    let mut lines: Vec<String> = listed
        .iter()
        .map(|o| {
            format!(
                "{}|{:?}|{}\n",
                o.location,
                o.e_tag,
                o.last_modified.timestamp_nanos_opt().unwrap_or(0)
            )
        })
        .collect();
    lines.sort();
    for line in lines {
        digest.update(line.as_bytes());
    }
    let stamp = hex::encode(&digest.finalize()[..8]);
    if let Ok(mut cache) = CACHE.lock() {
        cache.retain(|(d, _, _)| d != dir);
        cache.push((dir.to_path_buf(), std::time::Instant::now(), stamp.clone()));
    }
    Ok(stamp)
}

/// `fs::remove_file`.
pub(crate) fn remove_file(path: &Path) -> io::Result<()> {
    match remote_of(path) {
        None => std::fs::remove_file(path),
        // A DELETE of a missing object succeeds on S3: a missing file is not reported.
        Some((r, rel)) => blocking(async move { r.store.delete(&r.key(&rel)).await.map_err(io_err) }),
    }
}

/// `fs::remove_dir_all` (remotely: every object under the prefix).
pub(crate) fn remove_dir_all(path: &Path) -> io::Result<()> {
    match remote_of(path) {
        None => std::fs::remove_dir_all(path),
        Some((r, rel)) => blocking(async move {
            let prefix = r.key(&rel);
            let locations = r.store.list(Some(&prefix)).map_ok(|o| o.location).boxed();
            r.store
                .delete_stream(locations)
                .try_collect::<Vec<_>>()
                .await
                .map_err(io_err)?;
            Ok(())
        }),
    }
}

/// `fs::remove_dir` (an empty folder). Object stores have no folders: nothing to do.
pub(crate) fn remove_dir(path: &Path) -> io::Result<()> {
    match remote_of(path) {
        None => std::fs::remove_dir(path),
        Some(_) => Err(io::Error::other("object stores have no folders")),
    }
}

/// `fs::create_dir_all`. Object stores have no folders: nothing to do.
pub(crate) fn create_dir_all(dir: &Path) -> io::Result<()> {
    match remote_of(dir) {
        None => std::fs::create_dir_all(dir),
        Some(_) => Ok(()),
    }
}

/// Whether `dir` (a folder of the warehouse) lives on an object store.
pub(crate) fn is_remote(path: &Path) -> bool {
    remote_of(path).is_some()
}

/// Files uploaded with one create-only PUT (larger ones: a multipart upload after a HEAD).
const SINGLE_PUT_MAX: u64 = 64 * 1024 * 1024;

/// How [`move_into_place`] treats an existing file at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Existing {
    /// Refused (`AlreadyExists`): a published data file is never overwritten.
    Refuse,
    /// Replaced (a run's quality report written again).
    Replace,
}

/// Moves a finished local file (staged) to its place: `fs::rename` locally (the caller checks
/// that nothing is overwritten); remotely an upload, then the local copy is deleted. With
/// [`Existing::Refuse`] the upload is create-only (`If-None-Match: *`): the check and the write
/// are one request, never a HEAD then a PUT.
pub(crate) fn move_into_place(from: &Path, to: &Path, existing: Existing) -> io::Result<()> {
    match remote_of(to) {
        None => std::fs::rename(from, to),
        Some((r, rel)) => {
            let from_owned = from.to_path_buf();
            let size = std::fs::metadata(from)?.len();
            blocking(async move {
                let key = r.key(&rel);
                if size <= SINGLE_PUT_MAX {
                    let bytes = tokio::fs::read(&from_owned).await?;
                    let mode = match existing {
                        Existing::Refuse => PutMode::Create,
                        Existing::Replace => PutMode::Overwrite,
                    };
                    let opts = PutOptions {
                        mode,
                        ..Default::default()
                    };
                    r.store
                        .put_opts(&key, PutPayload::from(bytes), opts)
                        .await
                        .map_err(io_err)?;
                    return Ok(());
                }
                if existing == Existing::Refuse && r.store.head(&key).await.is_ok() {
                    return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{key} exists")));
                }
                let mut file = tokio::fs::File::open(&from_owned).await?;
                let mut upload = object_store::buffered::BufWriter::new(r.store(), key);
                tokio::io::copy(&mut file, &mut upload).await?;
                tokio::io::AsyncWriteExt::shutdown(&mut upload).await?;
                Ok(())
            })?;
            std::fs::remove_file(from)
        }
    }
}

/// The Parquet footer of a warehouse file.
pub(crate) fn parquet_metadata(
    path: &Path,
) -> Result<Arc<datafusion::parquet::file::metadata::ParquetMetaData>, WarehouseError> {
    let parquet_err = |source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    match remote_of(path) {
        None => {
            use datafusion::parquet::file::reader::FileReader;
            let file = std::fs::File::open(path).map_err(|e| WarehouseError::io("opening", path, e))?;
            let reader =
                datafusion::parquet::file::serialized_reader::SerializedFileReader::new(file).map_err(parquet_err)?;
            Ok(Arc::new(reader.metadata().clone()))
        }
        Some((r, rel)) => block_on(async move { remote_parquet_metadata(&r, &rel).await })?.map_err(parquet_err),
    }
}

/// The Arrow schema a Parquet footer describes (`path`: the file, for the error).
pub(crate) fn footer_schema(
    path: &Path,
    footer: &datafusion::parquet::file::metadata::ParquetMetaData,
) -> Result<datafusion::arrow::datatypes::SchemaRef, WarehouseError> {
    let schema = datafusion::parquet::arrow::parquet_to_arrow_schema(
        footer.file_metadata().schema_descr(),
        footer.file_metadata().key_value_metadata(),
    )
    .map_err(|source| WarehouseError::Parquet {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Arc::new(schema))
}

/// [`remote_parquet_metadata`] of the remote file `path` stands for, its error naming `path`.
pub(crate) async fn remote_footer(
    remote: &Remote,
    rel: &str,
    path: &Path,
) -> Result<Arc<datafusion::parquet::file::metadata::ParquetMetaData>, WarehouseError> {
    remote_parquet_metadata(remote, rel)
        .await
        .map_err(|source| WarehouseError::Parquet {
            path: path.to_path_buf(),
            source,
        })
}

/// The Parquet footer of a remote file: one ranged GET of the file's last bytes (a second one
/// when the footer is larger than that).
pub(crate) async fn remote_parquet_metadata(
    remote: &Remote,
    rel: &str,
) -> Result<Arc<datafusion::parquet::file::metadata::ParquetMetaData>, datafusion::parquet::errors::ParquetError> {
    use datafusion::parquet::errors::ParquetError;
    use datafusion::parquet::file::metadata::{FooterTail, ParquetMetaDataReader};
    const FOOTER_HINT: u64 = 64 * 1024;
    let key = remote.key(rel);
    let suffix = |n: u64| {
        let store = remote.store();
        let key = key.clone();
        async move {
            let opts = object_store::GetOptions {
                range: Some(object_store::GetRange::Suffix(n)),
                ..Default::default()
            };
            let got = store.get_opts(&key, opts).await?;
            got.bytes().await
        }
    };
    let external = |e: object_store::Error| ParquetError::External(Box::new(e));
    let mut tail = suffix(FOOTER_HINT).await.map_err(external)?;
    let len = tail.len();
    if len < 8 {
        return Err(ParquetError::General(format!("{key}: not a Parquet file")));
    }
    let footer = FooterTail::try_from(&tail[len - 8..])?;
    let needed = footer.metadata_length() + 8;
    if needed > len {
        tail = suffix(needed as u64).await.map_err(external)?;
    }
    let len = tail.len();
    if len < needed {
        return Err(ParquetError::General(format!("{key}: truncated Parquet footer")));
    }
    Ok(Arc::new(ParquetMetaDataReader::decode_metadata(
        &tail[len - needed..len - 8],
    )?))
}
