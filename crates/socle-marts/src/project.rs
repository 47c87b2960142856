//! Loading `pipelines/`: the intermediate models and the marts (SQL + YAML), the seeds (CSV +
//! YAML) and `config.yaml`, with every problem reported with its file. Models come back in
//! dependency order (a model reading another comes after it), found from the tables their SQL
//! reads; intermediate models never read marts, so they all come before the marts.

use crate::spec::{
    ChartKind, Config, Execution, IntermediateSpec, MartColumn, MartSpec, Publication, SeedSpec, Source,
};
use crate::{MartError, Problem};
use datafusion::common::config::Dialect;
use datafusion::prelude::SessionContext;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The column every `publication: shared` mart gets: whether the row is (or, in a CSS's zone,
/// would be) partly hidden in the shared zone.
pub const SUPPRESSED_COLUMN: &str = "cellule_supprimee";

/// The heading of [`SUPPRESSED_COLUMN`]: Socle adds the column, so it gives its `libelle` too.
const SUPPRESSED_LIBELLE: &str = "Valeur cachée (petite cellule)";

/// The longest `libelle` (in characters, accents counting one): a column heading on a web page
/// and in a spreadsheet, not a sentence (that is the `description`).
const LIBELLE_MAX_CHARS: usize = 60;

/// A loaded mart or intermediate model (publication [`Publication::Internal`]): its
/// description, its SQL with parameters filled in, and the models it reads.
#[derive(Debug, Clone)]
pub struct Mart {
    pub spec: MartSpec,
    /// The SQL as run: `{{ parameter }}` replaced by its value.
    pub sql: String,
    pub sql_path: PathBuf,
    pub yaml_path: PathBuf,
    /// Marts this one reads (built before it, in the same session).
    pub depends_on: Vec<String>,
}

impl Mart {
    /// An intermediate model of `pipelines/intermediate/`, never published.
    pub fn is_intermediate(&self) -> bool {
        self.spec.publication == Publication::Internal
    }

    /// The columns of the mart as published, in order: the SQL's, then `cellule_supprimee` for
    /// a `publication: shared` mart.
    pub fn published_columns(&self) -> Vec<MartColumn> {
        let mut cols = self.spec.columns.clone();
        if self.spec.publication == Publication::Shared {
            cols.push(MartColumn {
                name: SUPPRESSED_COLUMN.to_string(),
                libelle: Some(SUPPRESSED_LIBELLE.to_string()),
                description: "Vrai si une valeur de la ligne est cachée dans la zone partagée (compte sous le seuil des petites cellules, ou taux bâti sur un tel compte); dans la zone d'un CSS, les valeurs sont exactes et ce drapeau dit ce qui ne peut pas être publié tel quel".to_string(),
            });
        }
        cols
    }
}

/// A seed: reference data kept as CSV beside the pipelines.
#[derive(Debug, Clone)]
pub struct Seed {
    pub spec: SeedSpec,
    pub csv_path: PathBuf,
    pub yaml_path: PathBuf,
}

/// Everything under `pipelines/`.
#[derive(Debug, Clone, Default)]
pub struct Project {
    pub root: PathBuf,
    /// The intermediate models (`pipelines/intermediate/`), in dependency order.
    pub intermediates: Vec<Mart>,
    /// The marts, in dependency order (after every intermediate model).
    pub marts: Vec<Mart>,
    pub seeds: Vec<Seed>,
    pub config: Config,
}

impl Project {
    /// The mart `name` (not an intermediate model).
    pub fn mart(&self, name: &str) -> Option<&Mart> {
        self.marts.iter().find(|m| m.spec.name == name)
    }

    /// The mart or intermediate model `name`.
    pub fn model(&self, name: &str) -> Option<&Mart> {
        self.models().find(|m| m.spec.name == name)
    }

    /// Every intermediate model then every mart: a build order.
    pub fn models(&self) -> impl Iterator<Item = &Mart> {
        self.intermediates.iter().chain(self.marts.iter())
    }

    /// `name` and the models it reads, transitively, in build order.
    pub fn with_dependencies(&self, name: &str) -> Vec<&Mart> {
        self.closure(&[name], |m| m.depends_on.clone())
    }

    /// `names` and every model that reads one of them, transitively, in build order: what a
    /// failure of `names` takes down with it.
    pub fn with_dependents(&self, names: &[&str]) -> Vec<&Mart> {
        self.closure(names, |m| {
            self.models()
                .filter(|d| d.depends_on.contains(&m.spec.name))
                .map(|d| d.spec.name.clone())
                .collect()
        })
    }

    fn closure(&self, start: &[&str], next: impl Fn(&Mart) -> Vec<String>) -> Vec<&Mart> {
        let mut wanted: BTreeSet<String> = BTreeSet::new();
        let mut stack: Vec<String> = start.iter().map(|s| s.to_string()).collect();
        while let Some(n) = stack.pop() {
            if wanted.insert(n.clone())
                && let Some(m) = self.model(&n)
            {
                stack.extend(next(m));
            }
        }
        self.models().filter(|m| wanted.contains(&m.spec.name)).collect()
    }

    /// The marts of one source, in build order.
    pub fn marts_of(&self, source: Source) -> Vec<&Mart> {
        self.marts.iter().filter(|m| m.spec.source == source).collect()
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> MartError + '_ {
    move |source| MartError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn problem(file: &Path, path: &str, message: impl Into<String>) -> Problem {
    Problem {
        file: file.to_path_buf(),
        path: path.to_string(),
        message: message.into(),
    }
}

/// Files of `dir` with extension `ext`, sorted; none if the folder does not exist.
fn files_with(dir: &Path, ext: &[&str]) -> Result<Vec<PathBuf>, MartError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| ext.contains(&e)))
        .collect();
    out.sort();
    Ok(out)
}

/// Loads `<pipelines>/marts/*.{sql,yaml}`, `<pipelines>/seeds/*.{csv,yaml}` and
/// `<pipelines>/config.yaml` (optional). Problems (a missing pair, a YAML error, an unknown
/// parameter, a dependency cycle...) come back beside what loaded.
pub fn load(pipelines: &Path) -> Result<(Project, Vec<Problem>), MartError> {
    let mut problems = Vec::new();
    let marts_dir = pipelines.join("marts");
    if !marts_dir.exists() {
        return Err(MartError::Io {
            path: marts_dir,
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no marts folder"),
        });
    }

    let config_path = pipelines.join("config.yaml");
    let config = if config_path.exists() {
        let text = std::fs::read_to_string(&config_path).map_err(io(&config_path))?;
        match serde_saphyr::from_str::<Config>(&text) {
            Ok(c) => {
                if c.seuil_petites_cellules < 1 {
                    problems.push(problem(&config_path, "seuil_petites_cellules", "must be 1 or more"));
                }
                c
            }
            Err(e) => {
                problems.push(problem(&config_path, "", e.to_string()));
                Config::default()
            }
        }
    } else {
        Config::default()
    };

    let seeds = load_seeds(&pipelines.join("seeds"), &mut problems)?;

    let mut marts = Vec::new();
    for path in files_with(&marts_dir, &["sql"])? {
        if !path.with_extension("yaml").exists() {
            problems.push(problem(
                &path,
                "",
                "SQL file without its YAML description (definition, grain, columns)",
            ));
        }
    }
    for path in files_with(&marts_dir, &["yaml", "yml"])? {
        if let Some(m) = load_mart(&path, &mut problems)? {
            marts.push(m);
        }
    }
    let intermediate_dir = pipelines.join("intermediate");
    for path in files_with(&intermediate_dir, &["sql"])? {
        if !path.with_extension("yaml").exists() {
            problems.push(problem(
                &path,
                "",
                "SQL file without its YAML description (definition, grain, columns)",
            ));
        }
    }
    for path in files_with(&intermediate_dir, &["yaml", "yml"])? {
        if let Some(m) = load_intermediate(&path, &mut problems)? {
            marts.push(m);
        }
    }
    let reserved: BTreeSet<&str> = crate::reference::TABLES
        .iter()
        .copied()
        .chain(seeds.iter().map(|s| s.spec.name.as_str()))
        .collect();
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for m in &marts {
        if reserved.contains(m.spec.name.as_str()) {
            problems.push(problem(
                &m.yaml_path,
                "name",
                format!("{} is already the name of a reference table or seed", m.spec.name),
            ));
        }
        if !seen.insert(m.spec.name.as_str()) {
            problems.push(problem(
                &m.yaml_path,
                "name",
                format!("{} is both a mart and an intermediate model", m.spec.name),
            ));
        }
    }
    let (intermediates, marts): (Vec<Mart>, Vec<Mart>) =
        order(marts, &mut problems).into_iter().partition(Mart::is_intermediate);
    Ok((
        Project {
            root: pipelines.to_path_buf(),
            intermediates,
            marts,
            seeds,
            config,
        },
        problems,
    ))
}

fn load_seeds(dir: &Path, problems: &mut Vec<Problem>) -> Result<Vec<Seed>, MartError> {
    let mut seeds = Vec::new();
    for path in files_with(dir, &["csv"])? {
        if !path.with_extension("yaml").exists() {
            problems.push(problem(&path, "", "seed CSV without its YAML description"));
        }
    }
    for yaml_path in files_with(dir, &["yaml", "yml"])? {
        let text = std::fs::read_to_string(&yaml_path).map_err(io(&yaml_path))?;
        let spec: SeedSpec = match serde_saphyr::from_str(&text) {
            Ok(s) => s,
            Err(e) => {
                problems.push(problem(&yaml_path, "", e.to_string()));
                continue;
            }
        };
        let stem = yaml_path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        if spec.name != stem {
            problems.push(problem(
                &yaml_path,
                "name",
                format!("name {:?} must match the file name {stem}", spec.name),
            ));
        }
        let csv_path = yaml_path.with_extension("csv");
        if !csv_path.exists() {
            problems.push(problem(
                &yaml_path,
                "",
                format!("missing CSV file {}", csv_path.display()),
            ));
            continue;
        }
        let seed = Seed {
            spec,
            csv_path,
            yaml_path,
        };
        // Read it now: a seed that does not parse is a problem of the project (with its file),
        // not an error of the night.
        match crate::reference::read_seed(&seed) {
            Ok(_) => seeds.push(seed),
            Err(MartError::Invalid { message, .. }) => problems.push(problem(&seed.csv_path, "", message)),
            Err(e) => problems.push(problem(&seed.csv_path, "", e.to_string())),
        }
    }
    Ok(seeds)
}

/// Replaces each `{{ name }}` of `sql` by its parameter's SQL literal.
pub fn render(sql: &str, spec: &MartSpec) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("`{{` without its closing `}}`".to_string());
        };
        let name = after[..end].trim();
        match spec.parameters.get(name) {
            Some(p) => out.push_str(&p.value.to_sql()),
            None => {
                return Err(format!(
                    "unknown parameter {{{{ {name} }}}} (declare it under `parameters:`)"
                ));
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn load_intermediate(path: &Path, problems: &mut Vec<Problem>) -> Result<Option<Mart>, MartError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let spec: IntermediateSpec = match serde_saphyr::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            problems.push(problem(path, "", e.to_string()));
            return Ok(None);
        }
    };
    let spec = spec.into_model();
    if spec.definition.fr.trim().is_empty() || spec.definition.en.trim().is_empty() {
        problems.push(problem(path, "definition", "required in French and English (fr, en)"));
    }
    check_model(path, &spec, problems);
    with_sql(path, spec, problems)
}

/// The rules a mart and an intermediate model share: the file name, the execution and its
/// reason, the unique key.
fn check_model(path: &Path, spec: &MartSpec, problems: &mut Vec<Problem>) {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if spec.name != stem {
        problems.push(problem(
            path,
            "name",
            format!("name {:?} must match the file name {stem}", spec.name),
        ));
    }
    match (spec.source, spec.execution, &spec.execution_reason) {
        (Source::Css, Execution::Province, _) => problems.push(problem(
            path,
            "execution",
            "a model of source css runs in each CSS's own zone: its execution is par_css",
        )),
        (_, Execution::Province, None) => problems.push(problem(
            path,
            "execution_reason",
            "a province model says why it cannot run one CSS at a time (it follows a student across CSS...)",
        )),
        _ => {}
    }
    let documented: BTreeSet<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
    if spec.unique_key.is_empty() {
        problems.push(problem(
            path,
            "unique_key",
            "required: the columns that identify a row (the grain as columns)",
        ));
    }
    for c in &spec.unique_key {
        if !documented.contains(c.as_str()) {
            problems.push(problem(
                path,
                "unique_key",
                format!("column {c} is not a column of the model"),
            ));
        }
    }
}

fn load_mart(path: &Path, problems: &mut Vec<Problem>) -> Result<Option<Mart>, MartError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let spec: MartSpec = match serde_saphyr::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            problems.push(problem(path, "", e.to_string()));
            return Ok(None);
        }
    };
    check_model(path, &spec, problems);
    for (what, t) in [("definition", &spec.definition), ("summary", &spec.summary)] {
        if t.fr.trim().is_empty() || t.en.trim().is_empty() {
            problems.push(problem(path, what, "required in French and English (fr, en)"));
        }
    }
    let documented: BTreeSet<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
    if documented.contains(SUPPRESSED_COLUMN) {
        problems.push(problem(
            path,
            "columns",
            format!("{SUPPRESSED_COLUMN} is added by Socle to shared marts: the SQL must not produce it"),
        ));
    }
    match spec.publication {
        Publication::Shared if spec.suppression.is_empty() && spec.suppression_reason.is_none() => {
            problems.push(problem(
                path,
                "suppression",
                "a mart published in the shared zone needs its small-cell rules (which count hides which columns), or `suppression_reason` when it counts no one",
            ))
        }
        Publication::Shared if !spec.suppression.is_empty() && spec.suppression_reason.is_some() => {
            problems.push(problem(
                path,
                "suppression_reason",
                "a mart with small-cell rules has no `suppression_reason`: remove one of the two",
            ))
        }
        Publication::Css if !spec.suppression.is_empty() => problems.push(problem(
            path,
            "suppression",
            "a mart published only in the CSS zones is not suppressed: remove `suppression`",
        )),
        _ => {}
    }
    for (i, rule) in spec.suppression.iter().enumerate() {
        for c in std::iter::once(&rule.count).chain(rule.hides.iter()) {
            if !documented.contains(c.as_str()) {
                problems.push(problem(
                    path,
                    &format!("suppression[{i}]"),
                    format!("column {c} is not a column of the mart"),
                ));
            }
        }
    }
    check_libelles(path, &spec, problems);
    check_dashboard(path, &spec, problems);
    with_sql(path, spec, problems)
}

/// Every column of a mart has a `libelle`: a heading a person reads on the dashboard page and in
/// a download, short enough for a column heading, and telling its column apart from the others
/// (two headings alike would make a table ambiguous).
fn check_libelles(path: &Path, spec: &MartSpec, problems: &mut Vec<Problem>) {
    // Headings already given, lower case (two headings differing by case only still look alike),
    // with their column; the one Socle adds to a shared mart first.
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    if spec.publication == Publication::Shared {
        seen.insert(SUPPRESSED_LIBELLE.to_lowercase(), SUPPRESSED_COLUMN);
    }
    for (i, c) in spec.columns.iter().enumerate() {
        let key = format!("columns[{i}].libelle");
        let Some(libelle) = &c.libelle else {
            problems.push(problem(
                path,
                &key,
                format!(
                    "column {} has no libelle: the short French heading shown on its dashboard and in downloads \
                     (\"Taux de réussite\", not the technical name)",
                    c.name
                ),
            ));
            continue;
        };
        let text = libelle.trim();
        if text.is_empty() {
            problems.push(problem(path, &key, format!("column {}: the libelle is empty", c.name)));
            continue;
        }
        let chars = text.chars().count();
        if chars > LIBELLE_MAX_CHARS {
            problems.push(problem(
                path,
                &key,
                format!(
                    "column {}: the libelle has {chars} characters, at most {LIBELLE_MAX_CHARS}: a column heading, \
                     not a sentence (that is the description)",
                    c.name
                ),
            ));
        }
        if let Some(other) = seen.insert(text.to_lowercase(), &c.name) {
            problems.push(problem(
                path,
                &key,
                format!(
                    "column {}: the libelle {text:?} is already that of column {other}: each heading must tell its \
                     column apart",
                    c.name
                ),
            ));
        }
    }
}

/// A mart has its dashboard page (`tableau_de_bord`), whose columns are the mart's. Whether
/// `valeur` is numeric needs the planned schema: [`crate::check`] says it.
fn check_dashboard(path: &Path, spec: &MartSpec, problems: &mut Vec<Problem>) {
    let Some(d) = &spec.tableau_de_bord else {
        problems.push(problem(
            path,
            "tableau_de_bord",
            "required: what the mart's dashboard page shows (graphique, etiquette, valeur, filtres)",
        ));
        return;
    };
    // The columns of the mart as published: a shared mart's `cellule_supprimee` may be a filter.
    let mut columns: BTreeSet<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
    if spec.publication == Publication::Shared {
        columns.insert(SUPPRESSED_COLUMN);
    }
    match (d.graphique, &d.valeur) {
        (ChartKind::Aucun, Some(_)) => problems.push(problem(
            path,
            "tableau_de_bord.valeur",
            "graphique: aucun draws nothing: remove valeur (or choose barres or lignes)",
        )),
        (ChartKind::Aucun, None) if !d.etiquette.is_empty() => problems.push(problem(
            path,
            "tableau_de_bord.etiquette",
            "graphique: aucun draws nothing: remove etiquette (or choose barres or lignes)",
        )),
        (ChartKind::Barres | ChartKind::Lignes, None) => problems.push(problem(
            path,
            "tableau_de_bord.valeur",
            "required: the numeric column the chart draws (or graphique: aucun for a table only)",
        )),
        _ => {}
    }
    if d.graphique != ChartKind::Aucun && d.etiquette.is_empty() {
        problems.push(problem(
            path,
            "tableau_de_bord.etiquette",
            "required: the columns whose values name each mark of the chart (what identifies a row)",
        ));
    }
    let lists = [("etiquette", &d.etiquette), ("filtres", &d.filtres), ("tri", &d.tri)];
    let named = lists
        .iter()
        .flat_map(|(key, cols)| cols.iter().map(move |c| (*key, c)))
        .chain(d.valeur.iter().map(|v| ("valeur", v)));
    for (key, c) in named {
        if !columns.contains(c.as_str()) {
            problems.push(problem(
                path,
                &format!("tableau_de_bord.{key}"),
                format!("column {c} is not a column of the mart"),
            ));
        }
    }
}

/// The model of YAML `path` with its SQL (beside it), parameters filled in.
fn with_sql(path: &Path, spec: MartSpec, problems: &mut Vec<Problem>) -> Result<Option<Mart>, MartError> {
    let sql_path = path.with_extension("sql");
    let raw = match std::fs::read_to_string(&sql_path) {
        Ok(s) => s,
        Err(_) => {
            problems.push(problem(path, "", format!("missing SQL file {}", sql_path.display())));
            return Ok(None);
        }
    };
    let sql = match render(&raw, &spec) {
        Ok(s) => s,
        Err(e) => {
            problems.push(problem(&sql_path, "", e));
            return Ok(None);
        }
    };
    Ok(Some(Mart {
        spec,
        sql,
        sql_path,
        yaml_path: path.to_path_buf(),
        depends_on: Vec::new(),
    }))
}

/// The tables `sql` reads (CTEs excluded), lower case; `None` if it does not parse.
pub fn tables_read(sql: &str) -> Result<Vec<String>, String> {
    let state = SessionContext::new().state();
    let statement = state
        .sql_to_statement(sql, &Dialect::Generic)
        .map_err(|e| e.to_string())?;
    let refs = state.resolve_table_references(&statement).map_err(|e| e.to_string())?;
    let mut names: Vec<String> = refs.iter().map(|r| r.table().to_string()).collect();
    names.sort();
    names.dedup();
    Ok(names)
}

/// Fills each mart's `depends_on` and sorts the marts so that a mart comes after the marts it
/// reads (by name otherwise). Cycles and reads across sources are problems; marts in a cycle are
/// dropped.
fn order(mut marts: Vec<Mart>, problems: &mut Vec<Problem>) -> Vec<Mart> {
    let names: BTreeMap<String, (Source, bool)> = marts
        .iter()
        .map(|m| (m.spec.name.clone(), (m.spec.source, m.is_intermediate())))
        .collect();
    for m in &mut marts {
        match tables_read(&m.sql) {
            Ok(tables) => {
                m.depends_on = tables
                    .into_iter()
                    .filter(|t| names.contains_key(t) && *t != m.spec.name)
                    .collect();
            }
            Err(e) => problems.push(problem(&m.sql_path, "", format!("does not parse: {e}"))),
        }
        for d in &m.depends_on {
            let Some((source, internal)) = names.get(d) else {
                continue;
            };
            // A `source: shared` intermediate model uses only columns every zone has: a model of
            // a CSS's zone may read it too (built in that zone), so an enrolment rule is written once.
            let readable = *source == m.spec.source || (*internal && *source == Source::Shared);
            if !readable {
                problems.push(problem(
                    &m.yaml_path,
                    "source",
                    format!("reads {d}, whose source differs: a model may read only models built in the same zone"),
                ));
            }
            if m.is_intermediate() && !internal {
                problems.push(problem(
                    &m.yaml_path,
                    "",
                    format!("reads mart {d}: an intermediate model reads only tables and other intermediate models"),
                ));
            }
        }
    }
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::with_capacity(marts.len());
    let mut pending = marts;
    pending.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
    loop {
        let (ready, rest): (Vec<Mart>, Vec<Mart>) = pending
            .into_iter()
            .partition(|m| m.depends_on.iter().all(|d| done.contains(d)));
        if ready.is_empty() {
            for m in &rest {
                problems.push(problem(
                    &m.sql_path,
                    "",
                    format!("dependency cycle: reads {}", m.depends_on.join(", ")),
                ));
            }
            break;
        }
        done.extend(ready.iter().map(|m| m.spec.name.clone()));
        ordered.extend(ready);
        pending = rest;
        if pending.is_empty() {
            break;
        }
    }
    ordered
}
