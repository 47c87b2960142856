//! `socle dashboards`: the published marts as files for dashboards and spreadsheets.
//!
//! - `list`: every mart of the pipelines, where it is published and what it counts;
//! - `export`: one mart as read from a zone of the warehouse (the shared zone, small cells
//!   suppressed, or a CSS's own zone, exact counts and the nominative marts), to CSV, Excel or
//!   Parquet. The file is written beside the output under a temporary name, then renamed: a
//!   dashboard never picks up a half-written file.

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::{SessionContext, ident, lit};
use socle_core::SchoolYear;
use socle_export::{AtomicFile, CsvOptions, XLSX_MAX_ROWS};
use socle_marts::{Mart, Project, Publication};
use socle_serve::download::{Format, MartFile, plain_batch, plain_schema};
use socle_warehouse::{Warehouse, Zone};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The year column every mart has (`--year` filters on it).
const YEAR_COLUMN: &str = "annee_scolaire";

#[derive(clap::Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    command: DashboardsCommand,
}

#[derive(clap::Subcommand)]
enum DashboardsCommand {
    /// List the marts: name, where each is published, and its one-line definition.
    List {
        /// The pipelines folder: mart definitions (`marts/*.yaml`) and `config.yaml`.
        #[arg(long, default_value = "pipelines")]
        pipelines: PathBuf,
    },
    /// Export one published mart to CSV, Excel (xlsx) or Parquet, as a zone of the warehouse
    /// shows it.
    Export(ExportArgs),
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq, Debug)]
enum ExportFormat {
    Csv,
    Xlsx,
    Parquet,
}

impl ExportFormat {
    fn from_extension(path: &Path) -> Option<Self> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(ExportFormat::Csv),
            "xlsx" => Some(ExportFormat::Xlsx),
            "parquet" => Some(ExportFormat::Parquet),
            _ => None,
        }
    }
}

#[derive(clap::Args)]
#[command(after_long_help = "\
Zones:
  without --css  the shared zone: aggregate marts only, counts under the small-cell threshold
                 (pipelines/config.yaml, 5 by default) and the rates built on them are empty,
                 `cellule_supprimee` is true on those rows. Nominative marts (publication: css,
                 they list students) are not there.
  --css CODE     that CSS's own zone: its own rows with exact counts (`cellule_supprimee` says
                 which rows could not be published as is), and the nominative marts.

Formats (--format, or the extension of --output: .csv, .xlsx, .parquet):
  csv      UTF-8 with a byte order mark (so Excel reads the accents right), a header row,
           RFC 4180 quoting and CRLF line ends; `--delimiter ';'` for Excel set to French
           (Canada). Numbers use a dot as decimal separator, rates are fractions from 0 to 1,
           dates are ISO (2025-09-30), booleans are `true`/`false` (as `socle query`), empty
           fields are null (or suppressed) values.
  xlsx     sheet 1, named after the mart: the rows, bold frozen header with filters, typed
           cells (numbers, rates `taux_*` as percentages, booleans, dates yyyy-mm-dd, text);
           sheet `Définition`: the mart's definition in words, the filters and zone of this
           file, the warehouse run, and every column with its description.
  parquet  zstd-compressed, the columns' Arrow types kept.

Rows come sorted by the mart's columns, left to right (year, CSS, establishment...).

Examples:
  socle dashboards export taux_reussite --output taux.xlsx
  socle dashboards export taux_reussite --css 866000 --year 2024-2025 --format csv --delimiter ';' --output taux.csv")]
pub struct ExportArgs {
    /// The mart to export (see `socle dashboards list`).
    name: String,
    /// Read this CSS's own zone (exact counts, nominative marts) instead of the shared zone.
    #[arg(long, value_name = "CODE")]
    css: Option<String>,
    /// Only this school year: `2024-2025` or its start year `2024`.
    #[arg(long, value_name = "YEAR")]
    year: Option<String>,
    /// File format; default: from the extension of --output.
    #[arg(long, value_enum)]
    format: Option<ExportFormat>,
    /// File to write (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    output: PathBuf,
    /// Warehouse root.
    #[arg(long, default_value = "warehouse")]
    warehouse: PathBuf,
    /// The pipelines folder: the mart's definition (`marts/NAME.yaml`) and the small-cell
    /// threshold (`config.yaml`).
    #[arg(long, default_value = "pipelines")]
    pipelines: PathBuf,
    /// CSV field delimiter, one character (`,` by default; `;` for Excel in French; `tab`).
    #[arg(long, value_parser = parse_delimiter, value_name = "CHAR")]
    delimiter: Option<u8>,
    /// Who exports, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => return Ok(b'\t'),
        _ => {}
    }
    match s.as_bytes() {
        [b] if b.is_ascii() && !b.is_ascii_alphanumeric() && !matches!(b, b'"' | b'\r' | b'\n') => Ok(*b),
        _ => Err("one ASCII punctuation character, e.g. `,` or `;` (or `tab`)".to_string()),
    }
}

pub async fn dashboards(a: DashboardsArgs) -> Result<()> {
    match a.command {
        DashboardsCommand::List { pipelines } => list(&pipelines),
        DashboardsCommand::Export(args) => export(args).await,
    }
}

/// Where a mart is published, as `list` and the Définition sheet say it.
fn publication_label(p: Publication) -> &'static str {
    match p {
        Publication::Shared => "partagé + CSS",
        Publication::Css => "CSS seulement (nominatif)",
        Publication::Internal => "interne (jamais publié)",
    }
}

fn load_project(pipelines: &Path) -> Result<(Project, Vec<socle_marts::Problem>)> {
    socle_marts::load(pipelines).with_context(|| format!("loading the marts of {}", pipelines.display()))
}

fn list(pipelines: &Path) -> Result<()> {
    let (project, problems) = load_project(pipelines)?;
    for p in &problems {
        tracing::warn!("pipeline problem: {p}");
    }
    let mut marts: Vec<&Mart> = project.marts.iter().collect();
    marts.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    if marts.is_empty() {
        println!("no marts in {}", pipelines.join("marts").display());
        return Ok(());
    }
    let header = ("mart", "publication", "définition");
    let name_width = marts
        .iter()
        .map(|m| m.spec.name.chars().count())
        .chain([header.0.len()])
        .max()
        .unwrap_or(0);
    let publication_width = [Publication::Shared, Publication::Css]
        .iter()
        .map(|p| publication_label(*p).chars().count())
        .max()
        .unwrap_or(0);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<name_width$}  {:<publication_width$}  {}",
        header.0, header.1, header.2
    )?;
    for m in marts {
        writeln!(
            out,
            "{:<name_width$}  {:<publication_width$}  {}",
            m.spec.name,
            publication_label(m.spec.publication),
            m.spec.summary.fr.trim()
        )?;
    }
    out.flush()?;
    Ok(())
}

/// Everything the Définition sheet and the Parquet footer say about an export.
/// The zone a file was read from, in words, for the line printed after it.
fn zone_label(mart: &Mart, zone: &Zone) -> String {
    match zone {
        Zone::Shared => "shared zone, small cells suppressed".to_string(),
        Zone::Css(code) if mart.spec.publication == Publication::Css => format!("CSS {code} zone, nominative"),
        Zone::Css(code) => format!("CSS {code} zone, exact counts"),
    }
}

async fn export(a: ExportArgs) -> Result<()> {
    let format = match a.format {
        Some(f) => f,
        None => ExportFormat::from_extension(&a.output).with_context(|| {
            format!(
                "cannot tell the format of {} from its extension: add --format csv|xlsx|parquet \
                 (or name it .csv, .xlsx or .parquet)",
                a.output.display()
            )
        })?,
    };
    if a.delimiter.is_some() && format != ExportFormat::Csv {
        tracing::warn!("--delimiter applies to CSV only: ignored for {format:?}");
    }
    let year = match &a.year {
        Some(y) => Some(
            SchoolYear::parse(y)
                .with_context(|| format!("invalid school year {y:?}: expected 2024-2025 or 2024"))?
                .to_string(),
        ),
        None => None,
    };

    let (project, problems) = load_project(&a.pipelines)?;
    for p in problems
        .iter()
        .filter(|p| p.file.file_stem().and_then(|s| s.to_str()) == Some(a.name.as_str()))
    {
        tracing::warn!("pipeline problem: {p}");
    }

    if !a.warehouse.join("_socle").is_dir() {
        bail!(
            "{} is not a Socle warehouse yet: run `socle run` first",
            a.warehouse.display()
        );
    }
    let wh = Warehouse::open(&a.warehouse)?;
    let Some(manifest) = wh.marts_manifest()? else {
        bail!(
            "the warehouse {} has no marts yet: run `socle run` first",
            a.warehouse.display()
        );
    };

    let Some(mart) = project.mart(&a.name) else {
        let mut known: Vec<&str> = project.marts.iter().map(|m| m.spec.name.as_str()).collect();
        known.sort();
        bail!(
            "unknown mart {:?} (not in {}); known marts: {}",
            a.name,
            a.pipelines.join("marts").display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    if mart.spec.publication == Publication::Css && a.css.is_none() {
        bail!(
            "mart {} lists students (nominative): it exists only in each CSS's own zone, never in the \
             shared zone; export it with --css CODE",
            a.name
        );
    }
    if !manifest.marts.contains_key(&a.name) {
        bail!(
            "mart {} is not in the warehouse {} yet (added since the last run?): run `socle run` first",
            a.name,
            a.warehouse.display()
        );
    }

    let zone = match &a.css {
        None => Zone::Shared,
        Some(code) => {
            let known = wh.manifests()?;
            let found = known.iter().any(|m| &m.code_css == code);
            if !found {
                let codes: Vec<&str> = known.iter().map(|m| m.code_css.as_str()).collect();
                bail!(
                    "unknown CSS {code:?}: the warehouse {} holds {}",
                    a.warehouse.display(),
                    if codes.is_empty() {
                        "no CSS".to_string()
                    } else {
                        format!("CSS {}", codes.join(", "))
                    }
                );
            }
            Zone::Css(code.clone())
        }
    };

    let ctx = wh.marts_session(zone.clone()).await?;
    if !ctx.table_exist(a.name.as_str())? {
        bail!(
            "mart {} has no rows for CSS {} in the warehouse (its marts were published before this CSS \
             was loaded): run `socle run` again",
            a.name,
            a.css.as_deref().unwrap_or_default()
        );
    }
    let (schema, batches) = read_mart(&ctx, &a.name, year.as_deref()).await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();

    let documented = mart.published_columns();
    let produced: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let expected: Vec<&str> = documented.iter().map(|c| c.name.as_str()).collect();
    if produced != expected {
        tracing::warn!(
            "the warehouse's {} has columns {} but {} documents {}: it was built from another version \
             of the mart (run `socle run`)",
            a.name,
            produced.join(", "),
            mart.yaml_path.display(),
            expected.join(", ")
        );
    }
    if let Some(y) = &year
        && rows == 0
    {
        let years = years_present(&ctx, &a.name).await.unwrap_or_default();
        tracing::warn!(
            "no rows of {} for year {y} in the {}: the file has the header only (years present: {})",
            a.name,
            match &zone {
                Zone::Shared => "shared zone".to_string(),
                Zone::Css(c) => format!("zone of CSS {c}"),
            },
            if years.is_empty() {
                "none".to_string()
            } else {
                years.join(", ")
            }
        );
    }

    if format == ExportFormat::Xlsx && rows >= XLSX_MAX_ROWS {
        bail!(
            "{rows} rows do not fit in an Excel sheet ({} at most): filter with --year or --css, or \
             export csv or parquet",
            XLSX_MAX_ROWS - 1
        );
    }
    let file_of = MartFile {
        mart,
        zone: zone.clone(),
        filters: year.iter().map(|y| (YEAR_COLUMN.to_string(), y.clone())).collect(),
        threshold: project.config.seuil_petites_cellules,
        marts_run_id: manifest.run_id.clone(),
        marts_published_at: manifest.published_at.clone(),
        extracted_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        french_headings: true,
    };
    let mut file = AtomicFile::create(&a.output)?;
    let csv = CsvOptions::spreadsheet().with_delimiter(a.delimiter.unwrap_or(b','));
    let format = match format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Xlsx => Format::Xlsx,
        ExportFormat::Parquet => Format::Parquet,
    };
    file_of.write(&mut file, format, &schema, &batches, &csv)?;
    file.sync()?;
    // Audited before the file appears: no export without its audit line.
    crate::audit::record(
        wh.root(),
        a.by.as_deref(),
        "dashboards_export",
        &zone,
        &format!("mart:{}", a.name),
        rows as u64,
    )?;
    file.commit()?;
    println!(
        "{rows} row(s) written to {} ({})",
        a.output.display(),
        zone_label(mart, &zone)
    );
    Ok(())
}

/// The mart's rows in `ctx` (only `year` if given), sorted by its columns left to right, with
/// view and dictionary types turned into their plain types.
async fn read_mart(ctx: &SessionContext, name: &str, year: Option<&str>) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let mut df = ctx
        .table(name)
        .await
        .with_context(|| format!("cannot read mart {name}"))?;
    if let Some(y) = year {
        if df.schema().field_with_unqualified_name(YEAR_COLUMN).is_err() {
            bail!("mart {name} has no {YEAR_COLUMN} column: --year cannot filter it");
        }
        df = df.filter(ident(YEAR_COLUMN).eq(lit(y)))?;
    }
    // A mart's file is grouped by CSS, and files are read in parallel: sort for a stable order,
    // the mart's leading columns first (its grain: year, CSS, establishment...).
    let sort: Vec<_> = df
        .schema()
        .fields()
        .iter()
        .filter(|f| sortable(f.data_type()))
        .map(|f| ident(f.name()).sort(true, false))
        .collect();
    if !sort.is_empty() {
        df = df.sort(sort)?;
    }
    let schema = plain_schema(df.schema().as_arrow());
    let batches = df.collect().await.with_context(|| format!("cannot read mart {name}"))?;
    let batches = batches
        .iter()
        .map(|b| plain_batch(b, &schema))
        .collect::<Result<Vec<_>>>()?;
    Ok((schema, batches))
}

async fn years_present(ctx: &SessionContext, name: &str) -> Result<Vec<String>> {
    let df = ctx
        .table(name)
        .await?
        .select(vec![ident(YEAR_COLUMN)])?
        .distinct()?
        .sort(vec![ident(YEAR_COLUMN).sort(true, false)])?;
    let mut years = Vec::new();
    for b in df.collect().await? {
        let col = cast(b.column(0), &DataType::Utf8)?;
        years.extend(col.as_string::<i32>().iter().flatten().map(str::to_string));
    }
    Ok(years)
}

fn sortable(t: &DataType) -> bool {
    t.is_primitive()
        || matches!(
            t,
            DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_formats() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("\"").is_err());
        assert_eq!(
            ExportFormat::from_extension(Path::new("a/b.XLSX")),
            Some(ExportFormat::Xlsx)
        );
        assert_eq!(ExportFormat::from_extension(Path::new("b.txt")), None);
    }
}
