//! `socle personne`: the right of access (Québec Law 25). Every row a CSS's zone holds about one
//! student (`socle_pipeline::person_record` says how rows are linked), written as JSON (one
//! array of rows per table) or Excel (one sheet per table), atomically, and audited: the audit
//! line names the student's pseudonymous key, never the code permanent.

use anyhow::{Context, Result, bail};
use socle_dictionary::Dictionary;
use socle_export::AtomicFile;
use socle_warehouse::{Warehouse, Zone};
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
pub enum PersonneFormat {
    Json,
    Xlsx,
}

#[derive(clap::Args)]
pub struct PersonneArgs {
    /// The CSS whose zone is searched.
    #[arg(long, value_name = "CODE")]
    css: String,
    /// The student's code permanent (4 letters, 8 digits).
    #[arg(long, value_name = "X")]
    code_permanent: String,
    /// Output format; default: from the extension of --output (.json or .xlsx).
    #[arg(long, value_enum)]
    format: Option<PersonneFormat>,
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

pub async fn personne(a: PersonneArgs) -> Result<()> {
    let format = match a.format {
        Some(f) => f,
        None => match a
            .output
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => PersonneFormat::Json,
            Some("xlsx") => PersonneFormat::Xlsx,
            _ => bail!(
                "cannot tell the format of {} from its extension: add --format json|xlsx (or name it .json or .xlsx)",
                a.output.display()
            ),
        },
    };
    if !socle_core::is_valid_code_permanent(&a.code_permanent) {
        bail!("--code-permanent: expected 4 letters and 8 digits");
    }
    if !a.warehouse.join("_socle").is_dir() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let dict =
        Dictionary::load(&a.schemas).with_context(|| format!("loading the dictionary from {}", a.schemas.display()))?;
    let wh = Warehouse::open(&a.warehouse)?;
    if wh.manifest(&a.css)?.is_none() {
        bail!("CSS {} has no published data in {}", a.css, a.warehouse.display());
    }
    let record = socle_pipeline::person_record(&wh, &dict, &a.css, &a.code_permanent).await?;
    let rows = record.rows();

    let mut file = AtomicFile::create(&a.output)?;
    match format {
        PersonneFormat::Json => record.write_json(&mut file)?,
        PersonneFormat::Xlsx => record.write_xlsx(&mut file)?,
    }
    file.sync()?;
    // Audited before the file appears: no access without its audit line.
    crate::audit::record(
        wh.root(),
        a.by.as_deref(),
        "personne",
        &Zone::Css(a.css.clone()),
        &record.audit_target(),
        rows,
    )?;
    file.commit()?;
    if record.found() {
        let with_rows: Vec<String> = record
            .tables
            .keys()
            .filter(|t| record.rows_of(t) > 0)
            .map(|t| format!("{t} {}", record.rows_of(t)))
            .collect();
        println!(
            "{rows} row(s) about this student in the zone of CSS {} written to {} ({})",
            a.css,
            a.output.display(),
            with_rows.join(", ")
        );
    } else {
        println!(
            "no row about this code permanent in the zone of CSS {}: {} holds an empty result",
            a.css,
            a.output.display()
        );
    }
    Ok(())
}
