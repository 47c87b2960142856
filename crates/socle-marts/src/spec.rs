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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MartColumn {
    pub name: String,
    pub description: String,
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

/// Where a mart's rows may go.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Publication {
    /// Aggregates: published in the shared zone with small cells suppressed, and in each CSS's
    /// zone with exact counts (its own rows), both with the `cellule_supprimee` column.
    Shared,
    /// Nominative (lists students): published in each CSS's zone only, never in the shared zone.
    Css,
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
    pub grain: String,
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
    #[serde(default)]
    pub parameters: BTreeMap<String, Parameter>,
    pub columns: Vec<MartColumn>,
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
}

fn default_threshold() -> i64 {
    5
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seuil_petites_cellules: default_threshold(),
        }
    }
}
