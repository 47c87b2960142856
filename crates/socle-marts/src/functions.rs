//! SQL functions of the pipelines, registered in every session that runs a model:
//!
//! - `taux(n, d)`: the rate `n / d` as a DOUBLE, NULL when `d` is 0 (nothing to divide by) or
//!   either is NULL. The one spelling of a rate in every mart, instead of a hand-written
//!   `CASE WHEN d = 0 THEN NULL ELSE CAST(n AS DOUBLE) / CAST(d AS DOUBLE) END` each time.
//!   `socle bench sql` writes the same definition as a DuckDB macro.

use datafusion::arrow::array::{Array, ArrayRef, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::compute::kernels::{cmp::eq, nullif::nullif, numeric::div};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};
use datafusion::prelude::SessionContext;

/// The DuckDB macro with the same meaning as [`Taux`] (written by `socle bench sql`).
pub const TAUX_DUCKDB_MACRO: &str =
    "CREATE OR REPLACE MACRO taux(n, d) AS CASE WHEN d = 0 THEN NULL ELSE CAST(n AS DOUBLE) / CAST(d AS DOUBLE) END;";

/// Registers the pipelines' SQL functions in `ctx`.
pub fn register_functions(ctx: &SessionContext) {
    ctx.register_udf(ScalarUDF::from(Taux::new()));
}

/// `taux(n, d)`: see the module.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Taux {
    signature: Signature,
}

impl Default for Taux {
    fn default() -> Self {
        Self::new()
    }
}

impl Taux {
    pub fn new() -> Self {
        // Any two numbers: both are cast to DOUBLE before the division.
        Taux {
            signature: Signature::new(
                TypeSignature::Uniform(2, vec![DataType::Float64]),
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for Taux {
    fn name(&self) -> &str {
        "taux"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [n, d] = args.args.as_slice() else {
            return datafusion::common::plan_err!("taux(n, d) takes two arguments");
        };
        let n = as_doubles(n, rows)?;
        let d = as_doubles(d, rows)?;
        let zero = Float64Array::new_scalar(0.0);
        // NULL where d = 0: the rate of nothing is not 0, it is unknown.
        let d = nullif(&d, &eq(&d, &zero)?)?;
        let rate: ArrayRef = div(&n, &d)?;
        if rows == 1 && args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&rate, 0)?));
        }
        Ok(ColumnarValue::Array(rate))
    }
}

fn as_doubles(value: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = value.to_array(rows)?;
    if array.data_type() == &DataType::Float64 {
        Ok(array)
    } else {
        Ok(cast(&array, &DataType::Float64)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::util::pretty::pretty_format_batches;

    #[tokio::test]
    async fn taux_is_null_when_nothing_to_divide() -> Result<()> {
        let ctx = SessionContext::new();
        register_functions(&ctx);
        let batches = ctx
            .sql("SELECT taux(n, d) AS t FROM (VALUES (1, 4), (3, 0), (NULL, 2), (2, NULL), (0, 5)) AS v(n, d)")
            .await?
            .collect()
            .await?;
        let text = pretty_format_batches(&batches)?.to_string();
        let got: Vec<&str> = text
            .lines()
            .skip(3)
            .filter(|l| l.starts_with('|'))
            .map(|l| l.trim_matches(['|', ' ']))
            .collect();
        assert_eq!(got, vec!["0.25", "", "", "", "0.0"]);
        let scalar = ctx
            .sql("SELECT taux(1, 3) AS t, taux(2, 0) AS z")
            .await?
            .collect()
            .await?;
        let text = pretty_format_batches(&scalar)?.to_string();
        assert!(text.contains("0.3333333333333333"), "{text}");
        Ok(())
    }
}
