//! `socle dashboards`: a published mart read from a zone for a file (`export`), and the list
//! of marts (`list`). What the CLI prints and writes; the file itself is a [`MartFile`].

use std::fmt::Write as _;

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::prelude::{SessionContext, ident, lit};
use socle_marts::{Mart, Project, Publication};
use socle_warehouse::{Warehouse, Zone};

use crate::download::{Format, MartFile, plain_batch, plain_schema};
use socle_core::SchoolYear;
use socle_export::{AtomicFile, CsvOptions, XLSX_MAX_ROWS};

/// The year column every mart has (`--year` filters on it).
pub const YEAR_COLUMN: &str = "annee_scolaire";

/// Where a mart is published, as `list` and the Définition sheet say it.
pub fn publication_label(p: Publication) -> &'static str {
    match p {
        Publication::Shared => "partagé + CSS",
        Publication::Css => "CSS seulement (nominatif)",
        Publication::Internal => "interne (jamais publié)",
    }
}

/// The marts of `project` as a table: name, publication, one-line definition.
pub fn list_marts(project: &Project) -> String {
    let mut marts: Vec<&Mart> = project.marts.iter().collect();
    marts.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
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
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<name_width$}  {:<publication_width$}  {}",
        header.0, header.1, header.2
    );
    for m in marts {
        let _ = writeln!(
            out,
            "{:<name_width$}  {:<publication_width$}  {}",
            m.spec.name,
            publication_label(m.spec.publication),
            m.spec.summary.fr.trim()
        );
    }
    out
}

/// The zone a file was read from, in words, for the line printed after it.
pub fn zone_label(mart: &Mart, zone: &Zone) -> String {
    match zone {
        Zone::Shared => "shared zone, small cells suppressed".to_string(),
        Zone::Css(code) if mart.spec.publication == Publication::Css => format!("CSS {code} zone, nominative"),
        Zone::Css(code) => format!("CSS {code} zone, exact counts"),
    }
}

/// A mart read for a file: what to write and the facts the file carries.
pub struct MartExport<'a> {
    pub file: MartFile<'a>,
    pub schema: SchemaRef,
    pub batches: Vec<RecordBatch>,
}

impl MartExport<'_> {
    pub fn rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// What `socle dashboards export` asks for: its options, defined here once.
#[derive(clap::Args)]
#[command(after_long_help = EXPORT_HELP)]
pub struct ExportRequest {
    /// The mart to export (see `socle dashboards list`).
    pub name: String,
    /// Read this CSS's own zone (exact counts, nominative marts) instead of the shared zone.
    #[arg(long, value_name = "CODE")]
    pub css: Option<String>,
    /// Only this school year: `2024-2025` or its start year `2024`.
    #[arg(long, value_name = "YEAR", value_parser = SchoolYear::from_arg)]
    pub year: Option<SchoolYear>,
    /// File format; default: from the extension of --output.
    #[arg(long, value_parser = Format::from_arg, value_name = "csv|xlsx|parquet")]
    pub format: Option<Format>,
    /// File to write (replaced if it exists).
    #[arg(long, value_name = "FILE")]
    pub output: std::path::PathBuf,
    /// Warehouse root.
    #[arg(long, default_value = "warehouse")]
    pub warehouse: std::path::PathBuf,
    /// The pipelines folder: the mart's definition (`marts/NAME.yaml`) and the small-cell
    /// threshold (`config.yaml`).
    #[arg(long, default_value = "pipelines")]
    pub pipelines: std::path::PathBuf,
    /// CSV field delimiter, one character (`,` by default; `;` for Excel in French; `tab`).
    #[arg(long, value_parser = socle_export::parse_delimiter, value_name = "CHAR")]
    pub delimiter: Option<u8>,
    /// Who exports, for the audit log (default: the OS user).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

/// A mart written to its file: rows, file, and the zone in words.
pub struct Exported {
    pub rows: usize,
    pub output: std::path::PathBuf,
    pub zone: String,
}

/// What `socle dashboards export` prints.
impl std::fmt::Display for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} row(s) written to {} ({})",
            self.rows,
            self.output.display(),
            self.zone
        )
    }
}

/// `socle dashboards export`: the mart read as [`read_mart_for_export`] says, written to the
/// request's file atomically (a dashboard never picks up a half-written file), audited before
/// the file appears.
pub async fn export_to_file(req: &ExportRequest) -> Result<Exported> {
    let format = match req.format.or_else(|| Format::of_path(&req.output)) {
        Some(f) => f,
        None => bail!(
            "cannot tell the format of {} from its extension: add --format csv|xlsx|parquet \
             (or name it .csv, .xlsx or .parquet)",
            req.output.display()
        ),
    };
    if req.delimiter.is_some() && format != Format::Csv {
        tracing::warn!("--delimiter applies to CSV only: ignored for {format:?}");
    }
    let (project, problems) = socle_marts::load(&req.pipelines)
        .with_context(|| format!("loading the marts of {}", req.pipelines.display()))?;
    for p in problems
        .iter()
        .filter(|p| p.file.file_stem().and_then(|s| s.to_str()) == Some(req.name.as_str()))
    {
        tracing::warn!("pipeline problem: {p}");
    }
    let warehouse = Warehouse::open_existing(&req.warehouse)?;
    let year = req.year.map(|y| y.to_string());
    let read = read_mart_for_export(&warehouse, &project, &req.name, req.css.as_deref(), year.as_deref()).await?;
    let rows = read.rows();
    if format == Format::Xlsx && rows >= XLSX_MAX_ROWS {
        bail!(
            "{rows} rows do not fit in an Excel sheet ({} at most): filter with --year or --css, or \
             export csv or parquet",
            XLSX_MAX_ROWS - 1
        );
    }
    let csv = CsvOptions::spreadsheet().with_delimiter(req.delimiter.unwrap_or(b','));
    let mut file = AtomicFile::create(&req.output)?;
    read.file.write(&mut file, format, &read.schema, &read.batches, &csv)?;
    file.sync()?;
    let zone = &read.file.zone;
    let target = format!("mart:{}", req.name);
    socle_warehouse::record_read(
        warehouse.root(),
        req.by.as_deref(),
        "dashboards_export",
        zone,
        &target,
        rows as u64,
    )
    .context("cannot write the audit log: nothing is returned without its audit line")?;
    file.commit()?;
    Ok(Exported {
        rows,
        output: req.output.clone(),
        zone: zone_label(read.file.mart, zone),
    })
}

/// Reads mart `name` of `project` from the warehouse as zone `css` shows it (the shared zone
/// without it), only school year `year` if given, sorted by its columns left to right. Refuses,
/// with what to do instead, an unknown mart or CSS, a nominative mart outside a CSS's zone, and
/// a mart the warehouse does not hold yet.
pub async fn read_mart_for_export<'a>(
    warehouse: &Warehouse,
    project: &'a Project,
    name: &str,
    css: Option<&str>,
    year: Option<&str>,
) -> Result<MartExport<'a>> {
    let shown = warehouse.root().display();
    let Some(manifest) = warehouse.marts_manifest()? else {
        bail!("the warehouse {shown} has no marts yet: run `socle run` first");
    };
    let Some(mart) = project.mart(name) else {
        let mut known: Vec<&str> = project.marts.iter().map(|m| m.spec.name.as_str()).collect();
        known.sort();
        bail!(
            "unknown mart {name:?} (not in {}); known marts: {}",
            project.root.join("marts").display(),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        );
    };
    if mart.spec.publication == Publication::Css && css.is_none() {
        bail!(
            "mart {name} lists students (nominative): it exists only in each CSS's own zone, never in the \
             shared zone; export it with --css CODE"
        );
    }
    if !manifest.marts.contains_key(name) {
        bail!("mart {name} is not in the warehouse {shown} yet (added since the last run?): run `socle run` first");
    }
    let zone = match css {
        None => Zone::Shared,
        Some(code) => {
            let known = warehouse.manifests()?;
            if !known.iter().any(|m| m.code_css == code) {
                let codes: Vec<&str> = known.iter().map(|m| m.code_css.as_str()).collect();
                bail!(
                    "unknown CSS {code:?}: the warehouse {shown} holds {}",
                    if codes.is_empty() {
                        "no CSS".to_string()
                    } else {
                        format!("CSS {}", codes.join(", "))
                    }
                );
            }
            Zone::Css(code.to_string())
        }
    };
    let ctx = warehouse.marts_session(zone.clone()).await?;
    if !ctx.table_exist(name)? {
        bail!(
            "mart {name} has no rows for CSS {} in the warehouse (its marts were published before this CSS \
             was loaded): run `socle run` again",
            css.unwrap_or_default()
        );
    }
    let (schema, batches) = read_sorted(&ctx, name, year).await?;
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let produced: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let documented = mart.published_columns();
    let expected: Vec<&str> = documented.iter().map(|c| c.name.as_str()).collect();
    if produced != expected {
        tracing::warn!(
            "the warehouse's {name} has columns {} but {} documents {}: it was built from another version \
             of the mart (run `socle run`)",
            produced.join(", "),
            mart.yaml_path.display(),
            expected.join(", ")
        );
    }
    if let Some(y) = year
        && rows == 0
    {
        let years = years_present(&ctx, name).await.unwrap_or_default();
        tracing::warn!(
            "no rows of {name} for year {y} in the {}: the file has the header only (years present: {})",
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
    let file = MartFile {
        mart,
        zone,
        filters: year.iter().map(|y| (YEAR_COLUMN.to_string(), y.to_string())).collect(),
        threshold: project.config.seuil_petites_cellules,
        marts_run_id: manifest.run_id.clone(),
        marts_published_at: manifest.published_at.clone(),
        extracted_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        french_headings: true,
    };
    Ok(MartExport { file, schema, batches })
}

/// The mart's rows in `ctx` (only `year` if given), sorted by its columns left to right, with
/// view and dictionary types turned into their plain types.
async fn read_sorted(ctx: &SessionContext, name: &str, year: Option<&str>) -> Result<(SchemaRef, Vec<RecordBatch>)> {
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

/// What `socle dashboards export --help` says after the options: zones, formats, order.
pub const EXPORT_HELP: &str = "\
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
  socle dashboards export taux_reussite --css 866000 --year 2024-2025 --format csv --delimiter ';' --output taux.csv";
