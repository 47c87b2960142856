//! SQL functions of the pipelines, registered in every session that runs a model:
//!
//! - `taux(n, d)`: the rate `n / d` as a DOUBLE, NULL when `d` is 0 (nothing to divide by) or
//!   either is NULL. The one spelling of a rate in every mart, instead of a hand-written
//!   `CASE WHEN d = 0 THEN NULL ELSE CAST(n AS DOUBLE) / CAST(d AS DOUBLE) END` each time.
//!   `socle bench sql` writes the same definition as a DuckDB macro.
//! - `au_cent(n, d)`: the amount `n / d` rounded to the cent, half away from zero, as an exact
//!   `DECIMAL(28,2)`; NULL when `d` is 0 or either is NULL. What a per-student amount or a
//!   percentage of the finance marts is (`au_cent(montant, nb_eleves)`,
//!   `au_cent(ecart * 100, budget)`). Computed on integers (both sides scaled to 6 decimals),
//!   never through a float, so that no half cent is lost to binary rounding: DuckDB divides
//!   decimals as DOUBLE, so its macro does the same integer arithmetic.

use datafusion::arrow::array::{Array, ArrayRef, Decimal128Array, Float64Array};
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

/// The DuckDB macro with the same meaning as [`AuCent`]: the same integer arithmetic (DuckDB's
/// `//` and `%` truncate toward zero, as Rust's do), since DuckDB divides decimals as DOUBLE.
pub const AU_CENT_DUCKDB_MACRO: &str = "CREATE OR REPLACE MACRO au_cent(n, d) AS CASE \
     WHEN d = 0 THEN NULL \
     ELSE CAST(CAST( \
       (CAST(round(n * 1000000) AS HUGEINT) * 100) // CAST(round(d * 1000000) AS HUGEINT) \
       + CASE WHEN 2 * abs((CAST(round(n * 1000000) AS HUGEINT) * 100) % CAST(round(d * 1000000) AS HUGEINT)) \
                   >= abs(CAST(round(d * 1000000) AS HUGEINT)) \
              THEN sign(CAST(round(n * 1000000) AS HUGEINT)) * sign(CAST(round(d * 1000000) AS HUGEINT)) \
              ELSE 0 END \
       AS DECIMAL(38, 0)) * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(28, 2)) END;";

/// Every DuckDB macro of the pipelines' functions, one per line (`socle bench sql` writes them).
pub fn duckdb_macros() -> String {
    format!("{TAUX_DUCKDB_MACRO}\n{AU_CENT_DUCKDB_MACRO}\n")
}

/// Registers the pipelines' SQL functions in `ctx`.
pub fn register_functions(ctx: &SessionContext) {
    for udf in udfs() {
        ctx.register_udf(udf.as_ref().clone());
    }
}

/// The functions of the pipelines, for a session built otherwise (a Ballista scheduler's).
pub fn udfs() -> Vec<std::sync::Arc<ScalarUDF>> {
    vec![
        std::sync::Arc::new(ScalarUDF::from(Taux::new())),
        std::sync::Arc::new(ScalarUDF::from(AuCent::new())),
    ]
}

/// `au_cent(n, d)`: see the module.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct AuCent {
    signature: Signature,
}

impl Default for AuCent {
    fn default() -> Self {
        Self::new()
    }
}

/// The scale both operands are brought to before the integer division.
const AU_CENT_SCALE: i8 = 6;

impl AuCent {
    pub fn new() -> Self {
        // Any two numbers (decimals of any precision, integers): both are cast to DECIMAL(38,6)
        // when called, exact for the warehouse's amounts (DECIMAL(28,2) at most) and counts.
        AuCent {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for AuCent {
    fn name(&self) -> &str {
        "au_cent"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Decimal128(28, 2))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let [n, d] = args.args.as_slice() else {
            return datafusion::common::plan_err!("au_cent(n, d) takes two arguments");
        };
        let scaled = DataType::Decimal128(38, AU_CENT_SCALE);
        let n = cast(&n.to_array(rows)?, &scaled)?;
        let d = cast(&d.to_array(rows)?, &scaled)?;
        let (Some(n), Some(d)) = (
            n.as_any().downcast_ref::<Decimal128Array>(),
            d.as_any().downcast_ref::<Decimal128Array>(),
        ) else {
            return datafusion::common::exec_err!("au_cent: operands did not cast to decimals");
        };
        let cents: Decimal128Array = n
            .iter()
            .zip(d.iter())
            .map(|(n, d)| match (n, d) {
                (Some(n), Some(d)) if d != 0 => divide_to_cents(n, d),
                _ => None,
            })
            .collect::<Decimal128Array>()
            .with_precision_and_scale(28, 2)?;
        let cents: ArrayRef = std::sync::Arc::new(cents);
        columnar(cents, &args)
    }
}

/// `n / d` in cents, half away from zero (both scaled alike, so their ratio is the real one);
/// `None` on overflow.
fn divide_to_cents(n: i128, d: i128) -> Option<i128> {
    let q = n.checked_mul(100)?;
    let (whole, rest) = (q / d, q % d);
    let away = if rest.checked_abs()?.checked_mul(2)? >= d.checked_abs()? {
        q.signum() * d.signum()
    } else {
        0
    };
    whole.checked_add(away)
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
        columnar(rate, &args)
    }
}

/// A function's result as DataFusion wants it: a scalar when every argument was one (a constant
/// folded at planning), else the array.
fn columnar(result: ArrayRef, args: &ScalarFunctionArgs) -> Result<ColumnarValue> {
    if args.number_rows == 1 && args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&result, 0)?));
    }
    Ok(ColumnarValue::Array(result))
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

    #[tokio::test]
    async fn au_cent_rounds_half_away_from_zero_exactly() -> Result<()> {
        let ctx = SessionContext::new();
        register_functions(&ctx);
        // 59808.045 is not a double: a float division would give 59808.04.
        let batches = ctx
            .sql(
                "SELECT au_cent(n, d) AS c FROM (VALUES \
                 (CAST(119616.09 AS DECIMAL(18, 2)), 2), (CAST(-0.05 AS DECIMAL(18, 2)), 2), \
                 (CAST(10.00 AS DECIMAL(18, 2)), 3), (CAST(1.00 AS DECIMAL(18, 2)), 0), \
                 (NULL, 2), (CAST(-659.99 AS DECIMAL(18, 2)) * 100, CAST(1100.00 AS DECIMAL(18, 2)))) AS v(n, d)",
            )
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
        assert_eq!(got, vec!["59808.05", "-0.03", "3.33", "", "", "-60.00"]);
        Ok(())
    }
}
