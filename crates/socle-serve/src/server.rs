//! The process: loads the accounts, the dictionary and the pipelines, binds the web and SQL
//! listeners (TLS on both when configured), and serves until stopped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::access::AccessFile;
use crate::audit::Auditor;
use crate::scope::Catalog;
use crate::web::auth::{FailureLimiter, Sessions};

/// `access.yaml`, read again when it changes (a password set with `socle serve passwd`, an
/// account removed) without a restart. A file that no longer loads keeps the previous accounts
/// in force, and says so in the log.
pub struct AccessStore {
    path: PathBuf,
    state: Mutex<(Option<SystemTime>, Arc<AccessFile>)>,
}

impl AccessStore {
    pub fn load(path: &Path) -> Result<Self> {
        let file = AccessFile::load(path).with_context(|| format!("loading {}", path.display()))?;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(AccessStore {
            path: path.to_path_buf(),
            state: Mutex::new((modified, Arc::new(file))),
        })
    }

    /// The accounts now.
    pub fn current(&self) -> Arc<AccessFile> {
        let modified = std::fs::metadata(&self.path).and_then(|m| m.modified()).ok();
        let Ok(mut state) = self.state.lock() else {
            return Arc::new(AccessFile::default());
        };
        if modified.is_some() && modified != state.0 {
            match AccessFile::load(&self.path) {
                Ok(f) => {
                    tracing::info!(path = %self.path.display(), "accounts reloaded");
                    *state = (modified, Arc::new(f));
                }
                Err(e) => {
                    tracing::error!(error = %e, "access file no longer loads: previous accounts kept");
                    state.0 = modified;
                }
            }
        }
        Arc::clone(&state.1)
    }
}

/// Everything a request needs.
pub struct Server {
    pub catalog: Catalog,
    pub access: AccessStore,
    pub auditor: Auditor,
    pub sessions: Sessions,
    pub limiter: FailureLimiter,
    /// The dashboard pages' results, per scope and publication.
    pub pages: crate::web::page_cache::PageCache,
    /// Cookies marked `Secure` (TLS is on).
    pub secure: bool,
}

/// What `socle serve` is given.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeOptions {
    #[arg(long, default_value = "warehouse")]
    pub warehouse: PathBuf,
    /// The accounts and settings (see `socle serve passwd`).
    #[arg(long, default_value = "access.yaml")]
    pub access: PathBuf,
    #[arg(long, default_value = "schemas")]
    pub schemas: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pub pipelines: PathBuf,
    /// The web page's address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The SQL endpoint's address (Postgres wire).
    #[arg(long, default_value = "127.0.0.1:5433")]
    pub pg_listen: SocketAddr,
    /// Serve the web page only (no SQL endpoint).
    #[arg(long)]
    pub no_sql: bool,
    /// Megabytes of marts each account scope may hold in memory, read once per night instead
    /// of on every page and statement (0: always read the files).
    #[arg(long, default_value_t = 256)]
    pub marts_memory_mib: usize,
    /// TLS certificate (PEM) for both the web page and the SQL endpoint; the server refuses to
    /// start if it cannot be loaded.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The TLS configuration, or an error: a configured certificate that cannot be loaded stops the
/// server rather than letting it serve in clear.
pub fn load_tls(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>> {
    // ring rather than aws-lc-rs: no C toolchain to build. It has no post-quantum key exchange
    // (hence rustls's deprecation note); aws-lc-rs would bring it at the cost of a C build.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<_> = rustls_pemfile::certs(&mut std::io::BufReader::new(
        std::fs::File::open(cert).with_context(|| format!("opening the certificate {}", cert.display()))?,
    ))
    .collect::<Result<_, _>>()
    .with_context(|| format!("reading the certificate {}", cert.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificate in this file", cert.display());
    }
    let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(
        std::fs::File::open(key).with_context(|| format!("opening the key {}", key.display()))?,
    ))
    .with_context(|| format!("reading the key {}", key.display()))?
    .with_context(|| format!("{}: no private key in this file", key.display()))?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not form a usable TLS configuration")?;
    Ok(Arc::new(config))
}

impl Server {
    /// Loads the accounts, the dictionary, the pipelines and the warehouse.
    pub fn open(o: &ServeOptions) -> Result<Arc<Self>> {
        // Refuses a folder (or bucket) no run has made a warehouse yet, before loading the rest.
        let warehouse = socle_warehouse::Warehouse::open_existing(&o.warehouse)?;
        let access = AccessStore::load(&o.access)?;
        let dictionary = socle_dictionary::Dictionary::load(&o.schemas)
            .with_context(|| format!("loading the dictionary from {}", o.schemas.display()))?;
        let (project, problems) = socle_marts::load(&o.pipelines)
            .with_context(|| format!("loading the pipelines from {}", o.pipelines.display()))?;
        if let Some(p) = problems.first() {
            bail!(
                "the pipelines have {} problem(s) (see `socle check`), first: {p}",
                problems.len()
            );
        }
        let auditor = Auditor::open(warehouse.root())?;
        let idle = Duration::from_secs(access.current().settings.session_idle_minutes.max(1) * 60);
        Ok(Arc::new(Server {
            catalog: Catalog::new(warehouse, dictionary, project)
                .with_marts_memory(o.marts_memory_mib.saturating_mul(1024 * 1024)),
            access,
            auditor,
            sessions: Sessions::new(idle),
            limiter: FailureLimiter::default(),
            pages: Default::default(),
            secure: o.tls_cert.is_some(),
        }))
    }
}

/// The bound listeners of a server about to serve (bound first, so a caller, a test, knows the
/// ports before serving starts).
pub struct Bound {
    pub server: Arc<Server>,
    pub web: TcpListener,
    pub pg: Option<TcpListener>,
    pub tls: Option<TlsAcceptor>,
}

impl Bound {
    pub fn web_addr(&self) -> std::io::Result<SocketAddr> {
        self.web.local_addr()
    }
    pub fn pg_addr(&self) -> Option<SocketAddr> {
        self.pg.as_ref().and_then(|l| l.local_addr().ok())
    }
}

/// Opens the server and binds its listeners.
pub async fn bind(o: &ServeOptions) -> Result<Bound> {
    let tls = match (&o.tls_cert, &o.tls_key) {
        (Some(c), Some(k)) => Some(TlsAcceptor::from(load_tls(c, k)?)),
        (None, None) => None,
        _ => bail!("--tls-cert and --tls-key go together"),
    };
    let server = Server::open(o)?;
    let web = TcpListener::bind(o.listen)
        .await
        .with_context(|| format!("listening on {}", o.listen))?;
    let pg = match (!o.no_sql).then_some(o.pg_listen) {
        Some(a) => Some(
            TcpListener::bind(a)
                .await
                .with_context(|| format!("listening on {a}"))?,
        ),
        None => None,
    };
    Ok(Bound { server, web, pg, tls })
}

/// Serves until `shutdown` resolves.
pub async fn serve(b: Bound, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
    let Bound { server, web, pg, tls } = b;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let web_task = tokio::spawn(crate::http::serve_web(
        Arc::clone(&server),
        web,
        tls.clone(),
        stop_rx.clone(),
    ));
    let pg_task = pg.map(|l| {
        tokio::spawn(crate::pg::serve_pg(
            Arc::clone(&server),
            l,
            tls.clone(),
            stop_rx.clone(),
        ))
    });
    shutdown.await;
    let _ = stop_tx.send(true);
    let _ = web_task.await;
    if let Some(t) = pg_task {
        let _ = t.await;
    }
    Ok(())
}
