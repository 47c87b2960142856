//! What SQL clients send that PostgreSQL runs and DataFusion plans differently, rewritten to
//! mean the same thing before DataFusion sees it. Applied after the read-only guard (on the
//! text the guard accepted) and only to the endpoint's statements; the audit log keeps the
//! client's own text.
//!
//! Two rewrites today, both for what drivers ask of the catalog: only a statement naming a
//! `pg_` table is rewritten (an analyst's query over the marts is planned as written).
//!
//! A scalar subquery selecting one plain column, such as Npgsql's (Power BI's
//! driver) type-loading query `(SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid)`.
//! PostgreSQL runs it and fails only if it returns more than one row; DataFusion refuses to plan
//! a correlated one that is not an aggregate ("Correlated scalar subquery must be aggregated").
//! Selecting `max(column)` instead gives the same value whenever PostgreSQL would give one (no
//! row: null; one row: its value). Where PostgreSQL would fail (two rows or more), the maximum
//! is returned instead of an error.
//!
//! A join of a function's `oid` to one of `pg_type`'s function columns (`typreceive`,
//! `typsend`, `typinput`, `typoutput`), as Npgsql writes `LEFT JOIN pg_proc AS proc ON proc.oid
//! = typ.typreceive`. In PostgreSQL those columns are `regproc`, an oid that prints as the
//! function's name; the catalog of datafusion-postgres keeps only the name, as text, so the
//! join would cast the name to a number and fail. Comparing the function's `proname` to it
//! instead finds the same row (Npgsql only reads `proname` from it, to spot `array_recv`).

use std::borrow::Cow;
use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    BinaryOperator, Expr, GroupByExpr, Ident, SelectItem, SetExpr, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

/// `pg_type`'s columns that hold a function (a `regproc` in PostgreSQL, its name here).
const REGPROC_COLUMNS: [&str; 4] = ["typreceive", "typsend", "typinput", "typoutput"];

/// `sql` with each scalar subquery of one plain column made an aggregate and each join of a
/// function's oid to a `regproc` column made a join on its name, or `sql` itself when there is
/// none (or it does not parse: the planner then says why).
pub fn rewrite(sql: &str) -> Cow<'_, str> {
    // Both rewrites are for catalog queries (`pg_range`, `pg_proc`, `pg_type`): a statement
    // naming no `pg_` table is left alone without being parsed a second time.
    if !sql.to_ascii_lowercase().contains("pg_") {
        return Cow::Borrowed(sql);
    }
    let Ok(mut statements) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
        return Cow::Borrowed(sql);
    };
    let mut changed = false;
    let _ = visit_expressions_mut(&mut statements, |expr| {
        if let Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } = expr
        {
            changed |= name_for_regproc_oid(left.as_mut(), right.as_ref())
                || name_for_regproc_oid(right.as_mut(), left.as_ref());
        }
        if let Expr::Subquery(query) = expr
            && let SetExpr::Select(select) = query.body.as_mut()
            && select.projection.len() == 1
            && select.having.is_none()
            && select.distinct.is_none()
            && matches!(&select.group_by, GroupByExpr::Expressions(e, m) if e.is_empty() && m.is_empty())
        {
            let column = match &mut select.projection[0] {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                _ => return ControlFlow::<()>::Continue(()),
            };
            if matches!(column, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
                && let Ok(aggregate) = Parser::new(&PostgreSqlDialect {})
                    .try_with_sql(&format!("max({column})"))
                    .and_then(|mut p| p.parse_expr())
            {
                *column = aggregate;
                changed = true;
            }
        }
        ControlFlow::Continue(())
    });
    if !changed {
        return Cow::Borrowed(sql);
    }
    Cow::Owned(
        statements
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// When `oid_side` is `<alias>.oid` and `regproc_side` is `<alias>.<regproc column>`, makes the
/// former `<alias>.proname`; says whether it did.
fn name_for_regproc_oid(oid_side: &mut Expr, regproc_side: &Expr) -> bool {
    let Expr::CompoundIdentifier(regproc) = regproc_side else {
        return false;
    };
    let is_regproc = regproc
        .last()
        .is_some_and(|c| REGPROC_COLUMNS.contains(&c.value.to_ascii_lowercase().as_str()));
    if let Expr::CompoundIdentifier(parts) = oid_side
        && is_regproc
        && let Some(column) = parts.last_mut()
        && column.value.eq_ignore_ascii_case("oid")
    {
        *column = Ident::new("proname");
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn a_scalar_subquery_of_one_column_becomes_an_aggregate() {
        let sql = "SELECT CASE WHEN t = 'm' THEN (SELECT rngtypid FROM pg_range WHERE rngmultitypid = typ.oid) END FROM pg_type AS typ";
        let got = rewrite(sql);
        assert!(
            got.contains("(SELECT max(rngtypid) FROM pg_range WHERE rngmultitypid = typ.oid)"),
            "{got}"
        );
    }

    #[test]
    fn a_join_of_a_function_oid_to_typreceive_joins_on_its_name() {
        let sql = "SELECT t.typname FROM PG_TYPE AS t LEFT JOIN pg_proc AS proc ON proc.oid = t.typreceive LEFT JOIN pg_proc AS e ON t.typsend = e.oid";
        let got = rewrite(sql);
        assert!(got.contains("ON proc.proname = t.typreceive"), "{got}");
        assert!(got.contains("ON t.typsend = e.proname"), "{got}");
    }

    #[test]
    fn other_statements_are_left_as_written() {
        for sql in [
            "SELECT 1",
            "SELECT (SELECT count(*) FROM eleve) AS n",
            "SELECT x FROM t WHERE x IN (SELECT y FROM u)",
            "SELECT (SELECT y FROM u GROUP BY y) FROM t",
            "SELECT (SELECT DISTINCT y FROM u) FROM t",
            "SELECT (SELECT y + 1 FROM pg_u) FROM t",
            "SELECT (SELECT y FROM u) FROM t",
            "SELECT * FROM pg_class AS c JOIN pg_type AS t ON c.oid = t.typrelid",
            "not sql at all",
        ] {
            assert_eq!(rewrite(sql), sql);
        }
    }
}
