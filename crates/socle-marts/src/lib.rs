//! Marts: SQL files under `pipelines/marts/`, each with a YAML description (definition in words,
//! grain, columns, exclusions, where it may be published), run by DataFusion over a warehouse
//! session, beside reference tables (`annees_scolaires`, the ministry registry, the seeds of
//! `pipelines/seeds/`).
//!
//! - [`load`] reads `pipelines/` and orders the marts so a mart comes after those it reads;
//! - [`register_reference`] adds the reference tables to a session;
//! - [`check`] plans every mart against the tables it would run on (its output columns must be
//!   exactly its documented columns);
//! - [`build`] runs marts (each result registered for the marts that read it);
//! - [`publish_sets`] turns a built mart into what each zone gets: small cells suppressed for the
//!   shared zone, exact rows (flagged) for the CSS zones, nothing shared for nominative marts.
//! - [`testing::Fixture`] runs a mart over hand-built canonical tables; [`cases`] runs the mart
//!   tests written as data (`pipelines/tests/<mart>.yaml`) on it (`socle test`).

pub mod cases;
mod functions;
mod project;
mod reference;
mod spec;
mod suppress;
pub mod testing;

pub use functions::{AU_CENT_DUCKDB_MACRO, AuCent, TAUX_DUCKDB_MACRO, Taux, duckdb_macros, register_functions, udfs};
pub use project::{Mart, Project, SUPPRESSED_COLUMN, Seed, load, render, tables_read};
pub use reference::{
    NIGHTS, TABLES as REFERENCE_TABLES, nights_batch, read_seed, reference_tables, register_nights, register_reference,
    register_reference_tables, school_years,
};
pub use spec::{
    ChartKind, Config, Dashboard, Execution, IntermediateSpec, MartColumn, MartSpec, Parameter, ParameterValue,
    Publication, SeedColumn, SeedSpec, SeedType, Source, SuppressionRule, Text, parse_bytes,
};
pub use suppress::{flag, flagged_schema, suppress};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum MartError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("reference table {table}: {message}")]
    Reference { table: String, message: String },
    #[error("mart {name} ({path}) failed: {source}")]
    Engine {
        name: String,
        path: PathBuf,
        source: datafusion::error::DataFusionError,
    },
    #[error("mart {name}: small-cell suppression failed: {source}")]
    Suppression {
        name: String,
        source: datafusion::arrow::error::ArrowError,
    },
    /// A repeated `unique_key`: the model's grain is not what its YAML says.
    #[error(
        "{name}: clé unique répétée / repeated unique key ({}): {sample}",
        key.join(", ")
    )]
    DuplicateKey {
        name: String,
        key: Vec<String>,
        /// Up to 5 repeated keys with their counts; personal columns masked.
        sample: String,
    },
    /// The model needed more memory than the marts stage may use, in an operation that cannot
    /// spill to disk.
    #[error(
        "{name}: mémoire insuffisante / out of memory: la requête dépasse memoire_max ({limit}, pipelines/config.yaml) \
         même en débordant sur disque; augmentez memoire_max ou simplifiez le modèle / the query exceeds memoire_max even spilling to disk: {message}"
    )]
    Memory {
        name: String,
        limit: String,
        message: String,
    },
}

impl MartError {
    /// The error of model `m` from an engine error: a memory error named as such (with the
    /// limit in force, `limit` bytes), any other as [`MartError::Engine`].
    pub fn of_engine(m: &Mart, limit: usize, source: datafusion::error::DataFusionError) -> MartError {
        if matches!(
            source.find_root(),
            datafusion::error::DataFusionError::ResourcesExhausted(_)
        ) {
            return MartError::Memory {
                name: m.spec.name.clone(),
                limit: format!("{} MiB", limit / (1024 * 1024)),
                message: source.find_root().to_string(),
            };
        }
        MartError::Engine {
            name: m.spec.name.clone(),
            path: m.sql_path.clone(),
            source,
        }
    }
}

/// Columns whose values never appear in a message or a log (a repeated key's sample): what
/// identifies a student in a CSS's zone, and the pseudonymous key of the shared zone.
pub const MASKED_COLUMNS: [&str; 6] = [
    "fiche",
    "code_permanent",
    "cle_eleve",
    "nom",
    "prenom",
    "date_naissance",
];

/// Checks the grain of model `m` over the table `table` of `ctx` (its rows just built): every
/// value of its `unique_key` once, NULLs equal (`GROUP BY` makes them so). A repeated key gives
/// [`MartError::DuplicateKey`] with up to 5 repeated keys and their counts, the values of
/// [`MASKED_COLUMNS`] masked.
pub async fn check_unique_key(m: &Mart, ctx: &SessionContext, table: &str) -> Result<(), MartError> {
    if m.spec.unique_key.is_empty() {
        return Ok(());
    }
    let ident = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
    let keys: Vec<String> = m.spec.unique_key.iter().map(|c| ident(c)).collect();
    let sql = format!(
        "SELECT {k}, count(*) AS socle_n FROM {t} GROUP BY {k} HAVING count(*) > 1 LIMIT 5",
        k = keys.join(", "),
        t = ident(table),
    );
    let err = |source| MartError::Engine {
        name: m.spec.name.clone(),
        path: m.yaml_path.clone(),
        source,
    };
    let batches = ctx.sql(&sql).await.map_err(err)?.collect().await.map_err(err)?;
    let mut samples = Vec::new();
    let options = datafusion::arrow::util::display::FormatOptions::default().with_null("NULL");
    for b in &batches {
        let formatters = b
            .columns()
            .iter()
            .map(|c| datafusion::arrow::util::display::ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.into()))?;
        for row in 0..b.num_rows() {
            let mut parts = Vec::new();
            for (i, f) in formatters.iter().enumerate() {
                let name = b.schema().field(i).name().clone();
                if name == "socle_n" {
                    parts.push(format!("× {}", f.value(row)));
                } else if MASKED_COLUMNS.contains(&name.as_str()) {
                    parts.push(format!("{name}=<masqué/masked>"));
                } else {
                    parts.push(format!("{name}={}", f.value(row)));
                }
            }
            samples.push(format!("[{}]", parts.join(" ")));
        }
    }
    if samples.is_empty() {
        return Ok(());
    }
    Err(MartError::DuplicateKey {
        name: m.spec.name.clone(),
        key: m.spec.unique_key.clone(),
        sample: samples.join("; "),
    })
}

/// One problem of a pipeline definition, with its file.
#[derive(Debug, Clone)]
pub struct Problem {
    pub file: PathBuf,
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.path, self.message)
        }
    }
}

/// Registers `batches` as table `name` in `ctx`, replacing a table of that name (a mart
/// published by the previous night, in a warehouse session).
fn register_result(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
) -> datafusion::error::Result<()> {
    let table = MemTable::try_new(schema, vec![batches])?;
    ctx.deregister_table(name)?;
    ctx.register_table(name, Arc::new(table))?;
    Ok(())
}

/// Plans every mart of `project` on the session of its source (`shared` or `css`, tables
/// registered, possibly empty, with the reference tables) and compares its output columns with
/// its documented columns. Each planned mart is registered empty for the marts that read it.
pub async fn check(project: &Project, shared: &SessionContext, css: &SessionContext) -> Vec<Problem> {
    let mut problems = Vec::new();
    for m in project.models() {
        let ctx = match m.spec.source {
            Source::Shared => shared,
            Source::Css => css,
        };
        let df = match ctx.sql(&m.sql).await {
            Ok(df) => df,
            Err(e) => {
                problems.push(Problem {
                    file: m.sql_path.clone(),
                    path: String::new(),
                    message: format!("does not plan: {e}"),
                });
                continue;
            }
        };
        let schema = output_schema(df.schema().as_arrow());
        let produced: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        let documented: Vec<String> = m.spec.columns.iter().map(|c| c.name.clone()).collect();
        for c in &produced {
            if !documented.contains(c) {
                problems.push(Problem {
                    file: m.yaml_path.clone(),
                    path: "columns".into(),
                    message: format!("column {c} is produced by the SQL but not documented"),
                });
            }
        }
        for c in &documented {
            if !produced.contains(c) {
                problems.push(Problem {
                    file: m.yaml_path.clone(),
                    path: "columns".into(),
                    message: format!("documented column {c} is not produced by the SQL"),
                });
            }
        }
        if produced != documented && produced.len() == documented.len() {
            problems.push(Problem {
                file: m.yaml_path.clone(),
                path: "columns".into(),
                message: format!(
                    "columns are documented in another order than the SQL's: {}",
                    produced.join(", ")
                ),
            });
        }
        for key in &m.spec.unique_key {
            if !produced.contains(key) {
                problems.push(Problem {
                    file: m.yaml_path.clone(),
                    path: "unique_key".into(),
                    message: format!("key column {key} is not produced by the SQL"),
                });
            }
        }
        for rule in &m.spec.suppression {
            if let Ok(f) = schema.field_with_name(&rule.count)
                && !f.data_type().is_integer()
            {
                problems.push(Problem {
                    file: m.yaml_path.clone(),
                    path: "suppression".into(),
                    message: format!("{} must be a count (an integer), not {}", rule.count, f.data_type()),
                });
            }
        }
        if let Some(valeur) = m.spec.tableau_de_bord.as_ref().and_then(|d| d.valeur.as_deref()) {
            check_valeur(m, valeur, &schema, &mut problems);
        }
        // A shared intermediate model is built in the CSS zones too, for the models there that
        // read it: registered in both sessions.
        let zones: Vec<&SessionContext> = if m.is_intermediate() && m.spec.source == Source::Shared {
            vec![shared, css]
        } else {
            vec![ctx]
        };
        for zone in zones {
            if let Err(e) = register_result(zone, &m.spec.name, schema.clone(), vec![]) {
                problems.push(Problem {
                    file: m.sql_path.clone(),
                    path: String::new(),
                    message: e.to_string(),
                });
            }
        }
    }
    problems
}

/// The column a mart's chart draws (`tableau_de_bord.valeur`) is a number (integer, float or
/// decimal): a bar or a line of text means nothing. A column the SQL does not produce is already
/// reported (by `load`, or as an undocumented column above).
fn check_valeur(m: &Mart, valeur: &str, schema: &SchemaRef, problems: &mut Vec<Problem>) {
    use datafusion::arrow::datatypes::DataType;
    // Socle adds `cellule_supprimee` after the SQL: a flag, never in the planned schema.
    let data_type = if valeur == SUPPRESSED_COLUMN && m.spec.publication == Publication::Shared {
        DataType::Boolean
    } else {
        match schema.field_with_name(valeur) {
            Ok(f) => f.data_type().clone(),
            Err(_) => return,
        }
    };
    if !data_type.is_numeric() {
        problems.push(Problem {
            file: m.yaml_path.clone(),
            path: "tableau_de_bord.valeur".into(),
            message: format!(
                "{valeur} must be numeric (an integer, float or decimal column): the chart draws it, and it is \
                 {data_type}"
            ),
        });
    }
}

/// The schema a mart is published with: the planned columns, every one nullable, text as plain
/// `Utf8`. The batches DataFusion produces may differ from the logical plan's schema in
/// nullability (a `COALESCE` run as a `CASE`) or string type (`Utf8View` from a `CAST`); pinning
/// one schema keeps every CSS's run of a mart and every zone's file alike.
pub fn output_schema(planned: &datafusion::arrow::datatypes::Schema) -> SchemaRef {
    use datafusion::arrow::datatypes::{DataType, Field};
    let fields: Vec<Field> = planned
        .fields()
        .iter()
        .map(|f| {
            let t = match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
                t => t.clone(),
            };
            Field::new(f.name(), t, true)
        })
        .collect();
    Arc::new(datafusion::arrow::datatypes::Schema::new(fields))
}

/// `batch` with `schema` (same columns in order), casting a column whose type differs.
pub fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                datafusion::arrow::compute::cast(c, f.data_type())
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// A built mart: its exact rows, as the SQL gave them.
#[derive(Debug, Clone)]
pub struct Built {
    pub name: String,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl Built {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(|b| b.num_rows()).sum()
    }
}

/// Runs `marts` on `ctx`, in the order given (dependency order, as [`Project::marts`] and
/// [`Project::marts_of`] give them). Each result is registered in `ctx` under its name, so the
/// marts after it read this night's rows.
pub async fn build(marts: &[&Mart], ctx: &SessionContext) -> Result<Vec<Built>, MartError> {
    let mut out = Vec::with_capacity(marts.len());
    for m in marts {
        let started = Instant::now();
        let err = |source| MartError::Engine {
            name: m.spec.name.clone(),
            path: m.sql_path.clone(),
            source,
        };
        let df = ctx.sql(&m.sql).await.map_err(err)?;
        let schema = output_schema(df.schema().as_arrow());
        let batches = df
            .collect()
            .await
            .map_err(err)?
            .iter()
            .map(|b| conform(b, &schema))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(e.into()))?;
        register_result(ctx, &m.spec.name, schema.clone(), batches.clone()).map_err(err)?;
        let built = Built {
            name: m.spec.name.clone(),
            schema,
            batches,
        };
        tracing::debug!(mart = %m.spec.name, rows = built.rows(), elapsed_ms = started.elapsed().as_millis() as u64, "mart built");
        out.push(built);
    }
    Ok(out)
}

/// What each zone gets of a mart.
#[derive(Debug, Clone)]
pub struct PublishSet {
    pub name: String,
    pub publication: Publication,
    /// The schema of both sets.
    pub schema: SchemaRef,
    /// The shared zone's rows (small cells suppressed); `None` for a nominative mart.
    pub shared: Option<Vec<RecordBatch>>,
    /// The exact rows of every CSS, each CSS's zone getting its own (`code_css`).
    pub css: Vec<RecordBatch>,
}

/// Splits a built mart into its zones' sets, with the project's small-cell threshold.
pub fn publish_sets(mart: &Mart, threshold: i64, built: Built) -> Result<PublishSet, MartError> {
    let err = |source| MartError::Suppression {
        name: mart.spec.name.clone(),
        source,
    };
    match mart.spec.publication {
        Publication::Internal => Err(MartError::Invalid {
            path: mart.yaml_path.clone(),
            message: "an intermediate model is never published".into(),
        }),
        Publication::Css => Ok(PublishSet {
            name: built.name,
            publication: Publication::Css,
            schema: built.schema,
            shared: None,
            css: built.batches,
        }),
        Publication::Shared => {
            let rules = &mart.spec.suppression;
            let css = built
                .batches
                .iter()
                .map(|b| flag(rules, threshold, b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            let shared = built
                .batches
                .iter()
                .map(|b| suppress(rules, threshold, b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(err)?;
            Ok(PublishSet {
                name: built.name,
                publication: Publication::Shared,
                schema: flagged_schema(&built.schema),
                shared: Some(shared),
                css,
            })
        }
    }
}
