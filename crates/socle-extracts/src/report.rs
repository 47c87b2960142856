//! The extracts in words, for `socle extracts`: the list, the unit of a submission, the line
//! that confirms it.

use std::fmt::Write as _;

use crate::spec::{ExtractZone, LayoutKind};
use std::path::Path;

use crate::{Extract, ExtractError, ExtractManifest, PROVINCE};

/// One extract per line, its name first: zone, layout, version, title, and whether it names
/// students.
pub fn list_text(extracts: &[Extract]) -> String {
    let width = extracts.iter().map(|e| e.spec.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    for e in extracts {
        let zone = match e.spec.zone {
            ExtractZone::Css => "css",
            ExtractZone::Shared => "province",
        };
        let layout = match e.spec.layout.kind {
            LayoutKind::Csv => "csv",
            LayoutKind::FixedWidth => "largeur fixe",
            LayoutKind::Xml => "xml",
        };
        let _ = writeln!(
            out,
            "{:<width$}  {zone:<8}  {layout:<12}  v{:<6}  {}{}",
            e.spec.name,
            e.spec.version,
            e.spec.title,
            if e.holds_identifying_data() { " (nominatif)" } else { "" }
        );
    }
    out
}

impl Extract {
    /// The unit a command names: the CSS (`css`) of a per-CSS extract, or `province`; the error
    /// says what to add or remove.
    pub fn unit_for(&self, css: Option<&str>) -> Result<String, String> {
        let name = &self.spec.name;
        match (self.spec.zone, css) {
            (ExtractZone::Css, Some(c)) => Ok(c.to_string()),
            (ExtractZone::Css, None) => Err(format!("{name} is built per CSS: add --css CODE")),
            (ExtractZone::Shared, None) => Ok(PROVINCE.to_string()),
            (ExtractZone::Shared, Some(_)) => Err(format!("{name} is a province extract: no --css")),
        }
    }
}

/// The line confirming a submission.
pub fn submitted_text(m: &ExtractManifest) -> String {
    format!(
        "{} {} {}: version {} transmise le {} par {} ({} ligne(s)); elle ne sera plus modifiée",
        m.extract,
        m.unit,
        m.annee_scolaire,
        m.build_id,
        m.submitted_at.as_deref().unwrap_or_default(),
        m.submitted_by.as_deref().unwrap_or_default(),
        m.files.first().and_then(|f| f.rows).unwrap_or(0)
    )
}

/// What `socle extracts build --help` says after the options: validation, files, exit status.
pub const BUILD_HELP: &str = "\
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
  socle extracts submit declaration_30_septembre --css 866000 --year 2025-2026 --by mtremblay";

/// The extracts of `pipelines`, refusing definitions with problems: the error lists them and
/// points to `socle check`.
pub fn load_checked(pipelines: &Path, dictionary: &socle_dictionary::Dictionary) -> Result<Vec<Extract>, ExtractError> {
    let (extracts, problems) = crate::load(pipelines, &crate::personal_columns(dictionary))
        .map_err(|e| ExtractError::io(&pipelines.join(crate::EXTRACTS_DIR), e))?;
    if problems.is_empty() {
        return Ok(extracts);
    }
    let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    Err(ExtractError::Definition {
        message: format!(
            "{} problem(s) in the extracts' definitions (see `socle check`): {}",
            problems.len(),
            list.join("; ")
        ),
    })
}

/// The extracts `name` designates: `all`, or one by its name (the error lists the names).
pub fn select<'a>(extracts: &'a [Extract], name: &str) -> Result<Vec<&'a Extract>, ExtractError> {
    if name == "all" {
        return Ok(extracts.iter().collect());
    }
    match extracts.iter().find(|e| e.spec.name == name) {
        Some(e) => Ok(vec![e]),
        None => {
            let known: Vec<&str> = extracts.iter().map(|e| e.spec.name.as_str()).collect();
            Err(ExtractError::Other(format!(
                "unknown extract {name:?}; known: {}",
                known.join(", ")
            )))
        }
    }
}
