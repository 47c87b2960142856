//! The YAML description of an extract: `pipelines/extracts/<name>.yaml`.
//!
//! An extract is declared, not coded: where its rows come from, the file layout, each field's
//! type and format, and the rules the rows must pass before anything is written. Switching to
//! another layout (the ministry's own, once published in a usable form) is an edit of this file.

use serde::Deserialize;
use socle_dictionary::PersonalClass;
use socle_marts::Text;

/// One extract, as written in its YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSpec {
    /// The file's stem; `[a-z0-9_]+`.
    pub name: String,
    /// The version of the layout, written in every manifest: bump it when the layout changes.
    pub version: String,
    /// Short French title, for `socle extracts list` and the XLSX.
    pub title: String,
    /// What the extract declares, in words.
    pub definition: Text,
    /// Where its rows come from.
    pub source: ExtractSource,
    /// The zone the source is read in.
    pub zone: ExtractZone,
    /// What one row is, in words.
    pub grain: String,
    /// The fields (by `name`) that identify a row: unique (a built-in rule) and the key of the
    /// diff against the last submitted version. Rows are written sorted by it.
    pub key: Vec<String>,
    /// The source column of the school year the extract is built for (default `annee_scolaire`).
    #[serde(default = "default_year_column")]
    pub year_column: String,
    /// The file name, with placeholders `{extrait}`, `{code_css}` (css zone only) and `{annee}`
    /// (the school year, `2024-2025`).
    pub file: String,
    pub layout: Layout,
    pub fields: Vec<FieldSpec>,
    /// Per-row rules: SQL boolean expressions over the source columns; a row fails when the
    /// expression is false or null.
    #[serde(default)]
    pub row_rules: Vec<RowRule>,
    /// Set rules: SQL queries over the table `extrait` (the source rows of the unit, with their
    /// line number `ligne`) and the zone's tables, returning the failing rows (none = pass).
    #[serde(default)]
    pub set_rules: Vec<SetRule>,
    /// Notes (where the layout comes from, what is not covered).
    #[serde(default)]
    pub notes: Vec<String>,
}

fn default_year_column() -> String {
    "annee_scolaire".to_string()
}

/// The source of an extract's rows.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExtractSource {
    /// A mart, as published in the zone (the CSS's exact counts, or the shared zone's suppressed
    /// cells).
    Mart(String),
    /// An intermediate model of `pipelines/intermediate/`, its rows of the zone.
    Intermediate(String),
    /// An SQL file beside the YAML, run in the zone's session (tables, marts, intermediate
    /// models, seeds and reference tables).
    Sql(String),
}

/// The zone an extract reads, which decides its units.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExtractZone {
    /// A CSS's own zone: one unit per CSS and year; may hold personal fields (a declaration by
    /// code permanent), which stay in the CSS's files with mode 0600.
    Css,
    /// The shared zone: one unit per year for the province (`province`); never a personal field.
    Shared,
}

impl ExtractZone {
    pub fn as_str(self) -> &'static str {
        match self {
            ExtractZone::Css => "css",
            ExtractZone::Shared => "shared",
        }
    }
}

/// File layout. Which keys apply depends on `kind` (checked when loading).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub kind: LayoutKind,
    /// Character encoding of the file (default UTF-8).
    #[serde(default)]
    pub encoding: Encoding,
    /// Line end (default CRLF, what the ministry's Windows tools expect).
    #[serde(default)]
    pub line_end: LineEnd,
    /// CSV: the field delimiter, one ASCII character (`tab` for a tab; default `;`).
    pub delimiter: Option<String>,
    /// CSV: a header row with the field names (default true).
    pub header: Option<bool>,
    /// CSV: when values are quoted (default `necessary`).
    pub quoting: Option<Quoting>,
    /// XML: the root element's name.
    pub root: Option<String>,
    /// XML: the element of one row (its children are the fields, named by `name`).
    pub record: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LayoutKind {
    Csv,
    FixedWidth,
    Xml,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// UTF-8 with a byte order mark (what Excel needs to read accents in a CSV).
    #[serde(rename = "utf-8-bom")]
    Utf8Bom,
    /// Windows-1252 (Latin-1 and the Windows extras): a value with a character it cannot hold
    /// fails validation, never written as `?`.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Windows1252 => "windows-1252",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum LineEnd {
    #[default]
    Crlf,
    Lf,
}

impl LineEnd {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            LineEnd::Crlf => b"\r\n",
            LineEnd::Lf => b"\n",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Quoting {
    /// Quote a value only when it holds the delimiter, a quote or a line end (RFC 4180).
    #[default]
    Necessary,
    /// Quote every value.
    Always,
    /// Never quote: a value holding the delimiter, a quote or a line end fails validation.
    Never,
}

/// One field of the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// The field's name in the file (CSV header, XML element, XLSX heading).
    pub name: String,
    /// The source column (default: `name`).
    pub column: Option<String>,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Personal-data class (Law 25), as in the data dictionary (default `none`). Never-shared
    /// classes are refused in a shared-zone extract; any class but `none` writes the files with
    /// mode 0600 and keeps the field's values out of reports (rows are named by line).
    #[serde(default = "no_personal")]
    pub personal: PersonalClass,
    /// A null value fails validation.
    #[serde(default)]
    pub required: bool,
    /// Longest value, in characters (after formatting). A longer value fails: never truncated.
    pub max_length: Option<usize>,
    /// The allowed values (after formatting).
    pub domain: Option<Vec<String>>,
    /// The value must be a code of this ministry registry list.
    pub registry: Option<RegistryList>,
    /// Dates: `YYYY-MM-DD` (default), `YYYYMMDD` or `DD/MM/YYYY`.
    pub date_format: Option<DateFormat>,
    /// Decimals: digits after the separator (default 2); a value with more is rounded half away
    /// from zero.
    pub decimals: Option<u32>,
    /// Decimals: `.` (default) or `,`.
    pub decimal_separator: Option<String>,
    /// Numbers: padded on the left with zeros to this many characters, sign included (the sign
    /// stays first). A longer number is not cut.
    pub zero_pad: Option<usize>,
    /// Numbers: `negative` (default: a minus sign on negative values only) or `always` (`+` or
    /// `-`).
    pub sign: Option<Sign>,
    /// Booleans: the text of true and false (default `1` and `0`).
    pub true_value: Option<String>,
    pub false_value: Option<String>,
    /// Fixed width: the field's first byte (from 1) and its width in bytes of the file's
    /// encoding (an accent is two bytes in UTF-8, one in Windows-1252).
    pub start: Option<usize>,
    pub width: Option<usize>,
    /// Fixed width: `left` (default for text, dates, booleans) or `right` (default for numbers);
    /// the rest of the width is spaces.
    pub align: Option<Align>,
}

fn no_personal() -> PersonalClass {
    PersonalClass::None
}

impl FieldSpec {
    /// The source column the field reads.
    pub fn column(&self) -> &str {
        self.column.as_deref().unwrap_or(&self.name)
    }
    /// Whether the field holds personal information (any class but `none`).
    pub fn is_personal(&self) -> bool {
        self.personal != PersonalClass::None
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Date,
    Boolean,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum DateFormat {
    #[serde(rename = "YYYY-MM-DD")]
    Iso,
    #[serde(rename = "YYYYMMDD")]
    Compact,
    #[serde(rename = "DD/MM/YYYY")]
    DayFirst,
}

impl DateFormat {
    pub fn chrono_pattern(self) -> &'static str {
        match self {
            DateFormat::Iso => "%Y-%m-%d",
            DateFormat::Compact => "%Y%m%d",
            DateFormat::DayFirst => "%d/%m/%Y",
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    Negative,
    Always,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    Left,
    Right,
}

/// Lists of the ministry registry a code may be checked against.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RegistryList {
    /// CSS and school boards (`ref_organismes`).
    Organismes,
    /// Establishments (`ref_etablissements`).
    Etablissements,
    /// Courses (`ref_cours`).
    Cours,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RowRule {
    pub name: String,
    pub description: String,
    /// SQL boolean expression over the source columns; false or null fails the row.
    pub sql: String,
    /// The field the rule is about, named in the report.
    pub field: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRule {
    pub name: String,
    pub description: String,
    /// SQL returning the failing rows (none = the rule passes). A `ligne` column names the
    /// lines in the report.
    pub sql: String,
}
