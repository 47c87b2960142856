//! The YAML description of a mart (`pipelines/marts/<name>.yaml`) and of a seed
//! (`pipelines/seeds/<name>.yaml`).

use serde::Deserialize;
use std::collections::BTreeMap;

/// A text in French and English.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub fr: String,
    pub en: String,
}

/// A column of a mart or an intermediate model.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MartColumn {
    pub name: String,
    /// The heading a person reads on the dashboard page and in a download ("Taux de réussite",
    /// not `taux_reussite`): short French words, accents, capital first letter only, at most 60
    /// characters, unique within the mart. Required for a mart's column (`load` reports one
    /// without); optional for an intermediate model's, whose rows are never shown.
    #[serde(default)]
    pub libelle: Option<String>,
    /// What the column holds, for the definition sheet of a download: units, range, nulls.
    pub description: String,
}

impl MartColumn {
    /// The heading to show: the `libelle`, or the technical name where there is none (an
    /// intermediate model's column), so a page never shows an empty heading.
    pub fn heading(&self) -> &str {
        self.libelle.as_deref().unwrap_or(&self.name)
    }
}

/// The kind of chart a mart's dashboard page draws: one mark per row of the table shown.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChartKind {
    /// Bars: rows compared side by side (establishments, courses, categories).
    Barres,
    /// Lines: rows that follow each other in time (school years, étapes), where the trend matters.
    Lignes,
    /// No chart: the page shows the table only. For a list of cases with no measure of its own
    /// (the findings to fix, one per row), where a bar per row would draw nothing meaningful.
    Aucun,
}

/// What the dashboard page of a mart shows (`tableau_de_bord:` in its YAML): the mart's rows as a
/// table and a chart of one measure, with drop-down filters. Declared beside the mart's
/// definition so the page shows what the mart's author chose as the measure a manager looks at
/// first, not a guess of the web server. French keys, like the rest of the project's vocabulary.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    /// Bars or lines.
    pub graphique: ChartKind,
    /// The columns whose values, put together, name each mark (one mark per row): what
    /// identifies the row to a reader (the establishment, the course, the étape). Not empty
    /// when there is a chart; absent with `graphique: aucun`.
    #[serde(default)]
    pub etiquette: Vec<String>,
    /// The numeric column drawn (integer, float or decimal): a rate, an amount, a count.
    /// Required when there is a chart; absent with `graphique: aucun`.
    #[serde(default)]
    pub valeur: Option<String>,
    /// The columns offered as filters, each a drop-down of its distinct values (the school year
    /// always, the CSS, the establishment, the main categories).
    pub filtres: Vec<String>,
    /// The default order of the rows; empty: the mart's `unique_key`.
    #[serde(default)]
    pub tri: Vec<String>,
}

impl Dashboard {
    /// The chart of the page, if it has one: its kind, the columns naming each mark and the
    /// column drawn. `None` for `graphique: aucun` (the loader has checked the rest is there).
    pub fn chart(&self) -> Option<(ChartKind, &[String], &str)> {
        match (self.graphique, self.valeur.as_deref()) {
            (ChartKind::Aucun, _) | (_, None) => None,
            (kind, Some(valeur)) => Some((kind, &self.etiquette, valeur)),
        }
    }
}

/// Which tables a mart's SQL reads.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The shared zone: every CSS at once, students as pseudonymous keys, no personal columns.
    /// Needed to follow a student across CSS (cohorts, leavers).
    #[default]
    Shared,
    /// Each CSS's own zone, one CSS at a time: every column (fiche, names, birth date) and the
    /// quarantine. The outputs of all CSS are then put together.
    Css,
}

/// How a mart or an intermediate model is run over a multi-CSS zone.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    /// One CSS at a time, each run seeing only that CSS's rows; the runs are put together.
    /// Memory follows the largest CSS, and a night where only some CSS changed rebuilds those
    /// CSS only. For every model that never follows a student across CSS.
    ParCss,
    /// Once over every CSS: for a model that follows a student from one CSS to another (a
    /// cohort, a leaver, the latest copy of a ministry result). Its YAML says why
    /// (`execution_reason`).
    Province,
}

/// Where a mart's rows may go.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Publication {
    /// Aggregates: published in the shared zone with small cells suppressed, and in each CSS's
    /// zone with exact counts (its own rows), both with the `cellule_supprimee` column.
    Shared,
    /// Nominative (lists students): published in each CSS's zone only, never in the shared zone.
    Css,
    /// An intermediate model (`pipelines/intermediate/`): stored under the warehouse's
    /// `_socle/intermediate/` for the models that read it, never published nor downloadable.
    /// Not a value a mart's YAML may take.
    #[serde(skip)]
    Internal,
}

/// One small-cell rule: when `count` is under the threshold in a row, that count and every
/// column of `hides` (the rates and averages built on it, and any count it could be derived
/// from) are not shown in the shared zone.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuppressionRule {
    pub count: String,
    #[serde(default)]
    pub hides: Vec<String>,
}

/// A parameter of a mart's SQL, written `{{ name }}` in the SQL.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub value: ParameterValue,
    pub description: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ParameterValue {
    Int(i64),
    Float(f64),
    Text(String),
}

impl ParameterValue {
    /// The value as a SQL literal.
    pub fn to_sql(&self) -> String {
        match self {
            ParameterValue::Int(i) => i.to_string(),
            ParameterValue::Float(f) => {
                let s = f.to_string();
                if s.contains('.') || s.contains('e') {
                    s
                } else {
                    format!("{s}.0")
                }
            }
            ParameterValue::Text(t) => format!("'{}'", t.replace('\'', "''")),
        }
    }
}

/// The YAML description of a mart.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MartSpec {
    pub name: String,
    pub title: Text,
    /// One sentence: what the mart counts (shown by `socle dashboards list`).
    pub summary: Text,
    #[serde(default)]
    pub source: Source,
    pub publication: Publication,
    /// One CSS at a time or the whole province at once.
    pub execution: Execution,
    /// Why a `province` model cannot run one CSS at a time (required for `province`).
    #[serde(default)]
    pub execution_reason: Option<String>,
    pub grain: String,
    /// The columns that identify a row (the grain as columns; NULLs compare equal). A repeated
    /// key fails the model.
    pub unique_key: Vec<String>,
    /// The definition in words: population, numerator, denominator, exclusions and why.
    pub definition: Text,
    /// Who is counted (the population), in words.
    #[serde(default)]
    pub population: Option<String>,
    #[serde(default)]
    pub numerator: Option<String>,
    #[serde(default)]
    pub denominator: Option<String>,
    /// What is excluded, each with its reason.
    #[serde(default)]
    pub excluded: Vec<String>,
    /// Where a choice is ours rather than the ministry's, or a limit of the data.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Small-cell rules (required for `publication: shared`, not allowed for `css`).
    #[serde(default)]
    pub suppression: Vec<SuppressionRule>,
    /// Why a `publication: shared` mart has no small-cell rule (it counts no one: amounts of a
    /// ledger, say). Required then, so that no mart skips suppression by omission.
    #[serde(default)]
    pub suppression_reason: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    pub columns: Vec<MartColumn>,
    /// The dashboard page of the mart. Required for a mart (`load` reports one without); an
    /// `Option` because an intermediate model, read as a [`MartSpec`], is never shown.
    #[serde(default)]
    pub tableau_de_bord: Option<Dashboard>,
}

impl MartSpec {
    /// The default order of the mart's rows on its page and in a download: the dashboard's
    /// `tri`, or the `unique_key` (the grain, which orders every row) when it declares none.
    pub fn sort_order(&self) -> &[String] {
        match &self.tableau_de_bord {
            Some(d) if !d.tri.is_empty() => &d.tri,
            _ => &self.unique_key,
        }
    }
}

/// The YAML description of an intermediate model (`pipelines/intermediate/<name>.yaml`): a
/// foundation several marts read (the enrolments kept, the enrolment on September 30...), built
/// once per night in each zone that needs it. No title, summary, publication nor small-cell
/// rules: its rows are never published.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntermediateSpec {
    pub name: String,
    /// The definition in words: which rows are kept, which rule, and why.
    pub definition: Text,
    /// `shared`: uses only columns the shared zone has, so it can be built in the shared zone
    /// and in a CSS's zone alike (for the `source: css` models that read it); `css`: needs a
    /// CSS zone's columns, read by `source: css` models only.
    #[serde(default)]
    pub source: Source,
    pub execution: Execution,
    #[serde(default)]
    pub execution_reason: Option<String>,
    pub grain: String,
    pub unique_key: Vec<String>,
    #[serde(default)]
    pub excluded: Vec<String>,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    pub columns: Vec<MartColumn>,
}

impl IntermediateSpec {
    /// The model as a [`MartSpec`] of publication [`Publication::Internal`], so one builder runs
    /// models and marts alike.
    pub fn into_model(self) -> MartSpec {
        MartSpec {
            title: Text {
                fr: self.name.clone(),
                en: self.name.clone(),
            },
            summary: self.definition.clone(),
            name: self.name,
            source: self.source,
            publication: Publication::Internal,
            execution: self.execution,
            execution_reason: self.execution_reason,
            grain: self.grain,
            unique_key: self.unique_key,
            definition: self.definition,
            population: None,
            numerator: None,
            denominator: None,
            excluded: self.excluded,
            notes: self.notes,
            suppression: Vec::new(),
            suppression_reason: None,
            parameters: self.parameters,
            columns: self.columns,
            tableau_de_bord: None,
        }
    }
}

/// Column types of a seed.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SeedType {
    Text,
    Int,
    Double,
    Bool,
    Date,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: SeedType,
    pub description: String,
}

/// The YAML description of a seed: a small CSV of reference data maintained with the pipelines
/// (diploma types, exam weightings...), registered as a table in every mart's session.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedSpec {
    pub name: String,
    pub description: Text,
    /// Where the values come from.
    #[serde(default)]
    pub source: Option<String>,
    pub columns: Vec<SeedColumn>,
}

/// `pipelines/config.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Counts under this number are not shown in the shared zone (with the rates built on them).
    #[serde(default = "default_threshold")]
    pub seuil_petites_cellules: i64,
    /// Memory the marts stage may use (e.g. `4GiB`, `512MiB`), beyond which DataFusion spills
    /// sorts and aggregations to disk or fails the mart being built with a clear error (never an
    /// OOM kill). Default: half of the machine's memory.
    #[serde(default)]
    pub memoire_max: Option<String>,
}

impl Config {
    /// The marts stage's memory limit in bytes: `memoire_max`, or half of the machine's memory
    /// (`/proc/meminfo`; 4 GiB where it cannot be read).
    pub fn memory_limit(&self) -> Result<usize, String> {
        match &self.memoire_max {
            Some(text) => parse_bytes(text),
            None => Ok(machine_memory().map_or(4 << 30, |m| m / 2)),
        }
    }
}

/// `4GiB`, `512 MiB`, `2GB`, `1048576`: a size in bytes (powers of 1024 for both spellings).
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a size such as 4GiB or 512MiB"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "o" => 1.0,
        "k" | "kb" | "kib" | "ko" => 1024.0,
        "m" | "mb" | "mib" | "mo" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" | "go" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" | "to" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("{text:?}: unknown unit {other:?} (use MiB or GiB)")),
    };
    let bytes = number * scale;
    if !(bytes >= 1.0 && bytes < usize::MAX as f64) {
        return Err(format!("{text:?}: must be a positive size"));
    }
    Ok(bytes as usize)
}

/// Total memory of the machine, from `/proc/meminfo` (Linux).
fn machine_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn default_threshold() -> i64 {
    5
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seuil_petites_cellules: default_threshold(),
            memoire_max: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_units() {
        assert_eq!(parse_bytes("4GiB"), Ok(4 << 30));
        assert_eq!(parse_bytes("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_bytes("2GB"), Ok(2 << 30));
        assert_eq!(parse_bytes("1.5G"), Ok(3 << 29));
        assert_eq!(parse_bytes("1048576"), Ok(1 << 20));
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("4 parsecs").is_err());
        assert!(parse_bytes("0").is_err());
    }

    #[test]
    fn the_default_limit_is_half_the_machine() {
        let limit = Config::default().memory_limit().expect("a default");
        assert!(limit >= 1 << 20);
    }
}
