use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// A French and English text.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub fr: String,
    pub en: String,
}

/// Field and column types.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Text; codes keep leading zeros.
    Text,
    /// 64-bit integer.
    Int,
    /// Decimal with up to 2 places (stored as a 64-bit float).
    Dec,
    /// An amount of money in dollars, exact to the cent (Decimal128(18, 2)): sums of ledger
    /// lines must not drift the way floats do.
    Money,
    /// Calendar date.
    Date,
    /// Date and time, without time zone (local time of the source system).
    Timestamp,
    /// Boolean.
    Bool,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Int => "int",
            FieldType::Dec => "dec",
            FieldType::Money => "money",
            FieldType::Date => "date",
            FieldType::Timestamp => "timestamp",
            FieldType::Bool => "bool",
        }
    }
}

/// Personal-data class of a canonical field (Law 25). The classes marked "never shared" never
/// reach the shared zone: the warehouse drops them there.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum PersonalClass {
    /// Not personal information.
    None,
    /// Directly identifying (the code permanent). Never shared.
    DirectIdentifier,
    /// A name. Never shared.
    Name,
    /// A birth date. Never shared.
    BirthDate,
    /// An identifier internal to one CSS (GPI's fiche): re-identifies through the CSS's own
    /// system. Never shared.
    LocalIdentifier,
    /// The keyed pseudonymous student key: still personal information, shared zone only.
    Pseudonymous,
    /// Sensitive but needed for indicators (EHDAA difficulty codes, intervention plans).
    Sensitive,
}

impl PersonalClass {
    /// Whether a field of this class may be written to the shared zone.
    pub fn allowed_in_shared_zone(self) -> bool {
        matches!(
            self,
            PersonalClass::None | PersonalClass::Pseudonymous | PersonalClass::Sensitive
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalClass::None => "none",
            PersonalClass::DirectIdentifier => "direct_identifier",
            PersonalClass::Name => "name",
            PersonalClass::BirthDate => "birth_date",
            PersonalClass::LocalIdentifier => "local_identifier",
            PersonalClass::Pseudonymous => "pseudonymous",
            PersonalClass::Sensitive => "sensitive",
        }
    }
}

/// The domain of a value: a list of allowed values, a regular-expression pattern, or a numeric
/// range (bounds included).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// A registry the value must be found in: `organismes` or `etablissements`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Domain {
    /// One line describing the domain, for documentation and messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = &self.values {
            parts.push(format!("one of {}", v.join(", ")));
        }
        if let Some(p) = &self.pattern {
            parts.push(format!("matches `{p}`"));
        }
        match (self.min, self.max) {
            (Some(a), Some(b)) => parts.push(format!("from {a} to {b}")),
            (Some(a), None) => parts.push(format!(">= {a}")),
            (None, Some(b)) => parts.push(format!("<= {b}")),
            (None, None) => {}
        }
        if let Some(r) = &self.reference {
            parts.push(format!("found in the registry `{r}`"));
        }
        parts.join("; ")
    }
}

/// A canonical field.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    pub name: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    pub description: Text,
    #[serde(default)]
    pub nullable: bool,
    pub personal: PersonalClass,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
}

/// How an entity is partitioned in the warehouse.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Partitioning {
    /// `annee_scolaire=<year>` (and `code_css=<code>` in the shared zone).
    AnneeScolaire,
    /// By CSS only (tables without a school year, such as the student).
    Css,
}

/// A canonical entity of the warehouse.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entity {
    pub name: String,
    pub description: Text,
    /// What one row is.
    pub grain: String,
    pub partitioning: Partitioning,
    /// The drop guard's threshold for this entity: the largest share of a school year's rows
    /// (of the whole table, if it has no school year) a night may lose against the night already
    /// loaded before its sources are held. Default [`DEFAULT_BAISSE_MAX`]; a CSS profile may
    /// override it (`baisse_max:` in `css/<code>.yaml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baisse_max: Option<f64>,
    pub fields: Vec<Field>,
    #[serde(skip)]
    pub file: PathBuf,
}

impl Entity {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
    /// Fields that may be written to the shared zone.
    pub fn shared_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|f| f.personal.allowed_in_shared_zone())
    }
}

/// What to do with a second row of the same key.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    /// Quarantine later rows ("duplicate key"); the first by line order is kept.
    #[default]
    Quarantine,
    /// Load every row (repeated students and enrolments are reported by the anomalies mart).
    Keep,
}

/// A column of a source table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: FieldType,
    /// Whether the column must be present in the file's header (default true).
    #[serde(default = "yes")]
    pub required: bool,
    /// Whether an empty value is allowed (default false).
    #[serde(default)]
    pub nullable: bool,
    /// Personal data: values never appear in messages.
    #[serde(default)]
    pub personal: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    /// Canonical fields (`entity.field`) this column feeds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maps_to: Vec<String>,
}

fn yes() -> bool {
    true
}

/// A table of a source export: one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTable {
    pub name: String,
    pub file: String,
    pub description: Text,
    pub key: Vec<String>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    /// JSON Lines only: one row per element of this array field of each line (Mozaïk's
    /// `legendes.codes`). A column is read from the element's fields first, then from the line
    /// (so the parent's key columns come along). Several tables may read the same file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unnest: Option<String>,
    pub columns: Vec<SourceColumn>,
}

impl SourceTable {
    pub fn column(&self, name: &str) -> Option<&SourceColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The contract of one source system's export.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub system: String,
    /// Sub-folder of a night's export folder (`gpi`).
    pub folder: String,
    pub description: Text,
    pub tables: Vec<SourceTable>,
    #[serde(skip)]
    pub file: PathBuf,
}

impl Source {
    pub fn table(&self, name: &str) -> Option<&SourceTable> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Text encoding of a CSS's exports.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Encoding {
    /// Valid UTF-8 is UTF-8, anything else Windows-1252 (formats/README.md).
    #[default]
    Auto,
    /// UTF-8 (a BOM is accepted); a row with invalid bytes is quarantined.
    #[serde(rename = "utf-8")]
    Utf8,
    /// Windows-1252, transcoded as a stream.
    #[serde(rename = "windows-1252")]
    Windows1252,
}

/// Canonical categories of finance objects (`schemas/finance.yaml`, `objets[].categorie`).
pub const FINANCE_CATEGORIES: &[&str] = &[
    "salaires",
    "avantages_sociaux",
    "deplacements",
    "services_honoraires",
    "fournitures_materiel",
    "autres_depenses",
    "revenus",
];
/// Nature of a finance object: an expense or a revenue.
pub const FINANCE_NATURES: &[&str] = &["depense", "revenu"];
/// Fields (champs) of the annual financial report, `1` to `6`.
pub const FINANCE_FIELDS: &[&str] = &["1", "2", "3", "4", "5", "6"];

/// The teaching sectors an activity may belong to (`secteurs:` of the finance mapping): youth
/// (`jeunes`), adult general education (`fga`), vocational training (`fp`). An activity of no
/// sector is [`FINANCE_COMMON_SECTOR`].
pub const FINANCE_SECTORS: &[&str] = &["jeunes", "fga", "fp"];

/// The sector of an activity that no `secteurs:` prefix matches: shared by every sector
/// (administration, buildings, transport...).
pub const FINANCE_COMMON_SECTOR: &str = "commun";
/// Source systems whose students the dictionary knows (`eleve.systeme_source`).
pub const STUDENT_SYSTEMS: &[&str] = &["gpi", "mozaik", "jade"];

/// Canonical status of a result that is not a pass or fail.
pub const RESULT_STATUSES: &[&str] = &["absent", "exempte", "non_evalue", "non_applicable"];
/// Canonical categories of an absence reason (`cpt_abs`).
pub const ABSENCE_CATEGORIES: &[&str] = &["motivee", "non_motivee", "retard"];

/// Default value maps (`valeurs.yaml`), overridable per CSS.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMaps {
    /// Special result values as written in exports -> canonical status.
    pub valeurs_speciales_resultat: BTreeMap<String, String>,
    /// `cpt_abs` -> canonical absence category.
    pub categories_absence: BTreeMap<String, String>,
    /// Default pass mark when a legend gives none.
    pub seuil_reussite_defaut: f64,
    /// Codes of ministry results (JADE `e_ri_resultats`) -> meaning. A result text that is
    /// neither a number nor one of these codes is quarantined.
    #[serde(default)]
    pub codes_resultat_ministere: BTreeMap<String, Text>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// An activity-code prefix and the field of the annual financial report it falls in.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ActivityPrefix {
    /// Leading digits of the `activite` code (`1`, `26`, `271`...).
    pub prefixe: String,
    /// Field of the annual financial report, `1` to `6`.
    pub champ: String,
}

/// An activity-code prefix and its teaching sector.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SectorPrefix {
    /// Leading digits of the `activite` code (`13`, `14`...).
    pub prefixe: String,
    /// One of [`FINANCE_SECTORS`].
    pub secteur: String,
}

/// An object-code prefix and its category and nature.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ObjectPrefix {
    /// Leading digits of the `objet` code.
    pub prefixe: String,
    /// One of [`FINANCE_CATEGORIES`].
    pub categorie: String,
    /// `depense` or `revenu`.
    pub nature: String,
}

/// The finance mapping (`schemas/finance.yaml`), or a CSS's override of it (`finance:` in
/// `css/<code>.yaml`, same shape, every part optional). Codes are matched by prefix, the longest
/// prefix winning, so a CSS can refine one sub-range without restating the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FinanceMap {
    /// Field number -> its label in the annual financial report.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub champs: BTreeMap<String, Text>,
    /// Activity prefixes -> field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activites: Vec<ActivityPrefix>,
    /// Activity prefixes of information-resources (IT) spending. In a CSS override, the list
    /// replaces the default one (so a CSS can also drop a prefix).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ressources_informationnelles: Option<Vec<String>>,
    /// Activity prefixes -> teaching sector (the longest prefix wins; no prefix: `commun`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secteurs: Vec<SectorPrefix>,
    /// Object prefixes -> category and nature.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objets: Vec<ObjectPrefix>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// The class of an object code: its category and nature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectClass {
    pub categorie: String,
    pub nature: String,
}

/// A CSS's effective finance mapping: the defaults with its override applied, by prefix.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EffectiveFinance {
    /// Field -> label.
    pub champs: BTreeMap<String, Text>,
    /// Activity prefix -> field.
    pub activites: BTreeMap<String, String>,
    /// Activity prefixes of IT spending.
    pub ressources_informationnelles: BTreeSet<String>,
    /// Activity prefix -> teaching sector.
    pub secteurs: BTreeMap<String, String>,
    /// Object prefix -> class.
    pub objets: BTreeMap<String, ObjectClass>,
}

/// The value of the longest key of `map` that is a prefix of `code`.
fn longest_prefix<'a, V>(map: &'a BTreeMap<String, V>, code: &str) -> Option<(&'a str, &'a V)> {
    map.iter()
        .filter(|(p, _)| code.starts_with(p.as_str()))
        .max_by_key(|(p, _)| p.len())
        .map(|(p, v)| (p.as_str(), v))
}

impl EffectiveFinance {
    fn from_map(m: &FinanceMap) -> Self {
        let mut f = EffectiveFinance::default();
        f.apply(m);
        f
    }

    /// Applies a map on top: same prefixes are replaced, new ones added.
    fn apply(&mut self, m: &FinanceMap) {
        self.champs.extend(m.champs.clone());
        for a in &m.activites {
            self.activites.insert(a.prefixe.clone(), a.champ.clone());
        }
        if let Some(ri) = &m.ressources_informationnelles {
            self.ressources_informationnelles = ri.iter().cloned().collect();
        }
        for s in &m.secteurs {
            self.secteurs.insert(s.prefixe.clone(), s.secteur.clone());
        }
        for o in &m.objets {
            self.objets.insert(
                o.prefixe.clone(),
                ObjectClass {
                    categorie: o.categorie.clone(),
                    nature: o.nature.clone(),
                },
            );
        }
    }

    /// The field (number and label) of an activity code: its longest mapped prefix.
    pub fn champ(&self, activite: &str) -> Option<(&str, Option<&Text>)> {
        longest_prefix(&self.activites, activite).map(|(_, c)| (c.as_str(), self.champs.get(c)))
    }

    /// Whether an activity code is information-resources spending.
    pub fn ressources_informationnelles(&self, activite: &str) -> bool {
        self.ressources_informationnelles
            .iter()
            .any(|p| activite.starts_with(p.as_str()))
    }

    /// The teaching sector of an activity code: its longest mapped prefix, else `commun`.
    pub fn secteur(&self, activite: &str) -> &str {
        longest_prefix(&self.secteurs, activite)
            .map(|(_, s)| s.as_str())
            .unwrap_or(FINANCE_COMMON_SECTOR)
    }

    /// The class of an object code: its longest mapped prefix.
    pub fn objet(&self, objet: &str) -> Option<&ObjectClass> {
        longest_prefix(&self.objets, objet).map(|(_, c)| c)
    }
}

/// One CSS's own conventions (`css/<code>.yaml`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CssProfile {
    pub code_css: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub encodage: Encoding,
    /// Local special result values -> canonical status (added to, or replacing, the defaults).
    #[serde(default)]
    pub valeurs_speciales_resultat: BTreeMap<String, String>,
    /// Local course codes -> canonical course code (ministry code, or canonical primary code).
    #[serde(default)]
    pub cours: BTreeMap<String, String>,
    /// `cpt_abs` -> canonical category, when the CSS uses the counter differently.
    #[serde(default)]
    pub categories_absence: BTreeMap<String, String>,
    /// The CSS's own finance codes, on top of `finance.yaml` (longest prefix wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finance: Option<FinanceMap>,
    /// The drop guard's threshold per entity for this CSS (`absence: 0.8`), winning over the
    /// entity's own `baisse_max`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub baisse_max: BTreeMap<String, f64>,
    #[serde(skip)]
    pub file: PathBuf,
}

/// The drop guard's default threshold: a night that loses more than half of an entity's rows
/// of a school year against the night already loaded is held (see [`Dictionary::baisse_max`]).
pub const DEFAULT_BAISSE_MAX: f64 = 0.5;

/// The whole dictionary.
#[derive(Debug, Clone)]
pub struct Dictionary {
    pub root: PathBuf,
    /// `version` of `dictionnaire.yaml`: recorded in every manifest.
    pub version: String,
    pub entities: Vec<Entity>,
    pub sources: Vec<Source>,
    pub values: ValueMaps,
    /// The finance mapping (`finance.yaml`).
    pub finance: FinanceMap,
    pub css: BTreeMap<String, CssProfile>,
}

/// A CSS's effective conventions: the defaults with its own profile applied.
#[derive(Debug, Clone)]
pub struct EffectiveProfile {
    pub code_css: String,
    pub encoding: Encoding,
    pub special_values: BTreeMap<String, String>,
    pub absence_categories: BTreeMap<String, String>,
    pub courses: BTreeMap<String, String>,
    pub default_pass_mark: f64,
    /// Ministry result codes (`codes_resultat_ministere`).
    pub ministry_result_codes: BTreeSet<String>,
    /// The finance mapping with the CSS's override applied.
    pub finance: EffectiveFinance,
    /// Whether the CSS has a profile of its own.
    pub customised: bool,
}

impl Dictionary {
    pub fn entity(&self, name: &str) -> Option<&Entity> {
        self.entities.iter().find(|e| e.name == name)
    }
    pub fn source(&self, system: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.system == system)
    }
    /// The drop guard's threshold of `entity` for `code_css`: the CSS profile's `baisse_max`,
    /// else the entity's, else [`DEFAULT_BAISSE_MAX`]. A share in `]0, 1]`: the night is held
    /// when `(rows before - rows now) / rows before` exceeds it, or when the rows fall to zero.
    pub fn baisse_max(&self, code_css: &str, entity: &str) -> f64 {
        self.css
            .get(code_css)
            .and_then(|p| p.baisse_max.get(entity).copied())
            .or_else(|| self.entity(entity).and_then(|e| e.baisse_max))
            .unwrap_or(DEFAULT_BAISSE_MAX)
    }

    /// The effective conventions of a CSS (defaults if it has no profile).
    pub fn profile(&self, code_css: &str) -> EffectiveProfile {
        let own = self.css.get(code_css);
        let mut special_values = self.values.valeurs_speciales_resultat.clone();
        let mut absence_categories = self.values.categories_absence.clone();
        let mut courses = BTreeMap::new();
        let mut encoding = Encoding::Auto;
        let mut finance = EffectiveFinance::from_map(&self.finance);
        if let Some(p) = own {
            special_values.extend(p.valeurs_speciales_resultat.clone());
            absence_categories.extend(p.categories_absence.clone());
            courses.extend(p.cours.clone());
            encoding = p.encodage;
            if let Some(f) = &p.finance {
                finance.apply(f);
            }
        }
        EffectiveProfile {
            code_css: code_css.to_string(),
            encoding,
            special_values,
            absence_categories,
            courses,
            default_pass_mark: self.values.seuil_reussite_defaut,
            ministry_result_codes: self.values.codes_resultat_ministere.keys().cloned().collect(),
            finance,
            customised: own.is_some(),
        }
    }
}
