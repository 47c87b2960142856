use std::path::PathBuf;

use datafusion::arrow::error::ArrowError;
use datafusion::error::DataFusionError;
use datafusion::parquet::errors::ParquetError;

/// Everything that can go wrong in the warehouse, with the file or table it concerns.
#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    /// A command that reads a warehouse was given a folder that is not one yet.
    #[error("{} is not a Socle warehouse yet: run `socle run` first", .0.display())]
    NotAWarehouse(PathBuf),
    /// A file-system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A manifest or report could not be read or written as JSON.
    #[error("JSON {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A manifest of a format this version does not know.
    #[error(
        "{path}: manifest format {found} is not supported (expected {expected}); this warehouse was written by another version of Socle: load it again into a new warehouse folder"
    )]
    ManifestFormat { path: PathBuf, found: u32, expected: u32 },
    /// Writing a Parquet file failed.
    #[error("writing Parquet {path}: {source}")]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    /// An Arrow kernel failed (casting, filtering, projecting) on a table.
    #[error("table `{table}`: {source}")]
    Arrow {
        table: String,
        #[source]
        source: ArrowError,
    },
    /// DataFusion failed while building the query session.
    #[error("query session: {0}")]
    DataFusion(#[from] DataFusionError),
    /// A CSS code, run id, table name or partition value that cannot be used as a path component.
    #[error("invalid {what} `{value}`: use letters, digits, `-` or `_` (and `.` after the first character)")]
    InvalidName { what: &'static str, value: String },
    /// A field the dictionary allows in the shared zone is missing from the batches.
    #[error("table `{table}`: shared field `{field}` is missing from the batches")]
    MissingSharedField { table: String, field: String },
    /// A partition column is missing from the batches.
    #[error("table `{table}`: partition column `{column}` is missing from the batches")]
    MissingPartitionColumn { table: String, column: String },
    /// Rows whose partition column is null (they cannot be placed in a partition).
    #[error("table `{table}`: {rows} row(s) have no `{column}`")]
    NullPartitionValue { table: String, column: String, rows: usize },
    /// Rows of another CSS in a CSS's transaction.
    #[error("table `{table}`: {rows} row(s) have a `code_css` other than `{code_css}`")]
    ForeignRows {
        table: String,
        code_css: String,
        rows: usize,
    },
    /// Batches of one table with different schemas.
    #[error("table `{table}`: batches have different schemas")]
    SchemaMismatch { table: String },
    /// Mart rows whose CSS has no zone in the warehouse.
    #[error("mart `{mart}` has rows of CSS {code_css}, which has no zone in this warehouse")]
    MartCss { mart: String, code_css: String },
    /// Mart rows for the CSS zones without a `code_css`.
    #[error("mart `{mart}`: rows for the CSS zones need a `code_css` (a column, never null)")]
    MartWithoutCss { mart: String },
    /// A table written twice in one transaction.
    #[error("table `{table}` was already written in this transaction")]
    AlreadyWritten { table: String },
    /// A table name the warehouse reserves for itself.
    #[error("table name `{table}` is reserved by the warehouse")]
    ReservedName { table: String },
    /// The run id is already the published run of this CSS (or of the marts).
    #[error("run `{run_id}` is already published for `{code_css}`: use a new run id")]
    RunIdReused { code_css: String, run_id: String },
    /// A file with the final name of a staged file already exists.
    #[error("{path} already exists: refusing to overwrite a published file")]
    FileExists { path: PathBuf },
    /// The key fingerprint differs from the one of the CSS already in the warehouse.
    #[error(
        "CSS {code_css}: key fingerprint {fingerprint} differs from {other_fingerprint} used by CSS {other_css}; \
         mixing pseudonymisation keys would break cohorts across CSS (re-run every CSS with one key, or use another warehouse)"
    )]
    KeyMismatch {
        code_css: String,
        fingerprint: String,
        other_css: String,
        other_fingerprint: String,
    },
    /// Two tables of one session with the same name.
    #[error("name `{name}` is both a table and a mart")]
    NameClash { name: String },
    /// Another process holds the warehouse's exclusive run lock ([`crate::Warehouse::lock_run`]).
    #[error(
        "another run holds this warehouse ({holder}; lock {path}): one run at a time per warehouse; \
         wait for it to end (a run that dies releases the lock)"
    )]
    RunInProgress { path: PathBuf, holder: String },
    /// A Delta commit or log read failed on a table folder.
    #[error("Delta table `{table}`: {source}")]
    Delta {
        table: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },
    /// `--as-of` is neither a run id, a date nor a date-time.
    #[error(
        "--as-of `{0}` : attendu un identifiant de nuit (20261205T031500Z-0a1b2c3d, voir `socle history`), une date (2026-12-05) ou une date-heure RFC 3339 (2026-12-05T03:15:00Z)"
    )]
    InvalidAsOf(String),
    /// `--as-of` names no publication the history still holds.
    #[error(
        "--as-of `{0}` : aucune publication de l'historique ne correspond (elle a pu être oubliée par `socle vacuum`, une rotation de clé ou une rétention) ; `socle history` liste les nuits lisibles"
    )]
    UnknownAsOf(String),
    /// The past state names files a vacuum deleted.
    #[error(
        "--as-of `{as_of}` : des fichiers de cet état passé ont été supprimés (hors de la fenêtre de rétention, `socle vacuum`) ; `socle history` liste les nuits lisibles"
    )]
    Vacuumed { as_of: String },
    /// The past state is older than a key rotation or a retention, which forget all history.
    #[error(
        "--as-of `{as_of}` : l'historique antérieur à `{generation}` (rotation de clé ou rétention) a été effacé, pour que les données retirées ne restent pas lisibles ; `socle history` liste les nuits lisibles"
    )]
    Forgotten { as_of: String, generation: String },
    /// A write on a warehouse handle pinned to a past state.
    #[error("l'entrepôt est lu tel qu'il était à `{0}` (--as-of) : lecture seule, aucune écriture")]
    PinnedReadOnly(String),
    /// A maintenance command needs the warehouse to itself.
    #[error("{what} : une autre commande écrit dans cet entrepôt en ce moment ; réessayez quand elle aura fini")]
    Busy { what: &'static str },
    /// A `--warehouse` URL that does not name a supported object store.
    #[error("entrepôt `{location}` : {reason} (warehouse location not supported)")]
    InvalidLocation { location: String, reason: String },
    /// `AWS_S3_ALLOW_UNSAFE_RENAME` is set: Socle commits only through conditional writes.
    #[error(
        "AWS_S3_ALLOW_UNSAFE_RENAME est défini : Socle ne publie sur un magasin d'objets que par écritures conditionnelles (If-None-Match), jamais par renommage non sûr ; retirez cette variable (refused: unsafe rename)"
    )]
    UnsafeRename,
    /// The run lock lease of a warehouse on an object store was lost to another process (it was
    /// not renewed in time).
    #[error(
        "le verrou d'exécution de {location} a été perdu (bail expiré et repris par un autre processus) : cette exécution s'arrête sans publier (run lock lease lost)"
    )]
    LeaseLost { location: String },
    /// A test failpoint fired (see [`crate::FAILPOINT_ENV`]).
    #[error("failpoint `{0}` fired")]
    Failpoint(String),
}

impl WarehouseError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WarehouseError::Io {
            action,
            path: path.into(),
            source,
        }
    }
    pub(crate) fn arrow(table: &str, source: ArrowError) -> Self {
        WarehouseError::Arrow {
            table: table.to_string(),
            source,
        }
    }
}
