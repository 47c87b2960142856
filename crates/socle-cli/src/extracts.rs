//! `socle extracts`: the ministry accountability extracts of `pipelines/extracts/`.
//!
//! - `list`: one extract per line, its name first;
//! - `build NAME`: validates, then writes each unit (CSS and year, or province and year) all or
//!   nothing, with its manifest, XLSX copy and diff against the last submitted version;
//! - `submit NAME`: freezes the last build of a unit as submitted (`transmis`).
//!
//! The work is `socle-extracts`'; this module parses and reports.

use anyhow::{Context, Result, bail};
use socle_core::SchoolYear;
use socle_dictionary::Dictionary;
use socle_extracts::{BuildContext, BuildRequest, Extract, UnitReport};
use socle_warehouse::Warehouse;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct ExtractsArgs {
    #[command(subcommand)]
    command: ExtractsCommand,
}

#[derive(clap::Subcommand)]
enum ExtractsCommand {
    /// List the extracts: name, zone, layout, version and title.
    List {
        #[arg(long, default_value = "pipelines")]
        pipelines: PathBuf,
        #[arg(long, default_value = "schemas")]
        schemas: PathBuf,
    },
    /// Validate and write an extract for each CSS (or the province) and a school year: all or
    /// nothing per unit.
    Build(BuildArgs),
    /// Freeze the last build of a unit as submitted to the ministry (status `transmis`): what the
    /// next build's diff compares with. A submitted version is never overwritten.
    Submit(SubmitArgs),
}

#[derive(clap::Args)]
#[command(after_long_help = socle_extracts::BUILD_HELP)]
pub struct BuildArgs {
    /// The extract (see `socle extracts list`), or `all`.
    name: String,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// Only these CSS (default: every CSS of the warehouse). Ignored by province extracts.
    #[arg(long, num_args = 1.., value_name = "CODE")]
    css: Vec<String>,
    /// The school year, `2024-2025` or `2024` (default: the most recent year of the source).
    #[arg(long, value_name = "YEAR")]
    year: Option<String>,
    /// Root of the extracts (default: `<warehouse>/extracts`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Who builds, for the manifest and the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

#[derive(clap::Args)]
pub struct SubmitArgs {
    name: String,
    /// The CSS (omit for a province extract).
    #[arg(long, value_name = "CODE")]
    css: Option<String>,
    /// The school year, `2024-2025` or `2024`.
    #[arg(long, value_name = "YEAR")]
    year: String,
    /// Who submits (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    #[arg(long, default_value = "schemas")]
    schemas: PathBuf,
    /// Root of the extracts (default: `<warehouse>/extracts`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub async fn extracts(a: ExtractsArgs) -> Result<u8> {
    match a.command {
        ExtractsCommand::List { pipelines, schemas } => list(&pipelines, &schemas).map(|_| 0),
        ExtractsCommand::Build(args) => build(args).await,
        ExtractsCommand::Submit(args) => submit(args).map(|_| 0),
    }
}

/// The extracts of `pipelines`, refusing a definition with problems (run `socle check`).
fn load_extracts(pipelines: &Path, schemas: &Path) -> Result<Vec<Extract>> {
    let dict = Dictionary::load(schemas).with_context(|| format!("loading the dictionary {}", schemas.display()))?;
    let (extracts, problems) = socle_extracts::load(pipelines, &socle_extracts::personal_columns(&dict))
        .with_context(|| format!("reading {}", pipelines.join(socle_extracts::EXTRACTS_DIR).display()))?;
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        bail!(
            "{} problem(s) in the extracts' definitions (see `socle check`)",
            problems.len()
        );
    }
    Ok(extracts)
}

fn list(pipelines: &Path, schemas: &Path) -> Result<()> {
    let extracts = load_extracts(pipelines, schemas)?;
    if extracts.is_empty() {
        println!(
            "aucun extrait dans {}",
            pipelines.join(socle_extracts::EXTRACTS_DIR).display()
        );
        return Ok(());
    }
    print!("{}", socle_extracts::list_text(&extracts));
    Ok(())
}

fn open_warehouse(dir: &Path) -> Result<Warehouse> {
    if !dir.join("_socle").is_dir() {
        bail!("{} is not a Socle warehouse yet: run `socle run` first", dir.display());
    }
    Ok(Warehouse::open(dir)?)
}

async fn build(a: BuildArgs) -> Result<u8> {
    let extracts = load_extracts(&a.pipelines, &a.schemas)?;
    let selected: Vec<&Extract> = if a.name == "all" {
        extracts.iter().collect()
    } else {
        match extracts.iter().find(|e| e.spec.name == a.name) {
            Some(e) => vec![e],
            None => bail!(
                "unknown extract {:?}; known: {}",
                a.name,
                extracts
                    .iter()
                    .map(|e| e.spec.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    };
    let year = match &a.year {
        Some(y) => Some(
            SchoolYear::parse(y).with_context(|| format!("invalid school year {y:?}: expected 2024-2025 or 2024"))?,
        ),
        None => None,
    };
    let wh = open_warehouse(&a.warehouse)?;
    let request = BuildRequest {
        css: a.css.clone(),
        year,
    };
    let dict = Dictionary::load(&a.schemas)?;
    let (project, _) = socle_marts::load(&a.pipelines)?;
    let cx = BuildContext {
        warehouse: &wh,
        project: &project,
        dictionary: &dict,
        out: a
            .out
            .unwrap_or_else(|| wh.root().join(socle_extracts::WAREHOUSE_EXTRACTS_DIR)),
        by: socle_warehouse::who_or_default(a.by.as_deref()),
    };
    let reports = socle_extracts::build(&cx, &selected, &request).await?;
    for r in &reports {
        println!("{r}");
    }
    Ok(if reports.iter().any(UnitReport::failed) { 1 } else { 0 })
}

fn submit(a: SubmitArgs) -> Result<()> {
    let extracts = load_extracts(&a.pipelines, &a.schemas)?;
    let Some(extract) = extracts.iter().find(|e| e.spec.name == a.name) else {
        bail!("unknown extract {:?}", a.name);
    };
    let year = SchoolYear::parse(&a.year)
        .with_context(|| format!("invalid school year {:?}: expected 2024-2025 or 2024", a.year))?
        .to_string();
    let unit = extract.unit_for(a.css.as_deref()).map_err(anyhow::Error::msg)?;
    let wh = open_warehouse(&a.warehouse)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| wh.root().join(socle_extracts::WAREHOUSE_EXTRACTS_DIR));
    let m = socle_extracts::submit(
        &wh,
        &out,
        extract,
        &unit,
        &year,
        &socle_warehouse::who_or_default(a.by.as_deref()),
    )?;
    println!("{}", socle_extracts::submitted_text(&m));
    Ok(())
}
