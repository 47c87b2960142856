//! Loading `pipelines/extracts/*.yaml` and the checks that need no data: names, placeholders,
//! layout keys, fixed-width positions, formats that fit the type, personal fields in the zone.

use crate::spec::{ExtractSource, ExtractSpec, ExtractZone, FieldType, LayoutKind};
use socle_dictionary::PersonalClass;
use socle_marts::Problem;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The folder of the extracts in a pipelines folder.
pub const EXTRACTS_DIR: &str = "extracts";

/// An extract: its YAML and, for an SQL source, the SQL text.
#[derive(Debug, Clone)]
pub struct Extract {
    pub spec: ExtractSpec,
    pub yaml_path: PathBuf,
    /// The source query: `SELECT * FROM <mart or model>`, or the SQL file's text.
    pub source_sql: String,
}

impl Extract {
    /// Whether a file of this extract holds a field of a never-shared class (a code permanent,
    /// a name, a birth date): such files stay in the CSS's zone.
    pub fn holds_identifying_data(&self) -> bool {
        self.spec.fields.iter().any(|f| !f.personal.allowed_in_shared_zone())
    }
    /// Whether any field is personal information (pseudonymous keys included): files with mode
    /// 0600, values kept out of reports.
    pub fn holds_personal_data(&self) -> bool {
        self.spec.fields.iter().any(|f| f.is_personal())
    }
}

fn problem(file: &Path, path: &str, message: impl Into<String>) -> Problem {
    Problem {
        file: file.to_path_buf(),
        path: path.to_string(),
        message: message.into(),
    }
}

/// Loads every extract of `<pipelines>/extracts/` (none if the folder does not exist). Problems
/// come back beside what loaded; an extract with a problem is not returned.
///
/// `personal_columns`: the columns the data dictionary classes as personal ([`personal_columns`]);
/// a field reading one must declare its class.
pub fn load(pipelines: &Path, personal_columns: &BTreeSet<String>) -> std::io::Result<(Vec<Extract>, Vec<Problem>)> {
    let dir = pipelines.join(EXTRACTS_DIR);
    let mut extracts = Vec::new();
    let mut problems = Vec::new();
    if !dir.is_dir() {
        return Ok((extracts, problems));
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path)?;
        let spec: ExtractSpec = match serde_saphyr::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                problems.push(problem(&path, "", e.to_string()));
                continue;
            }
        };
        let before = problems.len();
        validate(&spec, &path, personal_columns, &mut problems);
        let source_sql = match &spec.source {
            ExtractSource::Mart(name) | ExtractSource::Intermediate(name) => {
                if !is_name(name) {
                    problems.push(problem(&path, "source", format!("{name:?} is not a model name")));
                }
                format!("SELECT * FROM {name}")
            }
            ExtractSource::Sql(file) => {
                let sql_path = dir.join(file);
                if Path::new(file).components().count() != 1 {
                    problems.push(problem(&path, "source.sql", "a file name beside the YAML, no folder"));
                    String::new()
                } else {
                    match std::fs::read_to_string(&sql_path) {
                        Ok(s) => s,
                        Err(e) => {
                            problems.push(problem(
                                &path,
                                "source.sql",
                                format!("cannot read {}: {e}", sql_path.display()),
                            ));
                            String::new()
                        }
                    }
                }
            }
        };
        if problems.len() == before {
            extracts.push(Extract {
                spec,
                yaml_path: path,
                source_sql,
            });
        }
    }
    let mut seen = BTreeSet::new();
    for e in &extracts {
        if !seen.insert(e.spec.name.clone()) {
            problems.push(problem(
                &e.yaml_path,
                "name",
                format!("two extracts are named {}", e.spec.name),
            ));
        }
    }
    Ok((extracts, problems))
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// An XML element name we accept: a letter or `_`, then letters, digits, `_`, `-`, `.`.
fn is_xml_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !s.to_ascii_lowercase().starts_with("xml")
}

/// The checks of one extract's YAML that need no session.
pub fn validate(spec: &ExtractSpec, path: &Path, personal_columns: &BTreeSet<String>, problems: &mut Vec<Problem>) {
    let mut p = |at: &str, m: String| problems.push(problem(path, at, m));
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if spec.name != stem {
        p("name", format!("name {:?} must match the file name {stem}", spec.name));
    }
    if !is_name(&spec.name) {
        p("name", "lowercase letters, digits and _ only".into());
    }
    if spec.version.trim().is_empty() {
        p("version", "a version is required (written in every manifest)".into());
    }
    if spec.fields.is_empty() {
        p("fields", "an extract needs at least one field".into());
    }
    // File name placeholders.
    let mut rest = spec.file.as_str();
    let mut placeholders = Vec::new();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            p("file", "an unclosed `{`".into());
            break;
        };
        placeholders.push(rest[open + 1..open + close].to_string());
        rest = &rest[open + close + 1..];
    }
    for ph in &placeholders {
        match ph.as_str() {
            "extrait" | "annee" => {}
            "code_css" if spec.zone == ExtractZone::Css => {}
            "code_css" => p(
                "file",
                "{code_css} in a shared-zone extract: its file is one for the province".into(),
            ),
            other => p(
                "file",
                format!("unknown placeholder {{{other}}}: {{extrait}}, {{code_css}} or {{annee}}"),
            ),
        }
    }
    if spec.zone == ExtractZone::Css && !placeholders.iter().any(|x| x == "code_css") {
        p("file", "a CSS-zone extract's file name needs {code_css}".into());
    }
    if !placeholders.iter().any(|x| x == "annee") {
        p("file", "the file name needs {annee}".into());
    }
    if spec.file.contains('/') || spec.file.contains('\\') || spec.file.starts_with('.') {
        p("file", "a file name, without folder".into());
    }
    if spec.file.to_ascii_lowercase().ends_with(".xlsx") {
        p(
            "file",
            ".xlsx is the signer's copy written beside the file: name the file for its layout".into(),
        );
    }

    // Fields.
    let mut names = BTreeSet::new();
    for (i, f) in spec.fields.iter().enumerate() {
        let at = format!("fields[{i}] ({})", f.name);
        let at = at.as_str();
        if !names.insert(f.name.as_str()) {
            p(at, "two fields have this name".into());
        }
        if spec.layout.kind == LayoutKind::Xml && !is_xml_name(&f.name) {
            p(at, "not a valid XML element name".into());
        }
        if spec.zone == ExtractZone::Shared && !f.personal.allowed_in_shared_zone() {
            p(
                at,
                format!(
                    "personal class {} never reaches the shared zone: read it in a CSS zone (zone: css)",
                    f.personal.as_str()
                ),
            );
        }
        let numeric = matches!(f.kind, FieldType::Integer | FieldType::Decimal);
        if f.date_format.is_some() && f.kind != FieldType::Date {
            p(at, "date_format applies to type date only".into());
        }
        if (f.decimals.is_some() || f.decimal_separator.is_some()) && f.kind != FieldType::Decimal {
            p(at, "decimals and decimal_separator apply to type decimal only".into());
        }
        if let Some(sep) = &f.decimal_separator
            && sep != "."
            && sep != ","
        {
            p(at, "decimal_separator is `.` or `,`".into());
        }
        if (f.zero_pad.is_some() || f.sign.is_some()) && !numeric {
            p(at, "zero_pad and sign apply to numbers (integer, decimal) only".into());
        }
        if (f.true_value.is_some() || f.false_value.is_some()) && f.kind != FieldType::Boolean {
            p(at, "true_value and false_value apply to type boolean only".into());
        }
        if f.true_value.is_some() && f.true_value == f.false_value {
            p(at, "true_value and false_value must differ".into());
        }
        match spec.layout.kind {
            LayoutKind::FixedWidth => match (f.start, f.width) {
                (Some(s), Some(w)) if s >= 1 && w >= 1 => {}
                _ => p(
                    at,
                    "fixed width: start (from 1) and width (bytes, 1 or more) are required".into(),
                ),
            },
            _ => {
                if f.start.is_some() || f.width.is_some() || f.align.is_some() {
                    p(at, "start, width and align apply to the fixed_width layout only".into());
                }
            }
        }
        if f.personal == PersonalClass::None && personal_columns.contains(f.column()) {
            p(
                at,
                format!(
                    "column {} is personal information: declare its class (personal: ...)",
                    f.column()
                ),
            );
        }
    }
    for k in &spec.key {
        if !names.contains(k.as_str()) {
            p("key", format!("{k} is not a field of the extract"));
        }
    }
    if spec.key.is_empty() {
        p("key", "the key (the fields that identify a row) is required".into());
    }
    if spec.layout.kind == LayoutKind::FixedWidth {
        let mut spans: Vec<(usize, usize, &str)> = spec
            .fields
            .iter()
            .filter_map(|f| Some((f.start?, f.start? + f.width? - 1, f.name.as_str())))
            .collect();
        spans.sort();
        for w in spans.windows(2) {
            if w[1].0 <= w[0].1 {
                p(
                    "fields",
                    format!(
                        "fixed width: {} (bytes {}-{}) overlaps {}",
                        w[1].2, w[1].0, w[1].1, w[0].2
                    ),
                );
            }
        }
    }

    // Layout keys.
    let l = &spec.layout;
    let csv_only = l.delimiter.is_some() || l.header.is_some() || l.quoting.is_some();
    let xml_only = l.root.is_some() || l.record.is_some();
    match l.kind {
        LayoutKind::Csv => {
            if xml_only {
                p("layout", "root and record apply to the xml layout only".into());
            }
            if let Some(d) = &l.delimiter
                && crate::layout::delimiter_byte(d).is_none()
            {
                p("layout.delimiter", "one ASCII punctuation character, or `tab`".into());
            }
        }
        LayoutKind::FixedWidth => {
            if csv_only || xml_only {
                p("layout", "fixed_width takes encoding and line_end only".into());
            }
        }
        LayoutKind::Xml => {
            if csv_only {
                p(
                    "layout",
                    "delimiter, header and quoting apply to the csv layout only".into(),
                );
            }
            for (k, v) in [("layout.root", &l.root), ("layout.record", &l.record)] {
                match v {
                    Some(n) if is_xml_name(n) => {}
                    Some(_) => p(k, "not a valid XML element name".into()),
                    None => p(k, "required for the xml layout".into()),
                }
            }
        }
    }
    for (i, r) in spec.row_rules.iter().enumerate() {
        if let Some(f) = &r.field
            && !names.contains(f.as_str())
        {
            p(
                &format!("row_rules[{i}] ({})", r.name),
                format!("field {f} is not a field of the extract"),
            );
        }
    }
}

/// The columns the data dictionary classes as personal (any class but `none`), by name.
pub fn personal_columns(dict: &socle_dictionary::Dictionary) -> BTreeSet<String> {
    dict.entities
        .iter()
        .flat_map(|e| e.fields.iter())
        .filter(|f| f.personal != PersonalClass::None)
        .map(|f| f.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(yaml: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let extracts = dir.path().join(EXTRACTS_DIR);
        std::fs::create_dir_all(&extracts).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(extracts.join("essai.yaml"), yaml).unwrap_or_else(|e| panic!("{e}"));
        let personal: BTreeSet<String> = ["code_permanent".to_string()].into();
        let (_, problems) = load(dir.path(), &personal).unwrap_or_else(|e| panic!("{e}"));
        problems.iter().map(|p| format!("{}: {}", p.path, p.message)).collect()
    }

    const HEAD: &str =
        "name: essai\nversion: '1'\ntitle: t\ndefinition: {fr: f, en: e}\nsource: {mart: m}\ngrain: g\nkey: [a]\n";

    #[test]
    fn a_valid_extract_has_no_problem() {
        let p = problems_of(&format!(
            "{HEAD}zone: css\nfile: '{{extrait}}_{{code_css}}_{{annee}}.txt'\nlayout: {{kind: fixed_width}}\n\
             fields:\n  - {{name: a, description: d, type: text, start: 1, width: 3}}\n  - {{name: b, description: d, type: integer, zero_pad: 3, start: 4, width: 3}}\n"
        ));
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn overlaps_placeholders_personal_fields_and_misplaced_formats_are_problems() {
        let p = problems_of(&format!(
            "{HEAD}zone: shared\nfile: '{{extrait}}_{{code_css}}_{{nuit}}.txt'\nlayout: {{kind: fixed_width, delimiter: ';'}}\n\
             fields:\n  - {{name: a, description: d, type: text, start: 1, width: 3, decimals: 2}}\n\
             \x20 - {{name: b, description: d, type: text, start: 3, width: 3, personal: direct_identifier}}\n\
             \x20 - {{name: code_permanent, description: d, type: text, start: 7, width: 12}}\n"
        ));
        let all = p.join("\n");
        for needle in [
            "{code_css} in a shared-zone extract",
            "unknown placeholder {nuit}",
            "the file name needs {annee}",
            "fixed_width takes encoding and line_end only",
            "decimals and decimal_separator apply to type decimal only",
            "personal class direct_identifier never reaches the shared zone",
            "b (bytes 3-5) overlaps a",
            "column code_permanent is personal information",
        ] {
            assert!(all.contains(needle), "{needle:?} not in:\n{all}");
        }
    }
}
