//! Test harness of the marts: hand-built canonical tables, written as small CSV texts typed by the
//! data dictionary, run through a mart (and the marts it reads) exactly as the night does, in
//! the zone the mart's YAML names.
//!
//! ```text
//! let rows = Fixture::new()?
//!     .table("resultat", "
//!         annee_scolaire,code_css,code_etablissement,cle_eleve,code_cours,etape,statut_resultat,evalue,reussi,reprise,etat,ecole_bidon
//!         2024-2025,866000,866012,k1,132406,1,reussi,true,true,false,1,false
//!     ")
//!     .css_zone("taux_reussite")
//!     .await?;
//! let row = rows.find(&[("code_cours", "132406"), ("etape", "1")]);
//! assert_eq!(row.int("nb_evalues"), Some(1));
//! ```
//!
//! - Columns left out of a table's CSV are null; an empty field is null.
//! - A `source: shared` mart sees the shared-zone schema of each table: a CSV naming a column
//!   that never reaches the shared zone (`fiche`, `date_naissance`) is an error, as it would be
//!   in production. A `source: css` mart runs once per CSS found in the tables (`code_css`),
//!   each run seeing only that CSS's rows, with every column and the `quarantaine` table.
//! - `nuits` (the night each CSS was loaded, what marts mean by "as of") may be given like a
//!   table (`code_css,nuit`); by default every CSS of the fixture was loaded today.
//! - [`Fixture::css_zone`] gives the exact rows every CSS zone gets (all CSS together);
//!   [`Fixture::shared_zone`] the shared zone's rows, small cells suppressed.

use crate::project::{Mart, Project};
use crate::spec::{Publication, Source};
use crate::{build, publish_sets, register_reference};
use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray, new_null_array};
use datafusion::arrow::compute::{filter_record_batch, kernels::cmp::eq};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use socle_dictionary::Dictionary;
use std::collections::{BTreeMap, BTreeSet};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The repository's root (`schemas/`, `pipelines/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Hand-built canonical tables and the project whose marts run over them.
pub struct Fixture {
    dictionary: Arc<Dictionary>,
    project: Arc<Project>,
    tables: Vec<(String, String)>,
    threshold: Option<i64>,
}

impl Fixture {
    /// The repository's dictionary (`schemas/`) and pipelines (`pipelines/`); loading problems
    /// are errors.
    pub fn new() -> Result<Self> {
        Self::with_paths(&repo_root().join("schemas"), &repo_root().join("pipelines"))
    }

    pub fn with_paths(schemas: &Path, pipelines: &Path) -> Result<Self> {
        let dictionary = Dictionary::load(schemas)?;
        let (project, problems) = crate::load(pipelines)?;
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(format!("pipelines have problems:\n{}", list.join("\n")).into());
        }
        Ok(Self::from_loaded(Arc::new(dictionary), Arc::new(project)))
    }

    /// A fixture over a dictionary and a project already loaded (the case runner loads them
    /// once for every case).
    pub fn from_loaded(dictionary: Arc<Dictionary>, project: Arc<Project>) -> Self {
        Fixture {
            dictionary,
            project,
            tables: Vec::new(),
            threshold: None,
        }
    }

    /// Adds rows to table `name` (a canonical entity or `quarantaine`): a CSV text whose first
    /// line names the columns. Lines are trimmed; blank lines are skipped. May be called again
    /// for the same table (rows are appended; columns may differ).
    pub fn table(mut self, name: &str, csv: &str) -> Self {
        let text: Vec<&str> = csv.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        self.tables.push((name.to_string(), text.join("\n")));
        self
    }

    /// The small-cell threshold (default: `pipelines/config.yaml`).
    pub fn threshold(mut self, n: i64) -> Self {
        self.threshold = Some(n);
        self
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The exact rows of `mart` as the CSS zones get them (every CSS together), with
    /// `cellule_supprimee` for a shared mart.
    pub async fn css_zone(&self, mart: &str) -> Result<Rows> {
        let set = self.run(mart).await?;
        Rows::from_batches(&set.schema, &set.css)
    }

    /// The rows of `mart` as the shared zone gets them: small cells suppressed. An error for a
    /// nominative mart (`publication: css`), which never reaches the shared zone.
    pub async fn shared_zone(&self, mart: &str) -> Result<Rows> {
        let set = self.run(mart).await?;
        match set.shared {
            Some(shared) => Rows::from_batches(&set.schema, &shared),
            None => Err(format!("{mart} is nominative (publication: css): it has no shared-zone rows").into()),
        }
    }

    async fn run(&self, name: &str) -> Result<crate::PublishSet> {
        let mart = self.project.mart(name).ok_or_else(|| format!("no mart named {name}"))?;
        let marts: Vec<&Mart> = self.project.with_dependencies(name);
        let threshold = self.threshold.unwrap_or(self.project.config.seuil_petites_cellules);
        let tables = self.typed_tables(mart.spec.source)?;
        let mut outputs = Vec::new();
        match mart.spec.source {
            Source::Shared => {
                let ctx = self.session(&tables, None).await?;
                outputs.push(build(&marts, &ctx).await?);
            }
            Source::Css => {
                let mut codes: BTreeSet<String> = BTreeSet::new();
                for batches in tables.values() {
                    for b in batches {
                        if let Ok(i) = b.schema().index_of("code_css")
                            && let Some(a) = b.column(i).as_any().downcast_ref::<StringArray>()
                        {
                            codes.extend(a.iter().flatten().map(str::to_string));
                        }
                    }
                }
                for code in &codes {
                    let ctx = self.session(&tables, Some(code)).await?;
                    outputs.push(build(&marts, &ctx).await?);
                }
            }
        }
        // Put the runs of the mart itself together (one run per CSS for a css-source mart).
        let mut schema = None;
        let mut batches = Vec::new();
        for built in outputs.into_iter().flatten().filter(|b| b.name == name) {
            schema.get_or_insert(built.schema.clone());
            batches.extend(built.batches);
        }
        let schema = match schema {
            Some(s) => s,
            None => {
                // No CSS at all: plan on empty tables for the schema.
                let ctx = self.session(&tables, None).await?;
                let built = build(&marts, &ctx).await?;
                built
                    .into_iter()
                    .find(|b| b.name == name)
                    .map(|b| b.schema)
                    .ok_or("mart not built")?
            }
        };
        let set = publish_sets(
            mart,
            threshold,
            crate::Built {
                name: name.to_string(),
                schema,
                batches,
            },
        )?;
        if mart.spec.publication == Publication::Css {
            debug_assert!(set.shared.is_none());
        }
        Ok(set)
    }

    /// A session with `tables` (restricted to CSS `code` if given) and the reference tables.
    async fn session(&self, tables: &BTreeMap<String, Vec<RecordBatch>>, code: Option<&str>) -> Result<SessionContext> {
        let ctx = SessionContext::new();
        for (name, batches) in tables {
            let schema = batches.first().map(|b| b.schema()).ok_or("table without schema")?;
            let mut kept = Vec::new();
            for b in batches {
                match (code, b.schema().index_of("code_css")) {
                    (Some(code), Ok(i)) => {
                        let codes = b
                            .column(i)
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .ok_or("code_css is not text")?;
                        let mask = eq(codes, &StringArray::new_scalar(code))?;
                        kept.push(filter_record_batch(b, &mask)?);
                    }
                    _ => kept.push(b.clone()),
                }
            }
            ctx.register_table(name.as_str(), Arc::new(MemTable::try_new(schema, vec![kept])?))?;
        }
        register_reference(&ctx, &self.project)?;
        Ok(ctx)
    }

    /// Every canonical table (given or empty) typed with the schema of `source`'s zone.
    fn typed_tables(&self, source: Source) -> Result<BTreeMap<String, Vec<RecordBatch>>> {
        let mut schemas: BTreeMap<String, SchemaRef> = self
            .dictionary
            .entities
            .iter()
            .map(|e| {
                let s = match source {
                    Source::Shared => e.shared_arrow_schema(),
                    Source::Css => e.arrow_schema(),
                };
                (e.name.clone(), s)
            })
            .collect();
        if source == Source::Css {
            schemas.insert("quarantaine".into(), quarantine_schema());
        }
        schemas.insert(crate::NIGHTS.into(), crate::nights_batch(&[])?.schema());
        let mut out: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
        for (name, csv) in &self.tables {
            let Some(schema) = schemas.get(name) else {
                return Err(match source {
                    Source::Shared if name == "quarantaine" => {
                        "quarantaine is in the CSS zones only; this mart reads the shared zone"
                            .to_string()
                            .into()
                    }
                    _ => format!("{name} is not a canonical table").into(),
                });
            };
            out.entry(name.clone())
                .or_default()
                .push(parse_csv(name, schema, csv, source)?);
        }
        if !out.contains_key(crate::NIGHTS) {
            // By default every CSS of the fixture was loaded tonight (today's date).
            let mut codes: BTreeSet<String> = BTreeSet::new();
            for batches in out.values() {
                for b in batches {
                    if let Ok(i) = b.schema().index_of("code_css")
                        && let Some(a) = b.column(i).as_any().downcast_ref::<StringArray>()
                    {
                        codes.extend(a.iter().flatten().map(str::to_string));
                    }
                }
            }
            let today = chrono::Local::now().date_naive();
            let nights: Vec<(String, chrono::NaiveDate)> = codes.into_iter().map(|c| (c, today)).collect();
            out.insert(crate::NIGHTS.into(), vec![crate::nights_batch(&nights)?]);
        }
        for (name, schema) in schemas {
            out.entry(name.clone())
                .or_insert_with(|| vec![RecordBatch::new_empty(schema.clone())]);
        }
        Ok(out)
    }
}

/// The quarantine's columns (as `socle-transform` writes them).
fn quarantine_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("code_css", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("etape_pipeline", DataType::Utf8, false),
        Field::new("entite", DataType::Utf8, true),
        Field::new("fichier", DataType::Utf8, true),
        Field::new("ligne", DataType::Int64, true),
        Field::new("colonne", DataType::Utf8, true),
        Field::new("raison", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, true),
        Field::new("enregistrement", DataType::Utf8, true),
    ]))
}

/// Parses `csv` (header first) into `schema`'s types; missing columns are null.
fn parse_csv(table: &str, schema: &SchemaRef, csv: &str, source: Source) -> Result<RecordBatch> {
    let header: Vec<&str> = csv
        .lines()
        .next()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let mut fields = Vec::with_capacity(header.len());
    for h in &header {
        match schema.field_with_name(h) {
            Ok(f) => fields.push(f.clone().with_nullable(true)),
            Err(_) => {
                let why = if source == Source::Shared {
                    " (or not in the shared zone, which this mart reads)"
                } else {
                    ""
                };
                return Err(format!("table {table}: no column {h}{why}").into());
            }
        }
    }
    let given = Arc::new(Schema::new(fields));
    let reader = datafusion::arrow::csv::ReaderBuilder::new(given.clone())
        .with_header(true)
        .build(std::io::Cursor::new(csv.as_bytes().to_vec()))?;
    let batches: Vec<RecordBatch> = reader.collect::<std::result::Result<_, _>>()?;
    let given_batch = datafusion::arrow::compute::concat_batches(&given, &batches)?;
    let rows = given_batch.num_rows();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        columns.push(match given.index_of(f.name()) {
            Ok(i) => given_batch.column(i).clone(),
            Err(_) => new_null_array(f.data_type(), rows),
        });
    }
    let nullable: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(nullable)), columns)?)
}

/// A mart's rows, every value as text (null as `None`), for assertions.
#[derive(Debug, Clone)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    pub fn from_batches(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Self> {
        let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let mut rows = Vec::new();
        let options = FormatOptions::default();
        for b in batches {
            let formatters = b
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            for r in 0..b.num_rows() {
                rows.push(
                    b.columns()
                        .iter()
                        .zip(&formatters)
                        .map(|(c, f)| (!c.is_null(r)).then(|| f.value(r).to_string()))
                        .collect(),
                );
            }
        }
        Ok(Rows { columns, rows })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn index(&self, column: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c == column)
            .unwrap_or_else(|| panic!("no column {column}; columns: {}", self.columns.join(", ")))
    }

    /// Every row, as [`Row`]s.
    pub fn all(&self) -> Vec<Row<'_>> {
        (0..self.rows.len()).map(|i| Row { rows: self, i }).collect()
    }

    /// The rows whose columns have the given values (`""` matches null).
    pub fn filter(&self, key: &[(&str, &str)]) -> Vec<Row<'_>> {
        let idx: Vec<(usize, &str)> = key.iter().map(|(c, v)| (self.index(c), *v)).collect();
        (0..self.rows.len())
            .filter(|&i| idx.iter().all(|(c, v)| self.rows[i][*c].as_deref().unwrap_or("") == *v))
            .map(|i| Row { rows: self, i })
            .collect()
    }

    /// The one row with the given values; panics (showing the rows) if none or several match.
    pub fn find(&self, key: &[(&str, &str)]) -> Row<'_> {
        let found = self.filter(key);
        if found.len() != 1 {
            panic!("{} rows match {key:?}, expected 1:\n{self}", found.len());
        }
        found[0]
    }

    /// The values of one column, in row order.
    pub fn column(&self, column: &str) -> Vec<Option<String>> {
        let c = self.index(column);
        self.rows.iter().map(|r| r[c].clone()).collect()
    }
}

impl std::fmt::Display for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.columns.join(" | "))?;
        for r in &self.rows {
            let cells: Vec<&str> = r.iter().map(|v| v.as_deref().unwrap_or("∅")).collect();
            writeln!(f, "{}", cells.join(" | "))?;
        }
        Ok(())
    }
}

/// One row of [`Rows`].
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    rows: &'a Rows,
    i: usize,
}

impl<'a> Row<'a> {
    /// The value as text, `None` if null.
    pub fn get(&self, column: &str) -> Option<&'a str> {
        self.rows.rows[self.i][self.rows.index(column)].as_deref()
    }

    pub fn int(&self, column: &str) -> Option<i64> {
        self.get(column).map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{column} = {v:?} is not an integer"))
        })
    }

    pub fn float(&self, column: &str) -> Option<f64> {
        self.get(column)
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{column} = {v:?} is not a number")))
    }

    pub fn bool(&self, column: &str) -> Option<bool> {
        self.get(column).map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{column} = {v:?} is not a boolean"))
        })
    }

    pub fn is_null(&self, column: &str) -> bool {
        self.get(column).is_none()
    }
}

/// `a` and `b` within 1e-9 (rates computed in floating point).
pub fn approx(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}
