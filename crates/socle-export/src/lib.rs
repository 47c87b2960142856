//! Socle's output writers: how rows leave the warehouse as files people and tools open.
//!
//! One writer per format, each written once and used by every producer of files — the `socle`
//! command (`query`, `dashboards export`, `personne`), the ministry extracts (`socle-extracts`,
//! the signer's XLSX copy and the CSV layouts) and the coming web server — so a download from
//! the server and the same download from the command line are the same bytes, and a fix to a
//! format (a BOM, a date cell, a sheet name Excel refuses) is made in one place.
//!
//! - [`csv`]: CSV from Arrow batches ([`CsvWriter`]) or from rows of text already formatted
//!   ([`TextCsvWriter`], the extracts' declared layouts), with a header, an optional UTF-8 byte
//!   order mark (Excel reads UTF-8 without one as the machine's code page), a delimiter, a line
//!   end and a quoting rule ([`CsvOptions`]);
//! - [`xlsx`]: Excel workbooks ([`Workbook`]): a data sheet of typed cells from Arrow batches
//!   (numbers, rates as percentages, booleans, dates as dates, text; column headings given by
//!   the caller: technical names in a file for analysts, French labels on the server), and
//!   sheets of text rows beside it (a definition sheet, a validation sheet);
//! - [`parquet`]: zstd-compressed Parquet with the Arrow types kept and key-value metadata;
//! - [`json`]: a JSON array of row objects, and JSON documents;
//! - [`atomic`]: the file they are written to ([`AtomicFile`]): a temporary name beside the
//!   target, synced, then renamed over it, removed on failure, so a reader (a dashboard, a
//!   scheduler picking up the file) never sees a half-written file.
//!
//! Every writer works on batches already collected and as a stream (`new`, `write` per batch,
//! `finish`): a caller that streams never has to collect. None of them knows about the
//! warehouse, marts or zones: what a file says about itself (a Parquet footer, a definition
//! sheet) is given by the caller.

pub mod atomic;
pub mod csv;
mod error;
pub mod json;
pub mod parquet;
pub mod result;
pub mod xlsx;

pub use self::csv::{CsvOptions, CsvWriter, LineEnd, Quoting, TextCsvWriter, parse_delimiter, write_csv};
pub use atomic::AtomicFile;
pub use error::{ExportError, Result};
pub use json::{JsonWriter, json_rows, write_json, write_json_document};
pub use parquet::{ParquetWriter, write_parquet};
pub use result::ResultFormat;
pub use xlsx::{Cell, DataSheet, DataSheetWriter, Style, TextSheetWriter, Workbook, XLSX_MAX_ROWS, sheet_name};
