//! The one error type of the writers.

use std::path::PathBuf;

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file or folder operation, with the path it was about.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing to the caller's sink.
    #[error("cannot write: {0}")]
    Write(#[from] std::io::Error),
    /// The target of an [`crate::AtomicFile`] cannot be written (no such folder, a folder...).
    #[error("cannot write {}: {reason}", path.display())]
    Target { path: PathBuf, reason: String },
    #[error(transparent)]
    Arrow(#[from] datafusion::arrow::error::ArrowError),
    #[error(transparent)]
    Parquet(#[from] datafusion::parquet::errors::ParquetError),
    #[error(transparent)]
    Csv(#[from] csv::Error),
    #[error("Excel: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// What the format cannot hold (rows or columns beyond Excel's limits, headings that do not
    /// match the columns...).
    #[error("{0}")]
    Unsupported(String),
}
