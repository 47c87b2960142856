use crate::model::*;
use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;

/// One problem found in the dictionary: the file, the path inside it, and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file.display(), self.path, self.message)
    }
}

struct Report {
    problems: Vec<Problem>,
}

impl Report {
    fn add(&mut self, file: &std::path::Path, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            file: file.to_path_buf(),
            path: path.into(),
            message: message.into(),
        });
    }
}

fn check_domain(r: &mut Report, file: &std::path::Path, path: &str, d: &Domain) {
    if let Some(p) = &d.pattern
        && let Err(e) = regex::Regex::new(p)
    {
        r.add(
            file,
            format!("{path}.pattern"),
            format!("invalid regular expression: {e}"),
        );
    }
    if let Some(v) = &d.values
        && v.is_empty()
    {
        r.add(file, format!("{path}.values"), "empty list of values");
    }
    if let (Some(a), Some(b)) = (d.min, d.max)
        && a > b
    {
        r.add(file, path, format!("min {a} is greater than max {b}"));
    }
    if let Some(reference) = &d.reference
        && !matches!(reference.as_str(), "organismes" | "etablissements")
    {
        r.add(
            file,
            format!("{path}.reference"),
            format!("unknown registry {reference:?} (organismes, etablissements)"),
        );
    }
    if d.values.is_none() && d.pattern.is_none() && d.min.is_none() && d.max.is_none() && d.reference.is_none() {
        r.add(file, path, "empty domain: give values, pattern, min/max or reference");
    }
}

/// Whether `x` is a usable drop-guard threshold: a share in `]0, 1]`.
fn valid_baisse_max(x: f64) -> bool {
    x > 0.0 && x <= 1.0
}

const BAISSE_MAX_RANGE: &str =
    "baisse_max is the largest share of rows a night may lose: a number greater than 0 and at most 1";

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a finance map. `base` is the path prefix (`""` in finance.yaml, `finance.` in a CSS
/// profile); `labels` are the field labels known after this map applies; `complete` requires
/// every part (the default map).
fn check_finance(
    r: &mut Report,
    m: &FinanceMap,
    file: &std::path::Path,
    base: &str,
    labels: &BTreeSet<&str>,
    complete: bool,
) {
    for (champ, label) in &m.champs {
        let p = format!("{base}champs.{champ}");
        if !FINANCE_FIELDS.contains(&champ.as_str()) {
            r.add(file, &p, format!("unknown field {champ:?} (expected 1 to 6)"));
        }
        if label.fr.trim().is_empty() || label.en.trim().is_empty() {
            r.add(file, &p, "both fr and en labels are required");
        }
    }
    if complete {
        for champ in FINANCE_FIELDS {
            if !m.champs.contains_key(*champ) {
                r.add(file, format!("{base}champs"), format!("no label for field {champ}"));
            }
        }
        if m.activites.is_empty() {
            r.add(file, format!("{base}activites"), "no activity prefix defined");
        }
        if m.objets.is_empty() {
            r.add(file, format!("{base}objets"), "no object prefix defined");
        }
        if m.ressources_informationnelles.is_none() {
            r.add(
                file,
                format!("{base}ressources_informationnelles"),
                "the list of IT activity prefixes is required (may be empty)",
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (i, a) in m.activites.iter().enumerate() {
        let p = format!("{base}activites[{i}] ({})", a.prefixe);
        if !is_digits(&a.prefixe) {
            r.add(file, format!("{p}.prefixe"), "a prefix is one or more digits");
        }
        if !seen.insert(a.prefixe.as_str()) {
            r.add(file, format!("{p}.prefixe"), "prefix defined twice");
        }
        if !FINANCE_FIELDS.contains(&a.champ.as_str()) {
            r.add(
                file,
                format!("{p}.champ"),
                format!("unknown field {:?} (expected 1 to 6)", a.champ),
            );
        } else if !labels.contains(a.champ.as_str()) {
            r.add(file, format!("{p}.champ"), format!("field {} has no label", a.champ));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, prefix) in m.ressources_informationnelles.iter().flatten().enumerate() {
        let p = format!("{base}ressources_informationnelles[{i}] ({prefix})");
        if !is_digits(prefix) {
            r.add(file, &p, "a prefix is one or more digits");
        }
        if !seen.insert(prefix.as_str()) {
            r.add(file, &p, "prefix defined twice");
        }
    }
    let mut seen = BTreeSet::new();
    for (i, s) in m.secteurs.iter().enumerate() {
        let p = format!("{base}secteurs[{i}] ({})", s.prefixe);
        if !is_digits(&s.prefixe) {
            r.add(file, format!("{p}.prefixe"), "a prefix is one or more digits");
        }
        if !seen.insert(s.prefixe.as_str()) {
            r.add(file, format!("{p}.prefixe"), "prefix defined twice");
        }
        if !FINANCE_SECTORS.contains(&s.secteur.as_str()) {
            r.add(
                file,
                format!("{p}.secteur"),
                format!(
                    "unknown sector {:?} (expected one of {}; an activity of no sector is {FINANCE_COMMON_SECTOR})",
                    s.secteur,
                    FINANCE_SECTORS.join(", ")
                ),
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (i, o) in m.objets.iter().enumerate() {
        let p = format!("{base}objets[{i}] ({})", o.prefixe);
        if !is_digits(&o.prefixe) {
            r.add(file, format!("{p}.prefixe"), "a prefix is one or more digits");
        }
        if !seen.insert(o.prefixe.as_str()) {
            r.add(file, format!("{p}.prefixe"), "prefix defined twice");
        }
        if !FINANCE_CATEGORIES.contains(&o.categorie.as_str()) {
            r.add(
                file,
                format!("{p}.categorie"),
                format!(
                    "unknown category {:?} (expected one of {})",
                    o.categorie,
                    FINANCE_CATEGORIES.join(", ")
                ),
            );
        }
        if !FINANCE_NATURES.contains(&o.nature.as_str()) {
            r.add(
                file,
                format!("{p}.nature"),
                format!("unknown nature {:?} (expected depense or revenu)", o.nature),
            );
        }
    }
}

fn is_canonical_course(code: &str) -> bool {
    let b = code.as_bytes();
    let ministry = b.len() == 6 && b.iter().all(u8::is_ascii_digit);
    // Canonical primary codes: subject (3 letters) + grade (1-6) + `00`, e.g. FRA400.
    let primary =
        b.len() == 6 && b[..3].iter().all(u8::is_ascii_uppercase) && (b'1'..=b'6').contains(&b[3]) && &b[4..] == b"00";
    ministry || primary
}

impl Dictionary {
    /// Every problem of the dictionary, each with its file and path. Empty means valid.
    pub fn validate(&self) -> Vec<Problem> {
        let mut r = Report { problems: Vec::new() };
        let registry = socle_core::Registry::embedded().ok();
        let root_file = self.root.join("dictionnaire.yaml");
        if self.version.trim().is_empty() {
            r.add(&root_file, "version", "empty version");
        }
        if self.entities.is_empty() {
            r.add(&self.root.join("entities"), "", "no entity defined");
        }
        let mut names = BTreeSet::new();
        for e in &self.entities {
            let f = &e.file;
            if !names.insert(e.name.as_str()) {
                r.add(f, "name", format!("entity {:?} defined twice", e.name));
            }
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if stem != e.name {
                r.add(f, "name", format!("entity {:?} must live in {}.yaml", e.name, e.name));
            }
            for (lang, text) in [("fr", &e.description.fr), ("en", &e.description.en)] {
                if text.trim().is_empty() {
                    r.add(f, format!("description.{lang}"), "empty description");
                }
            }
            let mut fields = BTreeSet::new();
            for (i, field) in e.fields.iter().enumerate() {
                let p = format!("fields[{i}] ({})", field.name);
                if !fields.insert(field.name.as_str()) {
                    r.add(f, &p, "field defined twice");
                }
                if field.description.fr.trim().is_empty() || field.description.en.trim().is_empty() {
                    r.add(
                        f,
                        format!("{p}.description"),
                        "both fr and en descriptions are required",
                    );
                }
                if let Some(d) = &field.domain {
                    check_domain(&mut r, f, &format!("{p}.domain"), d);
                }
            }
            if e.field("code_css").is_none() {
                r.add(
                    f,
                    "fields",
                    "every entity needs code_css (the warehouse partitions by CSS)",
                );
            }
            if let Some(x) = e.baisse_max
                && !valid_baisse_max(x)
            {
                r.add(f, "baisse_max", format!("{x}: {BAISSE_MAX_RANGE}"));
            }
            if e.partitioning == Partitioning::AnneeScolaire && e.field("annee_scolaire").is_none() {
                r.add(f, "partitioning", "partitioned by annee_scolaire but has no such field");
            }
        }
        // Source table names are unique across systems: the quality report counts by table name.
        let mut all_tables: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
        for s in &self.sources {
            let f = &s.file;
            for (ti, t) in s.tables.iter().enumerate() {
                match all_tables.get(t.name.as_str()) {
                    Some(other) if *other != s.system.as_str() => r.add(
                        f,
                        format!("tables[{ti}] ({})", t.name),
                        format!("table name already used by source {other:?}: table names are unique across sources"),
                    ),
                    _ => {
                        all_tables.insert(t.name.as_str(), s.system.as_str());
                    }
                }
            }
            let mut tables = BTreeSet::new();
            for (ti, t) in s.tables.iter().enumerate() {
                let tp = format!("tables[{ti}] ({})", t.name);
                if !tables.insert(t.name.as_str()) {
                    r.add(f, &tp, "table defined twice");
                }
                let mut cols = BTreeSet::new();
                for (ci, c) in t.columns.iter().enumerate() {
                    let cp = format!("{tp}.columns[{ci}] ({})", c.name);
                    if !cols.insert(c.name.as_str()) {
                        r.add(f, &cp, "column defined twice");
                    }
                    if let Some(d) = &c.domain {
                        check_domain(&mut r, f, &format!("{cp}.domain"), d);
                    }
                    for (mi, target) in c.maps_to.iter().enumerate() {
                        let ok = target
                            .split_once('.')
                            .and_then(|(en, fi)| self.entity(en).map(|e| e.field(fi).is_some()))
                            .unwrap_or(false);
                        if !ok {
                            r.add(
                                f,
                                format!("{cp}.maps_to[{mi}]"),
                                format!("{target:?} is not a canonical entity.field"),
                            );
                        }
                    }
                }
                for (ki, k) in t.key.iter().enumerate() {
                    if t.column(k).is_none() {
                        r.add(
                            f,
                            format!("{tp}.key[{ki}]"),
                            format!("key column {k:?} is not a column of the table"),
                        );
                    }
                }
                if t.key.is_empty() {
                    r.add(f, format!("{tp}.key"), "a table needs a key");
                }
            }
        }
        let vf = &self.values.file;
        for (code, status) in &self.values.valeurs_speciales_resultat {
            if !RESULT_STATUSES.contains(&status.as_str()) {
                r.add(
                    vf,
                    format!("valeurs_speciales_resultat.{code}"),
                    format!(
                        "unknown status {status:?} (expected one of {})",
                        RESULT_STATUSES.join(", ")
                    ),
                );
            }
        }
        for (code, cat) in &self.values.categories_absence {
            if !ABSENCE_CATEGORIES.contains(&cat.as_str()) {
                r.add(
                    vf,
                    format!("categories_absence.{code}"),
                    format!(
                        "unknown category {cat:?} (expected one of {})",
                        ABSENCE_CATEGORIES.join(", ")
                    ),
                );
            }
        }
        if !(0.0..=100.0).contains(&self.values.seuil_reussite_defaut) {
            r.add(vf, "seuil_reussite_defaut", "must be between 0 and 100");
        }
        for (code, meaning) in &self.values.codes_resultat_ministere {
            let p = format!("codes_resultat_ministere.{code}");
            if code.trim().is_empty() || code.trim() != code || code.to_uppercase() != *code {
                r.add(
                    vf,
                    &p,
                    "a ministry result code is upper-case text without spaces around it",
                );
            }
            if code.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b',') {
                r.add(vf, &p, "a ministry result code cannot look like a number");
            }
            if meaning.fr.trim().is_empty() || meaning.en.trim().is_empty() {
                r.add(vf, &p, "both fr and en meanings are required");
            }
        }
        let default_labels: BTreeSet<&str> = self.finance.champs.keys().map(String::as_str).collect();
        check_finance(&mut r, &self.finance, &self.finance.file, "", &default_labels, true);
        for p in self.css.values() {
            let f = &p.file;
            if let Some(reg) = &registry
                && reg.organisation(&p.code_css).is_none()
            {
                r.add(
                    f,
                    "code_css",
                    format!("{} is not an organisation of the ministry registry", p.code_css),
                );
            }
            for (code, status) in &p.valeurs_speciales_resultat {
                if !RESULT_STATUSES.contains(&status.as_str()) {
                    r.add(
                        f,
                        format!("valeurs_speciales_resultat.{code}"),
                        format!(
                            "unknown status {status:?} (expected one of {})",
                            RESULT_STATUSES.join(", ")
                        ),
                    );
                }
            }
            for (code, cat) in &p.categories_absence {
                if !ABSENCE_CATEGORIES.contains(&cat.as_str()) {
                    r.add(
                        f,
                        format!("categories_absence.{code}"),
                        format!("unknown category {cat:?}"),
                    );
                }
            }
            for (local, canonical) in &p.cours {
                if !is_canonical_course(canonical) {
                    r.add(f, format!("cours.{local}"), format!("{canonical:?} is not a canonical course code (6-digit ministry code or primary code like FRA400)"));
                }
            }
            for (entity, x) in &p.baisse_max {
                if !names.contains(entity.as_str()) {
                    r.add(f, format!("baisse_max.{entity}"), format!("unknown entity {entity:?}"));
                }
                if !valid_baisse_max(*x) {
                    r.add(f, format!("baisse_max.{entity}"), format!("{x}: {BAISSE_MAX_RANGE}"));
                }
            }
            if let Some(fin) = &p.finance {
                let labels: BTreeSet<&str> = default_labels
                    .iter()
                    .copied()
                    .chain(fin.champs.keys().map(String::as_str))
                    .collect();
                check_finance(&mut r, fin, f, "finance.", &labels, false);
            }
        }
        r.problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn schemas() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
    }

    #[test]
    fn the_committed_dictionary_is_valid() {
        let d = Dictionary::load(schemas()).unwrap();
        let problems = d.validate();
        assert!(problems.is_empty(), "{problems:#?}");
        for name in [
            "eleve",
            "inscription",
            "resultat",
            "absence",
            "etablissement",
            "cours",
            "legende",
            "calendrier",
            "frequentation_fga_fp",
            "resultat_ministere",
            "sanction",
            "ecriture",
            "budget",
            "unite_administrative",
        ] {
            let e = d.entity(name).unwrap_or_else(|| panic!("missing entity {name}"));
            assert_eq!(e.partitioning == Partitioning::Css, name == "eleve", "{name}");
        }
        assert_eq!(d.source("gpi").unwrap().tables.len(), 12);
        assert!(d.version.starts_with("2."));
    }

    #[test]
    fn free_text_and_local_identifiers_of_the_new_sources_stay_in_the_css_zone() {
        let d = Dictionary::load(schemas()).unwrap();
        let shared =
            |e: &str| -> Vec<String> { d.entity(e).unwrap().shared_fields().map(|f| f.name.clone()).collect() };
        assert!(!shared("ecriture").contains(&"description".to_string()));
        assert!(shared("ecriture").contains(&"montant".to_string()));
        assert!(!shared("frequentation_fga_fp").contains(&"fiche".to_string()));
        for e in ["frequentation_fga_fp", "resultat_ministere", "sanction"] {
            assert_eq!(
                d.entity(e).unwrap().field("cle_eleve").unwrap().personal,
                PersonalClass::Pseudonymous
            );
        }
        assert_eq!(
            d.entity("ecriture").unwrap().field("montant").unwrap().field_type,
            FieldType::Money
        );
        assert!(d.entity("etablissement").unwrap().field("eco").unwrap().nullable);
        assert!(d.entity("inscription").unwrap().field("eco").unwrap().nullable);
    }

    #[test]
    fn the_finance_mapping_matches_the_longest_prefix() {
        let d = Dictionary::load(schemas()).unwrap();
        let f = d.profile("751000").finance;
        let (champ, label) = f.champ("26110").unwrap();
        assert_eq!(champ, "2");
        assert_eq!(label.unwrap().fr, "Soutien à l'enseignement et à la formation");
        assert!(f.ressources_informationnelles("26110"));
        assert!(f.ressources_informationnelles("46000"));
        assert!(!f.ressources_informationnelles("21000"));
        assert_eq!(f.objet("912").unwrap().nature, "revenu");
        assert_eq!(f.objet("912").unwrap().categorie, "revenus");
        assert_eq!(f.objet("110").unwrap().categorie, "salaires");
        assert!(f.objet("700").is_none(), "7 is not mapped: such codes are quarantined");
        assert!(f.champ("91000").is_none());
        assert_eq!(f.secteur("13000"), "jeunes");
        assert_eq!(f.secteur("14000"), "fga");
        assert_eq!(f.secteur("15000"), "fp");
        assert_eq!(f.secteur("41000"), "commun", "an activity of no sector");
    }

    #[test]
    fn a_css_overrides_the_finance_mapping_by_prefix() {
        let tmp = tempdir("finance-override");
        std::fs::write(
            tmp.join("css/751000.yaml"),
            "code_css: \"751000\"\nfinance:\n  activites:\n    - {prefixe: \"271\", champ: \"3\"}\n    - {prefixe: \"7\", champ: \"6\"}\n  ressources_informationnelles: [\"27\"]\n  secteurs:\n    - {prefixe: \"271\", secteur: fp}\n  objets:\n    - {prefixe: \"75\", categorie: autres_depenses, nature: depense}\n",
        )
        .unwrap();
        let d = Dictionary::load(&tmp).unwrap();
        assert!(d.validate().is_empty(), "{:#?}", d.validate());
        let own = d.profile("751000").finance;
        assert_eq!(own.champ("27105").unwrap().0, "3", "the longest prefix wins");
        assert_eq!(own.champ("27205").unwrap().0, "2", "the rest of 2 keeps the default");
        assert_eq!(own.champ("71000").unwrap().0, "6", "a new prefix");
        assert!(own.ressources_informationnelles("27105"));
        assert!(
            !own.ressources_informationnelles("26110"),
            "the CSS's IT list replaces the default one"
        );
        assert_eq!(own.objet("751").unwrap().categorie, "autres_depenses");
        assert_eq!(own.secteur("27105"), "fp", "a CSS adds a sector prefix");
        assert_eq!(own.secteur("13000"), "jeunes", "and keeps the default ones");
        assert!(own.objet("700").is_none());
        // Another CSS keeps the defaults.
        let other = d.profile("866000").finance;
        assert_eq!(other.champ("27105").unwrap().0, "2");
        assert!(other.ressources_informationnelles("26110"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn finance_problems_are_reported_with_file_and_path() {
        let tmp = tempdir("finance-problems");
        let fin = tmp.join("finance.yaml");
        let text = std::fs::read_to_string(&fin)
            .unwrap()
            .replace("{prefixe: \"6\", champ: \"6\"}", "{prefixe: \"6\", champ: \"7\"}")
            .replace("{prefixe: \"5\", champ: \"5\"}", "{prefixe: \"4\", champ: \"5\"}")
            .replace("categorie: deplacements", "categorie: voyages");
        std::fs::write(&fin, text).unwrap();
        std::fs::write(
            tmp.join("css/751000.yaml"),
            "code_css: \"751000\"\nfinance:\n  activites:\n    - {prefixe: \"2a\", champ: \"2\"}\n  objets:\n    - {prefixe: \"8\", categorie: revenus, nature: recette}\n",
        )
        .unwrap();
        let d = Dictionary::load(&tmp).unwrap();
        let shown: Vec<String> = d.validate().iter().map(|p| p.to_string()).collect();
        let has = |file: &str, path: &str, msg: &str| {
            assert!(
                shown
                    .iter()
                    .any(|s| s.contains(file) && s.contains(path) && s.contains(msg)),
                "no problem {file} {path} {msg}: {shown:#?}"
            )
        };
        has("finance.yaml", "activites[5] (6).champ", "unknown field \"7\"");
        has("finance.yaml", "activites[4] (4).prefixe", "prefix defined twice");
        has(
            "finance.yaml",
            "objets[2] (3).categorie",
            "unknown category \"voyages\"",
        );
        has("751000.yaml", "finance.activites[0] (2a).prefixe", "digits");
        has("751000.yaml", "finance.objets[0] (8).nature", "unknown nature");
        assert_eq!(shown.len(), 5, "{shown:#?}");
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn finance_yaml_is_required() {
        let tmp = tempdir("finance-missing");
        std::fs::remove_file(tmp.join("finance.yaml")).unwrap();
        let err = Dictionary::load(&tmp).unwrap_err().to_string();
        assert!(err.contains("finance.yaml"), "{err}");
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn the_drop_guard_threshold_comes_from_the_css_then_the_entity_then_the_default() {
        let tmp = tempdir("baisse-max");
        let entity = tmp.join("entities/absence.yaml");
        let text = std::fs::read_to_string(&entity).unwrap().replace(
            "partitioning: annee_scolaire\n",
            "partitioning: annee_scolaire\nbaisse_max: 0.7\n",
        );
        std::fs::write(&entity, text).unwrap();
        std::fs::write(
            tmp.join("css/751000.yaml"),
            "code_css: \"751000\"\nbaisse_max:\n  absence: 0.9\n  resultat: 1\n",
        )
        .unwrap();
        let d = Dictionary::load(&tmp).unwrap();
        assert!(d.validate().is_empty(), "{:#?}", d.validate());
        assert_eq!(d.baisse_max("751000", "absence"), 0.9, "the CSS profile wins");
        assert_eq!(d.baisse_max("751000", "resultat"), 1.0);
        assert_eq!(d.baisse_max("866000", "absence"), 0.7, "the entity's own threshold");
        assert_eq!(d.baisse_max("866000", "resultat"), DEFAULT_BAISSE_MAX);
        assert_eq!(DEFAULT_BAISSE_MAX, 0.5);
        let doc = d.to_markdown();
        assert!(
            doc.contains("- Drop guard (`baisse_max`): 0.7\n"),
            "the entity's threshold is documented"
        );
        assert!(doc.contains("- Drop guard: `absence` held beyond a fall of 0.9\n"));
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn drop_guard_thresholds_outside_zero_to_one_are_problems() {
        let tmp = tempdir("baisse-max-bad");
        let entity = tmp.join("entities/absence.yaml");
        let text = std::fs::read_to_string(&entity).unwrap().replace(
            "partitioning: annee_scolaire\n",
            "partitioning: annee_scolaire\nbaisse_max: 0\n",
        );
        std::fs::write(&entity, text).unwrap();
        std::fs::write(
            tmp.join("css/751000.yaml"),
            "code_css: \"751000\"\nbaisse_max:\n  resultat: 1.5\n  absences: 0.5\n",
        )
        .unwrap();
        let d = Dictionary::load(&tmp).unwrap();
        let problems: Vec<String> = d
            .validate()
            .iter()
            .map(|p| {
                format!(
                    "{}: {}: {}",
                    p.file.file_name().unwrap().to_string_lossy(),
                    p.path,
                    p.message
                )
            })
            .collect();
        assert_eq!(
            problems,
            vec![
                format!("absence.yaml: baisse_max: 0: {BAISSE_MAX_RANGE}"),
                "751000.yaml: baisse_max.absences: unknown entity \"absences\"".to_string(),
                format!("751000.yaml: baisse_max.resultat: 1.5: {BAISSE_MAX_RANGE}"),
            ]
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    /// A copy of the committed schemas (without the registry) in a fresh temporary folder.
    fn tempdir(name: &str) -> std::path::PathBuf {
        let tmp = std::env::temp_dir().join(format!("socle-dict-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        copy_dir(&schemas(), &tmp);
        tmp
    }

    #[test]
    fn defaults_apply_to_a_css_without_a_profile_and_overrides_to_one_with() {
        let d = Dictionary::load(schemas()).unwrap();
        let default = d.profile("751000");
        assert!(!default.customised);
        assert_eq!(default.special_values["ABS"], "absent");
        assert!(default.courses.is_empty());
        let own = d.profile("866000");
        assert!(own.customised);
        assert_eq!(own.special_values["AB"], "absent");
        assert_eq!(own.special_values["ABS"], "absent");
        assert_eq!(own.courses["FR-4"], "FRA400");
        assert_eq!(own.encoding, Encoding::Windows1252);
    }

    #[test]
    fn personal_fields_never_reach_the_shared_zone() {
        let d = Dictionary::load(schemas()).unwrap();
        let eleve = d.entity("eleve").unwrap();
        let shared: Vec<_> = eleve.shared_fields().map(|f| f.name.as_str()).collect();
        assert!(shared.contains(&"cle_eleve"));
        for banned in ["code_permanent", "nom", "prenom", "date_naissance", "fiche"] {
            assert!(!shared.contains(&banned), "{banned} would be shared");
        }
    }

    #[test]
    fn every_problem_is_reported_with_file_and_path() {
        let tmp = std::env::temp_dir().join(format!("socle-dict-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        copy_dir(&schemas(), &tmp);
        // Break three things in three files.
        let ent = tmp.join("entities/absence.yaml");
        let text = std::fs::read_to_string(&ent)
            .unwrap()
            .replace("motivee, non_motivee, retard]", "]");
        std::fs::write(&ent, text).unwrap();
        let css = tmp.join("css/881000.yaml");
        let text = std::fs::read_to_string(&css)
            .unwrap()
            .replace("\"132406\"", "\"13240\"");
        std::fs::write(&css, text).unwrap();
        let vals = tmp.join("valeurs.yaml");
        let text = std::fs::read_to_string(&vals)
            .unwrap()
            .replace("EX: exempte", "EX: exempted");
        std::fs::write(&vals, text).unwrap();
        let d = Dictionary::load(&tmp).unwrap();
        let problems = d.validate();
        let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(problems.len(), 3, "{shown:#?}");
        assert!(
            shown
                .iter()
                .any(|s| s.contains("absence.yaml") && s.contains("domain.values") && s.contains("empty list"))
        );
        assert!(
            shown
                .iter()
                .any(|s| s.contains("881000.yaml") && s.contains("cours.FRA406"))
        );
        assert!(
            shown
                .iter()
                .any(|s| s.contains("valeurs.yaml") && s.contains("valeurs_speciales_resultat.EX"))
        );
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn a_yaml_error_names_the_file() {
        let tmp = std::env::temp_dir().join(format!("socle-dict-yaml-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        copy_dir(&schemas(), &tmp);
        std::fs::write(tmp.join("css/751000.yaml"), "code_css: \"751000\"\nunknown_key: 1\n").unwrap();
        let err = Dictionary::load(&tmp).unwrap_err().to_string();
        assert!(err.contains("751000.yaml"), "{err}");
        assert!(err.contains("unknown_key"), "{err}");
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                if entry.file_name() != "reference" {
                    copy_dir(&entry.path(), &target);
                }
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}
