//! Small-cell suppression of the marts published in the shared zone.
//!
//! Each rule of a mart's YAML names a count and the columns built on it. In a row where that
//! count is under the threshold (`pipelines/config.yaml`, 5 by default), the count and those
//! columns are hidden (null) in the shared zone, and `cellule_supprimee` is true. A CSS's own
//! zone keeps the exact values, with the same flag, so its staff know what they may not publish
//! as is. The rules are applied in Arrow, after the mart's SQL: the SQL says what is counted,
//! never how it is hidden.

use crate::project::SUPPRESSED_COLUMN;
use crate::spec::SuppressionRule;
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, new_null_array};
use datafusion::arrow::compute::kernels::cmp::lt;
use datafusion::arrow::compute::kernels::nullif::nullif;
use datafusion::arrow::compute::{cast, or};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use std::sync::Arc;

/// The published schema of a shared mart: every field nullable (hidden values are null), and
/// `cellule_supprimee` last.
pub fn flagged_schema(schema: &Schema) -> SchemaRef {
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_nullable(true))
        .collect();
    fields.push(Field::new(SUPPRESSED_COLUMN, DataType::Boolean, false));
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// Per rule, the rows where its count is under `threshold` (a null count hides nothing).
fn rule_masks(rules: &[SuppressionRule], threshold: i64, batch: &RecordBatch) -> Result<Vec<BooleanArray>, ArrowError> {
    let mut masks = Vec::with_capacity(rules.len());
    for rule in rules {
        let i = batch.schema().index_of(&rule.count)?;
        let counts = cast(batch.column(i), &DataType::Int64)?;
        let under = lt(&counts, &Int64Array::new_scalar(threshold))?;
        // `lt` gives null where the count is null: such rows are not under the threshold.
        let under = match under.nulls() {
            Some(valid) => BooleanArray::new(under.values() & valid.inner(), None),
            None => under,
        };
        masks.push(under);
    }
    Ok(masks)
}

/// The exact rows with `cellule_supprimee` added: what a CSS's zone gets.
pub fn flag(rules: &[SuppressionRule], threshold: i64, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let masks = rule_masks(rules, threshold, batch)?;
    let any = any_of(&masks, batch.num_rows())?;
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(any));
    RecordBatch::try_new(flagged_schema(&batch.schema()), columns)
}

/// The rows with the rules applied: what the shared zone gets.
pub fn suppress(rules: &[SuppressionRule], threshold: i64, batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    let masks = rule_masks(rules, threshold, batch)?;
    let schema = batch.schema();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (rule, mask) in rules.iter().zip(&masks) {
        if mask.true_count() == 0 {
            continue;
        }
        for name in std::iter::once(&rule.count).chain(rule.hides.iter()) {
            let i = schema.index_of(name)?;
            columns[i] = if mask.true_count() == mask.len() {
                new_null_array(columns[i].data_type(), mask.len())
            } else {
                nullif(columns[i].as_ref(), mask)?
            };
        }
    }
    columns.push(Arc::new(any_of(&masks, batch.num_rows())?));
    RecordBatch::try_new(flagged_schema(&schema), columns)
}

fn any_of(masks: &[BooleanArray], rows: usize) -> Result<BooleanArray, ArrowError> {
    let mut any = BooleanArray::from(vec![false; rows]);
    for m in masks {
        any = or(&any, m)?;
    }
    Ok(any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Float64Array;

    fn rules() -> Vec<SuppressionRule> {
        vec![
            SuppressionRule {
                count: "n".into(),
                hides: vec!["k".into(), "taux".into()],
            },
            SuppressionRule {
                count: "k".into(),
                hides: vec!["taux".into()],
            },
        ]
    }

    fn batch() -> Result<RecordBatch, ArrowError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("cell", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
            Field::new("k", DataType::Int64, true),
            Field::new("taux", DataType::Float64, true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(datafusion::arrow::array::StringArray::from(vec!["a", "b", "c", "d"])),
                Arc::new(Int64Array::from(vec![4, 20, 20, 5])),
                Arc::new(Int64Array::from(vec![Some(4), Some(3), Some(15), None])),
                Arc::new(Float64Array::from(vec![Some(1.0), Some(0.15), Some(0.75), None])),
            ],
        )
    }

    #[test]
    fn a_small_count_hides_itself_and_what_is_built_on_it() -> Result<(), ArrowError> {
        let out = suppress(&rules(), 5, &batch()?)?;
        let n = out
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ArrowError::CastError("n".into()))?;
        let k = out
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ArrowError::CastError("k".into()))?;
        let t = out
            .column(3)
            .as_any()
            .downcast_ref::<Float64Array>()
            .ok_or_else(|| ArrowError::CastError("t".into()))?;
        let f = out
            .column(4)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| ArrowError::CastError("f".into()))?;
        // a: n = 4 < 5 hides n, k, taux. b: k = 3 hides k and taux. c: nothing. d: n = 5 is
        // shown, k is null (nothing to hide).
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![None, Some(20), Some(20), Some(5)]);
        assert_eq!(k.iter().collect::<Vec<_>>(), vec![None, None, Some(15), None]);
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![None, None, Some(0.75), None]);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![Some(true), Some(true), Some(false), Some(false)]
        );
        assert!(
            out.schema()
                .fields()
                .iter()
                .all(|f| f.name() == SUPPRESSED_COLUMN || f.is_nullable())
        );
        Ok(())
    }

    #[test]
    fn flag_keeps_exact_values() -> Result<(), ArrowError> {
        let out = flag(&rules(), 5, &batch()?)?;
        let n = out
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ArrowError::CastError("n".into()))?;
        let f = out
            .column(4)
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| ArrowError::CastError("f".into()))?;
        assert_eq!(n.values().to_vec(), vec![4, 20, 20, 5]);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![Some(true), Some(true), Some(false), Some(false)]
        );
        Ok(())
    }

    #[test]
    fn a_threshold_of_three_shows_four() -> Result<(), ArrowError> {
        let out = suppress(&rules(), 3, &batch()?)?;
        let n = out
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| ArrowError::CastError("n".into()))?;
        assert_eq!(n.iter().collect::<Vec<_>>(), vec![Some(4), Some(20), Some(20), Some(5)]);
        Ok(())
    }
}
