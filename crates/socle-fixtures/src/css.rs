//! Generation of one CSS: schools, calendar, students, enrolments, courses, results and
//! absences (the youth sector's facts), streamed to the 12 GPI tables or to the 8 Mozaïk files,
//! then the CSS's JADE export; returns the CSS's ground-truth aggregates.
//!
//! The facts are drawn once, whatever the youth system: every random stream is keyed on the
//! seed, the CSS and the fact's own labels (fiche = `eleve_id`, year...), never on the system
//! or on a GPI-only layout convention, so the same CSS written as GPI and as Mozaïk holds the
//! same students, enrolments, results and absences. Only the writing differs ([`Sink`]).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use socle_core::{Registry, SchoolYear};

use crate::GenerateError;
use crate::calendar::{Day, YearCalendar};
use crate::conventions::{Conventions, Motif};
use crate::courses::Catalog;
use crate::jade::{self, Exam, JadeOutput, LastYouth};
use crate::mozaik::{M_ABS, M_CAL, M_COURS, M_ELEVES, M_ETAB, M_FREQ, M_LEG, M_RES, MozaikOut};
use crate::results::{self, Cell, Class, ETAPE_SPECIAL_RATES, FINAL_SPECIAL_RATES, LETTERS, SEUIL};
use crate::rng::{self, SALT_ABSENCES, SALT_BAD, SALT_PLAN, SALT_RESULTS, SALT_SCHOOLS};
use crate::roster::{self, RosterParams, Student};
use crate::tables::*;
use crate::writer::{Injector, TableStats, TableWriter};

/// The youth-sector system a CSS exports (`gpi/` or `mozaik/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YouthSystem {
    Gpi,
    Mozaik,
}

impl YouthSystem {
    /// The system's name, which is also its folder.
    pub fn as_str(self) -> &'static str {
        match self {
            YouthSystem::Gpi => "gpi",
            YouthSystem::Mozaik => "mozaik",
        }
    }
}

/// Everything shared by the CSS jobs.
pub(crate) struct Ctx<'a> {
    pub seed: u64,
    pub registry: &'a Registry,
    pub css: Vec<String>,
    pub labels: Vec<u64>,
    pub counts: Vec<usize>,
    pub years: usize,
    pub first_year: i32,
    pub night: NaiveDate,
    pub bad_rate: f64,
    pub conventions: Vec<Conventions>,
    /// Youth system of each CSS.
    pub systems: Vec<YouthSystem>,
    pub out: PathBuf,
    /// Where per-CSS parts of the truth files go (`None`: no truth).
    pub parts: Option<PathBuf>,
    pub catalog: Catalog,
}

impl Ctx<'_> {
    pub(crate) fn roster_params(&self) -> RosterParams<'_> {
        RosterParams {
            seed: self.seed,
            css: &self.css,
            counts: &self.counts,
            years: self.years,
            first_year: self.first_year,
        }
    }
}

/// One row of `taux_reussite.csv` (without the CSS code).
#[derive(Debug, Clone)]
pub(crate) struct TruthRow {
    pub annee: String,
    pub eco_off: String,
    pub code: String,
    pub etape: &'static str,
    pub counts: [u64; 7],
}

pub(crate) struct CssOutput {
    pub code: String,
    pub system: YouthSystem,
    /// Youth students whose home CSS this is (movers are counted once, in their first CSS).
    pub students: u64,
    pub schools: usize,
    /// Youth files, then JADE files.
    pub stats: Vec<TableStats>,
    pub truth: Vec<TruthRow>,
    pub jade: JadeOutput,
}

#[derive(Debug, Clone)]
struct School {
    est: String,
    name: String,
    eco: String,
    primary: bool,
    secondary: bool,
    letter: bool,
    letter_final: bool,
    dummy: bool,
    weight: f64,
}

impl School {
    fn periods(&self, conv: &Conventions) -> u8 {
        if self.secondary && !self.primary {
            conv.periods_secondary
        } else {
            conv.periods_primary
        }
    }
    fn cycle(&self) -> u32 {
        if self.secondary && !self.primary { 9 } else { 5 }
    }
}

/// Picks the schools of a CSS among its registry establishments, proportionally to its size.
fn choose_schools(ctx: &Ctx<'_>, ci: usize, n_students: usize) -> Result<Vec<School>, GenerateError> {
    let code = &ctx.css[ci];
    let mut r = rng::stream(ctx.seed, &[SALT_SCHOOLS, ctx.labels[ci]]);
    let ests: Vec<_> = ctx
        .registry
        .establishments_of(code)
        .filter(|e| e.primary || e.secondary)
        .collect();
    let mut sec: Vec<_> = ests.iter().filter(|e| e.secondary).copied().collect();
    // Secondary-only buildings first, each part shuffled.
    sec.shuffle(&mut r);
    sec.sort_by_key(|e| e.primary);
    let n_sec_students = n_students * 5 / 11;
    let n_prim_students = n_students - n_sec_students;
    let n_sec = n_sec_students.div_ceil(900).clamp(1, sec.len().max(1));
    let chosen_sec: Vec<_> = sec.into_iter().take(n_sec).collect();
    let mut prim: Vec<_> = ests
        .iter()
        .filter(|e| e.primary && !chosen_sec.iter().any(|s| s.code == e.code))
        .copied()
        .collect();
    prim.shuffle(&mut r);
    let n_prim = n_prim_students.div_ceil(320).clamp(1, prim.len().max(1));
    let chosen_prim: Vec<_> = prim.into_iter().take(n_prim).collect();
    if chosen_sec.is_empty() {
        return Err(GenerateError::InvalidOptions(format!(
            "CSS {code} has no secondary establishment"
        )));
    }
    let mut schools: Vec<School> = Vec::new();
    for e in &chosen_prim {
        schools.push(School {
            est: e.code.clone(),
            name: e.name.clone(),
            eco: String::new(),
            primary: true,
            secondary: false,
            letter: schools.is_empty() || r.random_bool(0.3),
            letter_final: r.random_bool(0.5),
            dummy: false,
            weight: r.random_range(0.5..1.5),
        });
    }
    let no_primary = schools.is_empty();
    for e in &chosen_sec {
        let primary = no_primary && e.primary;
        schools.push(School {
            est: e.code.clone(),
            name: e.name.clone(),
            eco: String::new(),
            primary,
            secondary: true,
            letter: primary || r.random_bool(0.1),
            letter_final: r.random_bool(0.5),
            dummy: false,
            weight: r.random_range(0.5..1.5),
        });
    }
    if !schools.iter().any(|s| s.primary) {
        return Err(GenerateError::InvalidOptions(format!(
            "CSS {code} has no primary establishment"
        )));
    }
    let mut numbers: Vec<u32> = (1..=(schools.len() as u32 + 30)).collect();
    numbers.shuffle(&mut r);
    numbers.truncate(schools.len());
    numbers.sort_unstable();
    let mut order: Vec<usize> = (0..schools.len()).collect();
    order.shuffle(&mut r);
    for (k, &s) in order.iter().enumerate() {
        schools[s].eco = format!("{:03}", numbers[k]);
    }
    schools.sort_by(|a, b| a.eco.cmp(&b.eco));
    let host = &schools[0];
    let dummy = School {
        est: host.est.clone(),
        name: format!("{} (transferts)", host.name),
        eco: "999".to_string(),
        primary: true,
        secondary: true,
        letter: false,
        letter_final: false,
        dummy: true,
        weight: 0.0,
    };
    schools.push(dummy);
    Ok(schools)
}

/// A student's enrolment for one year.
struct Enrol {
    stu: usize,
    grade: i32,
    school: usize,
    inactive: Option<&'static str>,
    deb: NaiveDate,
    depart: Option<(NaiveDate, &'static str)>,
    courses: Vec<usize>,
    retake: Option<usize>,
    dummy: bool,
    /// id_mat_grp of each course, of the retake, of each course at the dummy school.
    groups: Vec<(u64, u32)>,
    retake_grp: u64,
    dummy_groups: Vec<(u64, u32)>,
    homeroom: u32,
}

const DEPART_MOTIFS: [&str; 5] = ["DEM", "PRI", "HQ", "ABA", "MAI"];

fn fiche_of(base: u64, idx: usize) -> u64 {
    base + idx as u64
}

/// Per-table reusable row buffers.
struct Rows {
    bufs: Vec<Vec<String>>,
}

impl Rows {
    fn new() -> Self {
        Rows {
            bufs: TABLES.iter().map(|t| vec![String::new(); t.columns.len()]).collect(),
        }
    }
}

fn set(row: &mut [String], i: usize, s: &str) {
    row[i].clear();
    row[i].push_str(s);
}

fn set_num(row: &mut [String], i: usize, n: impl std::fmt::Display) {
    row[i].clear();
    let _ = write!(row[i], "{n}");
}

fn set_date(row: &mut [String], i: usize, d: Option<NaiveDate>, conv: &Conventions) {
    row[i].clear();
    if let Some(d) = d {
        conv.push_date(&mut row[i], d);
    }
}

struct Out<'c> {
    w: Vec<TableWriter<'c>>,
    rows: Rows,
}

impl Out<'_> {
    fn emit(&mut self, table: usize) -> Result<(), GenerateError> {
        self.w[table].write(&self.rows.bufs[table])
    }
}

/// Where the youth facts go.
enum Sink<'c> {
    Gpi(Out<'c>),
    Mozaik(MozaikOut),
}

/// The youth output of one CSS, with scratch buffers for the four result cells.
struct Youth<'c> {
    sink: Sink<'c>,
    cells: [String; 4],
}

impl Youth<'_> {
    fn finish(self) -> Result<Vec<TableStats>, GenerateError> {
        match self.sink {
            Sink::Gpi(out) => out.w.into_iter().map(TableWriter::finish).collect(),
            Sink::Mozaik(m) => m.finish(),
        }
    }
}

/// Mozaïk's `etat` of a GPI `etat` (Mozaïk has no "continuing", so 5 is never drawn).
fn mozaik_etat(etat: u8) -> &'static str {
    match etat {
        0 => "inactif",
        6 => "equivalence",
        8 => "termine",
        _ => "actif",
    }
}

/// Mozaïk's absence category of a GPI `cpt_abs`.
fn mozaik_categorie(cpt: u8) -> &'static str {
    match cpt {
        1 => "motivee",
        2 => "non_motivee",
        _ => "retard",
    }
}

/// The letter legend's codes as Mozaïk nests them in `legendes.jsonl`.
fn letter_codes_json() -> String {
    let mut s = String::from("[");
    for (i, (cote, equiv, indic)) in LETTERS.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let mut code = Vec::new();
        crate::mozaik::push_json_str(&mut code, cote.as_bytes());
        s.push_str("{\"code\":");
        s.push_str(&String::from_utf8_lossy(&code));
        s.push_str(",\"note_equivalente\":");
        match equiv {
            Some(x) => results::push_number(&mut s, *x, false),
            None => s.push_str("null"),
        }
        s.push_str(",\"reussite\":");
        s.push_str(match indic {
            Some(1) => "true",
            Some(_) => "false",
            None => "null",
        });
        s.push('}');
    }
    s.push(']');
    s
}

/// Values of the column a Mozaïk duplicate-key line changes.
fn mozaik_dup_values(table: usize, conv: &Conventions) -> [String; 2] {
    let pair = |a: &str, b: &str| [a.to_string(), b.to_string()];
    match table {
        M_ETAB => pair("École temporaire", "Pavillon provisoire"),
        M_COURS => pair("Cours en double", "Matière dupliquée"),
        M_RES => pair("59", "61"),
        M_LEG => pair("50", "55"),
        M_ABS => {
            let a = conv.motifs.first().map_or("X1", |m| m.code);
            let b = conv.motifs.get(1).map_or("X2", |m| m.code);
            pair(a, b)
        }
        M_CAL => pair("1", "2"),
        _ => pair("", ""),
    }
}

/// The per-CSS part of `personal.csv`.
pub(crate) struct Personal {
    w: csv::Writer<BufWriter<File>>,
    path: PathBuf,
}

impl Personal {
    fn create(parts: &Path, code: &str) -> Result<Self, GenerateError> {
        let path = parts.join(format!("personal_{code}.csv"));
        let f = File::create(&path).map_err(|e| GenerateError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Ok(Personal {
            w: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(BufWriter::new(f)),
            path,
        })
    }

    pub(crate) fn write(
        &mut self,
        code_perm: &str,
        nom: &str,
        pnom: &str,
        birth: NaiveDate,
    ) -> Result<(), GenerateError> {
        let birth = birth.format("%Y-%m-%d").to_string();
        self.w
            .write_record([code_perm, nom, pnom, birth.as_str()])
            .map_err(|e| GenerateError::Write {
                path: self.path.clone(),
                message: e.to_string(),
            })
    }

    fn finish(mut self) -> Result<(), GenerateError> {
        self.w.flush().map_err(|e| GenerateError::Write {
            path: self.path,
            message: e.to_string(),
        })
    }
}

/// What the youth years hand over to JADE.
struct Collect {
    truth: HashMap<(usize, usize, usize), [[u64; 7]; 4]>,
    exams: Vec<Exam>,
}

fn forced_plan(ci: usize, allow_undecodable: bool) -> Vec<Vec<BadKind>> {
    let mut plan: Vec<Vec<BadKind>> = vec![Vec::new(); N_TABLES];
    let r = ci;
    const DATE_T: [usize; 5] = [E_ELE, E_DAN, T_ETAPE, T_CAL, E_ABS];
    const DOM_T: [usize; 6] = [E_ELE, E_DAN, E_MAT_ELE, T_COTES, T_ETAPE, T_MOTIF_ABS];
    const DUP_T: [usize; 10] = [
        T_ECO,
        T_MAT,
        T_MAT_GRP,
        E_MAT_ELE,
        T_LEG,
        T_COTES,
        T_ETAPE,
        T_CAL,
        E_ABS,
        T_MOTIF_ABS,
    ];
    const END_T: [usize; 11] = [
        T_ECO,
        E_ELE,
        E_DAN,
        T_MAT,
        T_MAT_GRP,
        E_MAT_ELE,
        T_LEG,
        T_COTES,
        T_ETAPE,
        T_CAL,
        T_MOTIF_ABS,
    ];
    plan[r % N_TABLES].push(BadKind::WrongColumnCount);
    plan[(r + 5) % N_TABLES].push(BadKind::UnparsableNumber);
    plan[DATE_T[r % DATE_T.len()]].push(BadKind::UnparsableDate);
    plan[DOM_T[r % DOM_T.len()]].push(BadKind::OutOfDomain);
    plan[DUP_T[r % DUP_T.len()]].push(BadKind::DuplicateKey);
    plan[E_MAT_ELE].push(BadKind::UnknownResultCode);
    if allow_undecodable {
        plan[(r + 8) % N_TABLES].push(BadKind::UndecodableBytes);
    }
    plan[END_T[r % END_T.len()]].push(BadKind::UnterminatedQuote);
    plan
}

fn dup_values(table: usize, conv: &Conventions) -> [String; 2] {
    let pair = |a: &str, b: &str| [a.to_string(), b.to_string()];
    match table {
        T_ECO => pair("École temporaire", "Pavillon provisoire"),
        T_MAT => pair("Cours en double", "Matière dupliquée"),
        T_MAT_GRP => pair("99", "98"),
        E_MAT_ELE => pair("59", "61"),
        T_LEG => pair("50", "55"),
        T_COTES => pair("50", "45"),
        T_ETAPE => pair("59", "61"),
        T_CAL => pair("1", "2"),
        E_ABS => {
            let a = conv.motifs.first().map_or("X1", |m| m.code);
            let b = conv.motifs.get(1).map_or("X2", |m| m.code);
            pair(a, b)
        }
        T_MOTIF_ABS => pair("Autre motif", "Motif en double"),
        _ => pair("", ""),
    }
}

/// Phase 1: the students of each CSS who move to another CSS.
pub(crate) fn movers(ctx: &Ctx<'_>, ci: usize) -> Result<Vec<Student>, GenerateError> {
    Ok(roster::build(&ctx.roster_params(), ci)?
        .into_iter()
        .filter(|s| s.move_to.is_some())
        .collect())
}

/// Phase 2: writes all the files of one CSS.
pub(crate) fn generate_css(ctx: &Ctx<'_>, ci: usize, incoming: Vec<Student>) -> Result<CssOutput, GenerateError> {
    let code = ctx.css[ci].clone();
    let label = ctx.labels[ci];
    let conv = &ctx.conventions[ci];
    let system = ctx.systems[ci];
    let night_dir = ctx.out.join(&code).join(ctx.night.format("%Y-%m-%d").to_string());
    let dir = night_dir.join(system.as_str());
    std::fs::create_dir_all(&dir).map_err(|e| GenerateError::Write {
        path: dir.clone(),
        message: e.to_string(),
    })?;

    let mut roster = roster::build(&ctx.roster_params(), ci)?;
    let natives = roster.len();
    roster.extend(incoming);
    let schools = choose_schools(ctx, ci, natives)?;
    let n_real = schools.len() - 1;

    let mut base_rng = rng::stream(ctx.seed, &[SALT_SCHOOLS, label, 1]);
    let fiche_base: u64 = 100_000 + base_rng.random_range(0..800_000u64);
    let id_eco_base: u64 = 100 + base_rng.random_range(0..800u64);
    let mut next_grp: u64 = 10_000 + base_rng.random_range(0..80_000u64);
    let mut next_mat_ele: u64 = 1_000_000 + base_rng.random_range(0..1_000_000u64);

    let sink = match system {
        YouthSystem::Gpi => {
            let plan = if ctx.bad_rate > 0.0 {
                forced_plan(ci, conv.allow_undecodable)
            } else {
                vec![Vec::new(); N_TABLES]
            };
            let mut writers = Vec::with_capacity(N_TABLES);
            for (t, forced) in plan.iter().enumerate() {
                let injector = (ctx.bad_rate > 0.0).then(|| {
                    Injector::new(
                        rng::stream(ctx.seed, &[SALT_BAD, label, t as u64]),
                        t,
                        ctx.bad_rate,
                        conv.allow_undecodable,
                        forced,
                        dup_values(t, conv),
                    )
                });
                writers.push(TableWriter::create(&dir, t, conv, injector)?);
            }
            Sink::Gpi(Out {
                w: writers,
                rows: Rows::new(),
            })
        }
        YouthSystem::Mozaik => Sink::Mozaik(MozaikOut::create(&dir, ctx.seed, label, ci, ctx.bad_rate, |t| {
            mozaik_dup_values(t, conv)
        })?),
    };
    let mut out = Youth {
        sink,
        cells: Default::default(),
    };
    let local_codes: Vec<String> = ctx
        .catalog
        .courses
        .iter()
        .map(|c| conv.local_course_code(ctx.seed, &c.canon))
        .collect();

    // Students.
    let mut personal = match &ctx.parts {
        Some(p) => Some(Personal::create(p, &code)?),
        None => None,
    };
    let mut written_students = 0u64;
    for (i, s) in roster.iter().enumerate() {
        if !(0..ctx.years).any(|y| s.enrolled(y, ci)) {
            continue;
        }
        let fiche = fiche_of(fiche_base, i);
        let sexe = std::str::from_utf8(std::slice::from_ref(&s.sexe)).unwrap_or("X");
        match &mut out.sink {
            Sink::Gpi(o) => {
                let row = &mut o.rows.bufs[E_ELE];
                set_num(row, 0, fiche);
                set(row, 1, s.code_perm_str());
                set(row, 2, s.nom);
                set(row, 3, s.pnom);
                set(row, 4, sexe);
                set_date(row, 5, Some(s.birth), conv);
                o.emit(E_ELE)?;
            }
            Sink::Mozaik(m) => {
                let row = &mut m.rows[M_ELEVES];
                row.int(0, fiche);
                row.str(1, s.code_perm_str());
                row.str(2, s.nom);
                row.str(3, s.pnom);
                row.str(4, sexe);
                row.date(5, Some(s.birth));
                m.emit(M_ELEVES)?;
            }
        }
        if s.origin == ci {
            written_students += 1;
            if let Some(p) = personal.as_mut() {
                p.write(s.code_perm_str(), s.nom, s.pnom, s.birth)?;
            }
        }
    }

    let mut collect = Collect {
        truth: HashMap::new(),
        exams: Vec::new(),
    };
    let mut last: Vec<Option<LastYouth>> = vec![None; roster.len()];
    let n_schools = schools.len() as u64;
    for y in 0..ctx.years {
        let year = YearGen {
            ctx,
            ci,
            conv,
            schools: &schools,
            y,
            start: ctx.first_year + y as i32,
            annee: SchoolYear::from_start_year(ctx.first_year + y as i32).to_string(),
            cal: YearCalendar::build(ctx.seed, label, ctx.first_year + y as i32),
            id_eco_base: id_eco_base + y as u64 * n_schools,
            fiche_base,
            local_codes: &local_codes,
        };
        year.write_schools(&mut out)?;
        let mut enrols = year.plan_enrolments(&roster);
        for e in &enrols {
            last[e.stu] = Some(LastYouth {
                y,
                grade: e.grade,
                school: e.school,
                inactive: e.inactive.is_some(),
            });
        }
        year.assign_groups(&mut out, &mut enrols, &mut next_grp)?;
        for school in 0..n_real {
            for e in enrols.iter().filter(|e| e.school == school) {
                year.write_enrolment(&mut out, &roster[e.stu], e, false, &mut next_mat_ele, &mut collect)?;
            }
        }
        for e in enrols.iter().filter(|e| e.dummy) {
            year.write_enrolment(&mut out, &roster[e.stu], e, true, &mut next_mat_ele, &mut collect)?;
        }
    }

    let mut stats = out.finish()?;
    let truth = collect.truth;
    let mut truth_rows: Vec<TruthRow> = Vec::with_capacity(truth.len() * 4);
    for ((y, s, c), per_etape) in truth {
        for (e, counts) in per_etape.iter().enumerate() {
            if counts.iter().sum::<u64>() == 0 {
                continue;
            }
            truth_rows.push(TruthRow {
                annee: SchoolYear::from_start_year(ctx.first_year + y as i32).to_string(),
                eco_off: schools[s].est.clone(),
                code: ctx.catalog.courses[c].canon.clone(),
                etape: ["1", "2", "3", "final"][e],
                counts: *counts,
            });
        }
    }
    let etape_rank = |e: &str| ["1", "2", "3", "final"].iter().position(|x| *x == e).unwrap_or(4);
    truth_rows.sort_by(|a, b| {
        (&a.annee, &a.eco_off, &a.code, etape_rank(a.etape)).cmp(&(&b.annee, &b.eco_off, &b.code, etape_rank(b.etape)))
    });

    // JADE: post-youth trajectories, ministry results and diplomas of this CSS.
    let school_codes: Vec<&str> = schools.iter().map(|s| s.est.as_str()).collect();
    let mut jade = jade::generate(
        ctx,
        ci,
        &night_dir.join("jade"),
        &jade::YouthFacts {
            roster: &roster,
            last: &last,
            exams: &collect.exams,
            schools: &school_codes,
        },
        personal.as_mut(),
    )?;
    if let Some(p) = personal {
        p.finish()?;
    }
    stats.append(&mut jade.stats);
    tracing::info!(
        css = %code,
        system = system.as_str(),
        students = written_students,
        adults = jade.adults,
        schools = n_real,
        rows = stats.iter().map(|s| s.clean).sum::<u64>(),
        bad_rows = stats.iter().map(|s| s.bad).sum::<u64>(),
        "generated CSS exports"
    );
    Ok(CssOutput {
        code,
        system,
        students: written_students,
        schools: n_real,
        stats,
        truth: truth_rows,
        jade,
    })
}

/// Generation of one school year of one CSS.
struct YearGen<'a> {
    ctx: &'a Ctx<'a>,
    ci: usize,
    conv: &'a Conventions,
    schools: &'a [School],
    y: usize,
    start: i32,
    /// The school year's label (`2024-2025`).
    annee: String,
    cal: YearCalendar,
    id_eco_base: u64,
    fiche_base: u64,
    local_codes: &'a [String],
}

impl YearGen<'_> {
    fn current(&self) -> bool {
        self.y + 1 == self.ctx.years
    }

    fn id_eco(&self, school: usize) -> u64 {
        self.id_eco_base + school as u64
    }

    fn etape_done(&self, e: usize) -> bool {
        !self.current() || self.cal.etape(e).1 <= self.ctx.night
    }

    fn final_done(&self) -> bool {
        (0..3).all(|e| self.etape_done(e))
    }

    fn periods_on(day: &Day, periods: u8) -> u8 {
        if day.half { periods.div_ceil(2) } else { periods }
    }

    fn write_schools(&self, youth: &mut Youth<'_>) -> Result<(), GenerateError> {
        match &mut youth.sink {
            Sink::Gpi(out) => self.write_schools_gpi(out),
            Sink::Mozaik(m) => self.write_schools_mozaik(m),
        }
    }

    fn write_schools_gpi(&self, out: &mut Out<'_>) -> Result<(), GenerateError> {
        let conv = self.conv;
        for (s, school) in self.schools.iter().enumerate() {
            let id = self.id_eco(s);
            let row = &mut out.rows.bufs[T_ECO];
            set_num(row, 0, id);
            set(row, 1, &self.ctx.css[self.ci]);
            set_num(row, 2, self.start);
            set(row, 3, &school.eco);
            set(row, 4, &school.est);
            set(row, 5, &school.name);
            set(row, 6, if school.dummy { "1" } else { "0" });
            out.emit(T_ECO)?;

            for e in 0..3 {
                let (deb, fin, n) = self.cal.etape(e);
                let row = &mut out.rows.bufs[T_ETAPE];
                set_num(row, 0, id);
                set_num(row, 1, e + 1);
                set_date(row, 2, Some(deb), conv);
                set_date(row, 3, Some(fin), conv);
                set_num(row, 4, n);
                out.emit(T_ETAPE)?;
            }

            let periods = school.periods(conv);
            let cycle = school.cycle();
            for day in &self.cal.days {
                let row = &mut out.rows.bufs[T_CAL];
                set_num(row, 0, id);
                set_date(row, 1, Some(day.date), conv);
                match day.school {
                    Some(k) => {
                        set_num(row, 2, k % cycle + 1);
                        set_num(row, 3, Self::periods_on(day, periods));
                    }
                    None => {
                        set(row, 2, "");
                        set(row, 3, "0");
                    }
                }
                out.emit(T_CAL)?;
            }

            let mut legends = vec![conv.leg_num];
            if school.letter {
                legends.push(conv.leg_let);
            }
            for leg in &legends {
                let row = &mut out.rows.bufs[T_LEG];
                set_num(row, 0, id);
                set(row, 1, leg);
                row[2].clear();
                conv.push_number(&mut row[2], SEUIL);
                out.emit(T_LEG)?;
            }
            if school.letter {
                for (cote, equiv, indic) in LETTERS {
                    let row = &mut out.rows.bufs[T_COTES];
                    set_num(row, 0, id);
                    set(row, 1, conv.leg_let);
                    set(row, 2, cote);
                    row[3].clear();
                    if let Some(x) = equiv {
                        conv.push_number(&mut row[3], x);
                    }
                    row[4].clear();
                    if let Some(i) = indic {
                        let _ = write!(row[4], "{i}");
                    }
                    out.emit(T_COTES)?;
                }
            }
            for Motif { code, descr, cpt } in conv.motifs {
                let row = &mut out.rows.bufs[T_MOTIF_ABS];
                set_num(row, 0, id);
                set(row, 1, code);
                set(row, 2, descr);
                set_num(row, 3, cpt);
                out.emit(T_MOTIF_ABS)?;
            }
        }
        Ok(())
    }

    fn write_schools_mozaik(&self, m: &mut MozaikOut) -> Result<(), GenerateError> {
        let conv = self.conv;
        let letter_codes = letter_codes_json();
        let mut seuil = String::new();
        results::push_number(&mut seuil, SEUIL, false);
        for (s, school) in self.schools.iter().enumerate() {
            let id = self.id_eco(s);
            let row = &mut m.rows[M_ETAB];
            row.int(0, id);
            row.str(1, &school.est);
            row.str(2, &school.name);
            row.str(3, &self.annee);
            row.bool(4, school.dummy);
            m.emit(M_ETAB)?;

            let periods = school.periods(conv);
            for day in &self.cal.days {
                let row = &mut m.rows[M_CAL];
                row.int(0, id);
                row.date(1, Some(day.date));
                row.bool(2, day.school.is_some());
                row.int(
                    3,
                    if day.school.is_some() {
                        Self::periods_on(day, periods)
                    } else {
                        0
                    },
                );
                m.emit(M_CAL)?;
            }

            let row = &mut m.rows[M_LEG];
            row.int(0, id);
            row.str(1, conv.leg_num);
            row.raw(2, &seuil);
            row.raw(3, "[]");
            m.emit(M_LEG)?;
            if school.letter {
                let row = &mut m.rows[M_LEG];
                row.int(0, id);
                row.str(1, conv.leg_let);
                row.raw(2, &seuil);
                row.raw(3, &letter_codes);
                m.emit(M_LEG)?;
            }
        }
        Ok(())
    }

    /// Decides every enrolment of the year (school, courses, departure...).
    fn plan_enrolments(&self, roster: &[Student]) -> Vec<Enrol> {
        let ctx = self.ctx;
        let n_real = self.schools.len() - 1;
        let cumulative = |primary: bool| -> (Vec<usize>, Vec<f64>) {
            let mut idx = Vec::new();
            let mut cum = Vec::new();
            let mut acc = 0.0;
            for (s, school) in self.schools[..n_real].iter().enumerate() {
                if (primary && school.primary) || (!primary && school.secondary) {
                    acc += school.weight;
                    idx.push(s);
                    cum.push(acc);
                }
            }
            (idx, cum)
        };
        let prim = cumulative(true);
        let sec = cumulative(false);
        let n_days = self.cal.school_days.len();
        let night = ctx.night;
        let current = self.current();
        let mut out = Vec::new();
        for (i, s) in roster.iter().enumerate() {
            if !s.enrolled(self.y, self.ci) {
                continue;
            }
            let fiche = fiche_of(self.fiche_base, i);
            let mut r = rng::stream(ctx.seed, &[SALT_PLAN, ctx.labels[self.ci], fiche, self.y as u64]);
            let grade = s.grade(self.y);
            let primary = grade < 6;
            let (idx, cum) = if primary { &prim } else { &sec };
            let pref = rng::hash(u64::from(s.pref), &[u64::from(primary)]) as u32;
            let school = idx[rng::pick_cumulative(cum, pref)];
            let inactive = if r.random_bool(0.01) {
                Some(if r.random_bool(0.5) { "I" } else { "N" })
            } else {
                None
            };
            let mut deb = self.cal.first_school_day();
            if r.random_bool(0.02) && n_days > 61 {
                let d = self.cal.school_day_date(r.random_range(5..60));
                if !current || d <= night {
                    deb = d;
                }
            }
            let mut depart = None;
            if s.leave_year == Some(self.y as u8) && n_days > 176 {
                let d = self.cal.school_day_date(r.random_range(10..175));
                let motif = DEPART_MOTIFS[r.random_range(0..DEPART_MOTIFS.len())];
                if (!current || d <= night) && d > deb {
                    depart = Some((d, motif));
                }
            }
            let courses = if inactive.is_some() {
                Vec::new()
            } else {
                let mut cr = rng::stream(ctx.seed, &[rng::SALT_CHOICE, ctx.labels[self.ci], fiche, self.y as u64]);
                ctx.catalog.choose(&mut cr, grade as usize, self.start)
            };
            let p_retake = if primary { 0.05 } else { 0.2 };
            let retake = if !courses.is_empty() && r.random_bool(p_retake) {
                Some(courses[r.random_range(0..courses.len())])
            } else {
                None
            };
            let dummy = inactive.is_none() && !courses.is_empty() && r.random_bool(0.005);
            out.push(Enrol {
                stu: i,
                grade,
                school,
                inactive,
                deb,
                depart,
                courses,
                retake,
                dummy,
                groups: Vec::new(),
                retake_grp: 0,
                dummy_groups: Vec::new(),
                homeroom: 0,
            });
        }
        out
    }

    /// The legends of a group for étapes 1-3 and the final result: `true` = letter legend.
    fn legends(&self, school: usize, course: usize, retake: bool) -> [bool; 4] {
        let s = &self.schools[school];
        let lettered = s.letter && !retake && self.ctx.catalog.courses[course].lettered;
        [lettered, lettered, lettered, lettered && s.letter_final]
    }

    /// Creates the subjects and groups of every school, writes gpm_t_mat and gpm_t_mat_grp,
    /// and assigns each enrolment its groups and homeroom.
    fn assign_groups(
        &self,
        youth: &mut Youth<'_>,
        enrols: &mut [Enrol],
        next_grp: &mut u64,
    ) -> Result<(), GenerateError> {
        let catalog = &self.ctx.catalog;
        let nc = catalog.courses.len();
        let conv = self.conv;
        for (s, _) in self.schools.iter().enumerate() {
            let is_dummy = self.schools[s].dummy;
            let mut count = vec![0u32; nc];
            let mut rcount = vec![0u32; nc];
            let mut homerooms: HashMap<i32, u32> = HashMap::new();
            for e in enrols.iter() {
                if is_dummy {
                    if e.dummy {
                        for &c in &e.courses {
                            count[c] += 1;
                        }
                    }
                    continue;
                }
                if e.school != s {
                    continue;
                }
                *homerooms.entry(e.grade).or_default() += 1;
                for &c in &e.courses {
                    count[c] += 1;
                }
                if let Some(c) = e.retake {
                    rcount[c] += 1;
                }
            }
            let ngroups: Vec<u32> = count
                .iter()
                .map(|&n| if is_dummy { u32::from(n > 0) } else { n.div_ceil(28) })
                .collect();
            let mut base = vec![0u64; nc];
            let id = self.id_eco(s);
            for c in 0..nc {
                if count[c] + rcount[c] == 0 {
                    continue;
                }
                let course = &catalog.courses[c];
                base[c] = *next_grp;
                *next_grp += u64::from(ngroups[c]) + u64::from(rcount[c] > 0);
                let out = match &mut youth.sink {
                    Sink::Gpi(out) => out,
                    Sink::Mozaik(m) => {
                        // Mozaïk has no group table: the legends are on each result.
                        let row = &mut m.rows[M_COURS];
                        row.int(0, id);
                        row.str(1, self.local_codes[c].trim());
                        row.str(2, &course.descr);
                        row.int(3, course.unites);
                        m.emit(M_COURS)?;
                        continue;
                    }
                };
                let row = &mut out.rows.bufs[T_MAT];
                set_num(row, 0, id);
                set(row, 1, &self.local_codes[c]);
                set(row, 2, &course.descr);
                set_num(row, 3, course.unites);
                out.emit(T_MAT)?;
                let groups = (0..ngroups[c]).map(|g| (format!("{:02}", g + 1), false));
                let retake = (rcount[c] > 0).then(|| ("R1".to_string(), true));
                for (k, (grp, is_retake)) in groups.chain(retake).enumerate() {
                    let legs = self.legends(s, c, is_retake);
                    let row = &mut out.rows.bufs[T_MAT_GRP];
                    set_num(row, 0, base[c] + k as u64);
                    set_num(row, 1, id);
                    set(row, 2, &self.local_codes[c]);
                    set(row, 3, &grp);
                    for (j, letter) in legs.iter().enumerate() {
                        set(row, 4 + j, if *letter { conv.leg_let } else { conv.leg_num });
                    }
                    out.emit(T_MAT_GRP)?;
                }
            }
            let nh: HashMap<i32, u32> = homerooms.iter().map(|(g, n)| (*g, n.div_ceil(26).max(1))).collect();
            let mut rr = vec![0u32; nc];
            let mut hr: HashMap<i32, u32> = HashMap::new();
            for e in enrols.iter_mut() {
                if is_dummy {
                    if e.dummy {
                        e.dummy_groups = e.courses.iter().map(|&c| (base[c], 0)).collect();
                    }
                    continue;
                }
                if e.school != s {
                    continue;
                }
                let k = hr.entry(e.grade).or_default();
                e.homeroom = *k % nh.get(&e.grade).copied().unwrap_or(1) + 1;
                *k += 1;
                e.groups = e
                    .courses
                    .iter()
                    .map(|&c| {
                        let g = rr[c] % ngroups[c].max(1);
                        rr[c] += 1;
                        (base[c] + u64::from(g), g)
                    })
                    .collect();
                if let Some(c) = e.retake {
                    e.retake_grp = base[c] + u64::from(ngroups[c]);
                }
            }
        }
        Ok(())
    }

    /// Draws one student's result in one course (étapes and final), writes it, counts it in
    /// the truth; returns the `etat` and the final cell.
    #[allow(clippy::too_many_arguments)]
    fn write_result_row(
        &self,
        youth: &mut Youth<'_>,
        r: &mut ChaCha8Rng,
        ids: (u64, u64, u64, usize),
        course: usize,
        grp_label: &str,
        retake: bool,
        stu: &Student,
        e: &Enrol,
        count_truth: Option<&mut [[u64; 7]; 4]>,
    ) -> Result<(u8, Cell), GenerateError> {
        let (id_mat_ele, id_grp, fiche, school) = ids;
        let conv = self.conv;
        let def = &self.ctx.catalog.courses[course];
        let legs = self.legends(school, course, retake);
        let leaver = e.depart.map(|d| d.0);
        let past = !self.current();
        // Mozaïk cannot say "continuing" (GPI's 5): only 0, 1, 6 and 8 are drawn.
        let etat: u8 = if leaver.is_some() {
            0
        } else {
            let x: f64 = r.random();
            match x {
                x if x < 0.01 => 0,
                x if x < 0.02 => 6,
                x if past && x < 0.42 => 8,
                _ => 1,
            }
        };
        let base = 75.0 + f64::from(stu.ability) + rng::normal(r) * 6.0 - if retake { 10.0 } else { 0.0 };
        let mut cells = [Cell::Blank; 4];
        let mut scores = [0.0f64; 3];
        for (k, sc) in scores.iter_mut().enumerate() {
            *sc = results::score(r, base);
            let done = self.etape_done(k) && leaver.is_none_or(|d| self.cal.etape(k).1 <= d);
            if done {
                cells[k] = results::draw_cell(r, *sc, legs[k], &ETAPE_SPECIAL_RATES);
            }
        }
        let final_score = 0.2 * scores[0] + 0.2 * scores[1] + 0.6 * scores[2];
        if self.final_done() && leaver.is_none() {
            cells[3] = results::draw_cell(r, final_score, legs[3], &FINAL_SPECIAL_RATES);
        }

        let Youth { sink, cells: text } = youth;
        let decimal_comma = matches!(sink, Sink::Gpi(_)) && conv.decimal_comma;
        for (cell, t) in cells.iter().zip(text.iter_mut()) {
            cell.write(t, conv, decimal_comma);
        }
        // Units are earned with the final result: none (empty) until there is one.
        let units = (!cells[3].is_blank()).then(|| {
            if def.secondary && results::classify(&text[3], legs[3], conv) == Class::Pass {
                def.unites
            } else {
                0
            }
        });
        if let Some(t) = count_truth
            && etat != 0
        {
            for (k, counts) in t.iter_mut().enumerate() {
                let class = results::classify(&text[k], legs[k], conv);
                if class == Class::Unknown {
                    return Err(GenerateError::Internal(format!(
                        "a result cell of course {} cannot be read back (special value overrides clash?)",
                        def.canon
                    )));
                }
                results::count(counts, class);
            }
        }
        match sink {
            Sink::Gpi(out) => {
                let row = &mut out.rows.bufs[E_MAT_ELE];
                set_num(row, 0, id_mat_ele);
                set_num(row, 1, id_grp);
                set_num(row, 2, fiche);
                set_num(row, 3, self.id_eco(school));
                set(row, 4, &self.local_codes[course]);
                set(row, 5, grp_label);
                set_num(row, 6, etat);
                for (k, t) in text.iter().enumerate() {
                    set(row, 7 + k, t);
                }
                match units {
                    Some(u) => set_num(row, 11, u),
                    None => row[11].clear(),
                }
                out.emit(E_MAT_ELE)?;
            }
            Sink::Mozaik(m) => {
                let id_eco = self.id_eco(school);
                for k in 0..4 {
                    let row = &mut m.rows[M_RES];
                    row.int(0, fiche);
                    row.int(1, id_eco);
                    row.str(2, &self.annee);
                    row.str(3, self.local_codes[course].trim());
                    row.str(4, grp_label);
                    row.str(5, ["1", "2", "3", "sommaire"][k]);
                    row.opt_str(6, &text[k]);
                    row.str(7, if legs[k] { conv.leg_let } else { conv.leg_num });
                    match units {
                        Some(u) => row.int(8, u),
                        None => row.null(8),
                    }
                    row.bool(9, retake);
                    row.str(10, mozaik_etat(etat));
                    m.emit(M_RES)?;
                }
            }
        }
        Ok((etat, cells[3]))
    }

    fn write_enrolment(
        &self,
        youth: &mut Youth<'_>,
        stu: &Student,
        e: &Enrol,
        at_dummy: bool,
        next_mat_ele: &mut u64,
        collect: &mut Collect,
    ) -> Result<(), GenerateError> {
        let conv = self.conv;
        let fiche = fiche_of(self.fiche_base, e.stu);
        let school = if at_dummy { self.schools.len() - 1 } else { e.school };
        let id_eco = self.id_eco(school);
        let primary = e.grade < 6;
        let classe = if primary { e.grade + 1 } else { e.grade - 5 };
        let homeroom = format!("{}{:02}", classe, e.homeroom.max(1));
        let depart = if at_dummy { None } else { e.depart };
        match &mut youth.sink {
            Sink::Gpi(out) => {
                let row = &mut out.rows.bufs[E_DAN];
                set_num(row, 0, fiche);
                set_num(row, 1, id_eco);
                set(row, 2, e.inactive.unwrap_or("A"));
                set(row, 3, if primary { "3" } else { "4" });
                set_num(row, 4, classe);
                set(row, 5, &homeroom);
                set(row, 6, if stu.plan { "1" } else { "0" });
                set(row, 7, stu.difficulte.unwrap_or(""));
                set_date(row, 8, Some(e.deb), conv);
                set_date(row, 9, depart.map(|d| d.0), conv);
                set(row, 10, depart.map_or("", |d| d.1));
                out.emit(E_DAN)?;
            }
            Sink::Mozaik(m) => {
                let row = &mut m.rows[M_FREQ];
                row.int(0, fiche);
                row.int(1, id_eco);
                row.str(2, &self.annee);
                row.str(3, if primary { "primaire" } else { "secondaire" });
                row.int(4, classe);
                row.str(5, &homeroom);
                row.bool(6, stu.plan);
                row.opt_str(7, stu.difficulte.unwrap_or(""));
                row.date(8, Some(e.deb));
                row.date(9, depart.map(|d| d.0));
                row.bool(10, e.inactive.is_none());
                row.opt_str(11, depart.map_or("", |d| d.1));
                m.emit(M_FREQ)?;
            }
        }

        let ctx = self.ctx;
        let salt = if at_dummy { 1u64 } else { 0 };
        let mut r = rng::stream(
            ctx.seed,
            &[SALT_RESULTS, ctx.labels[self.ci], fiche, self.y as u64, salt],
        );
        let groups = if at_dummy { &e.dummy_groups } else { &e.groups };
        for (k, &c) in e.courses.iter().enumerate() {
            let (id_grp, g) = groups.get(k).copied().unwrap_or((0, 0));
            let id = *next_mat_ele;
            *next_mat_ele += 1;
            let grp_label = format!("{:02}", g + 1);
            let t = if at_dummy {
                None
            } else {
                Some(collect.truth.entry((self.y, school, c)).or_insert([[0; 7]; 4]))
            };
            let (etat, final_cell) = self.write_result_row(
                youth,
                &mut r,
                (id, id_grp, fiche, school),
                c,
                &grp_label,
                false,
                stu,
                e,
                t,
            )?;
            // Ministry exams of sec 4 and 5 (JADE's results) follow the school's final result.
            let def = &ctx.catalog.courses[c];
            if !at_dummy && def.ministry && etat != 0 && (etat == 6 || matches!(final_cell, Cell::Number(_))) {
                collect.exams.push(Exam {
                    stu: e.stu,
                    y: self.y,
                    course: c,
                    school,
                    mark: match final_cell {
                        Cell::Number(v) => Some(v),
                        _ => None,
                    },
                    equivalence: etat == 6,
                });
            }
        }
        if !at_dummy && let Some(c) = e.retake {
            let id = *next_mat_ele;
            *next_mat_ele += 1;
            self.write_result_row(
                youth,
                &mut r,
                (id, e.retake_grp, fiche, school),
                c,
                "R1",
                true,
                stu,
                e,
                None,
            )?;
        }
        if !at_dummy && e.inactive.is_none() {
            self.write_absences(youth, stu, e, fiche, id_eco)?;
        }
        Ok(())
    }

    fn write_absences(
        &self,
        youth: &mut Youth<'_>,
        stu: &Student,
        e: &Enrol,
        fiche: u64,
        id_eco: u64,
    ) -> Result<(), GenerateError> {
        const FALLBACK: Motif = Motif {
            code: "NM",
            descr: "Non motivée",
            cpt: 2,
        };
        let ctx = self.ctx;
        let conv = self.conv;
        let cal = &self.cal;
        let mut end = if self.current() { ctx.night } else { NaiveDate::MAX };
        if let Some((d, _)) = e.depart {
            end = end.min(d);
        }
        let first = cal.school_days.partition_point(|&i| cal.days[i].date < e.deb);
        let last = cal.school_days.partition_point(|&i| cal.days[i].date <= end);
        if first >= last {
            return Ok(());
        }
        let periods = self.schools[e.school].periods(conv);
        let p = [0.012, 0.035, 0.09, 0.2][usize::from(stu.abs_tier.min(3))];
        let mut r = rng::stream(ctx.seed, &[SALT_ABSENCES, ctx.labels[self.ci], fiche, self.y as u64]);
        let by_cpt = |cpt: u8| -> Vec<&'static Motif> { conv.motifs.iter().filter(|m| m.cpt == cpt).collect() };
        let excused = by_cpt(1);
        let unexcused = by_cpt(2);
        let late = by_cpt(3);
        let pick = |r: &mut ChaCha8Rng, list: &[&'static Motif], fallback: &'static Motif| -> &'static Motif {
            if list.is_empty() {
                fallback
            } else {
                list[r.random_range(0..list.len())]
            }
        };
        let write_row = |youth: &mut Youth<'_>, day: &Day, periode: u8, motif: &Motif| -> Result<(), GenerateError> {
            match &mut youth.sink {
                Sink::Gpi(out) => {
                    let row = &mut out.rows.bufs[E_ABS];
                    set_num(row, 0, fiche);
                    set_num(row, 1, id_eco);
                    set_date(row, 2, Some(day.date), conv);
                    set_num(row, 3, periode);
                    set(row, 4, motif.code);
                    out.emit(E_ABS)
                }
                Sink::Mozaik(m) => {
                    let row = &mut m.rows[M_ABS];
                    row.int(0, fiche);
                    row.int(1, id_eco);
                    row.date(2, Some(day.date));
                    row.int(3, periode);
                    row.str(4, motif.code);
                    row.str(5, mozaik_categorie(motif.cpt));
                    m.emit(M_ABS)
                }
            }
        };
        let long_weight = if stu.abs_tier >= 2 { 0.08 } else { 0.01 };
        let fallback: &'static Motif = conv.motifs.first().unwrap_or(&FALLBACK);
        let mut i = first.saturating_add(rng::geometric(&mut r, p).min(1_000) as usize);
        while i < last {
            let roll: f64 = r.random();
            if roll < 0.5 {
                let len = match rng::weighted(&mut r, &[0.55, 0.30, 0.12, long_weight]) {
                    0 => 1,
                    1 => r.random_range(2..=3),
                    2 => r.random_range(4..=8),
                    _ => r.random_range(9..=20),
                };
                let motif = if r.random_bool(0.65) {
                    pick(&mut r, &excused, fallback)
                } else {
                    pick(&mut r, &unexcused, fallback)
                };
                for d in i..(i + len).min(last) {
                    let day = &cal.days[cal.school_days[d]];
                    for periode in 1..=Self::periods_on(day, periods) {
                        write_row(youth, day, periode, motif)?;
                    }
                }
                i += len;
            } else if roll < 0.82 {
                let day = &cal.days[cal.school_days[i]];
                let np = Self::periods_on(day, periods);
                let start = r.random_range(1..=np);
                let n = r.random_range(1..=2u8).min(np - start + 1);
                let motif = if r.random_bool(0.5) {
                    pick(&mut r, &excused, fallback)
                } else {
                    pick(&mut r, &unexcused, fallback)
                };
                for periode in start..start + n {
                    write_row(youth, day, periode, motif)?;
                }
                i += 1;
            } else {
                let day = &cal.days[cal.school_days[i]];
                let motif = pick(&mut r, &late, fallback);
                let periode = if r.random_bool(0.7) {
                    1
                } else {
                    r.random_range(1..=Self::periods_on(day, periods))
                };
                write_row(youth, day, periode, motif)?;
                i += 1;
            }
            i = i.saturating_add(rng::geometric(&mut r, p).min(1_000) as usize);
        }
        Ok(())
    }
}

/// Writes the bad-row part of the truth for one CSS.
pub(crate) fn write_bad_rows_part(parts: &Path, out: &CssOutput) -> Result<(), GenerateError> {
    let path = parts.join(format!("bad_rows_{}.csv", out.code));
    let f = File::create(&path).map_err(|e| GenerateError::Write {
        path: path.clone(),
        message: e.to_string(),
    })?;
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(BufWriter::new(f));
    for st in &out.stats {
        for b in &st.bad_log {
            w.write_record([
                out.code.as_str(),
                st.file.as_str(),
                b.line.to_string().as_str(),
                b.kind,
                b.column.unwrap_or_default(),
            ])
            .map_err(|e| GenerateError::Write {
                path: path.clone(),
                message: e.to_string(),
            })?;
        }
    }
    w.flush().map_err(|e| GenerateError::Write {
        path,
        message: e.to_string(),
    })
}

/// The real schools (dummy excluded) the youth generator uses for CSS `ci`, whatever its youth
/// system: the Dofin administrative units follow them (finance.rs).
pub(crate) fn youth_schools(ctx: &Ctx<'_>, ci: usize) -> Result<Vec<crate::finance::SchoolRef>, GenerateError> {
    Ok(choose_schools(ctx, ci, ctx.counts[ci])?
        .into_iter()
        .filter(|s| !s.dummy)
        .map(|s| crate::finance::SchoolRef {
            est: s.est,
            name: s.name,
            primary: s.primary,
            secondary: s.secondary,
        })
        .collect())
}
