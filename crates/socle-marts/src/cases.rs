//! Mart tests as data: the cases of `pipelines/tests/<mart>.yaml`, each a small hand-built set of
//! canonical tables (`given`), run through a mart with [`Fixture`] in a zone, and the rows the
//! mart must give (`expect`), computed by hand (see `pipelines/tests/README.md`).
//!
//! ```yaml
//! mart: absenteisme
//! description: ce que couvrent ces cas   # optional
//! cases:
//!   - name: par_etape
//!     description: "ce que vérifie le cas"  # required
//!     zone: css                             # css (exact rows) | shared (small cells suppressed)
//!     seuil: 5                              # optional small-cell threshold
//!     nuits: {"866000": 2025-06-30}         # optional night of each CSS (default: today)
//!     given:
//!       inscription:                        # rows: column -> value (missing column = null)
//!         - {annee_scolaire: 2024-2025, code_css: "866000"}
//!       calendrier: data/calendrier.csv     # or a CSV file (relative to pipelines/tests/)
//!       eleve: |                            # or a CSV text (several lines, header first)
//!         code_css,cle_eleve,sexe
//!         866000,k01,F
//!     where: {etape: 1}                     # optional: only the mart's rows with these values
//!     expect:                               # exactly the (selected) rows, on these columns
//!       - {code_etablissement: "866012", etape: 1, nb_periodes_absence: 46}
//!     # or expect_error: "substring of the error"
//! ```
//!
//! Values are compared as text, except numbers: integers exactly, other numbers within 1e-9;
//! `~` / `null` is a null cell. The mart's rows (those `where` selects), projected on the columns
//! the expected rows name, must be exactly the expected rows (as multisets).

use crate::testing::{Fixture, Rows};
use crate::{Project, SUPPRESSED_COLUMN};
use serde::Deserialize;
use socle_dictionary::Dictionary;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Folder of the case files, under the pipelines.
pub const TESTS_DIR: &str = "tests";

/// A value of a YAML case: the scalar's text, `None` for `~` / `null`.
pub type Value = Option<String>;
/// A row of a YAML case: column -> value.
pub type YamlRow = BTreeMap<String, Value>;

/// One file `pipelines/tests/<name>.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    /// The mart every case runs.
    pub mart: String,
    #[serde(default)]
    pub description: Option<String>,
    pub cases: Vec<Case>,
}

/// The zone whose rows a case checks.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CaseZone {
    /// Exact rows, as every CSS zone gets them (with `cellule_supprimee` for a shared mart).
    Css,
    /// The shared zone: small cells suppressed; an error for a nominative mart.
    Shared,
}

/// A table of `given`: rows, or a CSV file (one line) or CSV text (several lines), or a list of
/// CSV files or texts (whose columns may differ).
#[derive(Debug, Clone)]
pub enum Given {
    Rows(Vec<YamlRow>),
    Csv(String),
    Many(Vec<String>),
}

/// Read without buffering (an untagged enum would type `01` as the number 1): each value of a
/// row keeps its YAML text.
impl<'de> Deserialize<'de> for Given {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error, MapAccess, SeqAccess, Visitor};
        enum Item {
            Row(YamlRow),
            Text(String),
        }
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a row (column: value) or a CSV file or text")
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Item, E> {
                Ok(Item::Text(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
                let mut row = YamlRow::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    row.insert(k, v);
                }
                Ok(Item::Row(row))
            }
        }
        impl<'de> Deserialize<'de> for Item {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any(ItemVisitor)
            }
        }
        struct GivenVisitor;
        impl<'de> Visitor<'de> for GivenVisitor {
            type Value = Given;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of rows, a CSV file or text, or a list of CSV files or texts")
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Given, E> {
                Ok(Given::Csv(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Given, A::Error> {
                let (mut rows, mut texts) = (Vec::new(), Vec::new());
                while let Some(item) = seq.next_element::<Item>()? {
                    match item {
                        Item::Row(r) => rows.push(r),
                        Item::Text(t) => texts.push(t),
                    }
                }
                match (rows.is_empty(), texts.is_empty()) {
                    (_, true) => Ok(Given::Rows(rows)),
                    (true, false) => Ok(Given::Many(texts)),
                    (false, false) => Err(A::Error::custom("a list of rows or of CSV files, not both")),
                }
            }
        }
        d.deserialize_any(GivenVisitor)
    }
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    /// What the case checks, in words.
    pub description: String,
    pub zone: CaseZone,
    #[serde(default)]
    pub seuil: Option<i64>,
    /// The night each CSS was loaded (code_css -> date).
    #[serde(default)]
    pub nuits: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub given: BTreeMap<String, Given>,
    /// Only the mart's rows with these values are compared.
    #[serde(default, rename = "where")]
    pub filter: YamlRow,
    /// Every row the mart gives (after `where`); `[]` = no row.
    #[serde(default)]
    pub expect: Option<Vec<YamlRow>>,
    /// The case must fail with an error containing this text.
    #[serde(default)]
    pub expect_error: Option<String>,
    /// Seeds replaced for this case: seed name -> a CSV path (relative to `pipelines/tests/`)
    /// with the seed's columns, e.g. a rule of `exigences_des` the committed seed does not use.
    #[serde(default)]
    pub seeds: BTreeMap<String, String>,
}

/// A case file read from disk (or why it could not be).
#[derive(Debug, Clone)]
pub struct LoadedFile {
    pub path: PathBuf,
    /// The file name without `.yaml`.
    pub stem: String,
    pub file: Result<CaseFile, String>,
}

/// Reads every `*.yaml` of `dir` (sorted). A file that does not parse comes back with its error.
pub fn load_dir(dir: &Path) -> Result<Vec<LoadedFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    paths.sort();
    Ok(paths.into_iter().map(|p| load_file(&p)).collect())
}

/// Reads one case file.
pub fn load_file(path: &Path) -> LoadedFile {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_saphyr::from_str::<CaseFile>(&text).map_err(|e| e.to_string()));
    LoadedFile {
        path: path.to_path_buf(),
        stem,
        file,
    }
}

/// The result of one case (or of a file that could not be read: `case` is empty).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `file::case` (the file's name without `.yaml`).
    pub id: String,
    pub mart: String,
    /// `None` if the case passed; otherwise what differs, in words.
    pub failure: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Runs mart cases against the dictionary and pipelines (both loaded once).
/// The outcomes of a run of cases, as `socle test` prints them: one line per case (`ok` or
/// `ÉCHEC` with what differs), then the totals and the folder of the cases.
pub struct CasesReport<'a> {
    pub outcomes: &'a [Outcome],
    pub dir: &'a Path,
}

impl CasesReport<'_> {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_some()).count()
    }
}

impl std::fmt::Display for CasesReport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for o in self.outcomes {
            match &o.failure {
                None => writeln!(f, "ok     {}", o.id)?,
                Some(why) => {
                    writeln!(f, "ÉCHEC  {}", o.id)?;
                    for line in why.lines() {
                        writeln!(f, "       {line}")?;
                    }
                }
            }
        }
        let failed = self.failed();
        writeln!(
            f,
            "{} cas: {} réussi(s), {} en échec ({})",
            self.outcomes.len(),
            self.outcomes.len() - failed,
            failed,
            self.dir.display()
        )
    }
}

pub struct Runner {
    dictionary: Arc<Dictionary>,
    project: Arc<Project>,
    dir: PathBuf,
}

impl Runner {
    /// The dictionary of `schemas`, the marts of `pipelines`, the cases of `pipelines/tests/`.
    pub fn new(schemas: &Path, pipelines: &Path) -> Result<Self, String> {
        let dictionary = Dictionary::load(schemas).map_err(|e| format!("{}: {e}", schemas.display()))?;
        let (project, problems) = crate::load(pipelines).map_err(|e| e.to_string())?;
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(format!("les pipelines ont des problèmes:\n{}", list.join("\n")));
        }
        Ok(Runner {
            dictionary: Arc::new(dictionary),
            project: Arc::new(project),
            dir: pipelines.join(TESTS_DIR),
        })
    }

    /// The folder of the case files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs every case, or those `name` selects: a file (its name without `.yaml`), a mart, or
    /// one case `file::case` / `mart::case`. An error if `name` selects nothing.
    pub async fn run(&self, name: Option<&str>) -> Result<Vec<Outcome>, String> {
        let files = load_dir(&self.dir)?;
        let (file_sel, case_sel) = match name.map(|n| n.split_once("::")) {
            Some(Some((f, c))) => (Some(f), Some(c)),
            Some(None) => (name, None),
            None => (None, None),
        };
        let mut out = Vec::new();
        for f in &files {
            let file = match &f.file {
                Ok(file) => file,
                Err(e) => {
                    if file_sel.is_none_or(|s| s == f.stem) {
                        out.push(Outcome {
                            id: f.stem.clone(),
                            mart: String::new(),
                            failure: Some(format!("{}: YAML illisible: {e}", f.path.display())),
                        });
                    }
                    continue;
                }
            };
            if file_sel.is_some_and(|s| s != f.stem && s != file.mart) {
                continue;
            }
            if let Some(problem) = file_problem(file) {
                out.push(Outcome {
                    id: f.stem.clone(),
                    mart: file.mart.clone(),
                    failure: Some(format!("{}: {problem}", f.path.display())),
                });
                continue;
            }
            for case in &file.cases {
                if case_sel.is_some_and(|c| c != case.name) {
                    continue;
                }
                let failure = self
                    .run_case(file, case)
                    .await
                    .err()
                    .map(|e| format!("{} (cas {}): {e}", f.path.display(), case.name));
                out.push(Outcome {
                    id: format!("{}::{}", f.stem, case.name),
                    mart: file.mart.clone(),
                    failure,
                });
            }
        }
        if let Some(n) = name
            && out.is_empty()
        {
            return Err(format!(
                "aucun cas ne correspond à {n} dans {} (un fichier, un mart, ou fichier::cas)",
                self.dir.display()
            ));
        }
        Ok(out)
    }

    /// Runs one case: `Err` says why it fails.
    pub async fn run_case(&self, file: &CaseFile, case: &Case) -> Result<(), String> {
        let mart = self
            .project
            .mart(&file.mart)
            .ok_or_else(|| format!("aucun mart nommé {} dans les pipelines", file.mart))?;
        let expect = match (&case.expect, &case.expect_error) {
            (Some(_), Some(_)) => return Err("expect et expect_error à la fois: un seul des deux".into()),
            (None, None) => {
                return Err("ni expect ni expect_error: écrire `expect: []` pour « aucune ligne »".into());
            }
            (e, _) => e,
        };
        let project = if case.seeds.is_empty() {
            self.project.clone()
        } else {
            let mut project = (*self.project).clone();
            for (name, path) in &case.seeds {
                let seed = project
                    .seeds
                    .iter_mut()
                    .find(|s| &s.spec.name == name)
                    .ok_or_else(|| format!("seeds: aucun seed nommé {name} dans les pipelines"))?;
                let csv_path = self.dir.join(path.trim());
                if !csv_path.is_file() {
                    return Err(format!("seeds: {name}: fichier introuvable {}", csv_path.display()));
                }
                seed.csv_path = csv_path;
            }
            Arc::new(project)
        };
        let mut fixture = Fixture::from_loaded(self.dictionary.clone(), project);
        for (table, given) in &case.given {
            match given {
                Given::Many(parts) => {
                    for part in parts {
                        fixture = fixture.table(table, &self.given_csv(table, &Given::Csv(part.clone()))?);
                    }
                }
                _ => fixture = fixture.table(table, &self.given_csv(table, given)?),
            }
        }
        if let Some(nuits) = &case.nuits {
            let mut csv = String::from("code_css,nuit\n");
            for (code, night) in nuits {
                let _ = writeln!(csv, "{},{}", csv_field(code), csv_field(night));
            }
            fixture = fixture.table(crate::NIGHTS, &csv);
        }
        if let Some(n) = case.seuil {
            fixture = fixture.threshold(n);
        }
        let result = match case.zone {
            CaseZone::Css => fixture.css_zone(&file.mart).await,
            CaseZone::Shared => fixture.shared_zone(&file.mart).await,
        };
        let rows = match (result, &case.expect_error) {
            (Err(e), Some(wanted)) => {
                let e = e.to_string();
                return if e.contains(wanted.as_str()) {
                    Ok(())
                } else {
                    Err(format!("erreur attendue contenant « {wanted} », obtenu: {e}"))
                };
            }
            (Ok(rows), Some(wanted)) => {
                return Err(format!(
                    "erreur attendue contenant « {wanted} », mais le mart a donné {} ligne(s)",
                    rows.len()
                ));
            }
            (Err(e), None) => return Err(format!("le mart {} a échoué: {e}", file.mart)),
            (Ok(rows), None) => rows,
        };
        let expect = expect.as_deref().unwrap_or_default();
        // Every column named must be one of the mart's.
        let mut known: Vec<String> = mart.spec.columns.iter().map(|c| c.name.clone()).collect();
        known.push(SUPPRESSED_COLUMN.to_string());
        for (what, row) in case
            .filter
            .keys()
            .map(|c| ("where", c))
            .chain(expect.iter().flat_map(|r| r.keys().map(|c| ("expect", c))))
        {
            if !rows.columns.contains(row) {
                return Err(format!(
                    "{what}: le mart {} n'a pas de colonne {row} (colonnes: {})",
                    file.mart,
                    if rows.columns.is_empty() {
                        known.join(", ")
                    } else {
                        rows.columns.join(", ")
                    }
                ));
            }
        }
        compare(&rows, &case.filter, expect)
    }

    /// The CSV text of one `given` table.
    fn given_csv(&self, table: &str, given: &Given) -> Result<String, String> {
        match given {
            Given::Csv(text) if text.trim().contains('\n') => Ok(text.clone()),
            Given::Csv(path) => {
                let p = self.dir.join(path.trim());
                std::fs::read_to_string(&p).map_err(|e| format!("given.{table}: {}: {e}", p.display()))
            }
            Given::Many(_) => Err(format!("given.{table}: une liste de listes")),
            Given::Rows(rows) => {
                let mut columns: Vec<&str> = Vec::new();
                for r in rows {
                    for c in r.keys() {
                        if !columns.contains(&c.as_str()) {
                            columns.push(c);
                        }
                    }
                }
                if columns.is_empty() {
                    return Err(format!(
                        "given.{table}: aucune colonne (une table vide s'omet: toute table non donnée est vide)"
                    ));
                }
                let mut csv = columns.join(",");
                csv.push('\n');
                for r in rows {
                    let cells: Vec<String> = columns
                        .iter()
                        .map(|c| r.get(*c).cloned().flatten().map(|v| csv_field(&v)).unwrap_or_default())
                        .collect();
                    csv.push_str(&cells.join(","));
                    csv.push('\n');
                }
                Ok(csv)
            }
        }
    }
}

/// What is wrong with a file as a whole (no cases, two cases of one name).
fn file_problem(file: &CaseFile) -> Option<String> {
    if file.cases.is_empty() {
        return Some("aucun cas (cases: [])".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &file.cases {
        if !seen.insert(c.name.as_str()) {
            return Some(format!("deux cas se nomment {}", c.name));
        }
        if c.description.trim().is_empty() {
            return Some(format!("cas {}: description vide", c.name));
        }
    }
    None
}

/// A CSV field, quoted if needed.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

/// Whether an expected value matches a cell: text, or numbers (integers exactly, others within
/// 1e-9); `None` matches null only.
pub fn same(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (None, None) => true,
        (Some(e), Some(a)) => {
            if e == a {
                return true;
            }
            if let (Ok(x), Ok(y)) = (e.parse::<i64>(), a.parse::<i64>()) {
                return x == y;
            }
            match (number(e), number(a)) {
                (Some(x), Some(y)) => (x - y).abs() <= 1e-9,
                _ => false,
            }
        }
        _ => false,
    }
}

/// A finite number written in decimal (not `inf` or `nan`).
fn number(s: &str) -> Option<f64> {
    if s.is_empty()
        || !s
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn show(v: &Value) -> &str {
    v.as_deref().unwrap_or("~")
}

fn show_row(columns: &[&String], row: &[Value]) -> String {
    let cells: Vec<String> = columns
        .iter()
        .zip(row)
        .map(|(c, v)| format!("{c}: {}", show(v)))
        .collect();
    format!("{{{}}}", cells.join(", "))
}

/// Compares the rows `filter` selects, projected on the expected rows' columns, with `expect`.
pub fn compare(rows: &Rows, filter: &YamlRow, expect: &[YamlRow]) -> Result<(), String> {
    let index = |c: &str| rows.columns.iter().position(|x| x == c);
    let mut selected: Vec<&Vec<Value>> = Vec::new();
    for r in &rows.rows {
        let mut keep = true;
        for (c, v) in filter {
            let i = index(c).ok_or_else(|| format!("where: pas de colonne {c}"))?;
            keep &= same(v, &r[i]);
        }
        if keep {
            selected.push(r);
        }
    }
    // The columns compared: those of the first expected row; every row names the same ones.
    let columns: Vec<&String> = expect.first().map(|r| r.keys().collect()).unwrap_or_default();
    for (n, r) in expect.iter().enumerate() {
        let names: Vec<&String> = r.keys().collect();
        if names != columns {
            return Err(format!(
                "expect: la ligne {} nomme les colonnes [{}], la première [{}]: toutes les lignes nomment les mêmes",
                n + 1,
                names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "),
                columns.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    let mut idx = Vec::with_capacity(columns.len());
    for c in &columns {
        idx.push(index(c).ok_or_else(|| format!("expect: pas de colonne {c}"))?);
    }
    let actual: Vec<Vec<Value>> = selected
        .iter()
        .map(|r| idx.iter().map(|&i| r[i].clone()).collect())
        .collect();
    let expected: Vec<Vec<Value>> = expect
        .iter()
        .map(|r| columns.iter().map(|c| r.get(*c).cloned().flatten()).collect())
        .collect();
    // Multiset matching: each expected row takes the first unused actual row equal to it.
    let mut used = vec![false; actual.len()];
    let mut missing = Vec::new();
    for e in &expected {
        match (0..actual.len()).find(|&i| !used[i] && e.iter().zip(&actual[i]).all(|(x, y)| same(x, y))) {
            Some(i) => used[i] = true,
            None => missing.push(e),
        }
    }
    let extra: Vec<&Vec<Value>> = actual.iter().zip(&used).filter(|(_, u)| !**u).map(|(r, _)| r).collect();
    if missing.is_empty() && extra.is_empty() {
        return Ok(());
    }
    let mut out = format!(
        "{} ligne(s) attendue(s), {} obtenue(s){}",
        expected.len(),
        actual.len(),
        if filter.is_empty() {
            String::new()
        } else {
            let f: Vec<String> = filter.iter().map(|(c, v)| format!("{c}: {}", show(v))).collect();
            format!(" (where {{{}}})", f.join(", "))
        }
    );
    if !missing.is_empty() {
        let _ = write!(out, "\n  attendues, absentes ({}):", missing.len());
        for e in &missing {
            let _ = write!(out, "\n    - {}", show_row(&columns, e));
            // The nearest unexpected row: the most cells equal (at least one).
            let nearest = extra
                .iter()
                .map(|a| (e.iter().zip(a.iter()).filter(|(x, y)| same(x, y)).count(), a))
                .filter(|(n, _)| *n > 0)
                .max_by_key(|(n, _)| *n);
            if let Some((_, a)) = nearest {
                let diffs: Vec<String> = columns
                    .iter()
                    .zip(e.iter().zip(a.iter()))
                    .filter(|(_, (x, y))| !same(x, y))
                    .map(|(c, (x, y))| format!("{c}: attendu {}, obtenu {}", show(x), show(y)))
                    .collect();
                let _ = write!(out, "\n      la plus proche diffère: {}", diffs.join("; "));
            }
        }
    }
    if !extra.is_empty() {
        let _ = write!(out, "\n  obtenues, non attendues ({}):", extra.len());
        for a in &extra {
            let _ = write!(out, "\n    + {}", show_row(&columns, a));
        }
    }
    Err(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_keep_their_text() {
        let yaml = "- {a: 01, b: 2024-2025, c: ~, d: null, e: \"null\", f: true, g: 0.5, h: 866000, i: 2025-06-30}\n";
        let rows: Vec<YamlRow> = serde_saphyr::from_str(yaml).expect("yaml");
        let Given::Rows(given) = serde_saphyr::from_str::<Given>(yaml).expect("given") else {
            panic!("not rows")
        };
        assert_eq!(given, rows);
        let r = &rows[0];
        assert_eq!(r["a"].as_deref(), Some("01"));
        assert_eq!(r["b"].as_deref(), Some("2024-2025"));
        assert_eq!(r["c"], None);
        assert_eq!(r["d"], None);
        assert_eq!(r["e"].as_deref(), Some("null"));
        assert_eq!(r["f"].as_deref(), Some("true"));
        assert_eq!(r["g"].as_deref(), Some("0.5"));
        assert_eq!(r["h"].as_deref(), Some("866000"));
        assert_eq!(r["i"].as_deref(), Some("2025-06-30"));
    }

    #[test]
    fn numbers_compare_by_value() {
        let s = |v: &str| Some(v.to_string());
        assert!(same(&s("75"), &s("75.0")));
        assert!(same(&s("0.333333333333"), &s("0.3333333333333333")));
        assert!(!same(&s("46"), &s("45")));
        assert!(!same(&s("x"), &None));
        assert!(same(&None, &None));
        assert!(!same(&s("nan"), &s("NaN")));
    }

    #[test]
    fn missing_and_extra_rows_are_shown_with_the_differing_cells() {
        let rows = Rows {
            columns: vec!["etape".into(), "n".into()],
            rows: vec![
                vec![Some("1".into()), Some("46".into())],
                vec![Some("2".into()), Some("3".into())],
            ],
        };
        let row = |e: &str, n: &str| -> YamlRow {
            [
                ("etape".to_string(), Some(e.to_string())),
                ("n".to_string(), Some(n.to_string())),
            ]
            .into()
        };
        assert!(compare(&rows, &YamlRow::new(), &[row("1", "46"), row("2", "3")]).is_ok());
        let e = compare(&rows, &YamlRow::new(), &[row("1", "45"), row("2", "3")]).unwrap_err();
        assert!(e.contains("n: attendu 45, obtenu 46"), "{e}");
        let e = compare(&rows, &YamlRow::new(), &[row("1", "46")]).unwrap_err();
        assert!(e.contains("non attendues (1)"), "{e}");
        let filter: YamlRow = [("etape".to_string(), Some("2".to_string()))].into();
        assert!(compare(&rows, &filter, &[row("2", "3")]).is_ok());
        assert!(compare(&rows, &filter, &[]).is_err());
    }

    /// Clear errors: unknown mart, table or column, a case without expectation, a wrong error.
    #[tokio::test]
    async fn mistakes_in_a_case_are_clear_errors() {
        let root = crate::testing::repo_root();
        let runner = Runner::new(&root.join("schemas"), &root.join("pipelines")).expect("runner");
        let run = |yaml: &'static str| {
            let file: CaseFile = serde_saphyr::from_str(yaml).expect("yaml");
            let runner = &runner;
            async move { runner.run_case(&file, &file.cases[0]).await }
        };
        let head = "cases:\n  - {name: c, description: d, zone: css, ";
        let e = run("mart: pas_un_mart\ncases:\n  - {name: c, description: d, zone: css, expect: []}\n")
            .await
            .unwrap_err();
        assert!(e.contains("aucun mart nommé pas_un_mart"), "{e}");
        let yaml = format!("mart: taux_reussite\n{head}given: {{pas_une_table: [{{a: 1}}]}}, expect: []}}\n");
        let e = run(Box::leak(yaml.into_boxed_str())).await.unwrap_err();
        assert!(e.contains("pas_une_table is not a canonical table"), "{e}");
        let yaml = format!("mart: taux_reussite\n{head}expect: [{{pas_une_colonne: 1}}]}}\n");
        let e = run(Box::leak(yaml.into_boxed_str())).await.unwrap_err();
        assert!(e.contains("pas de colonne pas_une_colonne"), "{e}");
        let yaml = "mart: taux_reussite\ncases:\n  - {name: c, description: d, zone: css}\n".to_string();
        let e = run(Box::leak(yaml.into_boxed_str())).await.unwrap_err();
        assert!(e.contains("ni expect ni expect_error"), "{e}");
        let yaml = format!("mart: taux_reussite\n{head}expect: []}}\n");
        assert!(run(Box::leak(yaml.into_boxed_str())).await.is_ok());
        let yaml = "mart: suivi_des\ncases:\n  - {name: c, description: d, zone: shared, expect_error: autre chose}\n"
            .to_string();
        let e = run(Box::leak(yaml.into_boxed_str())).await.unwrap_err();
        assert!(e.contains("erreur attendue contenant « autre chose »"), "{e}");
    }
}
