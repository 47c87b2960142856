//! The ministry accountability extracts (reddition de comptes), declared in
//! `pipelines/extracts/<name>.yaml`, never coded.
//!
//! An extract reads a mart, an intermediate model or an SQL file in one zone of the warehouse
//! (a CSS's own zone for the declarations by student, the shared zone for the province's), and
//! writes one file per unit — a CSS and a school year, or the province and a school year — in
//! its declared layout (CSV, fixed width in bytes, XML), with a signer's XLSX copy.
//!
//! - [`load`]: the YAML ([`spec`]) and its static checks;
//! - [`build`]: per unit, every rule first (built-in, per row, per set), then the files written
//!   atomically with a manifest, or nothing at all when a rule fails;
//! - [`store`]: the versions of a unit, `provisoire` then `transmis` (frozen), and the diff
//!   ([`diff`]) of each build against the last submitted version;
//! - [`check`]: plans every extract on a zone's empty tables (`socle check`).
//!
//! Reports name the extract, the unit, the year, the rule, the field, the line and the key of
//! a failing row, never a personal value (a personal key part is shown as `*`).

pub mod build;
pub mod diff;
pub mod format;
pub mod layout;
pub mod load;
mod report;
pub mod spec;
pub mod store;

pub use build::{BuildContext, BuildRequest, Failure, Outcome, UnitReport, build};
pub use load::{EXTRACTS_DIR, Extract, load, personal_columns};
pub use report::{BUILD_HELP, list_text, load_checked, select, submitted_text};
pub use store::{ExtractManifest, PROVINCE, Status, UnitDir};

use datafusion::prelude::SessionContext;
use socle_marts::Problem;
use std::path::{Path, PathBuf};

/// The folder of the extracts in a warehouse.
pub const WAREHOUSE_EXTRACTS_DIR: &str = "extracts";

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("{message}")]
    Definition { message: String },
    #[error("query engine: {0}")]
    Engine(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unknown CSS {code}: the warehouse holds {known}")]
    UnknownCss { code: String, known: String },
    #[error(
        "version {build_id} was submitted already ({at}): a submitted version is frozen; build again to submit a new one"
    )]
    AlreadySubmitted { build_id: String, at: String },
    #[error(transparent)]
    Warehouse(#[from] socle_warehouse::WarehouseError),
    #[error("{0}")]
    Other(String),
}

impl ExtractError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        ExtractError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Plans every extract on the sessions `socle check` builds (each zone's tables, marts and
/// intermediate models registered empty): its source, its fields' columns, its row and set
/// rules. Problems name the extract's YAML.
pub async fn check(extracts: &[Extract], shared: &SessionContext, css: &SessionContext) -> Vec<Problem> {
    let mut problems = Vec::new();
    for e in extracts {
        let ctx = match e.spec.zone {
            spec::ExtractZone::Shared => shared,
            spec::ExtractZone::Css => css,
        };
        let mut p = |path: &str, message: String| {
            problems.push(Problem {
                file: e.yaml_path.clone(),
                path: path.to_string(),
                message,
            })
        };
        let source = e.source_sql.trim().trim_end_matches(';');
        let frame = match ctx.sql(&format!("SELECT * FROM ({source}) AS source")).await {
            Ok(f) => f,
            Err(err) => {
                p("source", format!("does not plan: {err}"));
                continue;
            }
        };
        let schema = frame.schema().as_arrow().clone();
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        if !columns.contains(&e.spec.year_column.as_str()) {
            p(
                "year_column",
                format!(
                    "the source has no column {} (columns: {})",
                    e.spec.year_column,
                    columns.join(", ")
                ),
            );
        }
        for f in &e.spec.fields {
            if !columns.contains(&f.column()) {
                p(
                    &format!("fields ({})", f.name),
                    format!(
                        "the source has no column {} (columns: {})",
                        f.column(),
                        columns.join(", ")
                    ),
                );
            }
        }
        // The rules run on `extrait`: the source's columns and the line number.
        let mut fields: Vec<datafusion::arrow::datatypes::Field> =
            schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(datafusion::arrow::datatypes::Field::new(
            build::LINE_COLUMN,
            datafusion::arrow::datatypes::DataType::UInt64,
            false,
        ));
        let table_schema = std::sync::Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        let Ok(table) = datafusion::datasource::MemTable::try_new(table_schema, vec![vec![]]) else {
            continue;
        };
        let _ = ctx.deregister_table(build::EXTRACT_TABLE);
        if ctx
            .register_table(build::EXTRACT_TABLE, std::sync::Arc::new(table))
            .is_err()
        {
            continue;
        }
        for r in &e.spec.row_rules {
            let sql = format!("SELECT ({}) AS ok FROM {}", r.sql, build::EXTRACT_TABLE);
            match ctx.sql(&sql).await {
                Ok(f) => {
                    let t = f.schema().field(0).data_type().clone();
                    if t != datafusion::arrow::datatypes::DataType::Boolean {
                        p(&format!("row_rules ({})", r.name), format!("is {t}, not a boolean"));
                    }
                }
                Err(err) => p(&format!("row_rules ({})", r.name), format!("does not plan: {err}")),
            }
        }
        for r in &e.spec.set_rules {
            if let Err(err) = ctx.sql(&r.sql).await {
                p(&format!("set_rules ({})", r.name), format!("does not plan: {err}"));
            }
        }
        let _ = ctx.deregister_table(build::EXTRACT_TABLE);
    }
    problems
}

/// Freezes the last build of a unit as submitted (`transmis`, by whom, when), with an audit
/// line; see [`store`].
pub fn submit(
    warehouse: &socle_warehouse::Warehouse,
    out: &Path,
    extract: &Extract,
    unit: &str,
    annee: &str,
    by: &str,
) -> Result<ExtractManifest, ExtractError> {
    let dir = UnitDir::new(out, &extract.spec.name, unit, annee, extract.holds_personal_data());
    let at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let manifest = dir.submit(by, &at)?;
    let zone = if unit == PROVINCE {
        "shared".to_string()
    } else {
        format!("css:{unit}")
    };
    let event = socle_warehouse::AuditEvent::now(
        by,
        "extract_submit",
        &zone,
        &format!("extract:{}:{annee}:{}", extract.spec.name, manifest.build_id),
        manifest.files.first().and_then(|f| f.rows).unwrap_or(0),
    );
    socle_warehouse::AuditLog::open(warehouse.root())
        .and_then(|log| log.append(&event))
        .map_err(|e| ExtractError::Other(format!("cannot write the audit log: {e}")))?;
    Ok(manifest)
}
