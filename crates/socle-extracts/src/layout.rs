//! The file of an extract in its layout (CSV, fixed width, XML), from the formatted values,
//! and the signer's XLSX copy with its validation sheet.

use crate::ExtractError;
use crate::format::encode;
use crate::spec::{Align, Encoding, FieldSpec, FieldType, Layout, LayoutKind, Quoting};
use rust_xlsxwriter::{Format, IgnoreError, Workbook};

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
    if layout.encoding == Encoding::Utf8Bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
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
    let delimiter = layout.delimiter.as_deref().and_then(delimiter_byte).unwrap_or(b';');
    let quote_style = match layout.quoting.unwrap_or_default() {
        Quoting::Necessary => csv::QuoteStyle::Necessary,
        Quoting::Always => csv::QuoteStyle::Always,
        Quoting::Never => csv::QuoteStyle::Never,
    };
    let terminator = match layout.line_end {
        crate::spec::LineEnd::Crlf => csv::Terminator::CRLF,
        crate::spec::LineEnd::Lf => csv::Terminator::Any(b'\n'),
    };
    let mut w = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .quote_style(quote_style)
        .terminator(terminator)
        .from_writer(Vec::new());
    let err = |e: csv::Error| ExtractError::Other(format!("writing CSV: {e}"));
    if layout.header.unwrap_or(true) {
        w.write_record(fields.iter().map(|f| f.name.as_str())).map_err(err)?;
    }
    for r in 0..rows {
        w.write_record(values.iter().map(|col| col[r].as_deref().unwrap_or("")))
            .map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ExtractError::Other(format!("writing CSV: {e}")))?;
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
    let err = |e: rust_xlsxwriter::XlsxError| ExtractError::Other(format!("writing {}: {e}", path.display()));
    let rows = values.first().map_or(0, Vec::len);
    if rows + 1 > 1_048_576 {
        return Err(ExtractError::Other(format!(
            "{rows} rows do not fit in an Excel sheet: the signer's copy is not written"
        )));
    }
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let text = Format::new().set_num_format("@");
    let sheet = wb.add_worksheet().set_name("Extrait").map_err(err)?;
    for (c, (f, column)) in fields.iter().zip(values).enumerate() {
        let c = u16::try_from(c).map_err(|_| ExtractError::Other("too many fields for Excel".into()))?;
        sheet.write_string_with_format(0, c, &f.name, &bold).map_err(err)?;
        for (r, v) in column.iter().enumerate() {
            if let Some(v) = v {
                sheet.write_string_with_format(r as u32 + 1, c, v, &text).map_err(err)?;
            }
        }
        sheet
            .set_column_width(c, (f.name.chars().count().max(10) + 2) as f64)
            .map_err(err)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(err)?;
    if rows > 0 && !fields.is_empty() {
        sheet
            .ignore_error_range(
                1,
                0,
                rows as u32,
                fields.len() as u16 - 1,
                IgnoreError::NumberStoredAsText,
            )
            .map_err(err)?;
    }
    let v = wb.add_worksheet().set_name("Validation").map_err(err)?;
    v.write_string_with_format(0, 0, info.title, &bold).map_err(err)?;
    let mut r = 2u32;
    for (label, value) in &info.about {
        v.write_string_with_format(r, 0, label, &bold).map_err(err)?;
        v.write_string(r, 1, value).map_err(err)?;
        r += 1;
    }
    r += 1;
    for (c, h) in ["Règle", "Type", "Description", "Lignes en échec"].iter().enumerate() {
        v.write_string_with_format(r, c as u16, *h, &bold).map_err(err)?;
    }
    for (name, kind, description, failures) in &info.rules {
        r += 1;
        v.write_string(r, 0, name).map_err(err)?;
        v.write_string(r, 1, kind).map_err(err)?;
        v.write_string(r, 2, description).map_err(err)?;
        v.write_number(r, 3, *failures as f64).map_err(err)?;
    }
    v.set_column_width(0, 28).map_err(err)?;
    v.set_column_width(1, 40).map_err(err)?;
    v.set_column_width(2, 80).map_err(err)?;
    wb.save(path).map_err(err)
}
