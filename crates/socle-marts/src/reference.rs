//! Reference tables registered in every mart's session, beside the canonical tables:
//!
//! - `annees_scolaires`: the one definition of the school year and of its September 30, from
//!   [`socle_core::SchoolYear`]. No mart computes a year's bounds or its count date itself.
//! - `ref_cours`, `ref_etablissements`, `ref_organismes`: the ministry registry
//!   (`schemas/reference/`), embedded in `socle-core`.
//! - every seed of `pipelines/seeds/`.

use crate::MartError;
use crate::project::{Project, Seed};
use crate::spec::SeedType;
use datafusion::arrow::array::{ArrayRef, BooleanArray, Date32Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use socle_core::{Registry, SchoolYear};
use std::sync::Arc;

/// Names of the built-in reference tables (seeds add theirs).
pub const TABLES: [&str; 5] = [
    "annees_scolaires",
    "ref_cours",
    "ref_etablissements",
    "ref_organismes",
    NIGHTS,
];

/// The table of the nights loaded: `nuits(code_css, nuit DATE)`, one row per CSS of the
/// warehouse (its manifest's night). What "as of" means for a mart: a horizon is reached, an
/// absence is recorded, as of the night of the exports, never the wall clock (a warehouse rebuilt
/// later gives the same marts).
pub const NIGHTS: &str = "nuits";

/// School years covered by `annees_scolaires`.
const FIRST_YEAR: i32 = 1990;
const LAST_YEAR: i32 = 2060;

fn date32(y: i32, m: u32, d: u32) -> Option<i32> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d)?;
    i32::try_from((date - epoch).num_days()).ok()
}

fn register(ctx: &SessionContext, name: &str, batch: RecordBatch) -> Result<(), MartError> {
    let err = |e: datafusion::error::DataFusionError| MartError::Reference {
        table: name.to_string(),
        message: e.to_string(),
    };
    let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).map_err(err)?;
    ctx.deregister_table(name).map_err(err)?;
    ctx.register_table(name, Arc::new(table)).map_err(err)?;
    Ok(())
}

fn batch(table: &str, fields: Vec<Field>, columns: Vec<ArrayRef>) -> Result<RecordBatch, MartError> {
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| MartError::Reference {
        table: table.to_string(),
        message: e.to_string(),
    })
}

/// The `annees_scolaires` table: one row per school year from 1990-1991 to 2060-2061.
pub fn school_years() -> Result<RecordBatch, MartError> {
    let years: Vec<SchoolYear> = (FIRST_YEAR..=LAST_YEAR).map(SchoolYear::from_start_year).collect();
    let day = |f: fn(SchoolYear) -> (i32, u32, u32)| -> Date32Array {
        years
            .iter()
            .map(|y| {
                let (a, m, d) = f(*y);
                date32(a, m, d)
            })
            .collect()
    };
    batch(
        "annees_scolaires",
        vec![
            Field::new("annee_scolaire", DataType::Utf8, false),
            Field::new("annee_debut", DataType::Int64, false),
            Field::new("date_debut", DataType::Date32, false),
            Field::new("date_fin", DataType::Date32, false),
            Field::new("date_30_septembre", DataType::Date32, false),
            Field::new("annee_precedente", DataType::Utf8, false),
            Field::new("annee_suivante", DataType::Utf8, false),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(years.iter().map(|y| y.to_string()))),
            Arc::new(Int64Array::from_iter_values(
                years.iter().map(|y| i64::from(y.start_year())),
            )),
            Arc::new(day(SchoolYear::first_day)),
            Arc::new(day(SchoolYear::last_day)),
            Arc::new(day(SchoolYear::census_day)),
            Arc::new(StringArray::from_iter_values(
                years.iter().map(|y| y.previous().to_string()),
            )),
            Arc::new(StringArray::from_iter_values(
                years.iter().map(|y| y.next().to_string()),
            )),
        ],
    )
}

fn registry_tables(registry: &Registry) -> Result<Vec<(&'static str, RecordBatch)>, MartError> {
    let c: Vec<_> = registry.courses.values().collect();
    let cours = batch(
        "ref_cours",
        vec![
            Field::new("code_cours", DataType::Utf8, false),
            Field::new("matiere", DataType::Utf8, false),
            Field::new("libelle", DataType::Utf8, false),
            Field::new("annee_secondaire", DataType::Int64, false),
            Field::new("unites", DataType::Int64, false),
            Field::new("epreuve_ministerielle", DataType::Boolean, false),
            Field::new("volet_de", DataType::Utf8, true),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(c.iter().map(|c| c.code_cours.as_str()))),
            Arc::new(StringArray::from_iter_values(c.iter().map(|c| c.matiere.as_str()))),
            Arc::new(StringArray::from_iter_values(c.iter().map(|c| c.libelle.as_str()))),
            Arc::new(Int64Array::from_iter_values(
                c.iter().map(|c| i64::from(c.annee_secondaire)),
            )),
            Arc::new(Int64Array::from_iter_values(c.iter().map(|c| i64::from(c.unites)))),
            Arc::new(BooleanArray::from(
                c.iter().map(|c| c.epreuve_ministerielle).collect::<Vec<_>>(),
            )),
            Arc::new(StringArray::from(
                c.iter()
                    .map(|c| c.volet_de.as_deref().filter(|v| !v.is_empty()))
                    .collect::<Vec<_>>(),
            )),
        ],
    )?;
    let e: Vec<_> = registry.establishments.values().collect();
    let flag = |f: fn(&socle_core::Establishment) -> bool| -> ArrayRef {
        Arc::new(BooleanArray::from(e.iter().map(|e| f(e)).collect::<Vec<_>>()))
    };
    let etab = batch(
        "ref_etablissements",
        vec![
            Field::new("code_etablissement", DataType::Utf8, false),
            Field::new("nom", DataType::Utf8, false),
            Field::new("nom_court", DataType::Utf8, false),
            Field::new("code_css", DataType::Utf8, false),
            Field::new("ordre_enseignement", DataType::Utf8, false),
            Field::new("prescolaire", DataType::Boolean, false),
            Field::new("primaire", DataType::Boolean, false),
            Field::new("secondaire", DataType::Boolean, false),
            Field::new("formation_professionnelle", DataType::Boolean, false),
            Field::new("education_adultes", DataType::Boolean, false),
            Field::new("municipalite", DataType::Utf8, false),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(e.iter().map(|e| e.code.as_str()))),
            Arc::new(StringArray::from_iter_values(e.iter().map(|e| e.name.as_str()))),
            Arc::new(StringArray::from_iter_values(e.iter().map(|e| e.short_name.as_str()))),
            Arc::new(StringArray::from_iter_values(e.iter().map(|e| e.css.as_str()))),
            Arc::new(StringArray::from_iter_values(e.iter().map(|e| e.order.as_str()))),
            flag(|e| e.preschool),
            flag(|e| e.primary),
            flag(|e| e.secondary),
            flag(|e| e.vocational),
            flag(|e| e.adult),
            Arc::new(StringArray::from_iter_values(e.iter().map(|e| e.municipality.as_str()))),
        ],
    )?;
    let o: Vec<_> = registry.organisations.values().collect();
    let org = batch(
        "ref_organismes",
        vec![
            Field::new("code_css", DataType::Utf8, false),
            Field::new("nom", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(o.iter().map(|o| o.code.as_str()))),
            Arc::new(StringArray::from_iter_values(o.iter().map(|o| o.name.as_str()))),
            Arc::new(StringArray::from_iter_values(o.iter().map(|o| o.kind.as_str()))),
        ],
    )?;
    Ok(vec![
        ("ref_cours", cours),
        ("ref_etablissements", etab),
        ("ref_organismes", org),
    ])
}

/// The `nuits` table from (CSS code, night) pairs.
pub fn nights_batch(nights: &[(String, chrono::NaiveDate)]) -> Result<RecordBatch, MartError> {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1);
    let days: Date32Array = nights
        .iter()
        .map(|(_, d)| epoch.and_then(|e| i32::try_from((*d - e).num_days()).ok()))
        .collect();
    batch(
        NIGHTS,
        vec![
            Field::new("code_css", DataType::Utf8, false),
            Field::new("nuit", DataType::Date32, true),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(nights.iter().map(|(c, _)| c.as_str()))),
            Arc::new(days),
        ],
    )
}

/// Registers the `nuits` table (see [`NIGHTS`]) in `ctx`.
pub fn register_nights(ctx: &SessionContext, nights: &[(String, chrono::NaiveDate)]) -> Result<(), MartError> {
    register(ctx, NIGHTS, nights_batch(nights)?)
}

/// Reads a seed's CSV with the types of its YAML.
pub fn read_seed(seed: &Seed) -> Result<RecordBatch, MartError> {
    let err = |message: String| MartError::Invalid {
        path: seed.csv_path.clone(),
        message,
    };
    let schema: SchemaRef = Arc::new(Schema::new(
        seed.spec
            .columns
            .iter()
            .map(|c| {
                let t = match c.column_type {
                    SeedType::Text => DataType::Utf8,
                    SeedType::Int => DataType::Int64,
                    SeedType::Double => DataType::Float64,
                    SeedType::Bool => DataType::Boolean,
                    SeedType::Date => DataType::Date32,
                };
                Field::new(&c.name, t, true)
            })
            .collect::<Vec<_>>(),
    ));
    let file = std::fs::File::open(&seed.csv_path).map_err(|e| err(e.to_string()))?;
    let mut head = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(std::fs::File::open(&seed.csv_path).map_err(|e| err(e.to_string()))?),
        &mut head,
    )
    .map_err(|e| err(e.to_string()))?;
    let header: Vec<&str> = head.trim_end_matches(['\r', '\n']).split(',').map(str::trim).collect();
    let declared: Vec<&str> = seed.spec.columns.iter().map(|c| c.name.as_str()).collect();
    if header != declared {
        return Err(err(format!(
            "header {header:?} differs from the columns of {}: {declared:?}",
            seed.yaml_path.display()
        )));
    }
    let reader = datafusion::arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(file)
        .map_err(|e| err(e.to_string()))?;
    let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().map_err(|e| err(e.to_string()))?;
    datafusion::arrow::compute::concat_batches(&schema, &batches).map_err(|e| err(e.to_string()))
}

/// Every reference table of `project`'s sessions, by name: `annees_scolaires`, the registry's
/// `ref_cours`, `ref_etablissements` and `ref_organismes`, then each seed. What
/// [`register_reference`] registers (and what `socle bench sql` hands to another engine).
pub fn reference_tables(project: &Project) -> Result<Vec<(String, RecordBatch)>, MartError> {
    let mut out = vec![("annees_scolaires".to_string(), school_years()?)];
    let registry = Registry::embedded().map_err(|e| MartError::Reference {
        table: "registry".into(),
        message: e.to_string(),
    })?;
    for (name, b) in registry_tables(&registry)? {
        out.push((name.to_string(), b));
    }
    for seed in &project.seeds {
        out.push((seed.spec.name.clone(), read_seed(seed)?));
    }
    Ok(out)
}

/// Registers the reference tables and the project's seeds in `ctx` (replacing tables of the
/// same names); see [`reference_tables`].
pub fn register_reference(ctx: &SessionContext, project: &Project) -> Result<(), MartError> {
    register_reference_tables(ctx, &reference_tables(project)?)
}

/// Registers reference tables built once by [`reference_tables`] (a server builds them once and
/// registers them in each new session: parsing the registry again would cost every request),
/// and Socle's SQL functions.
pub fn register_reference_tables(ctx: &SessionContext, tables: &[(String, RecordBatch)]) -> Result<(), MartError> {
    for (name, b) in tables {
        register(ctx, name, b.clone())?;
    }
    crate::functions::register_functions(ctx);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn school_year_bounds_and_september_30() -> Result<(), Box<dyn std::error::Error>> {
        let b = school_years()?;
        let years = b.column(0).as_any().downcast_ref::<StringArray>().ok_or("utf8")?;
        let i = years.iter().position(|y| y == Some("2024-2025")).ok_or("2024-2025")?;
        let d = |c: usize| {
            b.column(c)
                .as_any()
                .downcast_ref::<Date32Array>()
                .and_then(|a| a.value_as_date(i))
                .map(|d| d.to_string())
        };
        assert_eq!(d(2).as_deref(), Some("2024-07-01"));
        assert_eq!(d(3).as_deref(), Some("2025-06-30"));
        assert_eq!(d(4).as_deref(), Some("2024-09-30"));
        Ok(())
    }
}
