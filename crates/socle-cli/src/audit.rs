//! The CLI's audit lines (Law 25): every read of personal or pseudonymous data through `socle
//! query`, `socle personne` and `socle dashboards export` appends one line to the warehouse's
//! audit log (`socle_warehouse::AuditLog`, `_socle/audit/YYYY-MM-DD.jsonl`).

use anyhow::{Context, Result};
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::logical_expr::LogicalPlan;
use socle_warehouse::{AuditEvent, AuditLog, Zone};
use std::collections::BTreeSet;
use std::path::Path;

/// The audit name of a zone: `shared` or `css:<code>`.
pub fn zone_label(zone: &Zone) -> String {
    match zone {
        Zone::Shared => "shared".to_string(),
        Zone::Css(code) => format!("css:{code}"),
    }
}

/// Appends one audit line for a read by `by` (default: the OS user).
pub fn record(root: &Path, by: Option<&str>, action: &str, zone: &Zone, target: &str, rows: u64) -> Result<()> {
    let who = match by {
        Some(name) if !name.trim().is_empty() => name.trim().to_string(),
        _ => socle_warehouse::default_who(),
    };
    let event = AuditEvent::now(&who, action, &zone_label(zone), target, rows);
    AuditLog::open(root)
        .and_then(|log| log.append(&event))
        .context("cannot write the audit log: nothing is returned without its audit line")
}

/// The audit target of a query: the tables it reads (from its plan, subqueries included) and a
/// hash of its text — never the text, which may hold a code permanent in a literal.
pub fn query_target(plan: &LogicalPlan, sql: &str) -> String {
    let mut tables = BTreeSet::new();
    let _ = plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node {
            tables.insert(scan.table_name.table().to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let tables: Vec<String> = tables.into_iter().collect();
    format!(
        "tables:{};{}",
        if tables.is_empty() {
            "none".to_string()
        } else {
            tables.join(",")
        },
        socle_warehouse::sql_target(sql)
    )
}
