//! `socle status`: what the warehouse holds, per CSS and source: the last night loaded, rows and
//! quarantine, and the last failure of a source if its last attempt failed; and whether the
//! marts are current (built from every CSS's current run). Read from the manifests only (no data
//! file is opened), so it is instant and safe during a run.

use anyhow::Result;
use clap::ValueEnum;
use socle_warehouse::Warehouse;
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    format: StatusFormat,
}

pub fn status(args: StatusArgs) -> Result<u8> {
    if !args.warehouse.is_dir() {
        anyhow::bail!(
            "no warehouse at {} (run `socle run --warehouse {}` first)",
            args.warehouse.display(),
            args.warehouse.display()
        );
    }
    let wh = Warehouse::open(&args.warehouse)?;
    let manifests = wh.manifests()?;
    let marts = wh.marts_manifest()?;
    let marts_state = socle_warehouse::MartsState::of(marts.as_ref(), &manifests);
    if args.format == StatusFormat::Json {
        let css: Vec<serde_json::Value> = manifests
            .iter()
            .map(|m| {
                serde_json::json!({
                    "code_css": m.code_css,
                    "night": m.night,
                    "run_id": m.run_id,
                    "published_at": m.published_at,
                    "dictionary_version": m.dictionary_version,
                    "demo_key": m.demo_key,
                    "rows": m.tables.values().map(|t| t.rows).sum::<u64>(),
                    "quarantine_rows": m.quarantine.rows,
                    "tables": m.tables.iter().map(|(n, t)| (n.clone(), serde_json::json!({"rows": t.rows, "years": t.partition_rows}))).collect::<serde_json::Map<_, _>>(),
                    "sources": m.sources,
                })
            })
            .collect();
        let out = serde_json::json!({
            "warehouse": args.warehouse.display().to_string(),
            "css": css,
            "marts": marts.as_ref().map(|m| serde_json::json!({
                "run_id": m.run_id,
                "published_at": m.published_at,
                "rows": m.marts.iter().map(|(n, t)| (n.clone(), serde_json::json!(t.rows))).collect::<serde_json::Map<_, _>>(),
                "css_runs": m.css_runs,
                "current": marts_state.is_current(),
            })),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(0);
    }
    if manifests.is_empty() {
        println!("Warehouse {}: no CSS loaded yet.", args.warehouse.display());
        return Ok(0);
    }
    println!(
        "Warehouse {}: {} CSS{}",
        args.warehouse.display(),
        manifests.len(),
        marts
            .as_ref()
            .map(|m| format!(", marts built by run {} at {}", m.run_id, m.published_at))
            .unwrap_or_else(|| ", marts never built".into())
    );
    println!("Marts: {marts_state}");
    for m in &manifests {
        let years: std::collections::BTreeSet<&String> = m.tables.values().flat_map(|t| t.years()).collect();
        let years: Vec<&str> = years.iter().map(|s| s.as_str()).collect();
        println!();
        println!(
            "{}  night {}  run {}  published {}  {} rows, {} quarantined  school years {}{}",
            m.code_css,
            m.night,
            m.run_id,
            m.published_at,
            m.tables.values().map(|t| t.rows).sum::<u64>(),
            m.quarantine.rows,
            if years.is_empty() {
                "-".to_string()
            } else {
                years.join(", ")
            },
            if m.demo_key { "  (DEMO KEY)" } else { "" }
        );
        println!(
            "  {:<7} {:<11} {:>5} {:>12} {:>10} {:>11}  last failure",
            "source", "last night", "files", "bytes", "rows read", "quarantined"
        );
        for (system, s) in &m.sources {
            let failure = s
                .last_failure
                .as_ref()
                .map(|f| format!("night {}: {}", f.night, f.error))
                .unwrap_or_else(|| "-".into());
            println!(
                "  {:<7} {:<11} {:>5} {:>12} {:>10} {:>11}  {}",
                system,
                if s.night.is_empty() { "never" } else { s.night.as_str() },
                s.files,
                s.bytes,
                s.rows_read,
                s.rows_quarantined,
                failure
            );
        }
    }
    Ok(0)
}
