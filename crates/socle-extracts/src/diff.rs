//! The difference between a build and the last submitted version, by key: rows added, removed,
//! and changed (with the fields that changed), computed by DataFusion on the rows as written.

use crate::ExtractError;
use crate::store::DiffSummary;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::datasource::MemTable;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Ajoutee,
    Retiree,
    Modifiee,
}

/// One row of `diff.json`.
#[derive(Serialize, Debug, Clone)]
pub struct DiffRow {
    pub change: Change,
    /// The key fields' values (the file is in the extract's own folder, with its permissions).
    pub key: Vec<Option<String>>,
    /// The fields whose value changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Compares `current` (the rows as written, one text column per field) with the rows of the
/// submitted version at `previous` (its `lignes.parquet`), by the `key` fields.
pub async fn diff(
    previous: &Path,
    against: &str,
    current: &RecordBatch,
    key: &[String],
) -> Result<(DiffSummary, Vec<DiffRow>), ExtractError> {
    let ctx = SessionContext::new();
    let df = |e: datafusion::error::DataFusionError| ExtractError::Other(format!("diff: {e}"));
    let path = previous
        .to_str()
        .ok_or_else(|| ExtractError::Other(format!("{} is not UTF-8", previous.display())))?;
    ctx.register_parquet("avant", path, ParquetReadOptions::default())
        .await
        .map_err(df)?;
    let table = MemTable::try_new(current.schema(), vec![vec![current.clone()]]).map_err(df)?;
    ctx.register_table("apres", Arc::new(table)).map_err(df)?;
    let before = ctx.table("avant").await.map_err(df)?;
    let before_fields: Vec<String> = before.schema().fields().iter().map(|f| f.name().clone()).collect();
    let compared: Vec<String> = current
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !key.contains(n) && before_fields.contains(n))
        .collect();
    if key.iter().any(|k| !before_fields.contains(k)) {
        return Err(ExtractError::Other(format!(
            "the submitted version {against} has another key: no diff"
        )));
    }
    let on = key
        .iter()
        .map(|k| format!("a.{q} = b.{q}", q = quoted(k)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let keys = key
        .iter()
        .map(|k| format!("coalesce(b.{q}, a.{q}) AS {q}", q = quoted(k)))
        .collect::<Vec<_>>()
        .join(", ");
    let diffs: Vec<String> = compared
        .iter()
        .map(|c| format!("(a.{q} IS DISTINCT FROM b.{q})", q = quoted(c)))
        .collect();
    let diff_cols = diffs
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {d} AS __d{i}"))
        .collect::<String>();
    let any_diff = if diffs.is_empty() {
        "false".to_string()
    } else {
        diffs.join(" OR ")
    };
    let sql = format!(
        "SELECT {keys}, a.__present IS NOT NULL AS __avant, b.__present IS NOT NULL AS __apres{diff_cols} \
         FROM (SELECT *, true AS __present FROM avant) a \
         FULL OUTER JOIN (SELECT *, true AS __present FROM apres) b ON {on} \
         WHERE a.__present IS NULL OR b.__present IS NULL OR {any_diff} \
         ORDER BY {order}",
        order = key.iter().map(|k| quoted(k)).collect::<Vec<_>>().join(", ")
    );
    let batches = ctx.sql(&sql).await.map_err(df)?.collect().await.map_err(df)?;
    let mut rows = Vec::new();
    let mut summary = DiffSummary {
        against: Some(against.to_string()),
        ..DiffSummary::default()
    };
    for b in &batches {
        let key_cols: Vec<_> = (0..key.len())
            .map(|i| cast(b.column(i), &DataType::Utf8))
            .collect::<Result<_, _>>()
            .map_err(|e| ExtractError::Other(format!("diff: {e}")))?;
        let had = b.column(key.len()).as_boolean();
        let has = b.column(key.len() + 1).as_boolean();
        for r in 0..b.num_rows() {
            let key_values = key_cols
                .iter()
                .map(|c| {
                    let c = c.as_string::<i32>();
                    c.is_valid(r).then(|| c.value(r).to_string())
                })
                .collect();
            let (change, fields) = match (had.value(r), has.value(r)) {
                (false, _) => (Change::Ajoutee, vec![]),
                (_, false) => (Change::Retiree, vec![]),
                _ => {
                    let changed = compared
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| {
                            let d = b.column(key.len() + 2 + i).as_boolean();
                            d.is_valid(r) && d.value(r)
                        })
                        .map(|(_, c)| c.clone())
                        .collect();
                    (Change::Modifiee, changed)
                }
            };
            match change {
                Change::Ajoutee => summary.added += 1,
                Change::Retiree => summary.removed += 1,
                Change::Modifiee => summary.changed += 1,
            }
            rows.push(DiffRow {
                change,
                key: key_values,
                fields,
            });
        }
    }
    summary.unchanged = (current.num_rows() as u64).saturating_sub(summary.added + summary.changed);
    Ok((summary, rows))
}
