//! `socle status`: what the warehouse holds, per CSS and source: the last night loaded, rows and
//! quarantine, the last failure of a source if its last attempt failed, and the drops the guard
//! holds (with the command that accepts each); and whether the marts are current (built from
//! every CSS's current run). Read from the manifests only (no data file is opened, the run lock
//! is not taken), so it is instant and safe during a run.
//!
//! `--check` is for schedulers: one line per CSS, `OK` or why not, and exit code 2 when a CSS
//! failed (the last attempt of one of its sources failed), is held by the drop guard, or (with
//! `--max-age DAYS`) has not loaded a night for more than DAYS days; 0 when all is well. There is
//! no age check without `--max-age`.

use anyhow::Result;
use clap::ValueEnum;
use socle_warehouse::{DropRecord, Manifest, Warehouse};
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
    /// For schedulers: print one line per CSS (OK, or why not) and exit 2 when a CSS failed, is
    /// held by the drop guard, or is older than --max-age.
    #[arg(long)]
    check: bool,
    /// With --check: a CSS whose last loaded night is more than DAYS days before today is a
    /// problem (default: no age check).
    #[arg(long, value_name = "DAYS", requires = "check")]
    max_age: Option<u32>,
}

/// Prints the held and accepted drops of a CSS, one per line, each held one with the command
/// that accepts it (the run's summary and `status` share it).
pub(crate) fn print_drops(code_css: &str, held: &[DropRecord], accepted: &[DropRecord], indent: &str) {
    for d in held {
        println!(
            "{indent}HELD {}; sources {} keep their previous state; if the drop is real: {}",
            describe(d),
            d.sources.join(", "),
            socle_pipeline::accept_drop_command(code_css, &d.entity)
        );
    }
    for d in accepted {
        println!("{indent}accepted drop (--accept-drop): {}", describe(d));
    }
}

fn describe(d: &DropRecord) -> String {
    format!(
        "{} (night {})",
        socle_pipeline::describe_drop(
            &d.entity,
            d.annee_scolaire.as_deref(),
            d.rows_before,
            d.rows_now,
            d.baisse_max
        ),
        d.night
    )
}

/// What is wrong with a CSS for a scheduler (empty: all is well).
fn problems(m: &Manifest, today: chrono::NaiveDate, max_age: Option<u32>) -> Vec<String> {
    let mut out = Vec::new();
    for (system, s) in &m.sources {
        if let Some(f) = &s.last_failure {
            out.push(format!("FAILED {system} night {}: {}", f.night, f.error));
        }
    }
    for d in &m.held_drops {
        out.push(format!(
            "HELD {}; accept: {}",
            describe(d),
            socle_pipeline::accept_drop_command(&m.code_css, &d.entity)
        ));
    }
    if let Some(days) = max_age {
        match chrono::NaiveDate::parse_from_str(&m.night, "%Y-%m-%d") {
            Ok(night) if (today - night).num_days() > i64::from(days) => out.push(format!(
                "TOO OLD: last night loaded {} is {} days old (more than --max-age {days})",
                m.night,
                (today - night).num_days()
            )),
            Ok(_) => {}
            Err(_) => out.push(format!("TOO OLD: the night loaded {:?} is not a date", m.night)),
        }
    }
    out
}

/// `status --check`: one line per CSS; 2 when any has a problem (or none is loaded).
fn check(manifests: &[Manifest], max_age: Option<u32>, format: StatusFormat) -> Result<u8> {
    let today = chrono::Local::now().date_naive();
    let found: Vec<(&Manifest, Vec<String>)> = manifests.iter().map(|m| (m, problems(m, today, max_age))).collect();
    let bad = manifests.is_empty() || found.iter().any(|(_, p)| !p.is_empty());
    if format == StatusFormat::Json {
        let css: Vec<serde_json::Value> = found
            .iter()
            .map(|(m, p)| serde_json::json!({"code_css": m.code_css, "night": m.night, "ok": p.is_empty(), "problems": p}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"ok": !bad, "css": css}))?
        );
    } else {
        if manifests.is_empty() {
            println!("no CSS loaded yet");
        }
        for (m, p) in &found {
            if p.is_empty() {
                println!("{}  OK  night {}", m.code_css, m.night);
            } else {
                println!("{}  {}", m.code_css, p.join("; "));
            }
        }
    }
    Ok(if bad { 2 } else { 0 })
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
    if args.check {
        return check(&manifests, args.max_age, args.format);
    }
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
                    "held_drops": m.held_drops.iter().map(|d| {
                        let mut v = serde_json::json!(d);
                        v["accept"] = serde_json::json!(socle_pipeline::accept_drop_command(&m.code_css, &d.entity));
                        v
                    }).collect::<Vec<_>>(),
                    "accepted_drops": m.accepted_drops,
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
        print_drops(&m.code_css, &m.held_drops, &[], "  ");
        if let Some(last) = m.accepted_drops.last() {
            println!(
                "  last accepted drop: {} (night {}, accepted {})",
                describe(last),
                last.night,
                last.accepted_at.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(0)
}
