//! The right of access (Québec Law 25, `socle personne`): every row a CSS's zone holds about one
//! student, found by code permanent.
//!
//! How a row is linked to the student, in the CSS's own zone:
//! - **`eleve`**: its `code_permanent` (trimmed, upper-cased) is the one asked for; these rows
//!   give the student's keys (`cle_eleve`) and fiches;
//! - **every other canonical table with a student** (an entity with a `code_permanent` field, or
//!   a `cle_eleve` field: inscription, resultat, absence, frequentation_fga_fp,
//!   resultat_ministere, sanction): its `code_permanent` matches, or its `cle_eleve` is one of the
//!   student's keys — so a ministry result or a diploma keyed from the code permanent is found
//!   even without a fiche;
//! - **the nominative marts** ([`NOMINATIVE_MARTS`], no key, a fiche of the youth sector): their
//!   `fiche` is one of the student's GPI or Mozaïk fiches;
//! - **the quarantine**: its raw record (`enregistrement`) contains the code permanent.
//!
//! Tables about no student (establishments, courses, finance...) are not read. The code
//! permanent is passed to the engine as a parameter, never spliced into SQL.

use std::collections::BTreeMap;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use socle_dictionary::Dictionary;
use socle_warehouse::{QUARANTINE, SchemaRef, Warehouse, Zone};

use crate::PipelineError;

/// The marts that list students by name, in each CSS's zone only.
pub const NOMINATIVE_MARTS: [&str; 3] = ["suivi_des", "eleves_a_risque", "anomalies_detail"];

/// Everything a CSS's zone holds about one student.
#[derive(Debug, Clone)]
pub struct PersonRecord {
    pub code_css: String,
    /// The student's keys in the CSS's zone (as stored; usually one).
    pub keys: Vec<String>,
    /// Every table and mart read, with the student's rows (possibly none), by name.
    pub tables: BTreeMap<String, (SchemaRef, Vec<RecordBatch>)>,
}

impl PersonRecord {
    /// `{"code_css": ..., "extrait_le": ..., "lignes": N, "tables": {"eleve": [{...}], ...}}`.
    pub fn write_json(&self, sink: impl std::io::Write) -> Result<(), socle_export::ExportError> {
        let mut tables = serde_json::Map::new();
        for (name, (_, batches)) in &self.tables {
            tables.insert(name.clone(), socle_export::json_rows(batches)?);
        }
        let doc = serde_json::json!({
            "code_css": self.code_css,
            "extrait_le": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "lignes": self.rows(),
            "tables": tables,
        });
        socle_export::write_json_document(sink, &doc).map(|_| ())
    }

    /// One sheet per table, typed as the dashboards' sheets are.
    pub fn write_xlsx(&self, sink: impl std::io::Write + Send) -> Result<(), socle_export::ExportError> {
        let mut book = socle_export::Workbook::new();
        for (name, (schema, batches)) in &self.tables {
            book.add_data_sheet(socle_export::DataSheet::new(name, schema), batches)?;
        }
        book.save(sink)
    }
}

impl PersonRecord {
    /// Rows returned, over every table.
    pub fn rows(&self) -> u64 {
        self.tables
            .values()
            .flat_map(|(_, b)| b.iter())
            .map(|b| b.num_rows() as u64)
            .sum()
    }

    /// Rows of one table.
    pub fn rows_of(&self, table: &str) -> u64 {
        self.tables
            .get(table)
            .map(|(_, b)| b.iter().map(|b| b.num_rows() as u64).sum())
            .unwrap_or(0)
    }

    /// Whether the code permanent was found in the CSS's `eleve` table or quarantine.
    pub fn found(&self) -> bool {
        self.rows() > 0
    }

    /// What the audit log records as the target: the student's pseudonymous key(s), never the
    /// code permanent; `none` when the student was not found.
    pub fn audit_target(&self) -> String {
        if self.keys.is_empty() {
            "none".to_string()
        } else {
            format!("cle_eleve:{}", self.keys.join(","))
        }
    }
}

/// The student's rows in `sql` (one parameter `$1`: the code permanent).
async fn rows(
    ctx: &SessionContext,
    sql: &str,
    code_permanent: &str,
) -> Result<(SchemaRef, Vec<RecordBatch>), PipelineError> {
    let df = ctx
        .sql(sql)
        .await?
        .with_param_values(vec![ScalarValue::Utf8(Some(code_permanent.to_string()))])?;
    let schema: SchemaRef = std::sync::Arc::new(df.schema().as_arrow().clone());
    let batches: Vec<RecordBatch> = df.collect().await?.into_iter().filter(|b| b.num_rows() > 0).collect();
    Ok((schema, batches))
}

/// Every row the zone of `code_css` holds about the student of `code_permanent` (see the module).
pub async fn person_record(
    warehouse: &Warehouse,
    dictionary: &Dictionary,
    code_css: &str,
    code_permanent: &str,
) -> Result<PersonRecord, PipelineError> {
    let cp = code_permanent.trim().to_ascii_uppercase();
    // Only a well-formed code permanent is looked for: an empty or partial one would match
    // other students' raw records in the quarantine.
    if !socle_core::is_valid_code_permanent(&cp) {
        return Ok(PersonRecord {
            code_css: code_css.to_string(),
            keys: Vec::new(),
            tables: BTreeMap::new(),
        });
    }
    let mut schemas: BTreeMap<String, SchemaRef> = dictionary
        .entities
        .iter()
        .map(|e| (e.name.clone(), e.arrow_schema()))
        .collect();
    schemas.insert(QUARANTINE.to_string(), socle_transform::quarantine_schema());
    let ctx = warehouse.session(Zone::Css(code_css.to_string()), &schemas).await?;
    const STUDENT: &str = "SELECT cle_eleve FROM eleve WHERE upper(trim(code_permanent)) = $1";

    let mut tables = BTreeMap::new();
    let eleve = rows(&ctx, "SELECT * FROM eleve WHERE upper(trim(code_permanent)) = $1", &cp).await?;
    let mut keys: Vec<String> = Vec::new();
    for b in &eleve.1 {
        if let Some(k) = b.column_by_name("cle_eleve") {
            let k = cast(k, &DataType::Utf8).map_err(datafusion::error::DataFusionError::from)?;
            for v in k.as_string::<i32>().iter().flatten() {
                if !keys.iter().any(|x| x == v) {
                    keys.push(v.to_string());
                }
            }
        }
    }
    tables.insert("eleve".to_string(), eleve);

    for entity in &dictionary.entities {
        if entity.name == "eleve" {
            continue;
        }
        let has = |f: &str| entity.fields.iter().any(|x| x.name == f);
        let name = &entity.name;
        let sql = match (has("code_permanent"), has("cle_eleve")) {
            (true, true) => {
                format!("SELECT * FROM \"{name}\" WHERE upper(trim(code_permanent)) = $1 OR cle_eleve IN ({STUDENT})")
            }
            (true, false) => format!("SELECT * FROM \"{name}\" WHERE upper(trim(code_permanent)) = $1"),
            (false, true) => format!("SELECT * FROM \"{name}\" WHERE cle_eleve IN ({STUDENT})"),
            (false, false) => continue,
        };
        tables.insert(name.clone(), rows(&ctx, &sql, &cp).await?);
    }

    for mart in NOMINATIVE_MARTS {
        if !ctx.table_exist(mart)? {
            continue;
        }
        let sql = format!(
            "SELECT * FROM \"{mart}\" WHERE fiche IN \
             (SELECT fiche FROM eleve WHERE upper(trim(code_permanent)) = $1 AND systeme_source <> 'jade')"
        );
        tables.insert(mart.to_string(), rows(&ctx, &sql, &cp).await?);
    }

    let quarantine = format!("SELECT * FROM \"{QUARANTINE}\" WHERE strpos(upper(enregistrement), $1) > 0");
    tables.insert(QUARANTINE.to_string(), rows(&ctx, &quarantine, &cp).await?);

    let record = PersonRecord {
        code_css: code_css.to_string(),
        keys,
        tables,
    };
    tracing::info!(
        code_css,
        target = %record.audit_target(),
        rows = record.rows(),
        "right of access: rows gathered"
    );
    Ok(record)
}

/// The file formats of a right-of-access answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonFormat {
    /// One array of rows per table.
    Json,
    /// One sheet per table.
    Xlsx,
}

impl PersonFormat {
    /// A command-line value: `json` or `xlsx`.
    pub fn from_arg(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(PersonFormat::Json),
            "xlsx" => Ok(PersonFormat::Xlsx),
            _ => Err("json or xlsx".to_string()),
        }
    }

    /// The format a file name says by its extension.
    pub fn of_path(path: &std::path::Path) -> Option<Self> {
        Self::from_arg(&path.extension()?.to_str()?.to_ascii_lowercase()).ok()
    }
}

/// A right-of-access answer written to its file.
pub struct PersonExport {
    pub code_css: String,
    pub output: std::path::PathBuf,
    pub rows: u64,
    /// Tables with rows about the student, and how many.
    pub tables: Vec<(String, u64)>,
}

/// What `socle personne` prints.
impl std::fmt::Display for PersonExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.rows == 0 {
            return write!(
                f,
                "no row about this code permanent in the zone of CSS {}: {} holds an empty result",
                self.code_css,
                self.output.display()
            );
        }
        let tables: Vec<String> = self.tables.iter().map(|(t, n)| format!("{t} {n}")).collect();
        write!(
            f,
            "{} row(s) about this student in the zone of CSS {} written to {} ({})",
            self.rows,
            self.code_css,
            self.output.display(),
            tables.join(", ")
        )
    }
}

/// `socle personne`: every row CSS `code_css`'s zone holds about the student `code_permanent`
/// ([`person_record`]) written to `output` atomically, audited (as `by`, the student named by
/// their pseudonymous key) before the file appears: no access without its audit line.
pub async fn export_person(
    warehouse: &Warehouse,
    dictionary: &Dictionary,
    code_css: &str,
    code_permanent: &str,
    output: &std::path::Path,
    format: PersonFormat,
    by: Option<&str>,
) -> Result<PersonExport, PipelineError> {
    if !socle_core::is_valid_code_permanent(code_permanent) {
        return Err(PipelineError::Other(
            "--code-permanent: expected 4 letters and 8 digits".into(),
        ));
    }
    if warehouse.manifest(code_css)?.is_none() {
        return Err(PipelineError::Other(format!(
            "CSS {code_css} has no published data in {}",
            warehouse.root().display()
        )));
    }
    let record = person_record(warehouse, dictionary, code_css, code_permanent).await?;
    let export = |e: socle_export::ExportError| PipelineError::Other(e.to_string());
    let mut file = socle_export::AtomicFile::create(output).map_err(export)?;
    match format {
        PersonFormat::Json => record.write_json(&mut file),
        PersonFormat::Xlsx => record.write_xlsx(&mut file),
    }
    .map_err(export)?;
    file.sync().map_err(export)?;
    let zone = Zone::Css(code_css.to_string());
    socle_warehouse::record_read(
        warehouse.root(),
        by,
        "personne",
        &zone,
        &record.audit_target(),
        record.rows(),
    )?;
    file.commit().map_err(export)?;
    Ok(PersonExport {
        code_css: code_css.to_string(),
        output: output.to_path_buf(),
        rows: record.rows(),
        tables: record
            .tables
            .keys()
            .filter(|t| record.rows_of(t) > 0)
            .map(|t| (t.clone(), record.rows_of(t)))
            .collect(),
    })
}
