//! `socle extracts`: the ministry accountability extracts of `pipelines/extracts/` (`list`,
//! `build`, `submit`); the work and the reports are `socle-extracts`'.

use anyhow::{Context, Result};
use socle_core::SchoolYear;
use socle_dictionary::Dictionary;
use socle_extracts::{BuildContext, BuildRequest, Extract, UnitReport};
use socle_warehouse::Warehouse;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ExtractsArgs {
    #[command(subcommand)]
    command: ExtractsCommand,
}

#[derive(clap::Subcommand)]
enum ExtractsCommand {
    /// List the extracts: name, zone, layout, version and title.
    List(crate::ProjectArgs),
    /// Validate and write an extract for each CSS (or the province) and a school year: all or
    /// nothing per unit.
    Build(BuildArgs),
    /// Freeze the last build of a unit as submitted to the ministry (status `transmis`): what the
    /// next build's diff compares with. A submitted version is never overwritten.
    Submit(SubmitArgs),
}

/// What `build` and `submit` share.
#[derive(clap::Args)]
struct UnitArgs {
    /// The extract (see `socle extracts list`); `build` also takes `all`.
    name: String,
    /// Who builds or submits, for the manifest and the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// Root of the extracts (default: `<warehouse>/extracts`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    #[command(flatten)]
    project: crate::ProjectArgs,
}

#[derive(clap::Args)]
#[command(after_long_help = socle_extracts::BUILD_HELP)]
struct BuildArgs {
    #[command(flatten)]
    unit: UnitArgs,
    /// Only these CSS (default: every CSS of the warehouse). Ignored by province extracts.
    #[arg(long, num_args = 1.., value_name = "CODE")]
    css: Vec<String>,
    /// The school year, `2024-2025` or `2024` (default: the most recent year of the source).
    #[arg(long, value_name = "YEAR", value_parser = SchoolYear::from_arg)]
    year: Option<SchoolYear>,
}

#[derive(clap::Args)]
struct SubmitArgs {
    #[command(flatten)]
    unit: UnitArgs,
    /// The CSS (omit for a province extract).
    #[arg(long, value_name = "CODE")]
    css: Option<String>,
    /// The school year, `2024-2025` or `2024`.
    #[arg(long, value_name = "YEAR", value_parser = SchoolYear::from_arg)]
    year: SchoolYear,
}

pub async fn extracts(a: ExtractsArgs) -> Result<u8> {
    match a.command {
        ExtractsCommand::List(p) => {
            let extracts = load(&p)?;
            match extracts.is_empty() {
                true => println!(
                    "aucun extrait dans {}",
                    p.pipelines.join(socle_extracts::EXTRACTS_DIR).display()
                ),
                false => print!("{}", socle_extracts::list_text(&extracts)),
            }
            Ok(0)
        }
        ExtractsCommand::Build(b) => {
            let (dict, extracts, wh, out) = open(&b.unit)?;
            let selected = socle_extracts::select(&extracts, &b.unit.name)?;
            let (project, _) = socle_marts::load(&b.unit.project.pipelines)?;
            let by = socle_warehouse::who_or_default(b.unit.by.as_deref());
            let cx = BuildContext {
                warehouse: &wh,
                project: &project,
                dictionary: &dict,
                out,
                by,
            };
            let request = BuildRequest {
                css: b.css,
                year: b.year,
            };
            let reports = socle_extracts::build(&cx, &selected, &request).await?;
            reports.iter().for_each(|r| println!("{r}"));
            Ok(u8::from(reports.iter().any(UnitReport::failed)))
        }
        ExtractsCommand::Submit(s) => {
            let (_, extracts, wh, out) = open(&s.unit)?;
            let selected = socle_extracts::select(&extracts, &s.unit.name)?;
            let [extract] = selected[..] else {
                anyhow::bail!(
                    "submit names one extract (see `socle extracts list`), not {:?}",
                    s.unit.name
                );
            };
            let unit = extract.unit_for(s.css.as_deref()).map_err(anyhow::Error::msg)?;
            let by = socle_warehouse::who_or_default(s.unit.by.as_deref());
            let m = socle_extracts::submit(&wh, &out, extract, &unit, &s.year.to_string(), &by)?;
            println!("{}", socle_extracts::submitted_text(&m));
            Ok(0)
        }
    }
}

/// The extracts of the project, refusing definitions with problems.
fn load(p: &crate::ProjectArgs) -> Result<Vec<Extract>> {
    let dict =
        Dictionary::load(&p.schemas).with_context(|| format!("loading the dictionary {}", p.schemas.display()))?;
    Ok(socle_extracts::load_checked(&p.pipelines, &dict)?)
}

/// The dictionary, the extracts, the warehouse and the extracts' root of a unit's command.
fn open(u: &UnitArgs) -> Result<(Dictionary, Vec<Extract>, Warehouse, PathBuf)> {
    let dict = Dictionary::load(&u.project.schemas)?;
    let extracts = socle_extracts::load_checked(&u.project.pipelines, &dict)?;
    let wh = Warehouse::open_existing(&u.warehouse)?;
    let out = u
        .out
        .clone()
        .unwrap_or_else(|| wh.root().join(socle_extracts::WAREHOUSE_EXTRACTS_DIR));
    Ok((dict, extracts, wh, out))
}
