//! Each field's values as the text the file holds, and the built-in rules checked on that text:
//! `required`, `domain`, `registry`, `max_length`, and what the layout cannot hold (a character
//! outside the encoding, a value wider than its fixed-width field, a delimiter in an unquoted
//! CSV value). A value is never cut nor replaced to fit: it fails, and nothing is written.

use crate::ExtractError;
use crate::spec::{DateFormat, Encoding, FieldSpec, FieldType, Layout, LayoutKind, Quoting, RegistryList, Sign};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Date32Type, Decimal128Type, Float64Type, Int64Type};
use socle_core::Registry;
use std::collections::BTreeSet;

/// A built-in rule a value failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueFailure {
    /// The rule: `required`, `domain`, `registry`, `max_length`, `integer`, `encoding`, `width`,
    /// `quoting`, `xml`.
    pub rule: &'static str,
    pub field: String,
    /// The line of the row in the file (1 = first data row).
    pub line: u64,
    /// Why, without the value (it may be personal).
    pub reason: String,
}

/// The codes of the ministry registry the `registry` rule checks against.
pub struct RegistryCodes {
    organismes: BTreeSet<String>,
    etablissements: BTreeSet<String>,
    cours: BTreeSet<String>,
}

impl RegistryCodes {
    pub fn embedded() -> Result<Self, ExtractError> {
        let r = Registry::embedded().map_err(|e| ExtractError::Other(format!("ministry registry: {e}")))?;
        Ok(RegistryCodes {
            organismes: r.organisations.keys().cloned().collect(),
            etablissements: r.establishments.keys().cloned().collect(),
            cours: r.courses.keys().cloned().collect(),
        })
    }
    fn contains(&self, list: RegistryList, code: &str) -> bool {
        match list {
            RegistryList::Organismes => self.organismes.contains(code),
            RegistryList::Etablissements => self.etablissements.contains(code),
            RegistryList::Cours => self.cours.contains(code),
        }
    }
}

/// The formatted values of every field (field-major: `values[field][row]`), and the failures.
pub struct Formatted {
    pub values: Vec<Vec<Option<String>>>,
    pub failures: Vec<ValueFailure>,
}

/// Formats every field of `batch` (the source rows, in file order) and checks the built-in rules.
pub fn format_fields(
    batch: &RecordBatch,
    fields: &[FieldSpec],
    layout: &Layout,
    registry: &RegistryCodes,
) -> Result<Formatted, ExtractError> {
    let mut values = Vec::with_capacity(fields.len());
    let mut failures = Vec::new();
    for f in fields {
        let column = batch
            .column_by_name(f.column())
            .ok_or_else(|| ExtractError::Definition {
                message: format!(
                    "field {}: the source has no column {} (columns: {})",
                    f.name,
                    f.column(),
                    batch
                        .schema()
                        .fields()
                        .iter()
                        .map(|x| x.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let texts = format_column(f, column, &mut failures)?;
        for (i, v) in texts.iter().enumerate() {
            check_value(f, v.as_deref(), i as u64 + 1, layout, registry, &mut failures);
        }
        values.push(texts);
    }
    Ok(Formatted { values, failures })
}

fn cast_to(f: &FieldSpec, column: &ArrayRef, to: &DataType) -> Result<ArrayRef, ExtractError> {
    cast(column, to).map_err(|e| ExtractError::Definition {
        message: format!(
            "field {} (type {:?}): its column {} is {}, which cannot be read as {to}: {e}",
            f.name,
            f.kind,
            f.column(),
            column.data_type()
        ),
    })
}

/// One column's values as text (null stays null).
fn format_column(
    f: &FieldSpec,
    column: &ArrayRef,
    failures: &mut Vec<ValueFailure>,
) -> Result<Vec<Option<String>>, ExtractError> {
    let n = column.len();
    let mut out = Vec::with_capacity(n);
    match f.kind {
        FieldType::Text => {
            let a = cast_to(f, column, &DataType::Utf8)?;
            let a = a.as_string::<i32>();
            for i in 0..n {
                out.push(a.is_valid(i).then(|| a.value(i).to_string()));
            }
        }
        FieldType::Boolean => {
            let a = cast_to(f, column, &DataType::Boolean)?;
            let a = a.as_boolean();
            let t = f.true_value.as_deref().unwrap_or("1");
            let fa = f.false_value.as_deref().unwrap_or("0");
            for i in 0..n {
                out.push(a.is_valid(i).then(|| if a.value(i) { t } else { fa }.to_string()));
            }
        }
        FieldType::Date => {
            let a = cast_to(f, column, &DataType::Date32)?;
            let a = a.as_primitive::<Date32Type>();
            let pattern = f.date_format.unwrap_or(DateFormat::Iso).chrono_pattern();
            for i in 0..n {
                out.push(if a.is_valid(i) {
                    a.value_as_date(i).map(|d| d.format(pattern).to_string())
                } else {
                    None
                });
            }
        }
        FieldType::Integer | FieldType::Decimal => {
            let decimals = match f.kind {
                FieldType::Integer => 0,
                _ => f.decimals.unwrap_or(2),
            };
            let exact = exact_numbers(f, column)?;
            for (i, v) in exact.into_iter().enumerate() {
                let Some((unscaled, scale)) = v else {
                    out.push(None);
                    continue;
                };
                if f.kind == FieldType::Integer && scale > 0 && unscaled % 10i128.pow(scale) != 0 {
                    failures.push(ValueFailure {
                        rule: "integer",
                        field: f.name.clone(),
                        line: i as u64 + 1,
                        reason: "the value has decimals; the field is an integer".into(),
                    });
                    out.push(None);
                    continue;
                }
                out.push(Some(number_text(f, rescale(unscaled, scale, decimals), decimals)));
            }
        }
    }
    Ok(out)
}

/// Each value as an exact decimal `(unscaled, scale)`. Integers and decimals are exact; a
/// floating-point value (a rate) is taken at 12 decimals, its nearest decimal.
fn exact_numbers(f: &FieldSpec, column: &ArrayRef) -> Result<Vec<Option<(i128, u32)>>, ExtractError> {
    let n = column.len();
    Ok(match column.data_type() {
        DataType::Decimal128(_, s) => {
            let a = column.as_primitive::<Decimal128Type>();
            let s = u32::try_from(*s).unwrap_or(0);
            (0..n).map(|i| a.is_valid(i).then(|| (a.value(i), s))).collect()
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let a = cast_to(f, column, &DataType::Float64)?;
            let a = a.as_primitive::<Float64Type>();
            (0..n)
                .map(|i| {
                    if !a.is_valid(i) || !a.value(i).is_finite() {
                        return None;
                    }
                    let text = format!("{:.12}", a.value(i));
                    let digits: String = text.chars().filter(|c| c.is_ascii_digit() || *c == '-').collect();
                    digits.parse::<i128>().ok().map(|v| (v, 12))
                })
                .collect()
        }
        _ => {
            let a = cast_to(f, column, &DataType::Int64)?;
            let a = a.as_primitive::<Int64Type>();
            (0..n)
                .map(|i| a.is_valid(i).then(|| (i128::from(a.value(i)), 0)))
                .collect()
        }
    })
}

/// `unscaled / 10^scale` at `decimals` digits, rounded half away from zero.
fn rescale(unscaled: i128, scale: u32, decimals: u32) -> i128 {
    if scale <= decimals {
        return unscaled * 10i128.pow(decimals - scale);
    }
    let div = 10i128.pow(scale - decimals);
    let (q, r) = (unscaled / div, unscaled % div);
    if r.abs() * 2 >= div { q + unscaled.signum() } else { q }
}

/// The text of a number `unscaled / 10^decimals`: sign, zero padding, decimal separator.
fn number_text(f: &FieldSpec, unscaled: i128, decimals: u32) -> String {
    let mut digits = unscaled.unsigned_abs().to_string();
    let d = decimals as usize;
    if d > 0 {
        if digits.len() <= d {
            digits = format!("{}{digits}", "0".repeat(d + 1 - digits.len()));
        }
        let sep = f.decimal_separator.as_deref().unwrap_or(".");
        digits.insert_str(digits.len() - d, sep);
    }
    let sign = match (unscaled < 0, f.sign.unwrap_or(Sign::Negative)) {
        (true, _) => "-",
        (false, Sign::Always) => "+",
        (false, Sign::Negative) => "",
    };
    if let Some(width) = f.zero_pad {
        let len = sign.len() + digits.len();
        if len < width {
            digits = format!("{}{digits}", "0".repeat(width - len));
        }
    }
    format!("{sign}{digits}")
}

/// The bytes of `s` in `encoding`, `None` if a character cannot be written in it.
pub fn encode(s: &str, encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => Some(s.as_bytes().to_vec()),
        Encoding::Windows1252 => {
            let (bytes, _, had_errors) = encoding_rs::WINDOWS_1252.encode(s);
            (!had_errors).then(|| bytes.into_owned())
        }
    }
}

/// Characters XML 1.0 cannot hold, even escaped.
fn xml_forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

fn check_value(
    f: &FieldSpec,
    v: Option<&str>,
    line: u64,
    layout: &Layout,
    registry: &RegistryCodes,
    failures: &mut Vec<ValueFailure>,
) {
    let mut fail = |rule: &'static str, reason: String| {
        failures.push(ValueFailure {
            rule,
            field: f.name.clone(),
            line,
            reason,
        })
    };
    let Some(v) = v else {
        if f.required {
            fail("required", "the value is missing (required)".into());
        }
        return;
    };
    if let Some(domain) = &f.domain
        && !domain.iter().any(|d| d == v)
    {
        fail(
            "domain",
            format!("not one of the allowed values ({})", domain.join(", ")),
        );
    }
    if let Some(list) = f.registry
        && !registry.contains(list, v)
    {
        fail("registry", format!("not a code of the ministry registry ({list:?})"));
    }
    let chars = v.chars().count();
    if let Some(max) = f.max_length
        && chars > max
    {
        fail("max_length", format!("{chars} characters, at most {max}"));
    }
    let Some(bytes) = encode(v, layout.encoding) else {
        fail(
            "encoding",
            format!("a character cannot be written in {}", layout.encoding.as_str()),
        );
        return;
    };
    match layout.kind {
        LayoutKind::FixedWidth => {
            if let Some(width) = f.width
                && bytes.len() > width
            {
                fail("width", format!("{} bytes, the field has {width}", bytes.len()));
            }
            if v.contains(['\r', '\n']) {
                fail("width", "a line end inside a fixed-width value".into());
            }
        }
        LayoutKind::Csv => {
            if layout.quoting.unwrap_or_default() == Quoting::Never {
                let delimiter = layout
                    .delimiter
                    .as_deref()
                    .and_then(crate::layout::delimiter_byte)
                    .unwrap_or(b';');
                if v.bytes()
                    .any(|b| b == delimiter || b == b'"' || b == b'\r' || b == b'\n')
                {
                    fail(
                        "quoting",
                        "the value holds the delimiter, a quote or a line end, and the layout never quotes".into(),
                    );
                }
            }
        }
        LayoutKind::Xml => {
            if v.chars().any(xml_forbidden) {
                fail("xml", "a control character XML cannot hold".into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldType) -> FieldSpec {
        FieldSpec {
            name: "x".into(),
            column: None,
            description: String::new(),
            kind,
            personal: socle_dictionary::PersonalClass::None,
            required: false,
            max_length: None,
            domain: None,
            registry: None,
            date_format: None,
            decimals: None,
            decimal_separator: None,
            zero_pad: None,
            sign: None,
            true_value: None,
            false_value: None,
            start: None,
            width: None,
            align: None,
        }
    }

    #[test]
    fn numbers_round_half_away_from_zero_and_pad_after_the_sign() {
        let mut f = field(FieldType::Decimal);
        f.decimal_separator = Some(",".into());
        assert_eq!(number_text(&f, rescale(12345, 3, 2), 2), "12,35");
        assert_eq!(number_text(&f, rescale(-12345, 3, 2), 2), "-12,35");
        assert_eq!(number_text(&f, rescale(5, 2, 2), 2), "0,05");
        f.zero_pad = Some(8);
        f.sign = Some(Sign::Always);
        assert_eq!(number_text(&f, rescale(1234, 2, 2), 2), "+0012,34");
        assert_eq!(number_text(&f, rescale(-1234, 2, 2), 2), "-0012,34");
        let mut i = field(FieldType::Integer);
        i.zero_pad = Some(3);
        assert_eq!(number_text(&i, 7, 0), "007");
        assert_eq!(number_text(&i, 12345, 0), "12345");
    }
}
