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
use socle_extracts::{BuildContext, BuildRequest, Extract, Outcome, PROVINCE, UnitReport};
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
#[command(after_long_help = "\
Each unit (the extract for one CSS and one school year, or for the province and one year) is
validated first: the built-in rules of each field (required, domain, registry, max_length, what
the layout can hold), the key, the row rules and the set rules of the YAML. When one fails,
nothing of that unit is written and the report names the rule, field, line and key (never a
personal value); the other units go on. Otherwise the unit's files are written atomically in
  <out>/<extract>/<code_css|province>/<annee>/versions/<build id>/
with manifest.json (version, warehouse runs read, SHA-256 and rows of each file, validation
summary, status provisoire), the XLSX copy for the person who signs it, and diff.json (rows
added, removed and changed since the last submitted version). COURANTE names the last build.

Exit status: 0 every unit written (or nothing to build), 1 a unit refused or bad usage.

Examples:
  socle extracts build declaration_30_septembre --css 866000 --year 2025-2026
  socle extracts submit declaration_30_septembre --css 866000 --year 2025-2026 --by mtremblay")]
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
pub fn load_extracts(pipelines: &Path, schemas: &Path) -> Result<Vec<Extract>> {
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

fn who(by: Option<&str>) -> String {
    match by {
        Some(n) if !n.trim().is_empty() => n.trim().to_string(),
        _ => socle_warehouse::default_who(),
    }
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
    let width = extracts.iter().map(|e| e.spec.name.len()).max().unwrap_or(0);
    for e in &extracts {
        let zone = match e.spec.zone {
            socle_extracts::spec::ExtractZone::Css => "css",
            socle_extracts::spec::ExtractZone::Shared => "province",
        };
        let layout = match e.spec.layout.kind {
            socle_extracts::spec::LayoutKind::Csv => "csv",
            socle_extracts::spec::LayoutKind::FixedWidth => "largeur fixe",
            socle_extracts::spec::LayoutKind::Xml => "xml",
        };
        println!(
            "{:<width$}  {zone:<8}  {layout:<12}  v{:<6}  {}{}",
            e.spec.name,
            e.spec.version,
            e.spec.title,
            if e.holds_identifying_data() { " (nominatif)" } else { "" }
        );
    }
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
    let reports = build_all(
        &wh,
        &a.pipelines,
        &a.schemas,
        a.out.as_deref(),
        a.by.as_deref(),
        &selected,
        &request,
    )
    .await?;
    Ok(if reports.iter().any(UnitReport::failed) { 1 } else { 0 })
}

/// Builds `selected` and prints one report per unit; what `socle run --extracts` calls too.
pub async fn build_all(
    wh: &Warehouse,
    pipelines: &Path,
    schemas: &Path,
    out: Option<&Path>,
    by: Option<&str>,
    selected: &[&Extract],
    request: &BuildRequest,
) -> Result<Vec<UnitReport>> {
    let dict = Dictionary::load(schemas)?;
    let (project, _) = socle_marts::load(pipelines)?;
    let cx = BuildContext {
        warehouse: wh,
        project: &project,
        dictionary: &dict,
        out: out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| wh.root().join(socle_extracts::WAREHOUSE_EXTRACTS_DIR)),
        by: who(by),
    };
    let reports = socle_extracts::build(&cx, selected, request).await?;
    for r in &reports {
        print_report(r);
    }
    Ok(reports)
}

fn print_report(r: &UnitReport) {
    let annee = r.annee.as_deref().unwrap_or("-");
    match &r.outcome {
        Outcome::Built { dir, rows, diff, .. } => {
            let d = match &diff.against {
                Some(id) => format!(
                    "depuis la version transmise {id}: {} ajoutée(s), {} retirée(s), {} modifiée(s)",
                    diff.added, diff.removed, diff.changed
                ),
                None => "aucune version transmise encore".to_string(),
            };
            println!(
                "{} {} {annee}: {rows} ligne(s) écrites (provisoire) dans {}; {d}",
                r.extract,
                r.unit,
                dir.display()
            );
        }
        Outcome::Refused { failures, counts } => {
            println!(
                "{} {} {annee}: REFUSÉ, rien n'est écrit pour cette unité ({} règle(s) en échec: {})",
                r.extract,
                r.unit,
                counts.len(),
                counts
                    .iter()
                    .map(|c| format!("{} {} ligne(s)", c.name, c.failures))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for f in failures {
                println!("    {} {} {annee}: {f}", r.extract, r.unit);
            }
        }
        Outcome::NoRows { reason } => println!("{} {} {annee}: rien à écrire: {reason}", r.extract, r.unit),
        Outcome::Error { message } => println!(
            "{} {} {annee}: ÉCHEC, rien n'est écrit pour cette unité: {message}",
            r.extract, r.unit
        ),
    }
}

fn submit(a: SubmitArgs) -> Result<()> {
    let extracts = load_extracts(&a.pipelines, &a.schemas)?;
    let Some(extract) = extracts.iter().find(|e| e.spec.name == a.name) else {
        bail!("unknown extract {:?}", a.name);
    };
    let year = SchoolYear::parse(&a.year)
        .with_context(|| format!("invalid school year {:?}: expected 2024-2025 or 2024", a.year))?
        .to_string();
    let unit = match (extract.spec.zone, &a.css) {
        (socle_extracts::spec::ExtractZone::Css, Some(c)) => c.clone(),
        (socle_extracts::spec::ExtractZone::Css, None) => bail!("{} is built per CSS: add --css CODE", a.name),
        (socle_extracts::spec::ExtractZone::Shared, None) => PROVINCE.to_string(),
        (socle_extracts::spec::ExtractZone::Shared, Some(_)) => {
            bail!("{} is a province extract: no --css", a.name)
        }
    };
    let wh = open_warehouse(&a.warehouse)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| wh.root().join(socle_extracts::WAREHOUSE_EXTRACTS_DIR));
    let m = socle_extracts::submit(&wh, &out, extract, &unit, &year, &who(a.by.as_deref()))?;
    println!(
        "{} {} {}: version {} transmise le {} par {} ({} ligne(s)); elle ne sera plus modifiée",
        m.extract,
        m.unit,
        m.annee_scolaire,
        m.build_id,
        m.submitted_at.as_deref().unwrap_or_default(),
        m.submitted_by.as_deref().unwrap_or_default(),
        m.files.first().and_then(|f| f.rows).unwrap_or(0)
    );
    Ok(())
}
