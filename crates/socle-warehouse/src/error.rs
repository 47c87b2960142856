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
