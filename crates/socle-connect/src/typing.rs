//! Typing and validation of a table's raw string batches, as one SQL query generated from the
//! contract and run by DataFusion.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::{cast, filter, is_null};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use socle_dictionary::{DuplicatePolicy, FieldType, SourceColumn, SourceTable};

use crate::split::{ELEMENT_COLUMN, Split, raw_name};
use crate::{ConnectError, Reject, RejectKind};

/// The typed rows of a table and the rows the checks rejected.
pub struct Typed {
    pub batches: Vec<RecordBatch>,
    pub rows_loaded: u64,
    pub rejects: Vec<Reject>,
}

/// The typed schema of a table: every contract column in contract order, then `_file`, `_line`.
pub fn typed_schema(table: &SourceTable) -> SchemaRef {
    let mut fields: Vec<Field> = table
        .columns
        .iter()
        .map(|c| Field::new(c.name.clone(), c.column_type.arrow_type(), c.nullable || !c.required))
        .collect();
    fields.push(Field::new("_file", DataType::Utf8, false));
    fields.push(Field::new("_line", DataType::Int64, false));
    Arc::new(Schema::new(fields))
}

/// A SQL string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL quoted identifier.
fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A finite number as a SQL literal.
fn num(x: f64) -> Option<String> {
    x.is_finite().then(|| format!("{x}"))
}

/// Accepted decimal numbers: digits with an optional decimal comma or point.
const DEC_PATTERN: &str = "^[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)$";

/// Accepted amounts: at most 2 decimal places, so nothing is rounded away silently.
const MONEY_PATTERN: &str = "^[+-]?([0-9]+([.,][0-9]{0,2})?|[.,][0-9]{1,2})$";

/// The typed value of column `i` from its trimmed text `s{i}`.
fn typed_expr(i: usize, t: FieldType) -> String {
    let s = format!("s{i}");
    match t {
        FieldType::Text => s,
        FieldType::Int => format!("try_cast({s} AS BIGINT)"),
        FieldType::Dec => format!(
            "CASE WHEN regexp_like({s}, {p}) THEN try_cast(replace({s}, ',', '.') AS DOUBLE) END",
            p = lit(DEC_PATTERN)
        ),
        FieldType::Money => format!(
            "CASE WHEN regexp_like({s}, {p}) THEN try_cast(replace({s}, ',', '.') AS DECIMAL(18, 2)) END",
            p = lit(MONEY_PATTERN)
        ),
        // Day-first forms are rewritten to ISO; a time without seconds gets `:00` (the engine's
        // cast wants them).
        FieldType::Timestamp => format!(
            "try_cast(regexp_replace(CASE \
               WHEN regexp_like({s}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}[ T][0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}([.][0-9]{{1,6}})?)?$') \
                 THEN replace({s}, 'T', ' ') \
               WHEN regexp_like({s}, '^[0-9]{{2}}/[0-9]{{2}}/[0-9]{{4}} [0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}})?$') \
                 THEN regexp_replace({s}, '^([0-9]{{2}})/([0-9]{{2}})/([0-9]{{4}}) ', '${{3}}-${{2}}-${{1}} ') \
             END, '^([^:]*:[0-9]{{2}})$', '${{1}}:00') AS TIMESTAMP)"
        ),
        FieldType::Date => format!(
            "try_cast(CASE \
               WHEN regexp_like({s}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$') THEN {s} \
               WHEN regexp_like({s}, '^[0-9]{{8}}$') \
                 THEN regexp_replace({s}, '^([0-9]{{4}})([0-9]{{2}})([0-9]{{2}})$', '${{1}}-${{2}}-${{3}}') \
               WHEN regexp_like({s}, '^[0-9]{{2}}/[0-9]{{2}}/[0-9]{{4}}$') \
                 THEN regexp_replace({s}, '^([0-9]{{2}})/([0-9]{{2}})/([0-9]{{4}})$', '${{3}}-${{2}}-${{1}}') \
             END AS DATE)"
        ),
        FieldType::Bool => format!(
            "CASE WHEN lower({s}) IN ('1', 'true', 'vrai', 'o', 'oui', 'y', 'yes') THEN true \
                  WHEN lower({s}) IN ('0', 'false', 'faux', 'n', 'non', 'no') THEN false END"
        ),
    }
}

/// The condition a present, non-empty value of column `i` must meet, if it has a domain.
fn domain_expr(i: usize, c: &SourceColumn) -> Option<String> {
    let d = c.domain.as_ref()?;
    let s = format!("s{i}");
    let t = format!("t{i}");
    let mut parts = Vec::new();
    if let Some(values) = &d.values {
        let numeric: Option<Vec<String>> = match c.column_type {
            FieldType::Int => values
                .iter()
                .map(|v| v.trim().parse::<i64>().ok().map(|x| x.to_string()))
                .collect(),
            FieldType::Dec | FieldType::Money => values
                .iter()
                .map(|v| v.trim().replace(',', ".").parse::<f64>().ok().and_then(num))
                .collect(),
            _ => None,
        };
        let list = match numeric {
            Some(list) if !list.is_empty() => format!("{t} IN ({})", list.join(", ")),
            _ if values.is_empty() => "false".to_string(),
            _ => format!(
                "{s} IN ({})",
                values.iter().map(|v| lit(v)).collect::<Vec<_>>().join(", ")
            ),
        };
        parts.push(list);
    }
    if let Some(p) = &d.pattern {
        parts.push(format!("regexp_like({s}, {})", lit(p)));
    }
    let value = match c.column_type {
        FieldType::Int | FieldType::Dec | FieldType::Money => Some(t),
        FieldType::Text => Some(format!("try_cast(replace({s}, ',', '.') AS DOUBLE)")),
        FieldType::Date | FieldType::Timestamp | FieldType::Bool => None,
    };
    if let Some(value) = value {
        if let Some(min) = d.min.and_then(num) {
            parts.push(format!("{value} >= {min}"));
        }
        if let Some(max) = d.max.and_then(num) {
            parts.push(format!("{value} <= {max}"));
        }
    }
    if parts.is_empty() {
        None
    } else {
        Some(format!("COALESCE(({}), false)", parts.join(") AND (")))
    }
}

/// Reject reason when a non-empty value does not parse as the column's type.
fn unparsable(t: FieldType) -> Option<RejectKind> {
    match t {
        FieldType::Text => None,
        FieldType::Int | FieldType::Dec | FieldType::Money => Some(RejectKind::UnparsableNumber),
        FieldType::Date | FieldType::Timestamp => Some(RejectKind::UnparsableDate),
        FieldType::Bool => Some(RejectKind::OutOfDomain),
    }
}

/// The two queries typing and checking table `raw` of `table`; see the crate documentation.
///
/// 1. [`TypingSql::check`] over `raw`: every value trimmed, typed and checked; the first failing
///    check of each row.
/// 2. [`TypingSql::finish`] over the first query's result registered as `checked`: repeated
///    keys among the rows that pass, then the typed columns and the reject columns in line order.
///
/// The first result is materialised because the second reads it twice (the repeated keys are
/// joined back to the rows): a single query would type every value twice.
pub struct TypingSql {
    pub check: String,
    /// The repeated keys among the rows that pass (none if the table keeps duplicates); when
    /// there are some, registered as `<checked>_dups` for [`TypingSql::finish_dups`].
    pub dups: Option<String>,
    /// The output when no key is repeated: in the partitions' order, which is line order.
    pub finish: String,
    /// The output when some key is repeated: the later rows rejected, sorted by line.
    pub finish_dups: String,
}

/// A session for [`type_table`]: batches of `batch_size` rows, and no round-robin repartition,
/// so a query's partitions keep the input's partitions and line order needs no sort.
pub fn typing_session(batch_size: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_batch_size(batch_size.max(1))
        .with_round_robin_repartition(false);
    SessionContext::new_with_config(config)
}

/// [`TypingSql`] of `table` over `raw`, the second query reading `checked`.
pub fn build_sql(
    table: &SourceTable,
    raw: &str,
    checked: &str,
    file_name: &str,
    delimiter: char,
    present: &[usize],
) -> Result<TypingSql, ConnectError> {
    build_sql_ordered(table, raw, checked, file_name, delimiter, present, false)
}

/// [`build_sql`]; with `by_element`, the raw table also has [`ELEMENT_COLUMN`], which orders the
/// records of one line (first-kept duplicate, output order).
fn build_sql_ordered(
    table: &SourceTable,
    raw: &str,
    checked: &str,
    file_name: &str,
    delimiter: char,
    present: &[usize],
    by_element: bool,
) -> Result<TypingSql, ConnectError> {
    let order = if by_element {
        format!("_line, {ELEMENT_COLUMN}")
    } else {
        "_line".to_string()
    };
    let n = table.columns.len();
    if n == 0 {
        return Err(ConnectError::Contract {
            table: table.name.clone(),
            message: "the table has no column".to_string(),
        });
    }
    let is_present = |i: usize| present.contains(&i);
    let all = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>().join(", ");

    let element = if by_element {
        format!("{ELEMENT_COLUMN}, ")
    } else {
        String::new()
    };
    let a = format!(
        "SELECT _line, {element}{}, {} FROM {}",
        all(&|i| raw_name(i)),
        all(&|i| format!("NULLIF(trim({}), '') AS s{i}", raw_name(i))),
        ident(raw)
    );
    let b = format!(
        "SELECT *, {} FROM a",
        all(&|i| format!("{} AS t{i}", typed_expr(i, table.columns[i].column_type)))
    );
    let c = format!(
        "SELECT *, {} FROM b",
        all(&|i| {
            let col = &table.columns[i];
            if !is_present(i) {
                return format!("CAST(NULL AS VARCHAR) AS k{i}");
            }
            let missing = if col.nullable {
                "CAST(NULL AS VARCHAR)".to_string()
            } else {
                lit(RejectKind::MissingValue.as_str())
            };
            let mut arms = format!("WHEN s{i} IS NULL THEN {missing} ");
            if let Some(kind) = unparsable(col.column_type) {
                arms.push_str(&format!("WHEN t{i} IS NULL THEN {} ", lit(kind.as_str())));
            }
            if let Some(d) = domain_expr(i, col) {
                arms.push_str(&format!(
                    "WHEN NOT ({d}) THEN {} ",
                    lit(RejectKind::OutOfDomain.as_str())
                ));
            }
            format!("CASE {arms}END AS k{i}")
        })
    );
    let reason = if n == 1 {
        "k0".to_string()
    } else {
        format!("COALESCE({})", all(&|i| format!("k{i}")))
    };
    let when = |f: &dyn Fn(usize) -> String| {
        (0..n)
            .map(|i| format!("WHEN k{i} IS NOT NULL THEN {}", f(i)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Only what the second query needs: the raw text (for the quarantine), the typed values and
    // the verdict.
    let d = format!(
        "SELECT _line, {element}{raw_cols}, {typed_cols}, {reason} AS _reason, ({reason}) IS NULL AS _ok, \
           CASE {} END AS _rcol, CASE {} END AS _rval FROM c",
        when(&|i| lit(&table.columns[i].name)),
        when(&|i| {
            if table.columns[i].personal {
                "CAST(NULL AS VARCHAR)".to_string()
            } else {
                format!("s{i}")
            }
        }),
        raw_cols = all(&|i| raw_name(i)),
        typed_cols = all(&|i| format!("t{i}")),
    );

    // Duplicate keys among otherwise valid rows.
    let mut key_idx = Vec::new();
    for k in &table.key {
        match table.columns.iter().position(|c| c.name == *k) {
            Some(i) => key_idx.push(i),
            None => {
                return Err(ConnectError::Contract {
                    table: table.name.clone(),
                    message: format!("key column `{k}` is not a column of the table"),
                });
            }
        }
    }
    let check_dups = table.duplicates != DuplicatePolicy::Keep && !key_idx.is_empty();
    let checked_id = ident(checked);
    // The later rows of a repeated key, among the rows that pass the checks: the keys seen more
    // than once are found by a hash aggregation (small: only repeated keys), then joined back.
    // Not a window `row_number() OVER (PARTITION BY key)`: that sorts every row with all its
    // columns, 20 times slower on a file of millions of rows. `_seq` orders the records
    // (`_line`, then the element within a JSON line); nulls in a key compare equal, as a window
    // partition would.
    let seq = if by_element {
        format!("_line * 1000000 + {ELEMENT_COLUMN}")
    } else {
        "_line".to_string()
    };
    let dups_id = ident(&format!("{checked}_dups"));
    let (dups, e_dups) = if check_dups {
        let keys = key_idx.iter().map(|i| format!("t{i}")).collect::<Vec<_>>().join(", ");
        let on = key_idx
            .iter()
            .map(|i| format!("(d.t{i} IS NOT DISTINCT FROM x.t{i})"))
            .collect::<Vec<_>>()
            .join(" AND ");
        (
            Some(format!(
                "SELECT {keys}, true AS _dup_ok, min({seq}) AS _first_seq, min(_line) AS _first \
                   FROM {checked_id} WHERE _ok GROUP BY {keys} HAVING count(*) > 1"
            )),
            format!(
                "SELECT d.*, CASE WHEN x._first_seq IS NOT NULL AND {seq_d} > x._first_seq THEN 2 ELSE 1 END AS _rn, \
                   x._first AS _first FROM {checked_id} d LEFT JOIN {dups_id} x \
                   ON (d._ok IS NOT DISTINCT FROM x._dup_ok) AND {on}",
                seq_d = if by_element {
                    format!("d._line * 1000000 + d.{ELEMENT_COLUMN}")
                } else {
                    "d._line".to_string()
                }
            ),
        )
    } else {
        (None, String::new())
    };
    let e_plain = format!("SELECT *, CAST(1 AS BIGINT) AS _rn, CAST(NULL AS BIGINT) AS _first FROM {checked_id}");
    let key_names = table.key.join(", ");
    let key_personal = key_idx.iter().any(|&i| table.columns[i].personal);
    let key_value = if key_personal {
        "CAST(NULL AS VARCHAR)".to_string()
    } else {
        let parts: Vec<String> = key_idx.iter().map(|i| format!("CAST(t{i} AS VARCHAR)")).collect();
        if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("concat_ws(', ', {})", parts.join(", "))
        }
    };
    let raw_text = if present.is_empty() {
        "''".to_string()
    } else {
        format!(
            "concat_ws({}, {})",
            lit(&delimiter.to_string()),
            present.iter().map(|&i| raw_name(i)).collect::<Vec<_>>().join(", ")
        )
    };
    let dup = "(_ok AND _rn > 1)";
    let out = format!(
        "SELECT {typed}, {file} AS _file, _line, \
           CASE WHEN {dup} THEN {dk} ELSE _reason END AS _reject_reason, \
           CASE WHEN {dup} THEN {kn} ELSE _rcol END AS _reject_column, \
           CASE WHEN {dup} THEN {key_value} ELSE _rval END AS _reject_value, \
           CASE WHEN {dup} THEN _first END AS _first_line, \
           CASE WHEN NOT _ok OR {dup} THEN {raw_text} END AS _raw \
         FROM e",
        typed = all(&|i| format!("t{i} AS {}", ident(&table.columns[i].name))),
        file = lit(file_name),
        dk = lit(RejectKind::DuplicateKey.as_str()),
        kn = lit(&key_names),
    );
    Ok(TypingSql {
        check: format!("WITH a AS ({a}), b AS ({b}), c AS ({c}) {d}"),
        dups,
        finish: format!("WITH e AS ({e_plain}) {out}"),
        finish_dups: format!("WITH e AS ({e_dups}) {out} ORDER BY {order}"),
    })
}

/// The message of a reject found by the query. Values of personal columns never get here
/// (`_reject_value` is null for them).
fn message(
    kind: RejectKind,
    column: &str,
    col: Option<&SourceColumn>,
    value: Option<&str>,
    first_line: Option<i64>,
) -> String {
    let subject = match value {
        Some(v) => format!("value {v:?}"),
        None => "the value (not shown)".to_string(),
    };
    match kind {
        RejectKind::MissingValue => {
            format!("column {column}: empty, but the column requires a value")
        }
        RejectKind::UnparsableNumber => {
            let what = match col.map(|c| c.column_type) {
                Some(FieldType::Int) => "an integer",
                Some(FieldType::Money) => "an amount (at most 2 decimal places, comma or point)",
                _ => "a decimal number (comma or point)",
            };
            format!("column {column}: {subject} is not {what}")
        }
        RejectKind::UnparsableDate if col.map(|c| c.column_type) == Some(FieldType::Timestamp) => {
            format!(
                "column {column}: {subject} is not a date and time (YYYY-MM-DD HH:MM[:SS], or DD/MM/YYYY HH:MM[:SS])"
            )
        }
        RejectKind::UnparsableDate => {
            format!("column {column}: {subject} is not a date (YYYY-MM-DD, YYYYMMDD or DD/MM/YYYY)")
        }
        RejectKind::OutOfDomain => {
            let domain = match col {
                Some(c) if c.column_type == FieldType::Bool && c.domain.is_none() => "a boolean".to_string(),
                Some(c) => c.domain.as_ref().map(|d| d.describe()).unwrap_or_default(),
                None => String::new(),
            };
            format!("column {column}: {subject} is out of its domain ({domain})")
        }
        RejectKind::DuplicateKey => {
            let key = match value {
                Some(v) => format!("key ({column}) = ({v})"),
                None => format!("key ({column})"),
            };
            match first_line {
                Some(l) => format!("duplicate {key}: the row of line {l} is kept"),
                None => format!("duplicate {key}"),
            }
        }
        other => format!("column {column}: {}", other.as_str()),
    }
}

/// `array` as `to` (DataFusion may answer strings as `Utf8View`).
fn as_type(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, ArrowError> {
    if array.data_type() == to {
        Ok(array.clone())
    } else {
        cast(array.as_ref(), to)
    }
}

/// Registers the raw batches, runs the typing query and splits its result into typed batches and
/// rejects.
pub async fn type_table(
    ctx: &SessionContext,
    table: &SourceTable,
    split: &Split,
    file_name: &str,
) -> Result<Typed, ConnectError> {
    let raw = format!("__socle_raw_{}", table.name);
    let checked = format!("__socle_checked_{}", table.name);
    let dups_name = format!("{checked}_dups");
    // The raw batches in one partition per core, so the engine types them in parallel.
    let parts = ctx.copied_config().target_partitions().max(1);
    let chunk = split.batches.len().div_ceil(parts).max(1);
    let mut partitions: Vec<Vec<RecordBatch>> = split.batches.chunks(chunk).map(|c| c.to_vec()).collect();
    if partitions.is_empty() {
        partitions.push(Vec::new());
    }
    let mem = MemTable::try_new(split.raw_schema.clone(), partitions)?;
    ctx.register_table(raw.as_str(), Arc::new(mem))?;
    let by_element = split.raw_schema.column_with_name(ELEMENT_COLUMN).is_some();
    let sql = build_sql_ordered(
        table,
        &raw,
        &checked,
        file_name,
        split.info.delimiter,
        &split.present,
        by_element,
    )?;
    let result = async {
        // The physical plan's schema is the batches' own (string views, nullability).
        let plan = ctx.sql(&sql.check).await?.create_physical_plan().await?;
        let schema = plan.schema();
        let checked_parts = datafusion::physical_plan::collect_partitioned(plan, ctx.task_ctx()).await?;
        ctx.register_table(checked.as_str(), Arc::new(MemTable::try_new(schema, checked_parts)?))?;
        let mut repeated = Vec::new();
        if let Some(dups) = &sql.dups {
            repeated = ctx.sql(dups).await?.collect().await?;
        }
        if repeated.iter().all(|b| b.num_rows() == 0) {
            // No repeated key (the usual night): no join, and the partitions' order is the
            // lines' order.
            let plan = ctx.sql(&sql.finish).await?.create_physical_plan().await?;
            let parts = datafusion::physical_plan::collect_partitioned(plan, ctx.task_ctx()).await?;
            Ok(parts.into_iter().flatten().collect())
        } else {
            let schema = repeated[0].schema();
            ctx.register_table(dups_name.as_str(), Arc::new(MemTable::try_new(schema, vec![repeated])?))?;
            ctx.sql(&sql.finish_dups).await?.collect().await
        }
    }
    .await;
    ctx.deregister_table(raw.as_str())?;
    ctx.deregister_table(checked.as_str())?;
    ctx.deregister_table(dups_name.as_str())?;
    let batches = result?;

    let schema = typed_schema(table);
    let n = table.columns.len();
    let columns: HashMap<&str, &SourceColumn> = table.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut typed = Typed {
        batches: Vec::new(),
        rows_loaded: 0,
        rejects: Vec::new(),
    };
    for batch in batches {
        let reason = batch.column(n + 2);
        let keep: BooleanArray = is_null(reason.as_ref())?;
        let kept = keep.true_count();
        if kept > 0 {
            let arrays = (0..n + 2)
                .map(|i| {
                    let a = as_type(batch.column(i), schema.field(i).data_type())?;
                    filter(a.as_ref(), &keep)
                })
                .collect::<Result<Vec<ArrayRef>, _>>()?;
            typed.batches.push(RecordBatch::try_new(schema.clone(), arrays)?);
            typed.rows_loaded += kept as u64;
        }
        if kept == batch.num_rows() {
            continue;
        }
        let utf8 = |i: usize| as_type(batch.column(i), &DataType::Utf8);
        let int = |i: usize| as_type(batch.column(i), &DataType::Int64);
        let (reason, column, value, first, raw, line) = (
            utf8(n + 2)?,
            utf8(n + 3)?,
            utf8(n + 4)?,
            int(n + 5)?,
            utf8(n + 6)?,
            int(n + 1)?,
        );
        let reason = reason.as_string_opt::<i32>();
        let column = column.as_string_opt::<i32>();
        let value = value.as_string_opt::<i32>();
        let first = first.as_primitive_opt::<Int64Type>();
        let raw = raw.as_string_opt::<i32>();
        let line = line.as_primitive_opt::<Int64Type>();
        let (Some(reason), Some(column), Some(value), Some(first), Some(raw), Some(line)) =
            (reason, column, value, first, raw, line)
        else {
            return Err(ConnectError::Contract {
                table: table.name.clone(),
                message: "the typing query returned unexpected column types".to_string(),
            });
        };
        for row in 0..batch.num_rows() {
            if reason.is_null(row) {
                continue;
            }
            let kind = RejectKind::from_str_name(reason.value(row)).unwrap_or(RejectKind::OutOfDomain);
            let col_name = (!column.is_null(row)).then(|| column.value(row).to_string());
            let v = (!value.is_null(row)).then(|| value.value(row));
            let f = (!first.is_null(row)).then(|| first.value(row));
            let col_def = col_name.as_deref().and_then(|c| columns.get(c).copied());
            typed.rejects.push(Reject {
                table: table.name.clone(),
                file: file_name.to_string(),
                line: line.value(row).max(0) as u64,
                message: message(kind, col_name.as_deref().unwrap_or(""), col_def, v, f),
                column: col_name,
                kind,
                raw: if raw.is_null(row) {
                    String::new()
                } else {
                    raw.value(row).to_string()
                },
            });
        }
    }
    Ok(typed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Array;

    /// The DataFusion behaviour the typing query relies on.
    #[tokio::test]
    async fn datafusion_functions_behave_as_relied_on() -> Result<(), Box<dyn std::error::Error>> {
        let ctx = SessionContext::new();
        let sql = format!(
            "SELECT try_cast('2024-02-30' AS DATE) IS NULL, \
                    try_cast('2024-02-29' AS DATE) IS NOT NULL, \
                    {} IS NULL, \
                    CAST({} AS VARCHAR), \
                    CAST({} AS VARCHAR), \
                    regexp_like('^x', '^\\^x$'), \
                    try_cast('1.5' AS BIGINT) IS NULL, \
                    {} IS NULL, \
                    concat_ws(';', 'a', '', 'b')",
            typed_expr_on("'31/02/2024'", FieldType::Date),
            typed_expr_on("'20240904'", FieldType::Date),
            typed_expr_on("'05/09/2024'", FieldType::Date),
            typed_expr_on("'inf'", FieldType::Dec),
        );
        let batches = ctx.sql(&sql).await?.collect().await?;
        let b = &batches[0];
        let text = |i: usize| -> Result<String, ArrowError> {
            let a = cast(b.column(i).as_ref(), &DataType::Utf8)?;
            Ok(a.as_string::<i32>().value(0).to_string())
        };
        for i in [0, 1, 2, 5, 6, 7] {
            assert_eq!(text(i)?, "true", "column {i} of {sql}");
        }
        assert_eq!(text(3)?, "2024-09-04");
        assert_eq!(text(4)?, "2024-09-05");
        assert_eq!(text(8)?, "a;;b");
        assert!(!b.column(0).is_empty());
        Ok(())
    }

    /// Amounts are exact to the cent and timestamps accept ISO and French day-first forms.
    #[tokio::test]
    async fn money_and_timestamps_are_typed() -> Result<(), Box<dyn std::error::Error>> {
        let ctx = SessionContext::new();
        let sql = format!(
            "SELECT CAST({} AS VARCHAR), CAST({} AS VARCHAR), {} IS NULL, {} IS NULL, \
                    CAST({} AS VARCHAR), CAST({} AS VARCHAR), {} IS NULL, {} IS NULL",
            typed_expr_on("'-1234,56'", FieldType::Money),
            typed_expr_on("'0.1'", FieldType::Money),
            typed_expr_on("'1.234'", FieldType::Money),
            typed_expr_on("'1 000'", FieldType::Money),
            typed_expr_on("'2025-06-30T14:05:09'", FieldType::Timestamp),
            typed_expr_on("'30/06/2025 14:05'", FieldType::Timestamp),
            typed_expr_on("'2025-02-30 10:00:00'", FieldType::Timestamp),
            typed_expr_on("'hier'", FieldType::Timestamp),
        );
        let batches = ctx.sql(&sql).await?.collect().await?;
        let b = &batches[0];
        let text = |i: usize| -> Result<String, ArrowError> {
            let a = cast(b.column(i).as_ref(), &DataType::Utf8)?;
            Ok(a.as_string::<i32>().value(0).to_string())
        };
        assert_eq!(text(0)?, "-1234.56");
        assert_eq!(text(1)?, "0.10");
        assert_eq!(text(2)?, "true", "three decimal places are refused, not rounded");
        assert_eq!(text(3)?, "true");
        assert_eq!(text(4)?, "2025-06-30T14:05:09");
        assert_eq!(text(5)?, "2025-06-30T14:05:00");
        assert_eq!(text(6)?, "true");
        assert_eq!(text(7)?, "true");
        Ok(())
    }

    /// `typed_expr` applied to a literal instead of column `s0`.
    fn typed_expr_on(literal: &str, t: FieldType) -> String {
        typed_expr(0, t).replace("s0", literal)
    }

    #[test]
    fn literals_are_escaped() {
        assert_eq!(lit("it's"), "'it''s'");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(num(f64::NAN), None);
        assert_eq!(num(1990.0).as_deref(), Some("1990"));
    }
}
