//! `socle dashboards`: the published marts as files for dashboards and spreadsheets.
//!
//! - `list`: every mart of the pipelines, where it is published and what it counts;
//! - `export`: one mart as read from a zone of the warehouse (the shared zone, small cells
//!   suppressed, or a CSS's own zone, exact counts and the nominative marts), to CSV, Excel or
//!   Parquet. The file is written beside the output under a temporary name, then renamed: a
//!   dashboard never picks up a half-written file.

use anyhow::{Context, Result, bail};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Field, Float64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{SessionContext, ident, lit};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, IgnoreError, Workbook, Worksheet};
use socle_core::SchoolYear;
use socle_marts::{Mart, Project, Publication};
use socle_warehouse::{Warehouse, Zone};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The year column every mart has (`--year` filters on it).
const YEAR_COLUMN: &str = "annee_scolaire";
/// Rows of an Excel sheet, header included.
const XLSX_MAX_ROWS: usize = 1_048_576;
/// Characters of an Excel sheet name.
const SHEET_NAME_MAX: usize = 31;
const DEFINITION_SHEET: &str = "Définition";

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
struct Extract<'a> {
    mart: &'a Mart,
    zone: Zone,
    year: Option<String>,
    threshold: i64,
    marts_run_id: String,
    marts_published_at: String,
    extracted_at: String,
    rows: usize,
    /// The file's columns, each with its documented description (if any).
    columns: Vec<(String, Option<String>)>,
}

impl Extract<'_> {
    fn suppressed(&self) -> bool {
        self.zone == Zone::Shared && self.mart.spec.publication == Publication::Shared
    }

    fn zone_label(&self) -> String {
        match &self.zone {
            Zone::Shared => "shared zone, small cells suppressed".to_string(),
            Zone::Css(code) if self.mart.spec.publication == Publication::Css => {
                format!("CSS {code} zone, nominative")
            }
            Zone::Css(code) => format!("CSS {code} zone, exact counts"),
        }
    }

    fn zone_fr(&self) -> String {
        match &self.zone {
            Zone::Shared => "zone partagée (tous les CSS)".to_string(),
            Zone::Css(code) => format!("zone du CSS {code} (ses propres lignes)"),
        }
    }

    fn suppression_fr(&self) -> String {
        let t = self.threshold;
        match (self.mart.spec.publication, &self.zone) {
            (Publication::Css, _) => {
                "sans objet: mart nominatif, publié seulement dans la zone de chaque CSS".to_string()
            }
            (Publication::Internal, _) => "sans objet: modèle intermédiaire, jamais publié".to_string(),
            (Publication::Shared, Zone::Shared) => format!(
                "oui: dans ce fichier, les comptes sous {t} (seuil des petites cellules) et les taux \
                 bâtis sur eux sont vides; cellule_supprimee = vrai sur ces lignes"
            ),
            (Publication::Shared, Zone::Css(_)) => format!(
                "non: comptes exacts de la zone du CSS; cellule_supprimee = vrai sur les lignes qui \
                 auraient des comptes sous {t} (seuil des petites cellules) cachés dans la zone partagée: \
                 ne pas les diffuser telles quelles"
            ),
        }
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
    let columns: Vec<(String, Option<String>)> = schema
        .fields()
        .iter()
        .map(|f| {
            let d = documented
                .iter()
                .find(|c| &c.name == f.name())
                .map(|c| c.description.clone());
            (f.name().clone(), d)
        })
        .collect();
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

    let extract = Extract {
        mart,
        zone,
        year,
        threshold: project.config.seuil_petites_cellules,
        marts_run_id: manifest.run_id.clone(),
        marts_published_at: manifest.published_at.clone(),
        extracted_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        rows,
        columns,
    };
    if format == ExportFormat::Xlsx && rows >= XLSX_MAX_ROWS {
        bail!(
            "{rows} rows do not fit in an Excel sheet ({} at most): filter with --year or --css, or \
             export csv or parquet",
            XLSX_MAX_ROWS - 1
        );
    }

    let staged = Staged::new(&a.output)?;
    {
        let file =
            std::fs::File::create(&staged.path).with_context(|| format!("cannot create {}", staged.path.display()))?;
        let mut sink = std::io::BufWriter::new(file);
        match format {
            ExportFormat::Csv => write_csv(&mut sink, &schema, &batches, a.delimiter.unwrap_or(b','))?,
            ExportFormat::Xlsx => write_xlsx(&mut sink, &schema, &batches, &extract)?,
            ExportFormat::Parquet => write_parquet(&mut sink, &schema, &batches, &extract)?,
        }
        let file = sink
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", staged.path.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write {}", staged.path.display()))?;
    }
    // Audited before the file appears: no export without its audit line.
    crate::audit::record(
        wh.root(),
        a.by.as_deref(),
        "dashboards_export",
        &extract.zone,
        &format!("mart:{}", a.name),
        rows as u64,
    )?;
    staged.commit()?;
    println!(
        "{rows} row(s) written to {} ({})",
        a.output.display(),
        extract.zone_label()
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

/// The type a file gets for `t`: string views and dictionaries become plain strings (readable
/// by every Parquet and CSV reader).
fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Dictionary(_, v) => plain_type(v),
        other => other.clone(),
    }
}

fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn plain_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(c.clone())
            } else {
                cast(c, f.data_type()).map_err(anyhow::Error::from)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The output file while it is written: `.<name>.<pid>.tmp` beside it, removed unless
/// committed (renamed over the output).
pub(crate) struct Staged {
    pub(crate) path: PathBuf,
    output: PathBuf,
    committed: bool,
}

impl Staged {
    pub(crate) fn new(output: &Path) -> Result<Self> {
        let Some(file_name) = output.file_name().and_then(|n| n.to_str()) else {
            bail!("--output {} is not a file name", output.display());
        };
        let dir = match output.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            bail!(
                "cannot write {}: folder {} does not exist",
                output.display(),
                dir.display()
            );
        }
        if output.is_dir() {
            bail!("cannot write {}: it is a folder", output.display());
        }
        Ok(Staged {
            path: dir.join(format!(".{file_name}.{}.tmp", std::process::id())),
            output: output.to_path_buf(),
            committed: false,
        })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.path, &self.output)
            .with_context(|| format!("cannot move {} to {}", self.path.display(), self.output.display()))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn write_csv(sink: &mut impl Write, schema: &SchemaRef, batches: &[RecordBatch], delimiter: u8) -> Result<()> {
    // The byte order mark: Excel otherwise reads UTF-8 as the machine's code page.
    sink.write_all(b"\xEF\xBB\xBF")?;
    let mut w = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .with_delimiter(delimiter)
        .with_line_terminator(datafusion::arrow::csv::writer::Terminator::CRLF)
        .build(sink);
    // The header is written with the first batch, even an empty one.
    w.write(&RecordBatch::new_empty(schema.clone()))?;
    for b in batches {
        w.write(b)?;
    }
    Ok(())
}

fn write_parquet(
    sink: &mut (impl Write + Send),
    schema: &SchemaRef,
    batches: &[RecordBatch],
    e: &Extract,
) -> Result<()> {
    use datafusion::parquet::file::metadata::KeyValue;
    let mut meta = vec![
        KeyValue::new("socle.mart".to_string(), e.mart.spec.name.clone()),
        KeyValue::new(
            "socle.zone".to_string(),
            match &e.zone {
                Zone::Shared => "shared".to_string(),
                Zone::Css(c) => format!("css:{c}"),
            },
        ),
        KeyValue::new("socle.small_cells_suppressed".to_string(), e.suppressed().to_string()),
        KeyValue::new("socle.marts_run_id".to_string(), e.marts_run_id.clone()),
        KeyValue::new("socle.marts_published_at".to_string(), e.marts_published_at.clone()),
        KeyValue::new("socle.extracted_at".to_string(), e.extracted_at.clone()),
    ];
    if let Some(y) = &e.year {
        meta.push(KeyValue::new("socle.annee_scolaire".to_string(), y.clone()));
    }
    let props = datafusion::parquet::file::properties::WriterProperties::builder()
        .set_compression(datafusion::parquet::basic::Compression::ZSTD(Default::default()))
        .set_key_value_metadata(Some(meta))
        .build();
    let mut w = datafusion::parquet::arrow::ArrowWriter::try_new(sink, schema.clone(), Some(props))?;
    for b in batches {
        w.write(b)?;
    }
    w.close()?;
    Ok(())
}

/// An Excel sheet name for `name`: no `[]:*?/\`, at most 31 characters.
fn sheet_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(SHEET_NAME_MAX)
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    if clean.is_empty() || clean.to_lowercase() == DEFINITION_SHEET.to_lowercase() {
        format!("{}_1", clean.chars().take(SHEET_NAME_MAX - 2).collect::<String>())
    } else {
        clean
    }
}

/// How a column is written in Excel.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Number,
    Rate,
    Bool,
    Date,
    Timestamp,
    Text,
    Other,
}

fn cell_kind(name: &str, t: &DataType) -> CellKind {
    if t.is_integer() || t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        if name.starts_with("taux_") {
            CellKind::Rate
        } else {
            CellKind::Number
        }
    } else {
        match t {
            DataType::Boolean => CellKind::Bool,
            DataType::Date32 | DataType::Date64 => CellKind::Date,
            DataType::Timestamp(..) => CellKind::Timestamp,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => CellKind::Text,
            _ => CellKind::Other,
        }
    }
}

pub(crate) fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> anyhow::Error {
    anyhow::anyhow!("Excel: {e}")
}

fn write_xlsx(sink: &mut (impl Write + Send), schema: &SchemaRef, batches: &[RecordBatch], e: &Extract) -> Result<()> {
    let mut workbook = Workbook::new();
    let data = workbook.add_worksheet();
    write_data_sheet(data, schema, batches, &e.mart.spec.name)?;
    let def = workbook.add_worksheet();
    write_definition_sheet(def, e)?;
    workbook.save_to_writer(sink).map_err(xlsx_err)?;
    Ok(())
}

pub(crate) fn write_data_sheet(
    ws: &mut Worksheet,
    schema: &SchemaRef,
    batches: &[RecordBatch],
    name: &str,
) -> Result<()> {
    ws.set_name(sheet_name(name)).map_err(xlsx_err)?;
    let header = Format::new().set_bold();
    let rate = Format::new().set_num_format("0.0%");
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let timestamp = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let kinds: Vec<CellKind> = schema
        .fields()
        .iter()
        .map(|f| cell_kind(f.name(), f.data_type()))
        .collect();
    // Width in characters: the header (plus the filter button), then the widest value.
    let mut widths: Vec<usize> = schema.fields().iter().map(|f| f.name().chars().count() + 3).collect();
    let last_col = u16::try_from(schema.fields().len().saturating_sub(1)).context("too many columns for Excel")?;
    for (i, f) in schema.fields().iter().enumerate() {
        ws.write_string_with_format(0, col_num(i)?, f.name(), &header)
            .map_err(xlsx_err)?;
    }
    let options = FormatOptions::default();
    let mut row: u32 = 0;
    for batch in batches {
        for (i, column) in batch.columns().iter().enumerate() {
            let col = col_num(i)?;
            let kind = kinds[i];
            let width = &mut widths[i];
            match kind {
                CellKind::Number | CellKind::Rate => {
                    let values = cast(column, &DataType::Float64)?;
                    let values = values.as_primitive::<Float64Type>();
                    for (r, v) in values.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let cell_row = row + 1 + r as u32;
                        if kind == CellKind::Rate {
                            ws.write_number_with_format(cell_row, col, v, &rate).map_err(xlsx_err)?;
                            *width = (*width).max(7);
                        } else {
                            ws.write_number(cell_row, col, v).map_err(xlsx_err)?;
                            *width = (*width).max(number_width(v));
                        }
                    }
                }
                CellKind::Bool => {
                    for (r, v) in column.as_boolean().iter().enumerate() {
                        let Some(v) = v else { continue };
                        ws.write_boolean(row + 1 + r as u32, col, v).map_err(xlsx_err)?;
                        *width = (*width).max(6);
                    }
                }
                CellKind::Date => {
                    let values = cast(column, &DataType::Date32)?;
                    for (r, d) in values.as_primitive::<Date32Type>().iter().enumerate() {
                        let Some(d) = d else { continue };
                        let cell_row = row + 1 + r as u32;
                        let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                            .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(d))));
                        match day.and_then(|d| excel_date(d).ok()) {
                            Some(x) => ws.write_datetime_with_format(cell_row, col, &x, &date),
                            // Before 1900: Excel has no such date.
                            None => ws.write_string(cell_row, col, day.map(|d| d.to_string()).unwrap_or_default()),
                        }
                        .map_err(xlsx_err)?;
                        *width = (*width).max(11);
                    }
                }
                CellKind::Timestamp => {
                    let values = cast(column, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
                    for (r, t) in values.as_primitive::<TimestampMicrosecondType>().iter().enumerate() {
                        let Some(t) = t else { continue };
                        let cell_row = row + 1 + r as u32;
                        let at = chrono::DateTime::from_timestamp_micros(t).map(|t| t.naive_utc());
                        match at.and_then(|t| excel_datetime(t).ok()) {
                            Some(x) => ws.write_datetime_with_format(cell_row, col, &x, &timestamp),
                            None => ws.write_string(cell_row, col, at.map(|t| t.to_string()).unwrap_or_default()),
                        }
                        .map_err(xlsx_err)?;
                        *width = (*width).max(20);
                    }
                }
                CellKind::Text | CellKind::Other => {
                    let formatter = ArrayFormatter::try_new(column.as_ref(), &options)?;
                    for r in 0..column.len() {
                        if column.is_null(r) {
                            continue;
                        }
                        let s = formatter.value(r).to_string();
                        *width = (*width).max(s.chars().count() + 1);
                        ws.write_string(row + 1 + r as u32, col, s).map_err(xlsx_err)?;
                    }
                }
            }
        }
        row += u32::try_from(batch.num_rows()).context("too many rows for Excel")?;
    }
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(col_num(i)?, (*w).clamp(6, 60) as f64)
            .map_err(xlsx_err)?;
    }
    // Codes (CSS, establishment, course) are text that looks like numbers: no green triangles.
    if row > 0 {
        for (i, k) in kinds.iter().enumerate() {
            if matches!(k, CellKind::Text | CellKind::Other) {
                let c = col_num(i)?;
                ws.ignore_error_range(1, c, row, c, IgnoreError::NumberStoredAsText)
                    .map_err(xlsx_err)?;
            }
        }
    }
    if !schema.fields().is_empty() {
        ws.set_freeze_panes(1, 0).map_err(xlsx_err)?;
        ws.autofilter(0, 0, row, last_col).map_err(xlsx_err)?;
    }
    Ok(())
}

fn col_num(i: usize) -> Result<u16> {
    u16::try_from(i).context("too many columns for Excel")
}

/// Characters Excel's General format needs for `v` (about 11 significant characters at most).
fn number_width(v: f64) -> usize {
    let s = v.to_string();
    s.chars().count().min(12) + 1
}

fn excel_date(d: chrono::NaiveDate) -> Result<ExcelDateTime, rust_xlsxwriter::XlsxError> {
    use chrono::Datelike;
    let year = u16::try_from(d.year()).map_err(|_| rust_xlsxwriter::XlsxError::DateTimeRangeError("year".into()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn excel_datetime(t: chrono::NaiveDateTime) -> Result<ExcelDateTime, rust_xlsxwriter::XlsxError> {
    use chrono::Timelike;
    let seconds = f64::from(t.second()) + f64::from(t.nanosecond() % 1_000_000_000) / 1e9;
    excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, seconds)
}

fn write_definition_sheet(ws: &mut Worksheet, e: &Extract) -> Result<()> {
    let spec = &e.mart.spec;
    ws.set_name(DEFINITION_SHEET).map_err(xlsx_err)?;
    let title = Format::new().set_bold().set_font_size(14);
    let label = Format::new().set_bold().set_align(FormatAlign::Top);
    let text = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    ws.set_column_width(0, 26).map_err(xlsx_err)?;
    ws.set_column_width(1, 110).map_err(xlsx_err)?;

    ws.write_string_with_format(0, 0, &spec.title.fr, &title)
        .map_err(xlsx_err)?;
    ws.write_string_with_format(1, 0, &spec.title.en, &text)
        .map_err(xlsx_err)?;

    let lines = |v: &[String]| {
        if v.is_empty() {
            "aucune".to_string()
        } else {
            v.iter().map(|s| format!("• {s}")).collect::<Vec<_>>().join("\n")
        }
    };
    let mut entries: Vec<(&str, String)> = vec![
        ("Mart", spec.name.clone()),
        ("Résumé", spec.summary.fr.trim().to_string()),
        ("Summary", spec.summary.en.trim().to_string()),
        ("Grain", spec.grain.trim().to_string()),
        ("Définition", spec.definition.fr.trim().to_string()),
        ("Definition", spec.definition.en.trim().to_string()),
    ];
    for (what, v) in [
        ("Population", &spec.population),
        ("Numérateur", &spec.numerator),
        ("Dénominateur", &spec.denominator),
    ] {
        if let Some(v) = v {
            entries.push((what, v.trim().to_string()));
        }
    }
    entries.push(("Exclusions", lines(&spec.excluded)));
    entries.push(("Notes", lines(&spec.notes)));
    if !spec.parameters.is_empty() {
        let params: Vec<String> = spec
            .parameters
            .iter()
            .map(|(n, p)| format!("{n} = {}: {}", p.value.to_sql(), p.description.trim()))
            .collect();
        entries.push(("Paramètres", lines(&params)));
    }
    entries.extend([
        ("Publication", publication_label(spec.publication).to_string()),
        ("Petites cellules supprimées", e.suppression_fr()),
        ("Zone", e.zone_fr()),
        (
            "CSS",
            match &e.zone {
                Zone::Shared => "tous".to_string(),
                Zone::Css(c) => c.clone(),
            },
        ),
        ("Année scolaire", e.year.clone().unwrap_or_else(|| "toutes".to_string())),
        ("Lignes", e.rows.to_string()),
        ("Exécution des marts (run)", e.marts_run_id.clone()),
        ("Publiés le (UTC)", e.marts_published_at.clone()),
        ("Extrait le (UTC)", e.extracted_at.clone()),
    ]);

    let mut row: u32 = 3;
    for (what, value) in &entries {
        ws.write_string_with_format(row, 0, *what, &label).map_err(xlsx_err)?;
        ws.write_string_with_format(row, 1, value, &text).map_err(xlsx_err)?;
        row += 1;
    }
    row += 1;
    ws.write_string_with_format(row, 0, "Colonne", &label)
        .map_err(xlsx_err)?;
    ws.write_string_with_format(row, 1, "Description", &label)
        .map_err(xlsx_err)?;
    row += 1;
    for (name, description) in &e.columns {
        ws.write_string_with_format(row, 0, name, &text).map_err(xlsx_err)?;
        let d = description
            .as_deref()
            .unwrap_or("(non documentée dans la définition actuelle du mart)");
        ws.write_string_with_format(row, 1, d, &text).map_err(xlsx_err)?;
        row += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_sheet_names() {
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert!(parse_delimiter("ab").is_err());
        assert!(parse_delimiter("\"").is_err());
        assert_eq!(sheet_name("taux_reussite"), "taux_reussite");
        assert_eq!(sheet_name(&"x".repeat(40)).chars().count(), 31);
        assert_eq!(sheet_name("définition"), "définition_1");
        assert_eq!(
            ExportFormat::from_extension(Path::new("a/b.XLSX")),
            Some(ExportFormat::Xlsx)
        );
        assert_eq!(ExportFormat::from_extension(Path::new("b.txt")), None);
    }
}
