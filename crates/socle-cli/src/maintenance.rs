//! `socle history`, `socle vacuum`, `socle migrate`: the past states time travel can read,
//! the replaced files past the retention window, and a warehouse from before Delta converted
//! in place (`socle_warehouse::Warehouse::{history, vacuum, migrate}`).

use anyhow::Result;
use socle_warehouse::Warehouse;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct HistoryArgs {
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
}

#[derive(clap::Args)]
pub struct VacuumArgs {
    /// Keep the files replaced in the last DAYS days (what `--as-of` can still read); 0 deletes
    /// every replaced file now, even under a query still running on the previous state.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    retain_days: u64,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
}

#[derive(clap::Args)]
pub struct MigrateArgs {
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
}

/// One line per publication `socle query --as-of` can read, oldest first.
pub fn history(a: HistoryArgs) -> Result<u8> {
    let wh = Warehouse::open_existing(&a.warehouse)?;
    let entries = wh.history()?;
    if entries.is_empty() {
        println!("Aucune publication dans l'historique.");
        return Ok(0);
    }
    println!("{:<26} {:<21} publié", "nuit (--as-of)", "publiée le");
    for e in entries {
        println!("{:<26} {:<21} {}", e.run_id, e.published_at, e.owners.join(" "));
    }
    Ok(0)
}

pub fn vacuum(a: VacuumArgs) -> Result<u8> {
    let wh = Warehouse::open_existing(&a.warehouse)?;
    let _run = wh.lock_run("socle vacuum")?;
    let r = wh.vacuum(Duration::from_secs(a.retain_days.saturating_mul(86_400)))?;
    println!(
        "Vacuum ({} jour(s) gardés) : {} fichier(s) remplacé(s) supprimé(s), {} état(s) passé(s) oublié(s).",
        a.retain_days, r.files_deleted, r.history_forgotten
    );
    match r.oldest_readable {
        Some(run) => println!("Plus ancienne nuit lisible avec --as-of : {run}"),
        None => println!("Aucune nuit lisible avec --as-of."),
    }
    Ok(0)
}

pub fn migrate(a: MigrateArgs) -> Result<u8> {
    let wh = Warehouse::open_existing(&a.warehouse)?;
    let _run = wh.lock_run("socle migrate")?;
    let r = wh.migrate()?;
    match r.tables_converted + r.manifests_updated {
        0 => println!("Déjà à jour : les {} tables sont des tables Delta.", r.tables),
        _ => println!(
            "Migré : {} table(s) converties en tables Delta sur {}, {} manifeste(s) mis à jour.",
            r.tables_converted, r.tables, r.manifests_updated
        ),
    }
    Ok(0)
}
