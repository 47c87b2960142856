//! `socle personne`: the right of access (Québec Law 25), every row a CSS's zone holds about
//! one student as JSON or Excel, audited (`socle_pipeline::export_person`).

use anyhow::{Context, Result};
use socle_dictionary::Dictionary;
use socle_pipeline::PersonFormat;
use socle_warehouse::Warehouse;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct PersonneArgs {
    /// The CSS whose zone is searched.
    #[arg(long, value_name = "CODE")]
    css: String,
    /// The student's code permanent (4 letters, 8 digits).
    #[arg(long, value_name = "X")]
    code_permanent: String,
    /// Output format; default: from the extension of --output (.json or .xlsx).
    #[arg(long, value_parser = PersonFormat::from_arg, value_name = "json|xlsx")]
    format: Option<PersonFormat>,
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Who makes the request, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
}

pub async fn personne(a: PersonneArgs) -> Result<u8> {
    let format = a.format.or_else(|| PersonFormat::of_path(&a.output)).with_context(|| {
        format!(
            "cannot tell the format of {} from its extension: add --format json|xlsx (or name it .json or .xlsx)",
            a.output.display()
        )
    })?;
    let dict =
        Dictionary::load(&a.schemas).with_context(|| format!("loading the dictionary from {}", a.schemas.display()))?;
    let wh = Warehouse::open_existing(&a.warehouse)?;
    let by = a.by.as_deref();
    let done = socle_pipeline::export_person(&wh, &dict, &a.css, &a.code_permanent, &a.output, format, by).await?;
    println!("{done}");
    Ok(0)
}
