//! The run lock of a warehouse on an object store: a **lease object** (`_socle/run.lock`).
//!
//! An object store has no file locks, and a process that dies cannot release anything. So the
//! lock is an object holding its holder and an expiry: taken with a create-only PUT
//! (`If-None-Match: *`), renewed every [`LEASE_TTL`]`/4` by a background thread with a PUT
//! conditional on the object's current ETag (`If-Match`), and deleted when released. A lease
//! whose expiry has passed (its holder was killed, or lost its network) is taken over with a PUT
//! conditional on the ETag read, so of two processes taking it over at once, one wins. A holder
//! that fails to renew marks its lease lost, and every publication of the process checks that
//! before its commit point ([`check_held`]): a run that lost its lease stops without publishing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::error::WarehouseError;
use crate::run_lock::RunLockHolder;
use crate::store::{Remote, block_on};

/// How long a lease lasts without renewal.
pub(crate) const LEASE_TTL: Duration = Duration::from_secs(120);

/// The lease object's content.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct LeaseRecord {
    #[serde(flatten)]
    holder: RunLockHolder,
    /// RFC 3339 (UTC): after this, anyone may take the lease over.
    expires_at: String,
}

/// A lease this process holds: the warehouse's URL and whether the lease was lost.
type HeldLease = (String, Arc<AtomicBool>);

/// The leases this process holds.
static HELD: std::sync::LazyLock<std::sync::Mutex<Vec<HeldLease>>> =
    std::sync::LazyLock::new(|| std::sync::Mutex::new(Vec::new()));

/// A held lease; renewed until dropped, deleted when dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    remote: Arc<Remote>,
    key: ObjectPath,
    stop: Arc<AtomicBool>,
    lost: Arc<AtomicBool>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

fn record(holder: &RunLockHolder, now: chrono::DateTime<chrono::Utc>) -> Result<Vec<u8>, WarehouseError> {
    let ttl = chrono::Duration::from_std(LEASE_TTL).unwrap_or_else(|_| chrono::Duration::minutes(2));
    let rec = LeaseRecord {
        holder: holder.clone(),
        expires_at: (now + ttl).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    serde_json::to_vec(&rec).map_err(|source| WarehouseError::Json {
        path: std::path::PathBuf::from(crate::layout::SOCLE_DIR).join("run.lock"),
        source,
    })
}

fn store_err(remote: &Remote, e: object_store::Error) -> WarehouseError {
    WarehouseError::io(
        "taking the run lock lease of",
        remote.url(),
        std::io::Error::other(e.to_string()),
    )
}

/// Takes the lease of `remote` for `holder`, or fails at once naming the live holder.
pub(crate) fn acquire(remote: Arc<Remote>, holder: &RunLockHolder) -> Result<Lease, WarehouseError> {
    let key = remote.key(&format!("{}/run.lock", crate::layout::SOCLE_DIR));
    let store = remote.store();
    let body = record(holder, chrono::Utc::now())?;
    let version = block_on({
        let store = store.clone();
        let key = key.clone();
        async move {
            let create = PutOptions {
                mode: PutMode::Create,
                ..Default::default()
            };
            match store.put_opts(&key, PutPayload::from(body.clone()), create).await {
                Ok(put) => Ok(Ok(UpdateVersion {
                    e_tag: put.e_tag,
                    version: put.version,
                })),
                Err(object_store::Error::AlreadyExists { .. }) => {
                    let got = store.get(&key).await?;
                    let e_tag = got.meta.e_tag.clone();
                    let current: Option<LeaseRecord> = serde_json::from_slice(&got.bytes().await?).ok();
                    let expired = current.as_ref().is_none_or(|c| {
                        chrono::DateTime::parse_from_rfc3339(&c.expires_at)
                            .map(|t| t < chrono::Utc::now())
                            .unwrap_or(true)
                    });
                    if !expired {
                        return Ok(Err(current.map(|c| c.holder.to_string()).unwrap_or_default()));
                    }
                    // Taken over: conditional on the expired lease we read.
                    let update = PutOptions {
                        mode: PutMode::Update(UpdateVersion { e_tag, version: None }),
                        ..Default::default()
                    };
                    match store.put_opts(&key, PutPayload::from(body), update).await {
                        Ok(put) => {
                            tracing::warn!(previous = ?current.map(|c| c.holder.to_string()), "expired run lock lease taken over");
                            Ok(Ok(UpdateVersion {
                                e_tag: put.e_tag,
                                version: put.version,
                            }))
                        }
                        Err(object_store::Error::Precondition { .. } | object_store::Error::AlreadyExists { .. }) => {
                            Ok(Err("a process that took the expired lease over at the same time".to_string()))
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
    })?
    .map_err(|e| store_err(&remote, e))?;
    let version = match version {
        Ok(v) => v,
        Err(holder) => {
            return Err(WarehouseError::RunInProgress {
                path: std::path::PathBuf::from(format!("{}/{}/run.lock", remote.url(), crate::layout::SOCLE_DIR)),
                holder,
            });
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let lost = Arc::new(AtomicBool::new(false));
    if let Ok(mut held) = HELD.lock() {
        held.retain(|(url, _)| url != remote.url());
        held.push((remote.url().to_string(), lost.clone()));
    }
    let renewer = {
        let (remote, key, stop, lost, holder) =
            (remote.clone(), key.clone(), stop.clone(), lost.clone(), holder.clone());
        std::thread::Builder::new()
            .name("socle-lease".into())
            .spawn(move || renew_until_stopped(&remote, &key, &holder, version, &stop, &lost))
            .map_err(|e| WarehouseError::io("starting", "run lock lease renewal", e))?
    };
    Ok(Lease {
        remote,
        key,
        stop,
        lost,
        renewer: Some(renewer),
    })
}

fn renew_until_stopped(
    remote: &Remote,
    key: &ObjectPath,
    holder: &RunLockHolder,
    mut version: UpdateVersion,
    stop: &AtomicBool,
    lost: &AtomicBool,
) {
    let period = LEASE_TTL / 4;
    let tick = Duration::from_millis(200);
    let mut waited = Duration::ZERO;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        waited += tick;
        if waited < period {
            continue;
        }
        waited = Duration::ZERO;
        let Ok(body) = record(holder, chrono::Utc::now()) else {
            continue;
        };
        let store = remote.store();
        let update = PutOptions {
            mode: PutMode::Update(version.clone()),
            ..Default::default()
        };
        match block_on(async move { store.put_opts(key, PutPayload::from(body), update).await }) {
            Ok(Ok(put)) => {
                version = UpdateVersion {
                    e_tag: put.e_tag,
                    version: put.version,
                }
            }
            Ok(Err(object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. })) => {
                tracing::error!(
                    warehouse = remote.url(),
                    "run lock lease lost: taken over by another process"
                );
                lost.store(true, Ordering::Relaxed);
                return;
            }
            // A network error: retried at the next period; the lease lasts LEASE_TTL.
            Ok(Err(e)) => tracing::warn!(error = %e, "could not renew the run lock lease"),
            Err(e) => tracing::warn!(error = %e, "could not renew the run lock lease"),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        if let Ok(mut held) = HELD.lock() {
            held.retain(|(url, _)| url != self.remote.url());
        }
        if !self.lost.load(Ordering::Relaxed) {
            let store = self.remote.store();
            let key = self.key.clone();
            if let Err(e) = block_on(async move { store.delete(&key).await }).map(|r| r.map_err(|e| e.to_string())) {
                tracing::warn!(error = %e, "could not release the run lock lease");
            }
        }
    }
}

/// Fails if this process held the lease of `remote` and lost it: called before every commit
/// point on an object store.
pub(crate) fn check_held(remote: &Remote) -> Result<(), WarehouseError> {
    let lost = HELD
        .lock()
        .map(|held| {
            held.iter()
                .any(|(url, lost)| url == remote.url() && lost.load(Ordering::Relaxed))
        })
        .unwrap_or(false);
    if lost {
        return Err(WarehouseError::LeaseLost {
            location: remote.url().to_string(),
        });
    }
    Ok(())
}
