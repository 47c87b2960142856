//! Excel workbooks: a [`Workbook`] holds data sheets (Arrow batches as typed cells) and text
//! sheets (rows of text: a definition, a validation report, an extract's values as written).
//!
//! A data sheet types its cells so a person can sort, sum and filter without converting
//! anything: numbers as numbers, rates (`taux_*`, Socle's name for a fraction from 0 to 1) as
//! percentages, booleans, dates as dates (`yyyy-mm-dd`), times as date-times, the rest as text;
//! a bold frozen heading row with filters; widths from the headings and the values; and codes
//! (CSS, establishment, course) that look like numbers kept as text without Excel's green
//! triangles. The headings are the caller's: column names in a file for analysts, French
//! labels on the web server.

use crate::error::{ExportError, Result};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Float64Type, SchemaRef, TimeUnit, TimestampMicrosecondType};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, IgnoreError, Worksheet, XlsxError};
use std::io::Write;
use std::path::Path;

/// Rows of an Excel sheet, heading included.
pub const XLSX_MAX_ROWS: usize = 1_048_576;
/// Columns of an Excel sheet.
const XLSX_MAX_COLUMNS: usize = 16_384;
/// Characters of an Excel sheet name.
const SHEET_NAME_MAX: usize = 31;

/// An Excel sheet name for `name`: no `[]:*?/\`, no surrounding `'`, at most 31 characters,
/// and none of `reserved` (the names of the other sheets the caller adds; Excel compares them
/// without case): such a name gets `_1`.
pub fn sheet_name(name: &str, reserved: &[&str]) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(SHEET_NAME_MAX)
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    let lower = clean.to_lowercase();
    if clean.is_empty() || reserved.iter().any(|r| r.to_lowercase() == lower) {
        format!("{}_1", clean.chars().take(SHEET_NAME_MAX - 2).collect::<String>())
    } else {
        clean
    }
}

/// A workbook being built; [`Workbook::save`] writes it. Sheets appear in the order added.
pub struct Workbook {
    book: rust_xlsxwriter::Workbook,
}

impl Default for Workbook {
    fn default() -> Self {
        Self::new()
    }
}

impl Workbook {
    pub fn new() -> Self {
        Workbook {
            book: rust_xlsxwriter::Workbook::new(),
        }
    }

    /// Adds a data sheet and returns its writer: [`DataSheetWriter::write`] each batch, then
    /// [`DataSheetWriter::finish`].
    pub fn data_sheet(&mut self, sheet: DataSheet) -> Result<DataSheetWriter<'_>> {
        DataSheetWriter::new(self.book.add_worksheet(), sheet)
    }

    /// Adds a data sheet of collected batches; returns its rows.
    pub fn add_data_sheet(&mut self, sheet: DataSheet, batches: &[RecordBatch]) -> Result<usize> {
        let mut w = self.data_sheet(sheet)?;
        for b in batches {
            w.write(b)?;
        }
        w.finish()
    }

    /// Adds a sheet of text rows named `name` (used as is: it must be a valid sheet name) and
    /// returns its writer.
    pub fn text_sheet(&mut self, name: &str) -> Result<TextSheetWriter<'_>> {
        let ws = self.book.add_worksheet();
        ws.set_name(name)?;
        Ok(TextSheetWriter::new(ws))
    }

    /// Adds a sheet of text rows: `rows[i]` is the sheet's row `i` (an empty row is a blank
    /// line), `widths[c]` the width of column `c` in characters.
    pub fn add_text_sheet(&mut self, name: &str, widths: &[f64], rows: &[Vec<Cell<'_>>]) -> Result<()> {
        let mut w = self.text_sheet(name)?;
        w.set_column_widths(widths)?;
        for row in rows {
            w.write_row(row)?;
        }
        w.finish()
    }

    /// Writes the workbook to `sink` (a file, a buffer, a response body).
    pub fn save(mut self, sink: impl Write + Send) -> Result<()> {
        Ok(self.book.save_to_writer(sink)?)
    }

    /// Writes the workbook to a new file at `path` (replaced if it exists): for a file in a
    /// folder that is itself published atomically; otherwise write to an
    /// [`crate::AtomicFile`] with [`Workbook::save`].
    pub fn save_to_path(mut self, path: &Path) -> Result<()> {
        Ok(self.book.save(path)?)
    }
}

/// What a data sheet holds: its name and columns, and their headings.
pub struct DataSheet {
    name: String,
    schema: SchemaRef,
    headings: Vec<String>,
    percent: Vec<bool>,
}

impl DataSheet {
    /// A sheet named after `name` (made a valid sheet name by [`sheet_name`]) for rows of
    /// `schema`; the headings are the column names, and the columns named `taux_*` are shown
    /// as percentages.
    pub fn new(name: &str, schema: &SchemaRef) -> Self {
        DataSheet {
            name: sheet_name(name, &[]),
            schema: schema.clone(),
            headings: schema.fields().iter().map(|f| f.name().clone()).collect(),
            percent: schema.fields().iter().map(|f| f.name().starts_with("taux_")).collect(),
        }
    }

    /// Keeps the name clear of the other sheets' names (see [`sheet_name`]).
    pub fn avoiding(mut self, reserved: &[&str]) -> Self {
        self.name = sheet_name(&self.name, reserved);
        self
    }

    /// The headings of the columns, one per column in order (French labels, say).
    pub fn with_headings(mut self, headings: Vec<String>) -> Result<Self> {
        if headings.len() != self.schema.fields().len() {
            return Err(ExportError::Unsupported(format!(
                "{} headings for {} columns",
                headings.len(),
                self.schema.fields().len()
            )));
        }
        self.headings = headings;
        Ok(self)
    }

    /// The sheet's name as Excel will show it.
    pub fn name(&self) -> &str {
        &self.name
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

fn cell_kind(t: &DataType, percent: bool) -> CellKind {
    if t.is_integer() || t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        if percent { CellKind::Rate } else { CellKind::Number }
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

/// The formats of a data sheet (one each: Excel stores a format once however many cells use it).
struct DataFormats {
    rate: Format,
    date: Format,
    timestamp: Format,
}

/// A data sheet being written; see [`Workbook::data_sheet`].
pub struct DataSheetWriter<'a> {
    ws: &'a mut Worksheet,
    kinds: Vec<CellKind>,
    /// Width of each column in characters: the heading (plus the filter button), then the
    /// widest value.
    widths: Vec<usize>,
    formats: DataFormats,
    /// Rows written below the heading.
    rows: u32,
}

impl<'a> DataSheetWriter<'a> {
    fn new(ws: &'a mut Worksheet, sheet: DataSheet) -> Result<Self> {
        let columns = sheet.schema.fields().len();
        if columns > XLSX_MAX_COLUMNS {
            return Err(ExportError::Unsupported(format!(
                "{columns} columns do not fit in an Excel sheet ({XLSX_MAX_COLUMNS} at most)"
            )));
        }
        ws.set_name(sheet.name.as_str())?;
        let header = Format::new().set_bold();
        let kinds: Vec<CellKind> = sheet
            .schema
            .fields()
            .iter()
            .zip(&sheet.percent)
            .map(|(f, p)| cell_kind(f.data_type(), *p))
            .collect();
        let widths: Vec<usize> = sheet.headings.iter().map(|h| h.chars().count() + 3).collect();
        for (i, h) in sheet.headings.iter().enumerate() {
            ws.write_string_with_format(0, col_num(i)?, h, &header)?;
        }
        Ok(DataSheetWriter {
            ws,
            kinds,
            widths,
            formats: DataFormats {
                rate: Format::new().set_num_format("0.0%"),
                date: Format::new().set_num_format("yyyy-mm-dd"),
                timestamp: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
            },
            rows: 0,
        })
    }

    /// Writes the rows of `batch` below those already written.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_columns() != self.kinds.len() {
            return Err(ExportError::Unsupported(format!(
                "a batch of {} columns for a sheet of {}",
                batch.num_columns(),
                self.kinds.len()
            )));
        }
        let total = self.rows as usize + batch.num_rows();
        if total >= XLSX_MAX_ROWS {
            return Err(ExportError::Unsupported(format!(
                "{total} rows do not fit in an Excel sheet ({} at most)",
                XLSX_MAX_ROWS - 1
            )));
        }
        let ws = &mut *self.ws;
        let f = &self.formats;
        let row = self.rows;
        let options = FormatOptions::default();
        for (i, column) in batch.columns().iter().enumerate() {
            let col = col_num(i)?;
            let kind = self.kinds[i];
            let width = &mut self.widths[i];
            match kind {
                CellKind::Number | CellKind::Rate => {
                    let values = cast(column, &DataType::Float64)?;
                    let values = values.as_primitive::<Float64Type>();
                    for (r, v) in values.iter().enumerate() {
                        let Some(v) = v else { continue };
                        let cell_row = row + 1 + r as u32;
                        if kind == CellKind::Rate {
                            ws.write_number_with_format(cell_row, col, v, &f.rate)?;
                            *width = (*width).max(7);
                        } else {
                            ws.write_number(cell_row, col, v)?;
                            *width = (*width).max(number_width(v));
                        }
                    }
                }
                CellKind::Bool => {
                    for (r, v) in column.as_boolean().iter().enumerate() {
                        let Some(v) = v else { continue };
                        ws.write_boolean(row + 1 + r as u32, col, v)?;
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
                            Some(x) => ws.write_datetime_with_format(cell_row, col, &x, &f.date),
                            // Before 1900: Excel has no such date.
                            None => ws.write_string(cell_row, col, day.map(|d| d.to_string()).unwrap_or_default()),
                        }?;
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
                            Some(x) => ws.write_datetime_with_format(cell_row, col, &x, &f.timestamp),
                            None => ws.write_string(cell_row, col, at.map(|t| t.to_string()).unwrap_or_default()),
                        }?;
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
                        ws.write_string(row + 1 + r as u32, col, s)?;
                    }
                }
            }
        }
        self.rows += u32::try_from(batch.num_rows()).map_err(|_| too_many_rows())?;
        Ok(())
    }

    /// Sets the widths, the filters and the frozen heading; returns the rows written.
    pub fn finish(self) -> Result<usize> {
        let ws = self.ws;
        let rows = self.rows;
        for (i, w) in self.widths.iter().enumerate() {
            ws.set_column_width(col_num(i)?, (*w).clamp(6, 60) as f64)?;
        }
        // Codes (CSS, establishment, course) are text that looks like numbers: no green triangles.
        if rows > 0 {
            for (i, k) in self.kinds.iter().enumerate() {
                if matches!(k, CellKind::Text | CellKind::Other) {
                    let c = col_num(i)?;
                    ws.ignore_error_range(1, c, rows, c, IgnoreError::NumberStoredAsText)?;
                }
            }
        }
        if !self.kinds.is_empty() {
            let last_col = col_num(self.kinds.len() - 1)?;
            ws.set_freeze_panes(1, 0)?;
            ws.autofilter(0, 0, rows, last_col)?;
        }
        Ok(rows as usize)
    }
}

fn too_many_rows() -> ExportError {
    ExportError::Unsupported(format!(
        "too many rows for an Excel sheet ({} at most)",
        XLSX_MAX_ROWS - 1
    ))
}

fn col_num(i: usize) -> Result<u16> {
    u16::try_from(i)
        .ok()
        .filter(|c| usize::from(*c) < XLSX_MAX_COLUMNS)
        .ok_or_else(|| ExportError::Unsupported("too many columns for Excel".to_string()))
}

/// Characters Excel's General format needs for `v` (about 11 significant characters at most).
fn number_width(v: f64) -> usize {
    let s = v.to_string();
    s.chars().count().min(12) + 1
}

fn excel_date(d: chrono::NaiveDate) -> std::result::Result<ExcelDateTime, XlsxError> {
    use chrono::Datelike;
    let year = u16::try_from(d.year()).map_err(|_| XlsxError::DateTimeRangeError("year".into()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn excel_datetime(t: chrono::NaiveDateTime) -> std::result::Result<ExcelDateTime, XlsxError> {
    use chrono::Timelike;
    let seconds = f64::from(t.second()) + f64::from(t.nanosecond() % 1_000_000_000) / 1e9;
    excel_date(t.date())?.and_hms(t.hour() as u16, t.minute() as u8, seconds)
}

/// How a cell of a text sheet looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// Excel's default.
    Plain,
    /// Bold: headings.
    Bold,
    /// Bold, 14 points: a sheet's title.
    Title,
    /// Bold, at the top of its cell: the label beside a wrapped value.
    Label,
    /// Wrapped, at the top of its cell: long text (definitions, descriptions).
    Wrapped,
    /// Excel's text format (`@`): the value exactly as given, never read as a number or a date
    /// (`0042` stays `0042`).
    Literal,
}

/// A cell of a text sheet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// Nothing in this cell.
    Empty,
    Text(&'a str, Style),
    Number(f64, Style),
}

/// The formats of a text sheet, made once.
struct TextFormats {
    bold: Format,
    title: Format,
    label: Format,
    wrapped: Format,
    literal: Format,
}

impl TextFormats {
    fn new() -> Self {
        TextFormats {
            bold: Format::new().set_bold(),
            title: Format::new().set_bold().set_font_size(14),
            label: Format::new().set_bold().set_align(FormatAlign::Top),
            wrapped: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            literal: Format::new().set_num_format("@"),
        }
    }

    fn get(&self, style: Style) -> Option<&Format> {
        match style {
            Style::Plain => None,
            Style::Bold => Some(&self.bold),
            Style::Title => Some(&self.title),
            Style::Label => Some(&self.label),
            Style::Wrapped => Some(&self.wrapped),
            Style::Literal => Some(&self.literal),
        }
    }
}

/// A sheet of text rows being written, row after row; see [`Workbook::text_sheet`].
pub struct TextSheetWriter<'a> {
    ws: &'a mut Worksheet,
    formats: TextFormats,
    /// The next row to write.
    row: u32,
    /// The widest row written, in cells.
    columns: usize,
    freeze_heading: bool,
    literal_numbers: bool,
}

impl<'a> TextSheetWriter<'a> {
    fn new(ws: &'a mut Worksheet) -> Self {
        TextSheetWriter {
            ws,
            formats: TextFormats::new(),
            row: 0,
            columns: 0,
            freeze_heading: false,
            literal_numbers: false,
        }
    }

    /// Widths of the first columns, in characters.
    pub fn set_column_widths(&mut self, widths: &[f64]) -> Result<()> {
        for (c, w) in widths.iter().enumerate() {
            self.ws.set_column_width(col_num(c)?, *w)?;
        }
        Ok(())
    }

    /// The first row stays in view when scrolling (a table's heading).
    pub fn freeze_heading(&mut self) {
        self.freeze_heading = true;
    }

    /// Values below the first row that look like numbers are meant as text (codes, an
    /// extract's values as written): Excel does not flag them.
    pub fn numbers_as_text(&mut self) {
        self.literal_numbers = true;
    }

    /// Writes `cells` as the next row (none: a blank row).
    pub fn write_row(&mut self, cells: &[Cell<'_>]) -> Result<()> {
        if self.row as usize >= XLSX_MAX_ROWS {
            return Err(too_many_rows());
        }
        for (c, cell) in cells.iter().enumerate() {
            let col = col_num(c)?;
            let written = match *cell {
                Cell::Empty => continue,
                Cell::Text(s, style) => match self.formats.get(style) {
                    Some(f) => self.ws.write_string_with_format(self.row, col, s, f),
                    None => self.ws.write_string(self.row, col, s),
                },
                Cell::Number(v, style) => match self.formats.get(style) {
                    Some(f) => self.ws.write_number_with_format(self.row, col, v, f),
                    None => self.ws.write_number(self.row, col, v),
                },
            };
            written?;
        }
        self.columns = self.columns.max(cells.len());
        self.row += 1;
        Ok(())
    }

    /// Leaves `n` blank rows.
    pub fn skip_rows(&mut self, n: u32) {
        self.row += n;
    }

    /// Applies the frozen heading and the text-number setting.
    pub fn finish(self) -> Result<()> {
        if self.freeze_heading {
            self.ws.set_freeze_panes(1, 0)?;
        }
        if self.literal_numbers && self.row > 1 && self.columns > 0 {
            self.ws.ignore_error_range(
                1,
                0,
                self.row - 1,
                col_num(self.columns - 1)?,
                IgnoreError::NumberStoredAsText,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::io::Read;
    use std::sync::Arc;

    fn part(bytes: &[u8], name: &str) -> String {
        let mut zip = match zip::ZipArchive::new(std::io::Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => panic!("not a zip: {e}"),
        };
        let mut s = String::new();
        match zip.by_name(name) {
            Ok(mut f) => f
                .read_to_string(&mut s)
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{name}: {e}")),
            Err(e) => panic!("{name}: {e}"),
        }
        s
    }

    #[test]
    fn sheet_names_are_valid_and_clear_of_the_others() {
        assert_eq!(sheet_name("taux_reussite", &[]), "taux_reussite");
        assert_eq!(sheet_name(&"x".repeat(40), &[]).chars().count(), 31);
        assert_eq!(sheet_name("a/b:c", &[]), "a_b_c");
        assert_eq!(sheet_name("définition", &["Définition"]), "définition_1");
        assert_eq!(sheet_name("", &[]), "_1");
    }

    #[test]
    fn data_sheet_types_its_cells_under_the_callers_headings() -> Result<()> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("code_css", DataType::Utf8, true),
            Field::new("nb", DataType::Int64, true),
            Field::new("taux_reussite", DataType::Float64, true),
            Field::new("ok", DataType::Boolean, true),
            Field::new("le", DataType::Date32, true),
            Field::new("a", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec![Some("866000"), None])),
                Arc::new(Int64Array::from(vec![Some(42), Some(7)])),
                Arc::new(Float64Array::from(vec![Some(0.25), None])),
                Arc::new(BooleanArray::from(vec![Some(true), None])),
                // 2025-09-30, and a date before 1900 (Excel has none: written as text).
                Arc::new(Date32Array::from(vec![Some(20361), Some(-30000)])),
                Arc::new(TimestampMicrosecondArray::from(vec![Some(1_759_233_600_000_000), None])),
            ],
        )?;
        let headings: Vec<String> = ["Code du CSS", "Nombre", "Taux de réussite", "Oui", "Le", "À"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut book = Workbook::new();
        let mut w = book.data_sheet(DataSheet::new("taux/réussite", &schema).with_headings(headings)?)?;
        // Streamed: one row per batch.
        w.write(&batch.slice(0, 1))?;
        w.write(&batch.slice(1, 1))?;
        assert_eq!(w.finish()?, 2);
        let mut bytes = Vec::new();
        book.save(&mut bytes)?;

        let workbook = part(&bytes, "xl/workbook.xml");
        assert!(workbook.contains("name=\"taux_réussite\""), "{workbook}");
        let strings = part(&bytes, "xl/sharedStrings.xml");
        for s in ["Code du CSS", "Taux de réussite", "866000", "1887-11-12"] {
            assert!(strings.contains(s), "{s} not in {strings}");
        }
        assert!(!strings.contains("code_css"), "the headings replace the names");
        let sheet = part(&bytes, "xl/worksheets/sheet1.xml");
        // Numbers are numbers, the boolean a boolean, the date Excel's serial 45930.
        assert!(sheet.contains("<c r=\"B2\""), "{sheet}");
        assert!(sheet.contains("<v>42</v>") && sheet.contains("<v>7</v>"), "{sheet}");
        assert!(sheet.contains("<v>0.25</v>"), "{sheet}");
        assert!(sheet.contains("t=\"b\"><v>1</v>"), "{sheet}");
        assert!(sheet.contains("<v>45930</v>"), "{sheet}");
        assert!(sheet.contains("<v>45930.5</v>"), "{sheet}");
        assert!(
            sheet.contains("<pane ") && sheet.contains("<autoFilter ref=\"A1:F3\""),
            "{sheet}"
        );
        assert!(sheet.contains("numberStoredAsText=\"1\""), "{sheet}");
        let styles = part(&bytes, "xl/styles.xml");
        assert!(styles.contains("0.0%") && styles.contains("yyyy-mm-dd"), "{styles}");

        // More headings than columns is a caller's error, not a broken sheet.
        assert!(DataSheet::new("x", &schema).with_headings(vec!["a".into()]).is_err());
        Ok(())
    }

    #[test]
    fn text_sheets_hold_rows_of_text_beside_the_data() -> Result<()> {
        let mut book = Workbook::new();
        let mut w = book.text_sheet("Extrait")?;
        w.write_row(&[Cell::Text("code", Style::Bold), Cell::Text("nb", Style::Bold)])?;
        w.write_row(&[Cell::Text("0042", Style::Literal), Cell::Empty])?;
        w.freeze_heading();
        w.numbers_as_text();
        w.finish()?;
        book.add_text_sheet(
            "Validation",
            &[28.0, 40.0],
            &[
                vec![Cell::Text("Titre", Style::Title)],
                vec![],
                vec![Cell::Text("Règle", Style::Label), Cell::Text("requis", Style::Wrapped)],
                vec![Cell::Text("échecs", Style::Plain), Cell::Number(3.0, Style::Plain)],
            ],
        )?;
        let mut bytes = Vec::new();
        book.save(&mut bytes)?;
        let workbook = part(&bytes, "xl/workbook.xml");
        assert!(workbook.find("Extrait") < workbook.find("Validation"));
        let strings = part(&bytes, "xl/sharedStrings.xml");
        for s in ["code", "0042", "Titre", "Règle", "requis", "échecs"] {
            assert!(strings.contains(s), "{s} not in {strings}");
        }
        let extrait = part(&bytes, "xl/worksheets/sheet1.xml");
        assert!(
            extrait.contains("<pane ") && extrait.contains("sqref=\"A2:B2\""),
            "{extrait}"
        );
        let validation = part(&bytes, "xl/worksheets/sheet2.xml");
        // Row 2 is blank: rows 1, 3 and 4 only.
        assert!(
            validation.contains("<row r=\"1\"") && !validation.contains("<row r=\"2\""),
            "{validation}"
        );
        assert!(validation.contains("<v>3</v>"), "{validation}");
        assert!(
            validation.contains("<col min=\"1\" max=\"1\" width=\"28.7"),
            "{validation}"
        );
        let styles = part(&bytes, "xl/styles.xml");
        assert!(
            styles.contains("formatCode=\"@\"") && styles.contains("<sz val=\"14\"/>"),
            "{styles}"
        );
        Ok(())
    }
}
