//! `socle rekey`: every student key recomputed with a new secret, in a new generation switched
//! at once (`socle_pipeline::rotate_key`).

use anyhow::Result;
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

pub async fn rekey(a: RekeyArgs) -> Result<u8> {
    let new = Pseudonymiser::from_file(a.new_key_file.clone())?;
    let wh = Warehouse::open_existing(&a.warehouse)?;
    println!("{}", socle_pipeline::rotate_key(&wh, &new)?);
    Ok(0)
}
