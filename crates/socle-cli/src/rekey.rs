//! `socle rekey`: recomputes every student key with a new pseudonymisation secret, in a new
//! generation of the warehouse switched at once (`socle_pipeline::rekey` says how). The old
//! secret is not needed: keys are recomputed from the code permanent in the CSS zones.

use anyhow::{Result, bail};
use socle_core::Pseudonymiser;
use socle_warehouse::Warehouse;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct RekeyArgs {
    /// File holding the new pseudonymisation secret (32+ bytes), as `socle run --pseudo-key-file`.
    #[arg(long, value_name = "FILE")]
    new_key_file: PathBuf,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
}

pub async fn rekey(a: RekeyArgs) -> Result<()> {
    let new = Pseudonymiser::from_file(a.new_key_file.clone())?;
    if !a.warehouse.join("_socle").is_dir() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let wh = Warehouse::open(&a.warehouse)?;
    // No night may publish into the generation this rotation is about to replace.
    let _run_lock = wh.lock_run("socle rekey")?;
    if let Some((code, fingerprint)) = wh.key_fingerprint(None)?
        && fingerprint == new.fingerprint()
    {
        bail!("the warehouse's keys (CSS {code}) already come from this key: nothing to do");
    }
    let run_id = socle_warehouse::new_run_id();
    let out = socle_pipeline::rekey(&wh, &new, &run_id, None)?;
    println!(
        "{} student key(s) recomputed in {} file(s), {} row(s); generation {} is current (key fingerprint {}, was {}); \
         load the next nights with this key",
        out.keys, out.files, out.rows, out.generation, out.fingerprint, out.previous_fingerprint
    );
    Ok(())
}
