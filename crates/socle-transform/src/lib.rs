//! Normalisation: applies the data dictionary to one CSS's extracted source tables, as DataFusion
//! plans, taking every source system into one canonical model.
//!
//! A CSS sends any subset of the four sources (GPI, Mozaïk, JADE, Dofin; during a migration both
//! GPI and Mozaïk). Each source system has its plans, SQL files under `sql/<system>/`, read in
//! order ([`plans`]); a file `NN_<entity>.sql` yields a canonical entity, any other
//! `NN_<name>.sql` an intermediate table of that system (`eleve_key`, `centre`...), and
//! `99_anomalies.sql` the counts of the quality report's anomalies. Each system runs in a session
//! of its own, so its source and intermediate tables never meet another's; each entity's clean
//! rows are also registered there as `<entity>_ok` for the plans that follow. The plans read the
//! connector's typed tables plus:
//! - the ministry registry (`ref_organismes`, `ref_etablissements`), so organisation and
//!   establishment codes are checked, never trusted;
//! - the CSS's effective value maps (`map_valeurs_speciales`, `map_cours`,
//!   `map_categories_absence`, `map_codes_resultat_ministere`) and finance mapping
//!   (`map_finance_activite`, `map_finance_ri`, `map_finance_secteur`, `map_finance_objet`: prefixes, the longest wins)
//!   from the dictionary, so each CSS's own codes become canonical;
//! - the UDF `cle_eleve(code_perm, code_css, fiche)`: the keyed pseudonymous student key.
//!
//! Every entity plan yields the canonical fields plus `_reason`, `_column`, `_message`, `_file`,
//! `_line`: rows with a reason go to quarantine (with their system as `source`), the others are
//! cast to the dictionary's types. An entity fed by several systems is the union of their plans'
//! rows, so the marts never see which system a fact came from (apart from lineage and the
//! source's own ids). The connector's own rejects join the same quarantine, and
//! [`QualityReport`] counts everything per source table, per entity and per system.

mod quality;
mod tables;

use datafusion::arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast, filter_record_batch, is_not_null, is_null};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::DataFusionError;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use socle_connect::Extract;
use socle_core::{Pseudonymiser, Registry};
use socle_dictionary::{Dictionary, EffectiveProfile, Entity};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

pub use quality::{EntityQuality, EntitySystemQuality, QualityReport, SourceQuality};
pub use tables::{fiche_key_input, quarantine_schema, student_key};

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
    #[error("no normalisation plans for source system {0:?} (known: gpi, mozaik, jade, dofin)")]
    UnknownSystem(String),
    #[error("two extracts of source system {0:?}: give one per system")]
    DuplicateSystem(String),
}

fn engine(stage: &str) -> impl FnOnce(DataFusionError) -> TransformError + '_ {
    move |source| TransformError::Engine {
        stage: stage.to_string(),
        source,
    }
}

/// What a plan file yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanOutput {
    /// A canonical entity (its clean rows are also registered as `<entity>_ok`).
    Entity(&'static str),
    /// An intermediate table of the system's session, registered under this name.
    Table(&'static str),
    /// Rows `(nom, n)`: the system's anomalies for the quality report.
    Anomalies,
}

/// One normalisation plan: a SQL file of a source system.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub system: &'static str,
    /// Path under `sql/`, e.g. `gpi/05_resultat.sql`.
    pub file: &'static str,
    pub output: PlanOutput,
    pub sql: &'static str,
}

macro_rules! plan {
    ($system:literal, $file:literal, $output:expr) => {
        Plan {
            system: $system,
            file: concat!($system, "/", $file, ".sql"),
            output: $output,
            sql: include_str!(concat!("../sql/", $system, "/", $file, ".sql")),
        }
    };
}

use PlanOutput::{Anomalies, Entity as E, Table as T};

/// Every plan, by system in the order the systems run, then in file order.
const PLANS: &[Plan] = &[
    plan!("gpi", "00_etablissement", E("etablissement")),
    plan!("gpi", "01_eleve", E("eleve")),
    plan!("gpi", "02_eleve_key", T("eleve_key")),
    plan!("gpi", "03_inscription", E("inscription")),
    plan!("gpi", "04_cours", E("cours")),
    plan!("gpi", "05_resultat", E("resultat")),
    plan!("gpi", "06_absence", E("absence")),
    plan!("gpi", "07_legende", E("legende")),
    plan!("gpi", "08_calendrier", E("calendrier")),
    plan!("gpi", "99_anomalies", Anomalies),
    plan!("mozaik", "00_etablissement", E("etablissement")),
    plan!("mozaik", "01_eleve", E("eleve")),
    plan!("mozaik", "02_eleve_key", T("eleve_key")),
    plan!("mozaik", "03_inscription", E("inscription")),
    plan!("mozaik", "04_cours", E("cours")),
    plan!("mozaik", "05_resultat", E("resultat")),
    plan!("mozaik", "06_absence", E("absence")),
    plan!("mozaik", "07_legende", E("legende")),
    plan!("mozaik", "08_calendrier", E("calendrier")),
    plan!("mozaik", "99_anomalies", Anomalies),
    plan!("jade", "00_eleve", E("eleve")),
    plan!("jade", "01_eleve_key", T("eleve_key")),
    plan!("jade", "02_centre", T("centre")),
    plan!("jade", "03_frequentation_fga_fp", E("frequentation_fga_fp")),
    plan!("jade", "04_resultat_ministere", E("resultat_ministere")),
    plan!("jade", "05_sanction", E("sanction")),
    plan!("jade", "99_anomalies", Anomalies),
    plan!("dofin", "00_unite_administrative", E("unite_administrative")),
    plan!("dofin", "01_code_activite", T("code_activite")),
    plan!("dofin", "02_code_objet", T("code_objet")),
    plan!("dofin", "03_ecriture", E("ecriture")),
    plan!("dofin", "04_budget", E("budget")),
];

/// The source systems with plans, in the order they run (and their rows are unioned).
pub const SYSTEMS: &[&str] = &["gpi", "mozaik", "jade", "dofin"];

/// Every normalisation plan, by system then file.
pub fn plans() -> &'static [Plan] {
    PLANS
}

/// The canonical entities a source system's plans produce.
pub fn entities_of(system: &str) -> Vec<&'static str> {
    PLANS
        .iter()
        .filter(|p| p.system == system)
        .filter_map(|p| match p.output {
            PlanOutput::Entity(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Everything the normalisation of one CSS needs besides its extracts.
pub struct NormaliseContext<'a> {
    pub code_css: &'a str,
    pub dictionary: &'a Dictionary,
    pub registry: &'a Registry,
    pub pseudonymiser: &'a Pseudonymiser,
}

/// One CSS's canonical tables, its quarantine and its quality report.
pub struct Normalised {
    /// Entity name -> batches with exactly the dictionary's fields and types: the union of the
    /// rows of every present system that feeds the entity. An entity no present system feeds
    /// has no key (its previous state is the caller's to keep).
    pub tables: BTreeMap<String, Vec<RecordBatch>>,
    /// Rows rejected by the connectors or by normalisation, with source system, file, line,
    /// column and reason.
    pub quarantine: Vec<RecordBatch>,
    pub quality: QualityReport,
    /// Time spent normalising each entity, over the systems that feed it.
    pub elapsed: BTreeMap<String, std::time::Duration>,
}

/// Normalises one CSS's extracts, one per source system present (`Extract::system` says which
/// plans apply; any subset of gpi, mozaik, jade, dofin), into the canonical entities.
pub async fn normalise(cx: &NormaliseContext<'_>, extracts: Vec<Extract>) -> Result<Normalised, TransformError> {
    let css = cx.code_css;
    if !(css.len() == 6 && css.bytes().all(|b| b.is_ascii_digit())) {
        return Err(TransformError::InvalidCss(css.to_string()));
    }
    let mut by_system: BTreeMap<String, Extract> = BTreeMap::new();
    for e in extracts {
        if !SYSTEMS.contains(&e.system.as_str()) {
            return Err(TransformError::UnknownSystem(e.system));
        }
        if by_system.contains_key(&e.system) {
            return Err(TransformError::DuplicateSystem(e.system));
        }
        by_system.insert(e.system.clone(), e);
    }
    let profile = cx.dictionary.profile(css);
    let mut quality = QualityReport::new(css);
    let mut quarantine = Vec::new();
    let mut tables_out: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    let mut elapsed = BTreeMap::new();
    for system in SYSTEMS {
        let Some(extract) = by_system.remove(*system) else {
            continue;
        };
        normalise_system(
            cx,
            &profile,
            extract,
            &mut quality,
            &mut quarantine,
            &mut tables_out,
            &mut elapsed,
        )
        .await?;
    }
    quarantine.retain(|b| b.num_rows() > 0);
    Ok(Normalised {
        tables: tables_out,
        quarantine,
        quality,
        elapsed,
    })
}

/// A session with what every plan may read besides the source tables.
fn session(cx: &NormaliseContext<'_>, profile: &EffectiveProfile) -> Result<SessionContext, TransformError> {
    let ctx = SessionContext::new();
    tables::register_udfs(&ctx, cx.pseudonymiser);
    tables::register_reference(&ctx, cx.registry).map_err(engine("reference tables"))?;
    tables::register_value_maps(&ctx, profile).map_err(engine("value maps"))?;
    Ok(ctx)
}

/// Runs one system's plans in a session of its own and adds their output to the union.
async fn normalise_system(
    cx: &NormaliseContext<'_>,
    profile: &EffectiveProfile,
    extract: Extract,
    quality: &mut QualityReport,
    quarantine: &mut Vec<RecordBatch>,
    tables_out: &mut BTreeMap<String, Vec<RecordBatch>>,
    elapsed: &mut BTreeMap<String, std::time::Duration>,
) -> Result<(), TransformError> {
    let css = cx.code_css;
    let system = extract.system.clone();
    let contract = cx.dictionary.source(&system);
    // Files are named as in the night's folder: `<folder>/<file>`.
    let folder = contract.map(|s| s.folder.clone()).unwrap_or_else(|| system.clone());
    let ctx = session(cx, profile)?;
    quality.systemes.push(system.clone());
    quarantine.push(tables::rejects_to_batch(css, &system, &folder, &extract.rejects).map_err(engine("quarantine"))?);
    for t in extract.tables.values() {
        quality.add_source(&system, t, &extract.files, &extract.rejects);
    }
    let mut registered = BTreeSet::new();
    for (name, t) in extract.tables {
        let mem = MemTable::try_new(t.schema.clone(), vec![t.batches]).map_err(engine(&name))?;
        ctx.register_table(name.as_str(), Arc::new(mem))
            .map_err(engine(&name))?;
        registered.insert(name);
    }
    // A table of the contract missing from the extract (an extract built by hand) is empty,
    // with the contract's typed schema, so the plans still run.
    if let Some(contract) = contract {
        for table in contract.tables.iter().filter(|t| !registered.contains(&t.name)) {
            let schema = socle_connect::typed_schema(table);
            let mem = MemTable::try_new(schema, vec![vec![]]).map_err(engine(&table.name))?;
            ctx.register_table(table.name.as_str(), Arc::new(mem))
                .map_err(engine(&table.name))?;
        }
    }

    let plans: Vec<&Plan> = PLANS.iter().filter(|p| p.system == system).collect();
    for (i, plan) in plans.iter().enumerate() {
        let started = Instant::now();
        let sql = plan
            .sql
            .replace("{css}", css)
            .replace("{default_pass_mark}", &format!("{:.2}", profile.default_pass_mark));
        let df = ctx.sql(&sql).await.map_err(engine(plan.file))?;
        let plan_schema: SchemaRef = Arc::new(df.schema().as_arrow().clone());
        let staged = df.collect().await.map_err(engine(plan.file))?;
        match plan.output {
            PlanOutput::Table(name) => {
                let batches = with_schema(&plan_schema, staged, plan.file)?;
                let mem = MemTable::try_new(plan_schema, vec![batches]).map_err(engine(plan.file))?;
                ctx.register_table(name, Arc::new(mem)).map_err(engine(plan.file))?;
            }
            PlanOutput::Anomalies => {
                for (name, n) in anomalies(&staged) {
                    quality.add_anomaly(&system, &name, n);
                }
            }
            PlanOutput::Entity(entity_name) => {
                let entity = cx
                    .dictionary
                    .entity(entity_name)
                    .ok_or_else(|| TransformError::MissingEntity(entity_name.to_string()))?;
                let rows_in: usize = staged.iter().map(|b| b.num_rows()).sum();
                let (accepted, rejected) = split(entity, &staged)?;
                let rows_loaded: usize = accepted.iter().map(|b| b.num_rows()).sum();
                quality.add_entity(&system, entity_name, rows_in as u64, rows_loaded as u64, &rejected);
                for r in &rejected {
                    quarantine.push(
                        tables::staged_rejects_to_batch(css, &system, &folder, entity_name, r)
                            .map_err(engine("quarantine"))?,
                    );
                }
                tracing::info!(
                    code_css = css,
                    system = %system,
                    entity = entity_name,
                    rows_in,
                    rows_loaded,
                    quarantined = rows_in - rows_loaded,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "normalised"
                );
                // Later plans of this system read the clean rows, with every column of the
                // plan (source ids such as id_eco included).
                let ok_name = format!("{entity_name}_ok");
                if plans[i + 1..].iter().any(|p| p.sql.contains(&ok_name)) {
                    register_clean(&ctx, &ok_name, &plan_schema, &staged)?;
                }
                tables_out.entry(entity_name.to_string()).or_default().extend(accepted);
                *elapsed.entry(entity_name.to_string()).or_default() += started.elapsed();
            }
        }
    }
    Ok(())
}

/// The batches rebuilt with the plan's schema (the engine may report nullability differently
/// for the collected batches; a MemTable wants one schema).
fn with_schema(schema: &SchemaRef, batches: Vec<RecordBatch>, stage: &str) -> Result<Vec<RecordBatch>, TransformError> {
    batches
        .into_iter()
        .map(|b| {
            RecordBatch::try_new(schema.clone(), b.columns().to_vec()).map_err(|e| TransformError::Engine {
                stage: stage.to_string(),
                source: e.into(),
            })
        })
        .collect()
}

/// `(nom, n)` rows of an anomalies plan.
fn anomalies(batches: &[RecordBatch]) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    for b in batches {
        let names = b
            .column_by_name("nom")
            .map(|c| cast(c, &datafusion::arrow::datatypes::DataType::Utf8));
        let counts = b
            .column_by_name("n")
            .map(|c| cast(c, &datafusion::arrow::datatypes::DataType::Int64));
        let (Some(Ok(names)), Some(Ok(counts))) = (names, counts) else {
            continue;
        };
        let (Some(names), Some(counts)) = (
            names.as_any().downcast_ref::<StringArray>(),
            counts.as_any().downcast_ref::<Int64Array>(),
        ) else {
            continue;
        };
        for i in 0..b.num_rows() {
            if names.is_valid(i) {
                let n = if counts.is_valid(i) {
                    counts.value(i).max(0) as u64
                } else {
                    0
                };
                out.push((names.value(i).to_string(), n));
            }
        }
    }
    out
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

/// Registers the accepted rows of a staged output (every column of the plan) as a table.
fn register_clean(
    ctx: &SessionContext,
    name: &str,
    plan_schema: &SchemaRef,
    staged: &[RecordBatch],
) -> Result<(), TransformError> {
    let stage = |e: datafusion::arrow::error::ArrowError| TransformError::Engine {
        stage: name.to_string(),
        source: e.into(),
    };
    let mut out = Vec::new();
    for batch in staged {
        let reason = batch
            .column_by_name("_reason")
            .ok_or_else(|| TransformError::MissingField {
                entity: name.into(),
                field: "_reason".into(),
            })?;
        let ok = filter_record_batch(batch, &is_null(reason).map_err(stage)?).map_err(stage)?;
        out.push(RecordBatch::try_new(plan_schema.clone(), ok.columns().to_vec()).map_err(stage)?);
    }
    let mem = MemTable::try_new(plan_schema.clone(), vec![out]).map_err(engine(name))?;
    ctx.register_table(name, Arc::new(mem)).map_err(engine(name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Every file under `sql/` is a listed plan (a new file is never silently skipped), and an
    /// entity plan's file is named after its entity.
    #[test]
    fn every_sql_file_is_a_plan_named_after_what_it_yields() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
        let mut on_disk = BTreeSet::new();
        for system in std::fs::read_dir(&root).unwrap() {
            let system = system.unwrap();
            assert!(system.file_type().unwrap().is_dir(), "plans live in sql/<system>/");
            for f in std::fs::read_dir(system.path()).unwrap() {
                let f = f.unwrap();
                on_disk.insert(format!(
                    "{}/{}",
                    system.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                ));
            }
        }
        let listed: BTreeSet<String> = PLANS.iter().map(|p| p.file.to_string()).collect();
        assert_eq!(on_disk, listed);
        for p in PLANS {
            assert!(SYSTEMS.contains(&p.system), "{}", p.file);
            let stem = p.file.rsplit('/').next().unwrap().trim_end_matches(".sql");
            let (number, name) = stem.split_once('_').unwrap();
            assert!(
                number.len() == 2 && number.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                p.file
            );
            match p.output {
                PlanOutput::Entity(e) | PlanOutput::Table(e) => assert_eq!(name, e, "{}", p.file),
                PlanOutput::Anomalies => assert_eq!(name, "anomalies", "{}", p.file),
            }
        }
        // Within a system, plans run in file order.
        for system in SYSTEMS {
            let files: Vec<&str> = PLANS.iter().filter(|p| p.system == *system).map(|p| p.file).collect();
            let mut sorted = files.clone();
            sorted.sort();
            assert_eq!(files, sorted);
        }
    }

    /// Every canonical entity of the dictionary is produced by some source system, and every
    /// entity plan targets an entity of the dictionary.
    #[test]
    fn every_entity_has_a_source() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        let d = Dictionary::load(root).unwrap();
        let produced: BTreeSet<&str> = SYSTEMS.iter().flat_map(|s| entities_of(s)).collect();
        let defined: BTreeSet<&str> = d.entities.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(produced, defined);
        assert_eq!(
            entities_of("mozaik"),
            entities_of("gpi"),
            "Mozaïk feeds every youth-sector entity GPI feeds"
        );
    }
}
