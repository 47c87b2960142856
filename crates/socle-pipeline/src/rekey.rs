//! Key rotation (`socle rekey`): every student key of the warehouse recomputed with a new
//! secret, in a new generation switched at once.
//!
//! Keys come from the CSS zones, never from the old secret: each CSS's `eleve` rows give, for
//! each old key, the student's code permanent (or, without a valid one, the (CSS, fiche) of the
//! local key), hence the new key by the very function the normalisation uses
//! ([`socle_transform::student_key`]). Every file of either zone or of the marts that has a
//! `cle_eleve` column is rewritten under a new run-unique name with the keys mapped; the others
//! are kept as they are. The manifests record the new key's fingerprint and the rotation.
//!
//! A key that no `eleve` row explains (a ministry result or a diploma received for a student that
//! no CSS of the warehouse has in its `eleve` table, with no code permanent to recompute it from)
//! cannot be recomputed: the rotation stops before its switch, names the table and the number
//! of rows, and the warehouse stays as it was.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use socle_core::Pseudonymiser;
use socle_warehouse::{Generation, RekeyRecord, TableFiles, Warehouse};

use crate::PipelineError;

/// The student key column.
const KEY_COLUMN: &str = "cle_eleve";

/// What a key rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekeyOutcome {
    pub generation: String,
    /// Distinct student keys recomputed.
    pub keys: usize,
    /// Files rewritten (both zones and the marts).
    pub files: usize,
    /// Rows whose key was rewritten.
    pub rows: u64,
    pub previous_fingerprint: String,
    pub fingerprint: String,
}

/// What `socle rekey` prints once the new generation is current.
impl std::fmt::Display for RekeyOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} student key(s) recomputed in {} file(s), {} row(s); generation {} is current (key fingerprint {}, \
             was {}); load the next nights with this key",
            self.keys, self.files, self.rows, self.generation, self.fingerprint, self.previous_fingerprint
        )
    }
}

/// A rotation that cannot be done.
#[derive(Debug, thiserror::Error)]
pub enum RekeyError {
    #[error("the warehouse has no CSS: nothing to rekey")]
    Empty,
    #[error(
        "table {table} of CSS {code_css}: {rows} row(s) have a student key that no `eleve` row of the warehouse explains; \
         their new key cannot be computed (the warehouse is unchanged)"
    )]
    Unexplained { code_css: String, table: String, rows: u64 },
    #[error("table eleve of CSS {code_css}: column {column} is missing")]
    MissingColumn { code_css: String, column: String },
}

/// Old key -> new key, from every CSS's `eleve` rows.
fn key_map(
    warehouse: &Warehouse,
    next: &Generation,
    new: &Pseudonymiser,
) -> Result<HashMap<String, String>, PipelineError> {
    let mut map = HashMap::new();
    for m in next.manifests.values() {
        let Some(eleve) = m.tables.get("eleve") else { continue };
        for rel in &eleve.css_files {
            for batch in warehouse.read_file(rel)? {
                let text = |name: &str| -> Result<StringArray, PipelineError> {
                    let col = batch.column_by_name(name).ok_or_else(|| RekeyError::MissingColumn {
                        code_css: m.code_css.clone(),
                        column: name.to_string(),
                    })?;
                    let c = cast(col, &DataType::Utf8).map_err(datafusion::error::DataFusionError::from)?;
                    Ok(c.as_string::<i32>().clone())
                };
                let old = text(KEY_COLUMN)?;
                let code = text("code_permanent")?;
                let css = text("code_css")?;
                let fiche = text("fiche")?;
                let system = text("systeme_source")?;
                for i in 0..batch.num_rows() {
                    if old.is_null(i) {
                        continue;
                    }
                    let input = socle_transform::fiche_key_input(value(&system, i), value(&fiche, i));
                    let key = socle_transform::student_key(new, value(&code, i), value(&css, i), &input);
                    map.insert(old.value(i).to_string(), key);
                }
            }
        }
    }
    Ok(map)
}

/// Row `i` of `a`, `""` when null.
fn value(a: &StringArray, i: usize) -> &str {
    if a.is_null(i) { "" } else { a.value(i) }
}

/// `batch` with its `cle_eleve` column mapped; the number of non-null keys the map lacks.
fn map_keys(batch: &RecordBatch, map: &HashMap<String, String>) -> Result<(RecordBatch, u64), PipelineError> {
    let Ok(i) = batch.schema().index_of(KEY_COLUMN) else {
        return Ok((batch.clone(), 0));
    };
    let original = batch.column(i);
    let keys = cast(original, &DataType::Utf8).map_err(datafusion::error::DataFusionError::from)?;
    let keys = keys.as_string::<i32>();
    let mut missing = 0u64;
    let mapped: StringArray = keys
        .iter()
        .map(|k| {
            k.map(|k| match map.get(k) {
                Some(n) => n.clone(),
                None => {
                    missing += 1;
                    String::new()
                }
            })
        })
        .collect();
    let mapped: ArrayRef = cast(&(Arc::new(mapped) as ArrayRef), original.data_type())
        .map_err(datafusion::error::DataFusionError::from)?;
    let mut columns = batch.columns().to_vec();
    columns[i] = mapped;
    let batch = RecordBatch::try_new(batch.schema(), columns).map_err(datafusion::error::DataFusionError::from)?;
    Ok((batch, missing))
}

/// The path of a file's copy in generation `id`: the same folder, the name `<id>.parquet`.
fn renamed(rel: &str, id: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{id}.parquet"),
        None => format!("{id}.parquet"),
    }
}

/// Rewrites the files of `files` that hold keys into generation `next`; returns (files, rows).
fn rewrite(
    warehouse: &Warehouse,
    next: &mut Generation,
    code_css: &str,
    table: &str,
    files: &mut TableFiles,
    map: &HashMap<String, String>,
) -> Result<(usize, u64), PipelineError> {
    let mut count = (0usize, 0u64);
    for list in [&mut files.css_files, &mut files.shared_files] {
        for rel in list.iter_mut() {
            let batches = warehouse.read_file(rel)?;
            let Some(schema) = batches.first().map(RecordBatch::schema) else {
                continue;
            };
            if schema.index_of(KEY_COLUMN).is_err() {
                continue;
            }
            let mut out = Vec::with_capacity(batches.len());
            let mut missing = 0;
            for b in &batches {
                let (b, m) = map_keys(b, map)?;
                missing += m;
                out.push(b);
            }
            if missing > 0 {
                return Err(RekeyError::Unexplained {
                    code_css: code_css.to_string(),
                    table: table.to_string(),
                    rows: missing,
                }
                .into());
            }
            let target = renamed(rel, next.id());
            count.1 += next.write_file(&target, schema, &out)?;
            count.0 += 1;
            *rel = target;
        }
    }
    Ok(count)
}

/// `socle rekey`: takes the run lock (no night may publish into the generation being replaced),
/// refuses a key the warehouse already uses, then [`rekey`]s in a new generation.
pub fn rotate_key(warehouse: &Warehouse, new: &Pseudonymiser) -> Result<RekeyOutcome, PipelineError> {
    let _run_lock = warehouse.lock_run("socle rekey")?;
    if let Some((code, fingerprint)) = warehouse.key_fingerprint(None)?
        && fingerprint == new.fingerprint()
    {
        return Err(PipelineError::Other(format!(
            "the warehouse's keys (CSS {code}) already come from this key: nothing to do"
        )));
    }
    rekey(warehouse, new, &socle_warehouse::new_run_id(), None)
}

/// Recomputes every student key of the warehouse with `new` as the generation `run_id` (see the
/// module). A test `failpoint` `rekey:switch` stops just before the switch.
pub fn rekey(
    warehouse: &Warehouse,
    new: &Pseudonymiser,
    run_id: &str,
    failpoint: Option<&str>,
) -> Result<RekeyOutcome, PipelineError> {
    let mut next = warehouse.begin_generation(run_id)?;
    if failpoint.is_some() {
        next.set_failpoint(failpoint);
    }
    let previous_fingerprint = next
        .manifests
        .values()
        .next()
        .map(|m| m.key_fingerprint.clone())
        .ok_or(RekeyError::Empty)?;
    let map = key_map(warehouse, &next, new)?;
    let mut files = 0;
    let mut rows = 0;
    let mut manifests = std::mem::take(&mut next.manifests);
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    for m in manifests.values_mut() {
        let code = m.code_css.clone();
        for (table, t) in m.tables.iter_mut() {
            let (f, r) = rewrite(warehouse, &mut next, &code, table, t, &map)?;
            files += f;
            rows += r;
        }
        m.rekeyed = Some(RekeyRecord {
            at: at.clone(),
            run_id: run_id.to_string(),
            previous_fingerprint: m.key_fingerprint.clone(),
        });
        m.key_fingerprint = new.fingerprint();
        m.demo_key = new.is_demo();
    }
    next.manifests = manifests;
    if let Some(mut marts) = next.marts.take() {
        let mut by_name: BTreeMap<String, TableFiles> = std::mem::take(&mut marts.marts);
        for (name, t) in by_name.iter_mut() {
            let (f, r) = rewrite(warehouse, &mut next, "_marts", name, t, &map)?;
            files += f;
            rows += r;
        }
        marts.marts = by_name;
        // Intermediate models may hold student keys: rather than rewrite them, drop them and the
        // project fingerprint, so the next night rebuilds every model in full with the new key.
        marts.intermediates.clear();
        marts.project_hash = None;
        next.marts = Some(marts);
    }
    let generation = next.id().to_string();
    next.commit("rekey")?;
    tracing::info!(generation = %generation, keys = map.len(), files, rows, "student keys recomputed");
    Ok(RekeyOutcome {
        generation,
        keys: map.len(),
        files,
        rows,
        previous_fingerprint,
        fingerprint: new.fingerprint(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_their_folder_and_take_the_generation_name() {
        assert_eq!(
            renamed("css/866000/resultat/annee_scolaire=2024-2025/r1.parquet", "g2"),
            "css/866000/resultat/annee_scolaire=2024-2025/g2.parquet"
        );
    }

    #[test]
    fn keys_are_mapped_and_unknown_ones_counted() -> Result<(), Box<dyn std::error::Error>> {
        use datafusion::arrow::datatypes::{Field, Schema};
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Utf8, false),
            Field::new(KEY_COLUMN, DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec!["a", "b", "c"])),
                Arc::new(StringArray::from(vec![Some("old1"), None, Some("zzz")])),
            ],
        )?;
        let map = HashMap::from([("old1".to_string(), "new1".to_string())]);
        let (out, missing) = map_keys(&batch, &map)?;
        assert_eq!(missing, 1);
        let keys: Vec<Option<&str>> = out.column(1).as_string::<i32>().iter().collect();
        assert_eq!(keys, vec![Some("new1"), None, Some("")]);
        Ok(())
    }
}
