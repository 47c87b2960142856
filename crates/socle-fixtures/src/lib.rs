//! # socle-fixtures: deterministic synthetic GPI, Mozaïk and JADE exports
//!
//! [`generate`] writes realistic nightly exports for a set of CSS, under `<out>/<css>/<night>/`:
//! the youth sector as GPI (`gpi/`, the 12 `gpm_*.csv` tables of `formats/gpi.md`) or, for the
//! CSS named in [`GenerateOptions::mozaik`], as Mozaïk (`mozaik/`, the 8 `*.jsonl` files of
//! `formats/mozaik.md`), and for every CSS its JADE export (`jade/`, the 5 `e_*.csv` and
//! `t_ecocen.csv` tables of `formats/jade.md`); optionally a ground-truth folder that tests
//! compare the warehouse against.
//!
//! ## What is generated
//! - **CSS and schools** come from the embedded ministry registry ([`socle_core::Registry`]):
//!   codes are never invented. Each CSS gets a number of primary and secondary schools
//!   proportional to its students, plus one dummy school per year (`indic_eco_bidon = 1`,
//!   reusing a real establishment code) where a few transferred students sit.
//! - **Students** (uneven spread over the CSS) have a unique *code permanent*, Québec names,
//!   a birth date consistent with their grade, and a trajectory over `years` school years:
//!   one class per year, some repeat (2% a year in primary, 7% in secondary, so that the DES
//!   comes 5, 6 or 7 years after sec 1), ~2% leave during a year, ~3% move to another CSS
//!   between years (same code permanent, new fiche; at least one per CSS whenever there are
//!   two CSS and two years), EHDAA codes and intervention plans.
//! - **Courses**: canonical primary codes (`FRA400`, `MAT600`...) and ministry secondary
//!   codes from the registry sample (volets skipped); per-CSS local codes from the data
//!   dictionary overrides, or stray spaces around a few codes.
//! - **Results** per étape and final, numeric or letter legends, special values (absent,
//!   exempted, not evaluated, not applicable, blank) in the CSS's local codes; étapes not yet
//!   ended at the export night are blank. **Absences** per period, with a long tail.
//! - **Conventions** vary per CSS (encoding, delimiter, line ending, decimal separator, date
//!   format, header case, column order, extra columns): see formats/README.md.
//! - **Bad rows** (`bad_rate > 0`) are *extra* rows, never corruptions of clean rows, each
//!   logged with its file and physical line in `bad_rows.csv`.
//! - **Mozaïk** holds the very same facts as GPI would (same seed: same students with
//!   `eleve_id` = fiche, `etablissement_id` = `id_eco`, local course codes, legends, special
//!   values, absence reasons, results, units, groups, retakes, departures, calendar): every
//!   random draw is keyed on the facts, never on the system. GPI's `etat` 5 (continuing) has no
//!   Mozaïk equivalent, so it is never drawn (0, 1, 6 and 8 only). Results are long (one object
//!   per étape and `sommaire`), `unites_obtenues` is null where GPI's `unites_ele` is empty (no
//!   final result yet), numbers use `.`, course codes are trimmed. Bad lines (malformed JSON, a
//!   number or boolean given as an array or object, unparsable date, out of domain, duplicate
//!   key, missing value, invalid UTF-8) are logged under the name of the
//!   `socle_connect::RejectKind` the connector reports (`malformed_json` for the first two).
//! - **JADE** follows the youth facts: DES after 5, 6 or 7 years from sec 1, leavers, FGA and FP
//!   spells in the CSS's real adult and vocational centres, DEP, adults never in the youth
//!   sector, ministry results of sec 4 and 5 courses with several copies: see `jade.rs`.
//!
//! ## Determinism and scale
//! Every part of the output comes from a `ChaCha8Rng` seeded with the seed and labels (CSS
//! code, student, year...): same options, byte-identical files, whatever the thread count.
//! CSS are generated independently (in parallel with rayon) and streamed to disk, so memory is
//! bounded by the largest CSS. Two passes are made: the first only computes which students
//! move between CSS, the second writes.
//!
//! ## Ground truth (`truth: Some(dir)`)
//! `taux_reussite.csv` (success-rate counts by year, CSS, establishment, canonical course and
//! étape, over clean rows, without retakes, inactive rows and dummy schools), `personal.csv`
//! (every student's personal data, adults of JADE included, for privacy tests),
//! `bad_rows.csv` (`file` is the file name in its system's folder: `gpm_*.csv`, `*.jsonl`,
//! `e_*.csv`...; `column` the contract column the reader names in its reject, empty for the
//! record-level kinds and duplicate keys), `counts.csv` (per CSS and source table: clean rows
//! and bad rows written), `movers.csv` (students who appear in several CSS: code
//! permanent and the CSS codes in the order of the years), `sanctions.csv` (obtained diplomas
//! by CSS, school year of the date and type), `ministere.csv` (per CSS, school year and
//! course: students whose latest copy of their June-session ministry result has a numeric
//! final result, and of them those who passed; youth and adults) and `summary.json` (options,
//! the youth system, JADE centres and the conventions drawn for each CSS). The truth folder
//! holds personal data: it is never committed.

mod calendar;
mod conventions;
mod courses;
mod css;
mod finance;
mod jade;
mod mozaik;
mod names;
mod pevr;
mod request;
mod results;
mod rng;
mod roster;
mod tables;
mod truth;
mod writer;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde_json::json;
use socle_core::{Registry, RegistryError, SchoolYear};

pub use css::YouthSystem;
pub use mozaik::MozaikBadKind;
pub use tables::BadKind;

/// Names of the 12 GPI table files, without `.csv`, in generation order.
pub use pevr::pevr_targets;
pub use request::{GenerateRequest, run_generate};

pub fn table_names() -> Vec<&'static str> {
    tables::TABLES[..tables::N_TABLES].iter().map(|t| t.name).collect()
}

/// Names of the 5 JADE table files, without `.csv`.
pub fn jade_table_names() -> Vec<&'static str> {
    tables::JADE_TABLES.iter().map(|&t| tables::TABLES[t].name).collect()
}

/// Names of the 8 Mozaïk files, without `.jsonl`.
pub fn mozaik_table_names() -> Vec<&'static str> {
    mozaik::MOZAIK_TABLES.iter().map(|t| t.name).collect()
}

/// The contract columns of a GPI or JADE table (lower case, contract order), if it exists.
pub fn table_columns(table: &str) -> Option<&'static [&'static str]> {
    tables::TABLES.iter().find(|t| t.name == table).map(|t| t.columns)
}

/// The fields of a Mozaïk file (contract order) with their JSON type (`int`, `dec`, `string`,
/// `bool`, `date`, `array`), if it exists.
pub fn mozaik_fields(table: &str) -> Option<Vec<(&'static str, &'static str)>> {
    let t = mozaik::MOZAIK_TABLES.iter().find(|t| t.name == table)?;
    Some(
        t.columns
            .iter()
            .map(|(n, ty)| {
                let ty = match ty {
                    mozaik::J::Int => "int",
                    mozaik::J::Dec => "dec",
                    mozaik::J::Str => "string",
                    mozaik::J::Bool => "bool",
                    mozaik::J::Date => "date",
                    mozaik::J::Raw => "array",
                };
                (*n, ty)
            })
            .collect(),
    )
}

/// Which CSS export their youth sector as Mozaïk rather than GPI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MozaikSelection {
    /// Every CSS exports GPI.
    #[default]
    None,
    /// Every CSS exports Mozaïk.
    All,
    /// These CSS (each must be one of the generated CSS) export Mozaïk.
    Codes(Vec<String>),
}

impl MozaikSelection {
    /// Parses `all` or comma-separated CSS codes (empty: none).
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        if t.eq_ignore_ascii_case("all") {
            return MozaikSelection::All;
        }
        let codes: Vec<String> = t
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect();
        if codes.is_empty() {
            MozaikSelection::None
        } else {
            MozaikSelection::Codes(codes)
        }
    }

    /// The youth system of each CSS; an unknown code is an error.
    fn systems(&self, css: &[String]) -> Result<Vec<YouthSystem>, GenerateError> {
        match self {
            MozaikSelection::None => Ok(vec![YouthSystem::Gpi; css.len()]),
            MozaikSelection::All => Ok(vec![YouthSystem::Mozaik; css.len()]),
            MozaikSelection::Codes(codes) => {
                for c in codes {
                    if !css.iter().any(|x| x == c.trim()) {
                        return Err(GenerateError::InvalidOptions(format!(
                            "--mozaik names CSS {} which is not generated",
                            c.trim()
                        )));
                    }
                }
                Ok(css
                    .iter()
                    .map(|c| {
                        if codes.iter().any(|x| x.trim() == c) {
                            YouthSystem::Mozaik
                        } else {
                            YouthSystem::Gpi
                        }
                    })
                    .collect())
            }
        }
    }
}

/// File encoding of a CSS's exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    Utf8,
    Utf8Bom,
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

    /// Parses `utf-8`, `utf8`, `utf-8-bom`, `windows-1252`, `cp1252` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "utf-8-bom" | "utf8-bom" | "utf-8-sig" => Some(Encoding::Utf8Bom),
            "windows-1252" | "cp1252" | "win1252" => Some(Encoding::Windows1252),
            _ => None,
        }
    }
}

/// What the data dictionary says about one CSS.
#[derive(Debug, Default, Clone)]
pub struct ConventionOverrides {
    /// Forces the CSS's file encoding.
    pub encoding: Option<Encoding>,
    /// Canonical status (`absent`, `exempte`, `non_evalue`, `non_applicable`) -> local code.
    pub special_values: BTreeMap<String, String>,
    /// Canonical course code -> local code written in the exports.
    pub course_codes: BTreeMap<String, String>,
}

impl ConventionOverrides {
    /// Each CSS profile of `dictionary` as the generator follows it: its encoding, and its own
    /// codes inverted (canonical -> what the CSS writes), so that the exports generated for a
    /// CSS read back through its profile.
    pub fn of_dictionary(dictionary: &socle_dictionary::Dictionary) -> BTreeMap<String, ConventionOverrides> {
        let mut conventions = BTreeMap::new();
        for (code, p) in &dictionary.css {
            let mut c = ConventionOverrides {
                encoding: match p.encodage {
                    socle_dictionary::Encoding::Auto => None,
                    socle_dictionary::Encoding::Utf8 => Some(Encoding::Utf8),
                    socle_dictionary::Encoding::Windows1252 => Some(Encoding::Windows1252),
                },
                ..Default::default()
            };
            for (local, status) in &p.valeurs_speciales_resultat {
                c.special_values.entry(status.clone()).or_insert_with(|| local.clone());
            }
            for (local, canonical) in &p.cours {
                c.course_codes.entry(canonical.clone()).or_insert_with(|| local.clone());
            }
            conventions.insert(code.clone(), c);
        }
        conventions
    }
}

/// Options of [`generate`].
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Exports root.
    pub out: PathBuf,
    /// Explicit CSS codes; if empty, `css_count` CSS are drawn from the registry.
    pub css: Vec<String>,
    pub css_count: usize,
    /// Total students over all CSS.
    pub students: usize,
    /// Number of school years (1..=10), the last one containing `night`. With 8, JADE shows
    /// DES obtained 5, 6 and 7 years after entering sec 1.
    pub years: u32,
    pub seed: u64,
    /// The export night.
    pub night: NaiveDate,
    /// Extra bad rows per clean row and table (0.0 = clean).
    pub bad_rate: f64,
    /// Ground-truth directory (outside the exports).
    pub truth: Option<PathBuf>,
    /// Per CSS code, from the data dictionary.
    pub conventions: BTreeMap<String, ConventionOverrides>,
    /// CSS whose youth sector is exported as Mozaïk instead of GPI.
    pub mozaik: MozaikSelection,
}

impl GenerateOptions {
    /// Small defaults: 3 drawn CSS, 300 students, 2 years, seed 42, night 2025-11-20, clean.
    pub fn default_for(out: impl Into<PathBuf>) -> Self {
        GenerateOptions {
            out: out.into(),
            css: Vec::new(),
            css_count: 3,
            students: 300,
            years: 2,
            seed: 42,
            night: NaiveDate::from_ymd_opt(2025, 11, 20).unwrap_or(NaiveDate::MIN),
            bad_rate: 0.0,
            truth: None,
            conventions: BTreeMap::new(),
            mozaik: MozaikSelection::None,
        }
    }
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSummary {
    /// CSS codes, in generation order.
    pub css: Vec<String>,
    /// Table files written.
    pub files: usize,
    /// Clean data rows written (headers excluded).
    pub rows: u64,
    /// Bad rows injected.
    pub bad_rows: u64,
    /// Distinct youth-sector students.
    pub students: u64,
    /// Adults of JADE never in the youth sector.
    pub adults: u64,
}

impl GenerateSummary {
    /// The line `socle generate` prints: what was written, how fast, where.
    pub fn describe(&self, seconds: f64, out: &Path) -> String {
        format!(
            "generated {} CSS ({}), {} students (+{} adults), {} files, {} rows ({} bad) in {:.1}s ({:.0} rows/s) under {}",
            self.css.len(),
            self.css.join(", "),
            self.students,
            self.adults,
            self.files,
            self.rows,
            self.bad_rows,
            seconds,
            self.rows as f64 / seconds.max(1e-9),
            out.display()
        )
    }
}

/// Writes the PEVR targets of `css` (`cibles_pevr.csv`, the seed of the extract
/// `indicateurs_pevr`) in `dir` for the `years` school years ending with the one of `night`;
/// returns the file written.
pub fn write_pevr_targets(
    dir: &Path,
    css: &[String],
    night: NaiveDate,
    years: u32,
    seed: u64,
) -> Result<PathBuf, GenerateError> {
    let year = SchoolYear::containing(night.year(), night.month());
    let path = dir.join("cibles_pevr.csv");
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    std::fs::write(&path, pevr_targets(css, year, years, seed)).map_err(|e| write_err(&path, e))?;
    Ok(path)
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    #[error("unknown CSS code {0:?}: not in the ministry registry")]
    UnknownCss(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("cannot serialise the summary: {0}")]
    Json(#[from] serde_json::Error),
    #[error("internal generator error: {0}")]
    Internal(String),
}

fn write_err(path: &Path, e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

fn has_both_orders(registry: &Registry, code: &str) -> bool {
    let mut p = false;
    let mut s = false;
    for e in registry.establishments_of(code) {
        p |= e.primary;
        s |= e.secondary;
    }
    p && s
}

fn select_css(opts: &GenerateOptions, registry: &Registry) -> Result<Vec<String>, GenerateError> {
    if !opts.css.is_empty() {
        let mut out: Vec<String> = Vec::new();
        for c in &opts.css {
            let c = c.trim().to_string();
            if registry.organisation(&c).is_none() {
                return Err(GenerateError::UnknownCss(c));
            }
            if !has_both_orders(registry, &c) {
                return Err(GenerateError::InvalidOptions(format!(
                    "CSS {c} has no primary or no secondary establishment in the registry"
                )));
            }
            if !out.contains(&c) {
                out.push(c);
            }
        }
        return Ok(out);
    }
    let mut candidates: Vec<String> = registry
        .organisations
        .values()
        .filter(|o| o.kind.trim() != "Particulière" && has_both_orders(registry, &o.code))
        .map(|o| o.code.clone())
        .collect();
    if opts.css_count == 0 || opts.css_count > candidates.len() {
        return Err(GenerateError::InvalidOptions(format!(
            "css_count must be between 1 and {} (got {})",
            candidates.len(),
            opts.css_count
        )));
    }
    let mut r = rng::stream(opts.seed, &[rng::SALT_ALLOC]);
    candidates.shuffle(&mut r);
    candidates.truncate(opts.css_count);
    candidates.sort();
    Ok(candidates)
}

/// Splits the students over the CSS, unevenly (by number of schools, with noise).
fn allocate(seed: u64, registry: &Registry, css: &[String], total: usize) -> Result<Vec<usize>, GenerateError> {
    let n = css.len();
    if total < n {
        return Err(GenerateError::InvalidOptions(format!(
            "{total} students cannot fill {n} CSS"
        )));
    }
    let weights: Vec<f64> = css
        .iter()
        .map(|c| {
            let mut r = rng::stream(seed, &[rng::SALT_ALLOC, rng::label(c)]);
            let schools = registry
                .establishments_of(c)
                .filter(|e| e.primary || e.secondary)
                .count()
                .max(1);
            schools as f64 * (0.6 + 0.8 * r.random::<f64>())
        })
        .collect();
    let sum: f64 = weights.iter().sum();
    let rest = total - n;
    let exact: Vec<f64> = weights.iter().map(|w| w / sum * rest as f64).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| 1 + x.floor() as usize).collect();
    let mut left = total - counts.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(n * 2) {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    Ok(counts)
}

fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    if !(1..=10).contains(&opts.years) {
        return Err(GenerateError::InvalidOptions(format!(
            "years must be 1..=10 (got {})",
            opts.years
        )));
    }
    if !(0.0..1.0).contains(&opts.bad_rate) || opts.bad_rate.is_nan() {
        return Err(GenerateError::InvalidOptions(format!(
            "bad_rate must be in [0, 1) (got {})",
            opts.bad_rate
        )));
    }
    if opts.students == 0 {
        return Err(GenerateError::InvalidOptions("students must be at least 1".into()));
    }
    if opts.css.len() > 100 {
        return Err(GenerateError::InvalidOptions("at most 100 CSS".into()));
    }
    if let Some(t) = &opts.truth
        && (t.starts_with(&opts.out) || t == &opts.out)
    {
        return Err(GenerateError::InvalidOptions(format!(
            "the truth directory {} must be outside the exports root {}",
            t.display(),
            opts.out.display()
        )));
    }
    for (css, ov) in &opts.conventions {
        for k in ov.special_values.keys() {
            if !conventions::SPECIAL_STATUSES.contains(&k.as_str()) {
                tracing::warn!(
                    css = %css,
                    status = %k,
                    "special-value override for a status the generator does not write: ignored"
                );
            }
        }
    }
    Ok(())
}

/// Generates the exports (and the ground truth if asked). See the crate documentation.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary, GenerateError> {
    validate(opts)?;
    let registry = Registry::embedded()?;
    let css = select_css(opts, &registry)?;
    let counts = allocate(opts.seed, &registry, &css, opts.students)?;
    let last_year = SchoolYear::containing(opts.night.year(), opts.night.month()).start_year();
    let first_year = last_year - (opts.years as i32 - 1);
    let conventions = conventions::draw_all(opts.seed, &css, &opts.conventions, opts.night);
    let systems = opts.mozaik.systems(&css)?;
    let parts = match &opts.truth {
        Some(t) => {
            let p = t.join(".parts");
            std::fs::create_dir_all(&p).map_err(|e| write_err(&p, e))?;
            Some(p)
        }
        None => None,
    };
    let ctx = css::Ctx {
        seed: opts.seed,
        registry: &registry,
        labels: css.iter().map(|c| rng::label(c)).collect(),
        css: css.clone(),
        counts,
        years: opts.years as usize,
        first_year,
        night: opts.night,
        bad_rate: opts.bad_rate,
        conventions,
        systems,
        out: opts.out.clone(),
        parts: parts.clone(),
        catalog: courses::Catalog::build(&registry),
    };
    tracing::info!(
        css = css.len(),
        students = opts.students,
        years = opts.years,
        first_year = %SchoolYear::from_start_year(first_year),
        "generating synthetic exports"
    );

    // Phase 1: who moves where.
    let movers: Vec<Vec<roster::Student>> = (0..css.len())
        .into_par_iter()
        .map(|ci| css::movers(&ctx, ci))
        .collect::<Result<_, _>>()?;
    let mover_paths: Vec<(String, Vec<String>)> = movers
        .iter()
        .flatten()
        .map(|s| {
            let path = s.css_path(ctx.years).iter().map(|&c| css[c].clone()).collect();
            (s.code_perm_str().to_string(), path)
        })
        .collect();
    let mut incoming: Vec<Vec<roster::Student>> = vec![Vec::new(); css.len()];
    for list in movers {
        for s in list {
            if let Some((_, dest)) = s.move_to {
                incoming[dest].push(s);
            }
        }
    }

    // Phase 2: write, CSS by CSS.
    let outputs: Vec<css::CssOutput> = incoming
        .into_par_iter()
        .enumerate()
        .map(|(ci, inc)| {
            let mut o = css::generate_css(&ctx, ci, inc)?;
            // Dofin finance files: independent of the youth system, logged with the others.
            o.stats.extend(finance::generate_css(&ctx, ci)?);
            if let Some(p) = &parts {
                css::write_bad_rows_part(p, &o)?;
            }
            for st in &mut o.stats {
                st.bad_log = Vec::new();
            }
            Ok(o)
        })
        .collect::<Result<_, GenerateError>>()?;

    let summary = GenerateSummary {
        css: css.clone(),
        files: outputs.iter().map(|o| o.stats.len()).sum(),
        rows: outputs.iter().flat_map(|o| &o.stats).map(|s| s.clean).sum(),
        bad_rows: outputs.iter().flat_map(|o| &o.stats).map(|s| s.bad).sum(),
        students: outputs.iter().map(|o| o.students).sum(),
        adults: outputs.iter().map(|o| o.jade.adults).sum(),
    };
    if let (Some(truth), Some(parts)) = (&opts.truth, &parts) {
        write_truth(opts, &ctx, &outputs, truth, parts, &summary)?;
        truth::write_movers(truth, &mover_paths)?;
        truth::write_sanctions(truth, &outputs)?;
        truth::write_ministere(truth, &outputs)?;
    }
    tracing::info!(
        css = summary.css.len(),
        files = summary.files,
        rows = summary.rows,
        bad_rows = summary.bad_rows,
        students = summary.students,
        "synthetic exports written"
    );
    Ok(summary)
}

fn concat_parts(parts: &Path, prefix: &str, css: &[String], dest: &Path, header: &str) -> Result<(), GenerateError> {
    let f = File::create(dest).map_err(|e| write_err(dest, e))?;
    let mut w = BufWriter::new(f);
    w.write_all(header.as_bytes()).map_err(|e| write_err(dest, e))?;
    for c in css {
        let part = parts.join(format!("{prefix}_{c}.csv"));
        if !part.exists() {
            continue;
        }
        let mut r = File::open(&part).map_err(|e| write_err(&part, e))?;
        std::io::copy(&mut r, &mut w).map_err(|e| write_err(dest, e))?;
        std::fs::remove_file(&part).map_err(|e| write_err(&part, e))?;
    }
    w.flush().map_err(|e| write_err(dest, e))
}

fn write_truth(
    opts: &GenerateOptions,
    ctx: &css::Ctx<'_>,
    outputs: &[css::CssOutput],
    truth: &Path,
    parts: &Path,
    summary: &GenerateSummary,
) -> Result<(), GenerateError> {
    let css = &summary.css;
    concat_parts(
        parts,
        "personal",
        css,
        &truth.join("personal.csv"),
        "code_perm,nom,pnom,date_naiss\n",
    )?;
    concat_parts(
        parts,
        "bad_rows",
        css,
        &truth.join("bad_rows.csv"),
        "code_css,file,line,kind,column\n",
    )?;
    concat_parts(parts, "finance", css, &truth.join("finance.csv"), finance::TRUTH_HEADER)?;
    let _ = std::fs::remove_dir(parts);

    let path = truth.join("taux_reussite.csv");
    let f = File::create(&path).map_err(|e| write_err(&path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    w.write_record([
        "annee_scolaire",
        "code_css",
        "code_etablissement",
        "code_cours",
        "etape",
        "nb_evalues",
        "nb_reussites",
        "nb_absents",
        "nb_exemptes",
        "nb_non_evalues",
        "nb_non_applicables",
        "nb_vides",
    ])
    .map_err(|e| write_err(&path, e))?;
    let mut rows: Vec<(&str, &css::TruthRow)> = outputs
        .iter()
        .flat_map(|o| o.truth.iter().map(move |t| (o.code.as_str(), t)))
        .collect();
    rows.sort_by(|a, b| (&a.1.annee, a.0).cmp(&(&b.1.annee, b.0)));
    for (code, t) in rows {
        let mut rec = vec![
            t.annee.clone(),
            code.to_string(),
            t.eco_off.clone(),
            t.code.clone(),
            t.etape.to_string(),
        ];
        rec.extend(t.counts.iter().map(u64::to_string));
        w.write_record(&rec).map_err(|e| write_err(&path, e))?;
    }
    w.flush().map_err(|e| write_err(&path, e))?;

    let path = truth.join("counts.csv");
    let f = File::create(&path).map_err(|e| write_err(&path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(f));
    w.write_record(["code_css", "table", "clean_rows", "bad_rows"])
        .map_err(|e| write_err(&path, e))?;
    for o in outputs {
        for st in &o.stats {
            w.write_record([
                o.code.as_str(),
                st.table,
                st.clean.to_string().as_str(),
                st.bad.to_string().as_str(),
            ])
            .map_err(|e| write_err(&path, e))?;
        }
    }
    w.flush().map_err(|e| write_err(&path, e))?;

    let overrides: BTreeMap<&String, serde_json::Value> = opts
        .conventions
        .iter()
        .map(|(k, v)| {
            (
                k,
                json!({
                    "encoding": v.encoding.map(Encoding::as_str),
                    "special_values": v.special_values,
                    "course_codes": v.course_codes,
                }),
            )
        })
        .collect();
    let per_css: Vec<serde_json::Value> = outputs
        .iter()
        .enumerate()
        .map(|(ci, o)| {
            let night = opts.night.format("%Y-%m-%d");
            json!({
                "code_css": o.code,
                "name": ctx.registry.organisation(&o.code).map(|org| org.name.clone()),
                "youth_system": o.system.as_str(),
                "students": o.students,
                "schools": o.schools,
                "folder": format!("{}/{night}/{}", o.code, o.system.as_str()),
                "jade": {
                    "folder": format!("{}/{night}/jade", o.code),
                    "students": o.jade.students,
                    "adults": o.jade.adults,
                    "centres": o.jade.centres,
                },
                "conventions": ctx.conventions[ci].to_json(),
            })
        })
        .collect();
    let years: Vec<String> = (0..ctx.years)
        .map(|y| SchoolYear::from_start_year(ctx.first_year + y as i32).to_string())
        .collect();
    let doc = json!({
        "generator": concat!("socle-fixtures ", env!("CARGO_PKG_VERSION")),
        "options": {
            "out": opts.out.display().to_string(),
            "css": opts.css,
            "css_count": opts.css_count,
            "students": opts.students,
            "years": opts.years,
            "seed": opts.seed,
            "night": opts.night.format("%Y-%m-%d").to_string(),
            "bad_rate": opts.bad_rate,
            "conventions": overrides,
            "mozaik": match &opts.mozaik {
                MozaikSelection::None => json!(null),
                MozaikSelection::All => json!("all"),
                MozaikSelection::Codes(c) => json!(c),
            },
        },
        "school_years": years,
        "totals": {
            "css": summary.css,
            "files": summary.files,
            "rows": summary.rows,
            "bad_rows": summary.bad_rows,
            "students": summary.students,
            "adults": summary.adults,
        },
        "css": per_css,
    });
    let path = truth.join("summary.json");
    let text = serde_json::to_string_pretty(&doc)?;
    std::fs::write(&path, text + "\n").map_err(|e| write_err(&path, e))?;
    Ok(())
}
