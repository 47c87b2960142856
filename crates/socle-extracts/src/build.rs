//! Building an extract: for each unit (a CSS and a year, or the province and a year), read the
//! source rows in the zone, check every rule, and only when all pass, write the files atomically
//! with their manifest and the diff against the last submitted version. All or nothing per
//! unit: a failing rule writes nothing of that unit, and the others go on.

use crate::diff::{DiffRow, diff};
use crate::format::{RegistryCodes, format_fields};
use crate::layout::{XlsxInfo, render, write_xlsx};
use crate::load::Extract;
use crate::store::{
    DIFF_FILE, DiffSummary, ExtractManifest, FileEntry, MANIFEST_FILE, PROVINCE, ROWS_FILE, RuleResult, Status,
    UnitDir, write_json_atomic, write_new,
};
use crate::{ExtractError, spec::ExtractZone};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use sha2::{Digest, Sha256};
use socle_core::SchoolYear;
use socle_dictionary::Dictionary;
use socle_marts::Project;
use socle_session::{Open, Tables, ZoneSessions};
use socle_warehouse::{AuditEvent, AuditLog, Warehouse, Zone};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The table of a unit's source rows in the rules' session.
pub const EXTRACT_TABLE: &str = "extrait";
/// The line number column of that table (1 = the file's first data row).
pub const LINE_COLUMN: &str = "ligne";
/// Failures listed per rule and field in a report (all are counted).
const LISTED_PER_RULE: usize = 20;

/// What a build reads and where it writes.
pub struct BuildContext<'a> {
    pub warehouse: &'a Warehouse,
    pub project: &'a Project,
    pub dictionary: &'a Dictionary,
    /// The extracts' root (default `<warehouse>/extracts`).
    pub out: PathBuf,
    /// Who builds (manifest and audit log).
    pub by: String,
}

/// Which units to build.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// CSS codes (empty: every CSS of the warehouse). Ignored by shared-zone extracts.
    pub css: Vec<String>,
    /// The school year (`None`: the most recent year of the source, per unit).
    pub year: Option<SchoolYear>,
}

/// One rule a unit failed, as the report names it: never a personal value.
#[derive(Debug, Clone)]
pub struct Failure {
    pub rule: String,
    /// `integree`, `ligne` or `ensemble`.
    pub kind: &'static str,
    pub field: Option<String>,
    pub line: Option<u64>,
    /// The row's key, its personal parts replaced by `*` (the line names the row).
    pub key: Option<String>,
    pub reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "règle {} ({})", self.rule, self.kind)?;
        if let Some(field) = &self.field {
            write!(f, ", champ {field}")?;
        }
        if let Some(line) = self.line {
            write!(f, ", ligne {line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ", clé {key}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

#[derive(Debug)]
pub enum Outcome {
    /// Written: the version's folder, its rows and the diff against the last submitted version.
    Built {
        dir: PathBuf,
        rows: u64,
        files: Vec<FileEntry>,
        diff: DiffSummary,
    },
    /// A rule failed: nothing written. `failures` lists at most 20 per rule and field; `counts`
    /// has every rule's total.
    Refused {
        failures: Vec<Failure>,
        counts: Vec<RuleResult>,
    },
    /// Nothing to build (no rows in the source for the unit).
    NoRows { reason: String },
    /// The unit could not be built (an SQL error, the disk): nothing written.
    Error { message: String },
}

#[derive(Debug)]
pub struct UnitReport {
    pub extract: String,
    /// A CSS code or `province`.
    pub unit: String,
    pub annee: Option<String>,
    pub outcome: Outcome,
}

impl UnitReport {
    pub fn failed(&self) -> bool {
        matches!(self.outcome, Outcome::Refused { .. } | Outcome::Error { .. })
    }
}

/// The report of a unit in French, as `socle extracts build` and `socle run --extracts` print
/// it: one line, and under a refusal one more line per failure.
impl fmt::Display for UnitReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (extract, unit) = (&self.extract, &self.unit);
        let annee = self.annee.as_deref().unwrap_or("-");
        match &self.outcome {
            Outcome::Built { dir, rows, diff, .. } => {
                let d = match &diff.against {
                    Some(id) => format!(
                        "depuis la version transmise {id}: {} ajoutée(s), {} retirée(s), {} modifiée(s)",
                        diff.added, diff.removed, diff.changed
                    ),
                    None => "aucune version transmise encore".to_string(),
                };
                write!(
                    f,
                    "{extract} {unit} {annee}: {rows} ligne(s) écrites (provisoire) dans {}; {d}",
                    dir.display()
                )
            }
            Outcome::Refused { failures, counts } => {
                write!(
                    f,
                    "{extract} {unit} {annee}: REFUSÉ, rien n'est écrit pour cette unité ({} règle(s) en échec: {})",
                    counts.len(),
                    counts
                        .iter()
                        .map(|c| format!("{} {} ligne(s)", c.name, c.failures))
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
                for failure in failures {
                    write!(f, "\n    {extract} {unit} {annee}: {failure}")?;
                }
                Ok(())
            }
            Outcome::NoRows { reason } => write!(f, "{extract} {unit} {annee}: rien à écrire: {reason}"),
            Outcome::Error { message } => write!(
                f,
                "{extract} {unit} {annee}: ÉCHEC, rien n'est écrit pour cette unité: {message}"
            ),
        }
    }
}

fn df(e: datafusion::error::DataFusionError) -> ExtractError {
    ExtractError::Engine(e.to_string())
}

/// The session of `zone` the extracts read: its tables, the marts and the intermediate
/// models, the reference tables and the nights (`socle-session`, the one opener).
async fn zone_session(sessions: &ZoneSessions<'_>, zone: &Zone) -> Result<SessionContext, ExtractError> {
    let how = Open {
        tables: Tables::WithIntermediates,
        ..Default::default()
    };
    sessions
        .open_with(zone, &how)
        .await
        .map_err(|e| ExtractError::Other(e.to_string()))
}

/// Builds `extracts` for the units of `request`; see the module. Each zone's session is opened
/// once for every extract reading it (a CSS's zone session reads the footers of all its files).
pub async fn build(
    cx: &BuildContext<'_>,
    extracts: &[&Extract],
    request: &BuildRequest,
) -> Result<Vec<UnitReport>, ExtractError> {
    let manifests = cx.warehouse.manifests()?;
    // Opened once for every zone: it reads the manifests the nights come from.
    let sessions = ZoneSessions::new(cx.warehouse, Some(cx.dictionary))
        .map_err(|e| ExtractError::Other(e.to_string()))?
        .with_project(cx.project);
    let marts_run_id = cx.warehouse.marts_manifest()?.map(|m| m.run_id);
    let registry = RegistryCodes::embedded()?;
    let mut reports = Vec::new();
    let (css_extracts, shared_extracts): (Vec<&Extract>, Vec<&Extract>) =
        extracts.iter().partition(|e| e.spec.zone == ExtractZone::Css);
    if !css_extracts.is_empty() {
        let known: Vec<&str> = manifests.iter().map(|m| m.code_css.as_str()).collect();
        for code in &request.css {
            if !known.contains(&code.as_str()) {
                return Err(ExtractError::UnknownCss {
                    code: code.clone(),
                    known: known.join(", "),
                });
            }
        }
        for m in &manifests {
            if !request.css.is_empty() && !request.css.contains(&m.code_css) {
                continue;
            }
            let zone = Zone::Css(m.code_css.clone());
            let ctx = zone_session(&sessions, &zone).await?;
            let unit = Unit {
                name: m.code_css.clone(),
                zone,
                css_runs: BTreeMap::from([(m.code_css.clone(), m.run_id.clone())]),
                marts_run_id: marts_run_id.clone(),
            };
            for e in &css_extracts {
                reports.push(unit_report(cx, e, &ctx, &unit, request.year, &registry).await);
            }
        }
    }
    if !shared_extracts.is_empty() {
        let zone = Zone::Shared;
        let ctx = zone_session(&sessions, &zone).await?;
        let unit = Unit {
            name: PROVINCE.to_string(),
            zone,
            css_runs: manifests
                .iter()
                .map(|m| (m.code_css.clone(), m.run_id.clone()))
                .collect(),
            marts_run_id,
        };
        for e in &shared_extracts {
            reports.push(unit_report(cx, e, &ctx, &unit, request.year, &registry).await);
        }
    }
    Ok(reports)
}

/// One unit's build; an error (the engine, the disk) fails that unit only, the others go on.
async fn unit_report(
    cx: &BuildContext<'_>,
    extract: &Extract,
    ctx: &SessionContext,
    unit: &Unit,
    year: Option<SchoolYear>,
    registry: &RegistryCodes,
) -> UnitReport {
    match build_unit(cx, extract, ctx, unit, year, registry).await {
        Ok(r) => r,
        Err(e) => UnitReport {
            extract: extract.spec.name.clone(),
            unit: unit.name.clone(),
            annee: year.map(|y| y.to_string()),
            outcome: Outcome::Error { message: e.to_string() },
        },
    }
}

struct Unit {
    name: String,
    zone: Zone,
    css_runs: BTreeMap<String, String>,
    marts_run_id: Option<String>,
}

fn zone_label(zone: &Zone) -> String {
    match zone {
        Zone::Shared => "shared".to_string(),
        Zone::Css(c) => format!("css:{c}"),
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn source_query(extract: &Extract) -> String {
    extract.source_sql.trim().trim_end_matches(';').trim_end().to_string()
}

async fn build_unit(
    cx: &BuildContext<'_>,
    extract: &Extract,
    ctx: &SessionContext,
    unit: &Unit,
    year: Option<SchoolYear>,
    registry: &RegistryCodes,
) -> Result<UnitReport, ExtractError> {
    let spec = &extract.spec;
    let source = source_query(extract);
    let year_col = quoted(&spec.year_column);
    let report = |annee: Option<String>, outcome: Outcome| UnitReport {
        extract: spec.name.clone(),
        unit: unit.name.clone(),
        annee,
        outcome,
    };
    let annee = match year {
        Some(y) => y.to_string(),
        None => {
            let sql = format!("SELECT CAST(max({year_col}) AS VARCHAR) FROM ({source}) AS source");
            let batches = ctx.sql(&sql).await.map_err(df)?.collect().await.map_err(df)?;
            let latest = match batches.first() {
                Some(b) if b.num_rows() > 0 => {
                    let a = cast(b.column(0), &DataType::Utf8).map_err(|e| ExtractError::Engine(e.to_string()))?;
                    let a = a.as_string::<i32>();
                    a.is_valid(0).then(|| a.value(0).to_string())
                }
                _ => None,
            };
            match latest {
                Some(y) => y,
                None => {
                    return Ok(report(
                        None,
                        Outcome::NoRows {
                            reason: "la source n'a aucune ligne".into(),
                        },
                    ));
                }
            }
        }
    };

    // The source rows of the unit, in file order (by key).
    let order = spec
        .key
        .iter()
        .filter_map(|k| spec.fields.iter().find(|f| &f.name == k))
        .map(|f| quoted(f.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT * FROM ({source}) AS source WHERE CAST({year_col} AS VARCHAR) = '{}' ORDER BY {order}",
        annee.replace('\'', "''")
    );
    let frame = ctx.sql(&sql).await.map_err(df)?;
    let schema = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(df)?;
    // A plan's batches may not carry its declared types (Utf8View for Utf8 after a UNION):
    // each column is cast to the declared type.
    let batches = batches
        .iter()
        .map(|b| {
            let columns = b
                .columns()
                .iter()
                .zip(schema.fields())
                .map(|(c, f)| cast(c, f.data_type()))
                .collect::<Result<Vec<_>, _>>()?;
            RecordBatch::try_new(schema.clone(), columns)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ExtractError::Engine(e.to_string()))?;
    let rows = concat_batches(&schema, &batches).map_err(|e| ExtractError::Engine(e.to_string()))?;
    if rows.num_rows() == 0 {
        return Ok(report(
            Some(annee.clone()),
            Outcome::NoRows {
                reason: format!("la source n'a aucune ligne pour {annee}"),
            },
        ));
    }
    if schema.index_of(LINE_COLUMN).is_ok() {
        return Err(ExtractError::Definition {
            message: format!(
                "extract {}: the source has a column {LINE_COLUMN}, the name of the line number in the rules",
                spec.name
            ),
        });
    }

    // Formatting and the built-in rules on each value.
    let formatted = format_fields(&rows, &spec.fields, &spec.layout, registry)?;
    let key_of = |line: u64| -> String {
        let i = (line - 1) as usize;
        spec.key
            .iter()
            .filter_map(|k| spec.fields.iter().position(|f| &f.name == k))
            .map(|fi| {
                if spec.fields[fi].is_personal() {
                    "*".to_string()
                } else {
                    formatted.values[fi][i].clone().unwrap_or_default()
                }
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    let mut failures: Vec<Failure> = formatted
        .failures
        .iter()
        .map(|v| Failure {
            rule: v.rule.to_string(),
            kind: "integree",
            field: Some(v.field.clone()),
            line: Some(v.line),
            key: Some(key_of(v.line)),
            reason: v.reason.clone(),
        })
        .collect();
    let mut results: Vec<RuleResult> = Vec::new();
    for rule in [
        "required",
        "domain",
        "registry",
        "max_length",
        "integer",
        "encoding",
        "width",
        "quoting",
        "xml",
    ] {
        let n = failures.iter().filter(|f| f.rule == rule).count() as u64;
        results.push(RuleResult {
            name: rule.to_string(),
            kind: "integree".into(),
            failures: n,
        });
    }

    // The rows with their line number, for the SQL rules.
    let mut with_line: Vec<ArrayRef> = rows.columns().to_vec();
    with_line.push(Arc::new(UInt64Array::from_iter_values(1..=rows.num_rows() as u64)));
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(LINE_COLUMN, DataType::UInt64, false));
    let table_schema = Arc::new(Schema::new(fields));
    let table_batch =
        RecordBatch::try_new(table_schema.clone(), with_line).map_err(|e| ExtractError::Engine(e.to_string()))?;
    let table = MemTable::try_new(table_schema, vec![vec![table_batch]]).map_err(df)?;
    ctx.deregister_table(EXTRACT_TABLE).map_err(df)?;
    ctx.register_table(EXTRACT_TABLE, Arc::new(table)).map_err(df)?;

    // Unique key (built in).
    let key_cols = spec
        .key
        .iter()
        .filter_map(|k| spec.fields.iter().find(|f| &f.name == k))
        .map(|f| quoted(f.column()))
        .collect::<Vec<_>>()
        .join(", ");
    let dup_sql =
        format!("SELECT max({LINE_COLUMN}) FROM {EXTRACT_TABLE} GROUP BY {key_cols} HAVING count(*) > 1 ORDER BY 1");
    let lines = lines_of(ctx, &dup_sql).await?;
    results.push(RuleResult {
        name: "key".into(),
        kind: "integree".into(),
        failures: lines.len() as u64,
    });
    for line in lines {
        failures.push(Failure {
            rule: "key".into(),
            kind: "integree",
            field: None,
            line: Some(line),
            key: Some(key_of(line)),
            reason: format!("la clé ({}) est celle d'une ligne précédente", spec.key.join(", ")),
        });
    }

    for rule in &spec.row_rules {
        let sql = format!(
            "SELECT {LINE_COLUMN} FROM {EXTRACT_TABLE} WHERE NOT coalesce(({}), false) ORDER BY {LINE_COLUMN}",
            rule.sql
        );
        let lines = lines_of(ctx, &sql).await.map_err(|e| ExtractError::Definition {
            message: format!("extract {}: row rule {}: {e}", spec.name, rule.name),
        })?;
        results.push(RuleResult {
            name: rule.name.clone(),
            kind: "ligne".into(),
            failures: lines.len() as u64,
        });
        for line in lines {
            failures.push(Failure {
                rule: rule.name.clone(),
                kind: "ligne",
                field: rule.field.clone(),
                line: Some(line),
                key: Some(key_of(line)),
                reason: rule.description.clone(),
            });
        }
    }
    for rule in &spec.set_rules {
        let frame = ctx.sql(&rule.sql).await.map_err(|e| ExtractError::Definition {
            message: format!("extract {}: set rule {}: {e}", spec.name, rule.name),
        })?;
        let has_line = frame.schema().fields().iter().any(|f| f.name() == LINE_COLUMN);
        let batches = frame.collect().await.map_err(df)?;
        let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
        results.push(RuleResult {
            name: rule.name.clone(),
            kind: "ensemble".into(),
            failures: n as u64,
        });
        if n == 0 {
            continue;
        }
        if has_line {
            for b in &batches {
                let idx = b
                    .schema()
                    .index_of(LINE_COLUMN)
                    .map_err(|e| ExtractError::Engine(e.to_string()))?;
                let a = cast(b.column(idx), &DataType::UInt64).map_err(|e| ExtractError::Engine(e.to_string()))?;
                let a = a.as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
                for i in 0..a.len() {
                    let line = a
                        .is_valid(i)
                        .then(|| a.value(i))
                        .filter(|l| *l >= 1 && *l as usize <= rows.num_rows());
                    failures.push(Failure {
                        rule: rule.name.clone(),
                        kind: "ensemble",
                        field: None,
                        line,
                        key: line.map(key_of),
                        reason: rule.description.clone(),
                    });
                }
            }
        } else {
            failures.push(Failure {
                rule: rule.name.clone(),
                kind: "ensemble",
                field: None,
                line: None,
                key: None,
                reason: format!("{} (la requête rend {n} ligne(s))", rule.description),
            });
        }
    }
    // Only the built-in rules count rows per rule in `failures`; fill their totals.
    if !failures.is_empty() {
        let mut listed: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
        failures.retain(|f| {
            let n = listed.entry((f.rule.clone(), f.field.clone())).or_default();
            *n += 1;
            *n <= LISTED_PER_RULE
        });
        audit(cx, unit, &format!("extract:{}:{annee}:refused", spec.name), 0)?;
        return Ok(report(
            Some(annee),
            Outcome::Refused {
                failures,
                counts: results.into_iter().filter(|r| r.failures > 0).collect(),
            },
        ));
    }

    // Every rule passed: write the unit.
    let private = extract.holds_personal_data();
    let dir = UnitDir::new(&cx.out, &spec.name, &unit.name, &annee, private);
    let build_id = socle_warehouse::new_run_id();
    let staging = dir.stage(&build_id)?;
    let result = write_unit(
        cx,
        extract,
        unit,
        &annee,
        &build_id,
        &dir,
        &staging,
        &formatted.values,
        results,
    )
    .await;
    let (files, diff_summary) = match result {
        Ok(x) => x,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let published = dir.publish(&staging, &build_id)?;
    let n = formatted.values.first().map_or(0, Vec::len) as u64;
    audit(cx, unit, &format!("extract:{}:{annee}", spec.name), n)?;
    Ok(report(
        Some(annee),
        Outcome::Built {
            dir: published,
            rows: n,
            files,
            diff: diff_summary,
        },
    ))
}

async fn lines_of(ctx: &SessionContext, sql: &str) -> Result<Vec<u64>, ExtractError> {
    let batches = ctx.sql(sql).await.map_err(df)?.collect().await.map_err(df)?;
    let mut out = Vec::new();
    for b in batches {
        let a = cast(b.column(0), &DataType::UInt64).map_err(|e| ExtractError::Engine(e.to_string()))?;
        let a = a.as_primitive::<datafusion::arrow::datatypes::UInt64Type>();
        out.extend((0..a.len()).filter(|i| a.is_valid(*i)).map(|i| a.value(i)));
    }
    Ok(out)
}

fn audit(cx: &BuildContext<'_>, unit: &Unit, target: &str, rows: u64) -> Result<(), ExtractError> {
    let event = AuditEvent::now(&cx.by, "extract_build", &zone_label(&unit.zone), target, rows);
    AuditLog::open(cx.warehouse.root())
        .and_then(|log| log.append(&event))
        .map_err(|e| {
            ExtractError::Other(format!(
                "cannot write the audit log (nothing is written without it): {e}"
            ))
        })
}

/// The file name of a unit.
pub fn file_name(extract: &Extract, unit: &str, annee: &str) -> String {
    extract
        .spec
        .file
        .replace("{extrait}", &extract.spec.name)
        .replace("{code_css}", unit)
        .replace("{annee}", annee)
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[allow(clippy::too_many_arguments)]
async fn write_unit(
    cx: &BuildContext<'_>,
    extract: &Extract,
    unit: &Unit,
    annee: &str,
    build_id: &str,
    dir: &UnitDir,
    staging: &Path,
    values: &[Vec<Option<String>>],
    results: Vec<RuleResult>,
) -> Result<(Vec<FileEntry>, DiffSummary), ExtractError> {
    let spec = &extract.spec;
    let private = dir.private;
    let rows = values.first().map_or(0, Vec::len) as u64;
    let name = file_name(extract, &unit.name, annee);
    let bytes = render(&spec.layout, &spec.fields, values)?;
    write_new(&staging.join(&name), &bytes, private)?;
    let mut files = vec![FileEntry {
        name: name.clone(),
        sha256: sha256(&bytes),
        bytes: bytes.len() as u64,
        rows: Some(rows),
    }];

    // The rows as written, for the next diff.
    let schema = Arc::new(Schema::new(
        spec.fields
            .iter()
            .map(|f| Field::new(&f.name, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = values
        .iter()
        .map(|c| Arc::new(StringArray::from(c.clone())) as ArrayRef)
        .collect();
    let written = RecordBatch::try_new(schema.clone(), columns).map_err(|e| ExtractError::Engine(e.to_string()))?;
    let rows_path = staging.join(ROWS_FILE);
    socle_warehouse::write_parquet(&rows_path, schema, std::slice::from_ref(&written))?;
    if private {
        crate::store::set_mode(&rows_path, 0o600)?;
    }

    // Diff against the last submitted version.
    let (diff_summary, diff_rows): (DiffSummary, Vec<DiffRow>) = match dir.submitted()? {
        Some(id) => {
            let previous = dir.version_dir(&id).join(ROWS_FILE);
            match diff(&previous, &id, &written, &spec.key).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(extract = %spec.name, unit = %unit.name, error = %e, "no diff against the submitted version");
                    (
                        DiffSummary {
                            against: Some(id),
                            ..DiffSummary::default()
                        },
                        vec![],
                    )
                }
            }
        }
        None => (
            DiffSummary {
                unchanged: 0,
                added: rows,
                ..DiffSummary::default()
            },
            vec![],
        ),
    };
    write_json_atomic(
        &staging.join(DIFF_FILE),
        &serde_json::json!({"summary": diff_summary, "rows": diff_rows}),
        private,
    )?;

    // The signer's copy.
    let zone_text = match &unit.zone {
        Zone::Shared => "zone partagée (province)".to_string(),
        Zone::Css(c) => format!("zone du CSS {c}"),
    };
    let xlsx_name = match name.rsplit_once('.') {
        Some((stem, _)) => format!("{stem}.xlsx"),
        None => format!("{name}.xlsx"),
    };
    let about = vec![
        ("Extrait".to_string(), format!("{} ({})", spec.name, spec.title)),
        ("Version de la mise en page".to_string(), spec.version.clone()),
        ("Unité".to_string(), unit.name.clone()),
        ("Année scolaire".to_string(), annee.to_string()),
        ("Zone lue".to_string(), zone_text),
        (
            "Construit le".to_string(),
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("Construit par".to_string(), cx.by.clone()),
        ("Identifiant de la version".to_string(), build_id.to_string()),
        (
            "Nuits de l'entrepôt lues".to_string(),
            unit.css_runs
                .iter()
                .map(|(c, r)| format!("{c}: {r}"))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("Fichier".to_string(), name.clone()),
        ("SHA-256 du fichier".to_string(), files[0].sha256.clone()),
        ("Lignes".to_string(), rows.to_string()),
        (
            "Écart avec la dernière version transmise".to_string(),
            match &diff_summary.against {
                Some(id) => format!(
                    "{} ajoutée(s), {} retirée(s), {} modifiée(s) depuis {id}",
                    diff_summary.added, diff_summary.removed, diff_summary.changed
                ),
                None => "aucune version transmise".to_string(),
            },
        ),
        ("Statut".to_string(), "provisoire (non transmis)".to_string()),
    ];
    let mut rules: Vec<(String, String, String, u64)> = results
        .iter()
        .map(|r| {
            let description = spec
                .row_rules
                .iter()
                .find(|x| x.name == r.name)
                .map(|x| x.description.clone())
                .or_else(|| {
                    spec.set_rules
                        .iter()
                        .find(|x| x.name == r.name)
                        .map(|x| x.description.clone())
                })
                .unwrap_or_else(|| builtin_description(&r.name).to_string());
            (r.name.clone(), r.kind.clone(), description, r.failures)
        })
        .collect();
    rules.sort_by_key(|r| r.1 != "integree");
    let xlsx_path = staging.join(&xlsx_name);
    write_xlsx(
        &xlsx_path,
        &spec.fields,
        values,
        &XlsxInfo {
            title: &spec.title,
            about,
            rules,
        },
    )?;
    if private {
        crate::store::set_mode(&xlsx_path, 0o600)?;
    }
    let xlsx_bytes = std::fs::read(&xlsx_path).map_err(|e| ExtractError::io(&xlsx_path, e))?;
    files.push(FileEntry {
        name: xlsx_name,
        sha256: sha256(&xlsx_bytes),
        bytes: xlsx_bytes.len() as u64,
        rows: None,
    });

    let manifest = ExtractManifest {
        extract: spec.name.clone(),
        version: spec.version.clone(),
        title: spec.title.clone(),
        unit: unit.name.clone(),
        annee_scolaire: annee.to_string(),
        build_id: build_id.to_string(),
        status: Status::Provisoire,
        built_at: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        built_by: cx.by.clone(),
        submitted_at: None,
        submitted_by: None,
        css_runs: unit.css_runs.clone(),
        marts_run_id: unit.marts_run_id.clone(),
        files: files.clone(),
        validation: results,
        diff: diff_summary.clone(),
    };
    write_json_atomic(&staging.join(MANIFEST_FILE), &manifest, private)?;
    Ok((files, diff_summary))
}

/// The words of a built-in rule, for the Validation sheet.
pub fn builtin_description(rule: &str) -> &'static str {
    match rule {
        "required" => "Champ obligatoire: une valeur manquante échoue",
        "domain" => "Valeur parmi celles permises par le champ",
        "registry" => "Code présent au répertoire du ministère",
        "max_length" => "Longueur maximale en caractères: une valeur trop longue échoue, jamais tronquée",
        "integer" => "Un champ entier ne reçoit pas de décimales",
        "encoding" => "Chaque caractère s'écrit dans l'encodage du fichier, jamais remplacé",
        "width" => "Largeur fixe en octets: une valeur trop large échoue, jamais tronquée",
        "quoting" => "Sans guillemets, aucune valeur ne contient le délimiteur, un guillemet ou une fin de ligne",
        "xml" => "Aucun caractère de contrôle interdit en XML",
        "key" => "La clé de l'extrait identifie une seule ligne",
        _ => "",
    }
}
