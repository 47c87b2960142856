//! The tables and functions registered beside the source tables: registry, value maps,
//! pseudonymisation UDF, and the quarantine's Arrow form.

use datafusion::arrow::array::{Array, ArrayRef, Int64Builder, RecordBatch, StringArray, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
use datafusion::prelude::SessionContext;
use socle_connect::Reject;
use socle_core::{Pseudonymiser, Registry, is_valid_code_permanent};
use socle_dictionary::EffectiveProfile;
use std::sync::Arc;

fn string_table(ctx: &SessionContext, name: &str, columns: &[&str], rows: Vec<Vec<String>>) -> Result<()> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(*c, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let arrays: Vec<ArrayRef> = (0..columns.len())
        .map(|i| Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r[i].as_str()))) as ArrayRef)
        .collect();
    let batch = RecordBatch::try_new(schema.clone(), arrays)?;
    ctx.register_table(name, Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;
    Ok(())
}

/// `ref_organismes(code_css, nom)` and `ref_etablissements(code_etablissement, code_css, nom)`.
pub fn register_reference(ctx: &SessionContext, registry: &Registry) -> Result<()> {
    string_table(
        ctx,
        "ref_organismes",
        &["code_css", "nom"],
        registry
            .organisations
            .values()
            .map(|o| vec![o.code.clone(), o.name.clone()])
            .collect(),
    )?;
    string_table(
        ctx,
        "ref_etablissements",
        &["code_etablissement", "code_css", "nom"],
        registry
            .establishments
            .values()
            .map(|e| vec![e.code.clone(), e.css.clone(), e.name.clone()])
            .collect(),
    )
}

/// The CSS's effective value maps as tables. Special values are matched upper-cased.
pub fn register_value_maps(ctx: &SessionContext, profile: &EffectiveProfile) -> Result<()> {
    string_table(
        ctx,
        "map_valeurs_speciales",
        &["code", "statut"],
        profile
            .special_values
            .iter()
            .map(|(k, v)| vec![k.trim().to_uppercase(), v.clone()])
            .collect(),
    )?;
    string_table(
        ctx,
        "map_cours",
        &["code_source", "code_cours"],
        profile
            .courses
            .iter()
            .map(|(k, v)| vec![k.trim().to_string(), v.clone()])
            .collect(),
    )?;
    string_table(
        ctx,
        "map_categories_absence",
        &["cpt_abs", "categorie"],
        profile
            .absence_categories
            .iter()
            .map(|(k, v)| vec![k.trim().to_string(), v.clone()])
            .collect(),
    )?;
    string_table(
        ctx,
        "map_codes_resultat_ministere",
        &["code"],
        profile
            .ministry_result_codes
            .iter()
            .map(|c| vec![c.trim().to_uppercase()])
            .collect(),
    )?;
    register_finance_maps(ctx, profile)
}

/// The CSS's effective finance mapping as prefix tables; plans pick the longest matching prefix.
/// `map_finance_activite(prefixe, champ, champ_libelle)`, `map_finance_ri(prefixe)`,
/// `map_finance_secteur(prefixe, secteur)`, `map_finance_objet(prefixe, categorie_objet, nature)`.
fn register_finance_maps(ctx: &SessionContext, profile: &EffectiveProfile) -> Result<()> {
    let f = &profile.finance;
    string_table(
        ctx,
        "map_finance_activite",
        &["prefixe", "champ", "champ_libelle"],
        f.activites
            .iter()
            .map(|(prefix, champ)| {
                let label = f.champs.get(champ).map(|t| t.fr.clone()).unwrap_or_default();
                vec![prefix.clone(), champ.clone(), label]
            })
            .collect(),
    )?;
    string_table(
        ctx,
        "map_finance_ri",
        &["prefixe"],
        f.ressources_informationnelles.iter().map(|p| vec![p.clone()]).collect(),
    )?;
    string_table(
        ctx,
        "map_finance_secteur",
        &["prefixe", "secteur"],
        f.secteurs.iter().map(|(p, s)| vec![p.clone(), s.clone()]).collect(),
    )?;
    string_table(
        ctx,
        "map_finance_objet",
        &["prefixe", "categorie_objet", "nature"],
        f.objets
            .iter()
            .map(|(prefix, c)| vec![prefix.clone(), c.categorie.clone(), c.nature.clone()])
            .collect(),
    )
}

/// The key `cle_eleve(code_perm, code_css, fiche)` gives a student: the shared key of a valid
/// code permanent, else the local key of (CSS, fiche). `fiche` is what the plan passes: the
/// source's student number, prefixed `jade:` for JADE (`sql/jade/00_eleve.sql`). Also what
/// `socle rekey` recomputes keys with.
pub fn student_key(p: &Pseudonymiser, code_permanent: &str, code_css: &str, fiche: &str) -> String {
    if is_valid_code_permanent(code_permanent) {
        p.student_key(code_permanent)
    } else {
        p.local_key(code_css, fiche)
    }
}

/// What the plans pass as `fiche` to `cle_eleve` for a student of `system`: JADE's fiches are
/// namespaced (`jade:<fiche>`, see `sql/jade/00_eleve.sql`) so they never meet a GPI or Mozaïk
/// fiche of the same number.
pub fn fiche_key_input(system: &str, fiche: &str) -> String {
    if system == "jade" {
        format!("jade:{fiche}")
    } else {
        fiche.to_string()
    }
}

/// `cle_eleve(code_perm, code_css, fiche)`: the shared key of a valid code permanent, else a
/// local key from (CSS, fiche). The secret stays inside the pseudonymiser.
pub fn register_udfs(ctx: &SessionContext, pseudonymiser: &Pseudonymiser) {
    let p = Arc::new(pseudonymiser.clone());
    let fun = Arc::new(move |args: &[ColumnarValue]| -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(args)?;
        let as_str = |a: &ArrayRef| -> Result<StringArray> {
            let c = datafusion::arrow::compute::cast(a, &DataType::Utf8)?;
            c.as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| DataFusionError::Internal("cle_eleve expects text arguments".into()))
        };
        let (codes, css, fiche) = match arrays.as_slice() {
            [a, b, c] => (as_str(a)?, as_str(b)?, as_str(c)?),
            _ => return Err(DataFusionError::Plan("cle_eleve takes 3 arguments".into())),
        };
        let out: StringArray = (0..codes.len())
            .map(|i| {
                let code = if codes.is_null(i) { "" } else { codes.value(i) };
                let c = if css.is_null(i) { "" } else { css.value(i) };
                let f = if fiche.is_null(i) { "" } else { fiche.value(i) };
                Some(student_key(&p, code, c, f))
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    });
    ctx.register_udf(create_udf(
        "cle_eleve",
        vec![DataType::Utf8, DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        fun,
    ));
}

/// The quarantine's schema (per-CSS zone only: `enregistrement` may hold personal data).
pub fn quarantine_schema() -> SchemaRef {
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

/// The connector's rejects as a quarantine batch (stage `lecture`). `source` is the system,
/// `folder` its export folder (files are named `<folder>/<file>`).
pub fn rejects_to_batch(css: &str, source: &str, folder: &str, rejects: &[Reject]) -> Result<RecordBatch> {
    let n = rejects.len();
    let mut fichier = StringBuilder::new();
    let mut ligne = Int64Builder::with_capacity(n);
    let mut colonne = StringBuilder::new();
    let mut raison = StringBuilder::new();
    let mut message = StringBuilder::new();
    let mut raw = StringBuilder::new();
    let mut entite = StringBuilder::new();
    for r in rejects {
        fichier.append_value(format!("{}/{}", folder, r.file));
        ligne.append_value(r.line as i64);
        colonne.append_option(r.column.as_deref());
        raison.append_value(r.kind.as_str());
        message.append_value(&r.message);
        raw.append_value(&r.raw);
        entite.append_null();
    }
    let constant = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
    Ok(RecordBatch::try_new(
        quarantine_schema(),
        vec![
            constant(css),
            constant(source),
            constant("lecture"),
            Arc::new(entite.finish()),
            Arc::new(fichier.finish()),
            Arc::new(ligne.finish()),
            Arc::new(colonne.finish()),
            Arc::new(raison.finish()),
            Arc::new(message.finish()),
            Arc::new(raw.finish()),
        ],
    )?)
}

/// Rows rejected by a normalisation plan as a quarantine batch (stage `normalisation`). The
/// source row stays in the export; file and line point at it.
pub fn staged_rejects_to_batch(
    css: &str,
    source: &str,
    folder: &str,
    entity: &str,
    staged: &RecordBatch,
) -> Result<RecordBatch> {
    let n = staged.num_rows();
    let col = |name: &str, t: &DataType| -> Result<ArrayRef> {
        let c = staged
            .column_by_name(name)
            .ok_or_else(|| DataFusionError::Internal(format!("staged rows of {entity} lack {name}")))?;
        Ok(datafusion::arrow::compute::cast(c, t)?)
    };
    let file = col("_file", &DataType::Utf8)?;
    let file = file
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .unwrap_or_else(|| StringArray::from(vec![""; n]));
    let fichier: StringArray = file
        .iter()
        .map(|f| Some(format!("{}/{}", folder, f.unwrap_or_default())))
        .collect();
    let constant = |v: &str| Arc::new(StringArray::from(vec![v; n])) as ArrayRef;
    Ok(RecordBatch::try_new(
        quarantine_schema(),
        vec![
            constant(css),
            constant(source),
            constant("normalisation"),
            constant(entity),
            Arc::new(fichier),
            col("_line", &DataType::Int64)?,
            col("_column", &DataType::Utf8)?,
            col("_reason", &DataType::Utf8)?,
            col("_message", &DataType::Utf8)?,
            Arc::new(StringArray::new_null(n)),
        ],
    )?)
}
