//! The file of an extract in its layout (CSV, fixed width, XML), from the formatted values,
//! and the signer's XLSX copy with its validation sheet. What each holds is decided here; the
//! CSV and XLSX bytes are written by `socle-export`, Socle's one writer of each format.

use crate::ExtractError;
use crate::format::encode;
use crate::spec::{Align, Encoding, FieldSpec, FieldType, Layout, LayoutKind, Quoting};
use socle_export::{Cell, CsvOptions, ExportError, LineEnd, Style, TextCsvWriter, Workbook};

/// The byte of a CSV delimiter: one ASCII punctuation character or a space, or `tab`.
pub fn delimiter_byte(s: &str) -> Option<u8> {
    if s == "tab" || s == "\t" {
        return Some(b'\t');
    }
    match s.as_bytes() {
        [b] if b.is_ascii() && (b.is_ascii_punctuation() || *b == b' ') && !matches!(b, b'"') => Some(*b),
        _ => None,
    }
}

/// The file's bytes. `values[field][row]`.
pub fn render(layout: &Layout, fields: &[FieldSpec], values: &[Vec<Option<String>>]) -> Result<Vec<u8>, ExtractError> {
    let rows = values.first().map_or(0, Vec::len);
    let utf8 = match layout.kind {
        LayoutKind::Csv => csv_text(layout, fields, values, rows)?,
        LayoutKind::Xml => xml_text(layout, fields, values, rows),
        LayoutKind::FixedWidth => return fixed_width(layout, fields, values, rows),
    };
    let mut out = Vec::with_capacity(utf8.len() + 3);
    // The BOM is the encoding's (`utf-8-bom`), whatever the layout: before the encoded bytes.
    if layout.encoding == Encoding::Utf8Bom {
        out.extend_from_slice(socle_export::csv::BOM);
    }
    let bytes = encode(&utf8, layout.encoding).ok_or_else(|| ExtractError::Definition {
        message: format!(
            "a field name or element name cannot be written in {}",
            layout.encoding.as_str()
        ),
    })?;
    out.extend_from_slice(&bytes);
    Ok(out)
}

fn csv_text(
    layout: &Layout,
    fields: &[FieldSpec],
    values: &[Vec<Option<String>>],
    rows: usize,
) -> Result<String, ExtractError> {
    let options = CsvOptions {
        header: layout.header.unwrap_or(true),
        // Written by `render`, for every layout of a `utf-8-bom` extract.
        bom: false,
        delimiter: layout.delimiter.as_deref().and_then(delimiter_byte).unwrap_or(b';'),
        line_end: match layout.line_end {
            crate::spec::LineEnd::Crlf => LineEnd::Crlf,
            crate::spec::LineEnd::Lf => LineEnd::Lf,
        },
        quoting: match layout.quoting.unwrap_or_default() {
            Quoting::Necessary => socle_export::Quoting::Necessary,
            Quoting::Always => socle_export::Quoting::Always,
            Quoting::Never => socle_export::Quoting::Never,
        },
    };
    let err = |e: ExportError| ExtractError::Other(format!("writing CSV: {e}"));
    let headings = fields.iter().map(|f| f.name.as_str());
    let mut w = TextCsvWriter::new(Vec::new(), headings, &options).map_err(err)?;
    for r in 0..rows {
        w.write_record(values.iter().map(|col| col[r].as_deref().unwrap_or("")))
            .map_err(err)?;
    }
    let bytes = w.finish().map_err(err)?;
    String::from_utf8(bytes).map_err(|e| ExtractError::Other(format!("writing CSV: {e}")))
}

fn xml_text(layout: &Layout, fields: &[FieldSpec], values: &[Vec<Option<String>>], rows: usize) -> String {
    let nl = match layout.line_end {
        crate::spec::LineEnd::Crlf => "\r\n",
        crate::spec::LineEnd::Lf => "\n",
    };
    let encoding = match layout.encoding {
        Encoding::Windows1252 => "windows-1252",
        Encoding::Utf8 | Encoding::Utf8Bom => "UTF-8",
    };
    let root = layout.root.as_deref().unwrap_or("extrait");
    let record = layout.record.as_deref().unwrap_or("ligne");
    let mut s = format!("<?xml version=\"1.0\" encoding=\"{encoding}\"?>{nl}<{root}>{nl}");
    for r in 0..rows {
        s.push_str(&format!("  <{record}>{nl}"));
        for (f, col) in fields.iter().zip(values) {
            // A null value has no element: "absent" is how XML says it.
            if let Some(v) = &col[r] {
                s.push_str(&format!(
                    "    <{n}>{v}</{n}>{nl}",
                    n = f.name,
                    v = quick_xml::escape::escape(v.as_str())
                ));
            }
        }
        s.push_str(&format!("  </{record}>{nl}"));
    }
    s.push_str(&format!("</{root}>{nl}"));
    s
}

fn fixed_width(
    layout: &Layout,
    fields: &[FieldSpec],
    values: &[Vec<Option<String>>],
    rows: usize,
) -> Result<Vec<u8>, ExtractError> {
    let line_len = fields
        .iter()
        .filter_map(|f| Some(f.start? + f.width? - 1))
        .max()
        .unwrap_or(0);
    let mut out = Vec::with_capacity(rows * (line_len + 2));
    for r in 0..rows {
        let mut line = vec![b' '; line_len];
        for (f, col) in fields.iter().zip(values) {
            let (Some(start), Some(width), Some(v)) = (f.start, f.width, &col[r]) else {
                continue;
            };
            let bytes = encode(v, layout.encoding).ok_or_else(|| {
                ExtractError::Other(format!(
                    "field {}: a value cannot be written in {} (validation should have refused it)",
                    f.name,
                    layout.encoding.as_str()
                ))
            })?;
            if bytes.len() > width {
                return Err(ExtractError::Other(format!(
                    "field {}: a value is wider than the field (validation should have refused it)",
                    f.name
                )));
            }
            let numeric = matches!(f.kind, FieldType::Integer | FieldType::Decimal);
            let align = f.align.unwrap_or(if numeric { Align::Right } else { Align::Left });
            let at = match align {
                Align::Left => start - 1,
                Align::Right => start - 1 + width - bytes.len(),
            };
            line[at..at + bytes.len()].copy_from_slice(&bytes);
        }
        out.extend_from_slice(&line);
        out.extend_from_slice(layout.line_end.bytes());
    }
    Ok(out)
}

/// What the signer's copy says beside the rows.
pub struct XlsxInfo<'a> {
    pub title: &'a str,
    /// (label, value) lines: extract, version, CSS, year, runs, file, SHA-256, rows...
    pub about: Vec<(String, String)>,
    /// (rule, kind, description, failures).
    pub rules: Vec<(String, String, String, u64)>,
}

/// The signer's copy: sheet `Extrait` with the rows exactly as the file holds them (text), sheet
/// `Validation` with what was checked and the file's fingerprint.
pub fn write_xlsx(
    path: &std::path::Path,
    fields: &[FieldSpec],
    values: &[Vec<Option<String>>],
    info: &XlsxInfo<'_>,
) -> Result<(), ExtractError> {
    let rows = values.first().map_or(0, Vec::len);
    if rows + 1 > socle_export::XLSX_MAX_ROWS {
        return Err(ExtractError::Other(format!(
            "{rows} rows do not fit in an Excel sheet: the signer's copy is not written"
        )));
    }
    signer_copy(path, fields, values, rows, info)
        .map_err(|e| ExtractError::Other(format!("writing {}: {e}", path.display())))
}

fn signer_copy(
    path: &std::path::Path,
    fields: &[FieldSpec],
    values: &[Vec<Option<String>>],
    rows: usize,
    info: &XlsxInfo<'_>,
) -> socle_export::Result<()> {
    let mut book = Workbook::new();
    let mut sheet = book.text_sheet("Extrait")?;
    let widths: Vec<f64> = fields
        .iter()
        .map(|f| (f.name.chars().count().max(10) + 2) as f64)
        .collect();
    sheet.set_column_widths(&widths)?;
    let heading: Vec<Cell> = fields.iter().map(|f| Cell::Text(&f.name, Style::Bold)).collect();
    sheet.write_row(&heading)?;
    // The values as the file holds them (`0042` stays `0042`), in Excel's text format.
    let mut cells: Vec<Cell> = Vec::with_capacity(fields.len());
    for r in 0..rows {
        cells.clear();
        cells.extend(
            values
                .iter()
                .take(fields.len())
                .map(|column| match column.get(r).and_then(Option::as_deref) {
                    Some(v) => Cell::Text(v, Style::Literal),
                    None => Cell::Empty,
                }),
        );
        sheet.write_row(&cells)?;
    }
    sheet.freeze_heading();
    sheet.numbers_as_text();
    sheet.finish()?;

    let mut v = book.text_sheet("Validation")?;
    v.set_column_widths(&[28.0, 40.0, 80.0])?;
    v.write_row(&[Cell::Text(info.title, Style::Bold)])?;
    v.skip_rows(1);
    for (label, value) in &info.about {
        v.write_row(&[Cell::Text(label, Style::Bold), Cell::Text(value, Style::Plain)])?;
    }
    v.skip_rows(1);
    let heading = ["Règle", "Type", "Description", "Lignes en échec"].map(|h| Cell::Text(h, Style::Bold));
    v.write_row(&heading)?;
    for (name, kind, description, failures) in &info.rules {
        v.write_row(&[
            Cell::Text(name, Style::Plain),
            Cell::Text(kind, Style::Plain),
            Cell::Text(description, Style::Plain),
            Cell::Number(*failures as f64, Style::Plain),
        ])?;
    }
    v.finish()?;
    book.save_to_path(path)
}
