//! What every Socle connector shares.
//!
//! - The extract types: [`Extract`], [`TypedTable`], [`Reject`] with its [`RejectKind`],
//!   [`FileInfo`] and [`ConnectError`].
//! - [`read_delimited`]: the reader of delimited exports (GPI, JADE and Dofin are all CSV with
//!   the variations of formats/README.md), driven by the source contract.
//! - [`typing`]: the typing and validation of raw string columns by the contract, as one
//!   generated DataFusion query; the JSON Lines connector (Mozaïk) reuses it.
//! - `testing` (feature `testing`, for the connectors' tests): contracts, inline folders,
//!   assertions, and `testing::fuzz`, the fuzz campaigns (proptest, stable Rust) that feed every
//!   reader mutated and cut committed fixtures, and the dictionary and pipelines loaders mutated
//!   copies of `schemas/` and `pipelines/` (`benches/fuzz.sh` runs a long campaign).
//!
//! [`read_delimited`] reads a night's source folder against its contract
//! (`schemas/sources/<system>.yaml`, a [`socle_dictionary::Source`]) and returns an [`Extract`]: one
//! typed Arrow table per contract table, every rejected row with its file, line, column and
//! reason, and what was read of each file (size, SHA-256, encoding, delimiter).
//!
//! # Design
//!
//! Two stages per table, with no hand-written CSV parser (shared `DESIGN.md`, "Reading exports"):
//!
//! 1. **Splitting, in Rust** (`split`). The file is opened and hashed as it is read. The encoding
//!    is the declared one, or, for [`Encoding::Auto`], UTF-8 when the whole file is valid UTF-8
//!    (one scan in chunks, sequences cut by a chunk boundary carried over), else Windows-1252. A
//!    UTF-8 byte order mark is skipped; Windows-1252 is transcoded as a stream by
//!    `encoding_rs_io`. The delimiter (`;`, `,`, `|` or tab) is the most frequent of them in the
//!    header line. The `csv` crate splits the records (RFC 4180 quoting, CRLF or LF, flexible
//!    field counts, `ByteRecord` positions for line numbers). The header is matched to the
//!    contract case-insensitively after trimming, in any order, extra columns ignored; a missing
//!    required column fails the whole source. So does a **bad night's file** (formats/README.md,
//!    "A bad night never replaces good data"): a 0-byte file or one with no header
//!    ([`ConnectError::EmptyFile`]; a header with no rows is a valid empty table), and a **cut
//!    file** ([`ConnectError::CutFile`]): a last record with no line end and fewer fields than
//!    the header, or a file ending inside a quoted field with no line end (a transfer stopped in
//!    a quoted field looks exactly like that). A last record without a line end that has all its
//!    fields is complete and loads; a cut that lands exactly on a line end cannot be seen here
//!    (the drop guard of the pipeline is there for that). Record-level problems are rejected
//!    here: a wrong field count, a quote that is never closed (a field running over line breaks
//!    with a wrong count, or a file that ends with a line break while inside a quote: an odd
//!    number of `"` in the stream), bytes that are not UTF-8 in a UTF-8 file.
//!    Good records go into Arrow string builders, one per contract column plus `_line`, flushed
//!    every [`ReadOptions::batch_size`] rows.
//! 2. **Typing and validation, in DataFusion** (`typing`). The raw batches are registered as a
//!    `MemTable` and one SQL query generated from the contract trims every value (empty = null),
//!    types it (`int` with `try_cast(.. AS BIGINT)`, `dec` with a decimal comma or point, `date`
//!    from `YYYY-MM-DD`, `YYYYMMDD` or `DD/MM/YYYY` normalised to ISO then `try_cast(.. AS DATE)`,
//!    which gives null for an impossible date), checks it (missing value, unparsable number or
//!    date, domain: value list, pattern, bounds) and names the first failing check in column
//!    order. Among the rows that pass, `row_number() OVER (PARTITION BY key ORDER BY _line)`
//!    marks the later rows of a repeated key (unless the table keeps duplicates). The accepted
//!    rows form the typed table (contract columns in contract order, `_file`, `_line`); the
//!    others become [`Reject`]s.
//!
//! Messages name the column and the problem; the values of columns marked `personal` never reach
//! them (the query does not even return them). [`Reject::raw`], the record's text, may hold
//! personal data and goes only to the CSS's own quarantine.

pub mod split;
#[cfg(feature = "testing")]
pub mod testing;
pub mod typing;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use socle_dictionary::{Encoding, Source};

pub use typing::typed_schema;

/// How to read a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// The CSS's declared encoding ([`Encoding::Auto`] by default).
    pub encoding: Encoding,
    /// Rows per record batch.
    pub batch_size: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            encoding: Encoding::Auto,
            batch_size: 65536,
        }
    }
}

/// What was read of a night's folder.
#[derive(Debug, Clone)]
pub struct Extract {
    /// The source system (`gpi`, `jade`, `mozaik`, `dofin`): the contract's `system`.
    pub system: String,
    /// Typed tables by table name, every table of the contract.
    pub tables: BTreeMap<String, TypedTable>,
    /// Every rejected row and file-level problem, in (file, line) order.
    pub rejects: Vec<Reject>,
    /// Every input file read, in contract order.
    pub files: Vec<FileInfo>,
}

/// A typed table: the contract's columns in contract order, then `_file` and `_line`.
#[derive(Debug, Clone)]
pub struct TypedTable {
    pub name: String,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
    /// Data records read (header excluded), rejected ones included.
    pub rows_read: u64,
    /// Records loaded into `batches`.
    pub rows_loaded: u64,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub table: String,
    pub path: PathBuf,
    pub bytes: u64,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// `utf-8` or `windows-1252`.
    pub encoding: String,
    pub delimiter: char,
    /// Data records read (header excluded).
    pub rows_read: u64,
    /// Time spent reading and typing the file's table (for the run's figures).
    pub elapsed: std::time::Duration,
}

/// A rejected record or a file-level problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    pub table: String,
    /// File name, e.g. `gpm_e_abs.csv`.
    pub file: String,
    /// 1-based physical line where the record starts (the header is line 1); 0 for a problem of
    /// the whole file.
    pub line: u64,
    /// The column at fault, if one is (for a duplicate key: the key's columns, comma-separated).
    pub column: Option<String>,
    pub kind: RejectKind,
    /// The column and the problem; never a value of a personal column.
    pub message: String,
    /// The record's fields joined by the file's delimiter (for rows rejected by the typing
    /// checks: the contract's columns, in the file's order). May hold personal data: goes only to
    /// the CSS's own quarantine.
    pub raw: String,
}

/// Why a record was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectKind {
    WrongColumnCount,
    UnterminatedQuote,
    InvalidEncoding,
    UnparsableDate,
    UnparsableNumber,
    MissingValue,
    OutOfDomain,
    DuplicateKey,
    /// JSON Lines: a line that is not a JSON object, or a field of the wrong JSON shape.
    MalformedJson,
}

impl RejectKind {
    /// Every kind.
    pub const ALL: [RejectKind; 9] = [
        RejectKind::WrongColumnCount,
        RejectKind::UnterminatedQuote,
        RejectKind::InvalidEncoding,
        RejectKind::UnparsableDate,
        RejectKind::UnparsableNumber,
        RejectKind::MissingValue,
        RejectKind::OutOfDomain,
        RejectKind::DuplicateKey,
        RejectKind::MalformedJson,
    ];

    /// The snake_case name (`wrong_column_count`...).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::WrongColumnCount => "wrong_column_count",
            RejectKind::UnterminatedQuote => "unterminated_quote",
            RejectKind::InvalidEncoding => "invalid_encoding",
            RejectKind::UnparsableDate => "unparsable_date",
            RejectKind::UnparsableNumber => "unparsable_number",
            RejectKind::MissingValue => "missing_value",
            RejectKind::OutOfDomain => "out_of_domain",
            RejectKind::DuplicateKey => "duplicate_key",
            RejectKind::MalformedJson => "malformed_json",
        }
    }

    /// The kind of a snake_case name.
    pub fn from_str_name(name: &str) -> Option<RejectKind> {
        RejectKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl std::fmt::Display for RejectKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of the whole source.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("export file `{}` of table {table} is missing", path.display())]
    MissingFile { table: String, path: PathBuf },
    /// A 0-byte file, or one with no header: what a failed export job leaves. The source fails
    /// as for a missing file; a header with no rows is a valid empty table instead.
    #[error(
        "export file `{}` of table {table} is empty ({detail}): a failed export, the source is not loaded",
        path.display()
    )]
    EmptyFile {
        table: String,
        path: PathBuf,
        detail: String,
    },
    /// A last record cut short: no line end and fewer fields than the header, or the file ending
    /// inside a quoted field, or (JSON Lines) an unterminated last line that is not a complete
    /// object. What a transfer that stopped leaves: the source fails rather than load a part.
    #[error(
        "export file `{}` of table {table} is cut: its last record (line {line}) {detail}; the source is not loaded",
        path.display()
    )]
    CutFile {
        table: String,
        path: PathBuf,
        line: u64,
        detail: String,
    },
    #[error(
        "export: required column `{column}` is missing from {file} (not in its header; for JSON Lines, in none of its lines)"
    )]
    MissingColumn { file: String, column: String },
    #[error("export: cannot read `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("export: contract of table {table}: {message}")]
    Contract { table: String, message: String },
    #[error("export: DataFusion: {0}")]
    Engine(#[from] DataFusionError),
    #[error("export: Arrow: {0}")]
    Arrow(#[from] ArrowError),
    #[error("export: reading table {table} failed: {message}")]
    Task { table: String, message: String },
}

/// One table of a delimited source, read and typed.
struct SourceTableRead {
    typed: typing::Typed,
    split_rejects: Vec<Reject>,
}

/// Splits and types one table; the split's batches are released once typed.
async fn read_table(
    ctx: &SessionContext,
    system: &str,
    folder: &Path,
    table: &socle_dictionary::SourceTable,
    opts: &ReadOptions,
) -> Result<(SourceTableRead, split::Split), ConnectError> {
    let started = Instant::now();
    let path = folder.join(&table.file);
    let file_name = table.file.rsplit(['/', '\\']).next().unwrap_or(&table.file).to_string();
    let mut split = {
        let (path, owned, opts) = (path.clone(), table.clone(), *opts);
        tokio::task::spawn_blocking(move || split::split_file(&path, &owned, &opts))
            .await
            .map_err(|e| ConnectError::Task {
                table: table.name.clone(),
                message: e.to_string(),
            })??
    };
    let split_ms = started.elapsed().as_millis() as u64;
    let typed = typing::type_table(ctx, table, &split, &file_name).await?;
    split.batches = Vec::new();
    split.info.elapsed = started.elapsed();
    let split_rejects = std::mem::take(&mut split.rejects);
    tracing::info!(
        system = %system,
        table = %table.name,
        file = %file_name,
        encoding = %split.info.encoding,
        delimiter = ?split.info.delimiter,
        bytes = split.info.bytes,
        rows_read = split.info.rows_read,
        rows_loaded = typed.rows_loaded,
        rows_rejected = split_rejects.len() + typed.rejects.len(),
        split_ms,
        duration_ms = started.elapsed().as_millis() as u64,
        "source table read"
    );
    Ok((SourceTableRead { typed, split_rejects }, split))
}

/// Reads a night's folder of delimited files (e.g. `fixtures/exports/866000/2025-11-20/gpi`)
/// against the contract `source`. A missing, empty (0 bytes or no header) or cut file, or a missing
/// required column, fails the whole source; every other problem rejects the record and is
/// reported in [`Extract::rejects`]. A file with a header and no rows is an empty table.
pub async fn read_delimited(folder: &Path, source: &Source, opts: &ReadOptions) -> Result<Extract, ConnectError> {
    // Every file must be there before anything is read.
    for table in &source.tables {
        let path = folder.join(&table.file);
        if !path.is_file() {
            return Err(ConnectError::MissingFile {
                table: table.name.clone(),
                path,
            });
        }
    }
    let ctx = typing::typing_session(opts.batch_size);
    let mut extract = Extract {
        system: source.system.clone(),
        tables: BTreeMap::new(),
        rejects: Vec::new(),
        files: Vec::new(),
    };
    // Tables are read a few at a time (splitting is blocking work, typing runs on the engine's
    // partitions): a night's largest files overlap instead of queueing. More at once would only
    // add memory on a machine of a few cores.
    let limit = Arc::new(tokio::sync::Semaphore::new(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4),
    ));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, table) in source.tables.iter().enumerate() {
        let (ctx, table, folder, opts, limit) =
            (ctx.clone(), table.clone(), folder.to_path_buf(), *opts, limit.clone());
        let system = source.system.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, read_table(&ctx, &system, &folder, &table, &opts).await)
        });
    }
    let mut read: Vec<Option<(SourceTableRead, split::Split)>> = (0..source.tables.len()).map(|_| None).collect();
    while let Some(joined) = tasks.join_next().await {
        let (index, result) = joined.map_err(|e| ConnectError::Task {
            table: source.system.clone(),
            message: e.to_string(),
        })?;
        read[index] = Some(result?);
    }
    for (table, done) in source.tables.iter().zip(read) {
        let Some((typed, split)) = done else {
            return Err(ConnectError::Task {
                table: table.name.clone(),
                message: "the table's reading did not finish".to_string(),
            });
        };
        extract.rejects.extend(typed.split_rejects);
        extract.rejects.extend(typed.typed.rejects);
        extract.tables.insert(
            table.name.clone(),
            TypedTable {
                name: table.name.clone(),
                schema: typed_schema(table),
                batches: typed.typed.batches,
                rows_read: split.info.rows_read,
                rows_loaded: typed.typed.rows_loaded,
            },
        );
        extract.files.push(split.info);
    }
    extract
        .rejects
        .sort_by(|a, b| (a.file.as_str(), a.line).cmp(&(b.file.as_str(), b.line)));
    Ok(extract)
}
