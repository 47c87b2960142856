//! Normalisation: applies the data dictionary to one CSS's extracted source tables, as DataFusion
//! plans.
//!
//! The plans are SQL files under `sql/` (one per canonical entity, read in order), run over the
//! connector's typed tables plus:
//! - the ministry registry (`ref_organismes`, `ref_etablissements`), so organisation and
//!   establishment codes are checked, never trusted;
//! - the CSS's effective value maps (`map_valeurs_speciales`, `map_cours`,
//!   `map_categories_absence`) from the dictionary, so each CSS's own codes become canonical;
//! - the UDF `cle_eleve(code_perm, code_css, fiche)`: the keyed pseudonymous student key.
//!
//! Every plan yields the canonical fields plus `_reason`, `_column`, `_message`, `_file`, `_line`:
//! rows with a reason go to quarantine, the others are cast to the dictionary's types. The
//! connector's own rejects (bad rows) join the same quarantine, and [`QualityReport`] counts
//! everything per source table and per entity.

mod quality;
mod tables;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{cast, filter_record_batch, is_not_null, is_null};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DataFusionError;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use socle_connect::Extract;
use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::{Dictionary, Entity};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub use quality::{EntityQuality, QualityReport, SourceQuality};
pub use tables::quarantine_schema;

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("normalisation engine error in {stage}: {source}")]
    Engine { stage: String, source: DataFusionError },
    #[error("the data dictionary has no entity {0:?}")]
    MissingEntity(String),
    #[error("plan for {entity} did not produce the canonical field {field:?}")]
    MissingField { entity: String, field: String },
    #[error("invalid CSS code {0:?}")]
    InvalidCss(String),
}

fn engine(stage: &str) -> impl FnOnce(DataFusionError) -> TransformError + '_ {
    move |source| TransformError::Engine {
        stage: stage.to_string(),
        source,
    }
}

/// The normalisation plans, in the order they run (later plans read `eco_ok` and `eleve_key`).
const PLANS: &[(&str, &str)] = &[
    ("etablissement", include_str!("../sql/00_eco.sql")),
    ("eleve", include_str!("../sql/01_eleve.sql")),
    ("inscription", include_str!("../sql/02_inscription.sql")),
    ("cours", include_str!("../sql/03_cours.sql")),
    ("resultat", include_str!("../sql/04_resultat.sql")),
    ("absence", include_str!("../sql/05_absence.sql")),
    ("legende", include_str!("../sql/06_legende.sql")),
    ("calendrier", include_str!("../sql/07_calendrier.sql")),
];

/// Everything the normalisation of one CSS needs besides its extract.
pub struct NormaliseContext<'a> {
    pub code_css: &'a str,
    pub dictionary: &'a Dictionary,
    pub registry: &'a Registry,
    pub pseudonymiser: &'a Pseudonymiser,
}

/// One CSS's canonical tables, its quarantine and its quality report.
pub struct Normalised {
    /// Entity name -> batches with exactly the dictionary's fields and types.
    pub tables: BTreeMap<String, Vec<RecordBatch>>,
    /// Rows rejected by the connector or by normalisation, with file, line, column and reason.
    pub quarantine: Vec<RecordBatch>,
    pub quality: QualityReport,
}

/// Normalises one CSS's GPI extract.
pub async fn normalise(cx: &NormaliseContext<'_>, extract: Extract) -> Result<Normalised, TransformError> {
    let css = cx.code_css;
    if !(css.len() == 6 && css.bytes().all(|b| b.is_ascii_digit())) {
        return Err(TransformError::InvalidCss(css.to_string()));
    }
    let profile = cx.dictionary.profile(css);
    let ctx = SessionContext::new();
    tables::register_udfs(&ctx, cx.pseudonymiser);
    tables::register_reference(&ctx, cx.registry).map_err(engine("reference tables"))?;
    tables::register_value_maps(&ctx, &profile).map_err(engine("value maps"))?;

    let mut quality = QualityReport::new(css);
    let mut quarantine = vec![tables::rejects_to_batch(css, "gpi", &extract.rejects).map_err(engine("quarantine"))?];
    for t in extract.tables.values() {
        quality.add_source(t, &extract.files, &extract.rejects);
    }
    for (name, t) in extract.tables {
        let mem = MemTable::try_new(t.schema.clone(), vec![t.batches]).map_err(engine(&name))?;
        ctx.register_table(name.as_str(), Arc::new(mem))
            .map_err(engine(&name))?;
    }

    let mut tables_out = BTreeMap::new();
    for (entity_name, sql) in PLANS {
        let started = Instant::now();
        let entity = cx
            .dictionary
            .entity(entity_name)
            .ok_or_else(|| TransformError::MissingEntity(entity_name.to_string()))?;
        let sql = sql
            .replace("{css}", css)
            .replace("{default_pass_mark}", &format!("{:.2}", profile.default_pass_mark));
        let df = ctx.sql(&sql).await.map_err(engine(entity_name))?;
        let plan_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let staged = df.collect().await.map_err(engine(entity_name))?;
        let rows_in: usize = staged.iter().map(|b| b.num_rows()).sum();
        let (accepted, rejected) = split(entity, &staged)?;
        let rows_loaded: usize = accepted.iter().map(|b| b.num_rows()).sum();
        quality.add_entity(entity_name, rows_in as u64, rows_loaded as u64, &rejected);
        for r in &rejected {
            quarantine.push(tables::staged_rejects_to_batch(css, entity_name, r).map_err(engine("quarantine"))?);
        }
        tracing::info!(
            code_css = css,
            entity = *entity_name,
            rows_in,
            rows_loaded,
            quarantined = rows_in - rows_loaded,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "normalised"
        );
        // Later plans join schools and students: register the clean intermediate tables.
        match *entity_name {
            "etablissement" => register_clean(
                &ctx,
                "eco_ok",
                &plan_schema,
                &staged,
                &["id_eco", "annee_scolaire", "code_etablissement", "eco", "ecole_bidon"],
            )?,
            "eleve" => {
                register_clean(
                    &ctx,
                    "eleve_all",
                    &plan_schema,
                    &staged,
                    &["fiche", "cle_eleve", "cle_locale", "_line"],
                )?;
                // A repeated fiche keeps its first row (by line) as the key of its results.
                let key = ctx
                    .sql("SELECT fiche, cle_eleve FROM (SELECT fiche, cle_eleve, row_number() OVER (PARTITION BY fiche ORDER BY _line) AS rn FROM eleve_all) WHERE rn = 1")
                    .await
                    .map_err(engine("eleve_key"))?
                    .collect()
                    .await
                    .map_err(engine("eleve_key"))?;
                let schema = key.first().map(|b| b.schema()).unwrap_or_else(|| {
                    Arc::new(Schema::new(vec![
                        Field::new("fiche", DataType::Int64, true),
                        Field::new("cle_eleve", DataType::Utf8, true),
                    ]))
                });
                let mem = MemTable::try_new(schema, vec![key]).map_err(engine("eleve_key"))?;
                ctx.register_table("eleve_key", Arc::new(mem))
                    .map_err(engine("eleve_key"))?;
                quality.add_anomaly("cles_locales", count_true(&accepted, "cle_locale"));
            }
            "cours" => {
                // Subjects (school x year x code) whose local code has no mapping in the dictionary.
                quality.add_anomaly("cours_locaux_sans_correspondance", count_true(&accepted, "cours_local"));
            }
            _ => {}
        }
        tables_out.insert(entity_name.to_string(), accepted);
    }
    let dup = ctx
        .sql("SELECT count(*) - count(DISTINCT fiche) AS n FROM gpm_e_ele")
        .await
        .map_err(engine("anomalies"))?
        .collect()
        .await
        .map_err(engine("anomalies"))?;
    quality.add_anomaly("fiches_repetees", first_i64(&dup) as u64);
    quarantine.retain(|b| b.num_rows() > 0);
    Ok(Normalised {
        tables: tables_out,
        quarantine,
        quality,
    })
}

/// Splits a staged plan output into accepted rows (projected and cast to the dictionary's
/// fields) and rejected rows (those with a `_reason`).
fn split(entity: &Entity, staged: &[RecordBatch]) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), TransformError> {
    let schema = entity.arrow_schema();
    let mut accepted = Vec::new();
    let mut rejected = Vec::new();
    let stage = |e: datafusion::arrow::error::ArrowError| TransformError::Engine {
        stage: entity.name.clone(),
        source: e.into(),
    };
    for batch in staged {
        let reason = batch
            .column_by_name("_reason")
            .ok_or_else(|| TransformError::MissingField {
                entity: entity.name.clone(),
                field: "_reason".into(),
            })?;
        let ok = filter_record_batch(batch, &is_null(reason).map_err(stage)?).map_err(stage)?;
        let bad = filter_record_batch(batch, &is_not_null(reason).map_err(stage)?).map_err(stage)?;
        if bad.num_rows() > 0 {
            rejected.push(bad);
        }
        if ok.num_rows() == 0 {
            continue;
        }
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for f in schema.fields() {
            let col = ok
                .column_by_name(f.name())
                .ok_or_else(|| TransformError::MissingField {
                    entity: entity.name.clone(),
                    field: f.name().clone(),
                })?;
            columns.push(cast(col, f.data_type()).map_err(stage)?);
        }
        accepted.push(RecordBatch::try_new(schema.clone(), columns).map_err(stage)?);
    }
    Ok((accepted, rejected))
}

/// Registers the accepted rows of a staged output, restricted to some columns, as a table.
fn register_clean(
    ctx: &SessionContext,
    name: &str,
    plan_schema: &SchemaRef,
    staged: &[RecordBatch],
    columns: &[&str],
) -> Result<(), TransformError> {
    let stage = |e: datafusion::arrow::error::ArrowError| TransformError::Engine {
        stage: name.to_string(),
        source: e.into(),
    };
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            plan_schema.index_of(c).map_err(|_| TransformError::MissingField {
                entity: name.into(),
                field: c.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    let schema = Arc::new(plan_schema.project(&idx).map_err(stage)?);
    let mut out = Vec::new();
    for batch in staged {
        let reason = batch
            .column_by_name("_reason")
            .ok_or_else(|| TransformError::MissingField {
                entity: name.into(),
                field: "_reason".into(),
            })?;
        let ok = filter_record_batch(batch, &is_null(reason).map_err(stage)?).map_err(stage)?;
        let projected = ok.project(&idx).map_err(stage)?;
        out.push(RecordBatch::try_new(schema.clone(), projected.columns().to_vec()).map_err(stage)?);
    }
    let mem = MemTable::try_new(schema, vec![out]).map_err(|e| TransformError::Engine {
        stage: name.into(),
        source: e,
    })?;
    ctx.register_table(name, Arc::new(mem))
        .map_err(|e| TransformError::Engine {
            stage: name.into(),
            source: e,
        })?;
    Ok(())
}

fn count_true(batches: &[RecordBatch], column: &str) -> u64 {
    batches
        .iter()
        .filter_map(|b| b.column_by_name(column))
        .filter_map(|c| c.as_any().downcast_ref::<BooleanArray>().map(|a| a.true_count() as u64))
        .sum()
}

fn first_i64(batches: &[RecordBatch]) -> i64 {
    batches
        .first()
        .and_then(|b| b.columns().first().cloned())
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .filter(|a| !a.is_empty())
                .map(|a| a.value(0))
        })
        .unwrap_or(0)
}
