//! JADE-style exports (`formats/jade.md`): adult general education (FGA), vocational training
//! (FP), and the ministry's results and diplomas, under `jade/e_*.csv`, with the CSS's CSV
//! conventions (encoding, delimiter, dates, header case, column order, extra columns) and bad
//! rows of every CSV kind.
//!
//! Everything here follows the youth facts of the same CSS, whatever its youth system:
//! - **Diplomas** (`e_ri_mentions`): a student who finishes secondary 5 (in sec 5 in a year, not
//!   leaving, not in school the next year) gets a DES dated early July (93%), at the school of
//!   its sec 5; since students repeat a secondary year now and then, the DES comes 5, 6 or 7
//!   years after entering sec 1. The others, and students who leave from sec 3 or later, go on
//!   (or not) to FGA (service `FGA` in an adult-education centre; half of the sec 5 finishers
//!   without a DES, a quarter of the leavers, then obtain a DES through FGA) or FP (service `FP`
//!   in a vocational centre, then a DEP for most); 12% of DES holders also go on to FP.
//! - **Students** (`e_ele`): those with a FGA or FP spell, under JADE's own fiche numbers, with
//!   the code permanent, names and birth date of their youth record, plus adults never in the
//!   youth sector (about one for 25 youth students).
//! - **Centres** (`t_ecocen`): every establishment of the CSS with the `ADULTE` or `FORM_PRO`
//!   flag in the ministry registry (codes are never invented). A CSS with none has no centre, no
//!   JADE student and no spell: only the ministry results and the youth DES are written (no
//!   CSS of the current registry is in that case).
//! - **Ministry results** (`e_ri_resultats`): for the youth students' sec 4 and sec 5 courses
//!   that have a ministry exam in the registry sample (132506, 134504, 136506, 063414, 064426,
//!   065426, 055444, 057416, 085404, 087404), June session (`moissanct` 6) of the course's
//!   school year, when the youth final result is a number (or the result is an equivalence:
//!   `EQU`, passed): `resecobrute` is that final result, `resecomod` the moderated school mark
//!   (within 5 points), `resoffbrute` the exam mark, `resofffinal` the blend of both with the
//!   year's weight of the school mark ([`school_weight`]), `indreuscharl` `R` at 60 or more,
//!   else `E`; 1.5% are absent from the exam (`ABS`, failed). A failed June result is retaken
//!   in August (`moissanct` 8) or January (1) 40% of the time; `annee` is the start year of the
//!   school year the session falls in. Each result has 1 to 3 copies with increasing
//!   `datehrerecup` (the earlier ones: result not received yet, `RIN`, or before moderation),
//!   not always in time order in the file: only the latest copy is the truth. Adults who obtain
//!   a DES through FGA have a French 5 result (`AD`) in the month of their diploma.
//!
//! Program codes are illustrative: DEP programs as numbered in the ministry's catalogue, FGA
//! services `FBD`, `FBC`, `FRA` (diversified and common basic education, francisation), and
//! `DES-FGJ` / `DES-FGA` for the DES of the youth sector and of adult education.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use socle_core::SchoolYear;

use crate::GenerateError;
use crate::calendar::ymd;
use crate::conventions::{Conventions, DateFormat};
use crate::css::{Ctx, Personal};
use crate::names;
use crate::results::parse_number;
use crate::rng::{self, SALT_ADULTS, SALT_BAD, SALT_JADE, SALT_JADE_RES};
use crate::roster::{Student, is_english_board};
use crate::tables::{BadKind, J_ECOCEN, J_ELE, J_FREQ, J_MENT, J_RES, JADE_TABLES, TABLES};
use crate::writer::{Injector, TableStats, TableWriter};

/// A student's last youth enrolment in this CSS.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LastYouth {
    pub y: usize,
    pub grade: i32,
    pub school: usize,
    pub inactive: bool,
}

/// A youth final result in a course with a ministry exam.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exam {
    pub stu: usize,
    pub y: usize,
    pub course: usize,
    pub school: usize,
    /// The final result, when it is a number.
    pub mark: Option<f64>,
    pub equivalence: bool,
}

/// The youth facts of one CSS that JADE follows.
pub(crate) struct YouthFacts<'a> {
    pub roster: &'a [Student],
    pub last: &'a [Option<LastYouth>],
    pub exams: &'a [Exam],
    /// Establishment code of each school index.
    pub schools: &'a [&'a str],
}

/// What the JADE export of one CSS reports.
#[derive(Debug, Default)]
pub(crate) struct JadeOutput {
    pub stats: Vec<TableStats>,
    /// (school year of the date, diploma type) -> obtained mentions (clean rows).
    pub sanctions: BTreeMap<(String, &'static str), u64>,
    /// (school year, course) -> (students whose latest June copy has a numeric final result,
    /// of whom passed).
    pub ministere: BTreeMap<(String, String), (u64, u64)>,
    /// JADE students (`e_ele` rows), of whom adults never in the youth sector.
    pub students: u64,
    pub adults: u64,
    /// Establishment codes of the centres.
    pub centres: Vec<String>,
}

/// Weight of the (moderated) school mark in the final mark of a ministry exam, by the start
/// year of the school year. The generator's own data (the real weights changed over the years:
/// 50/50 earlier, 80/20 recently); Socle keeps the real ones as data, never as a constant.
pub(crate) fn school_weight(start_year: i32) -> f64 {
    if start_year >= 2021 { 0.8 } else { 0.5 }
}

/// DEP programs: (code, name, school years).
const DEP_PROGRAMS: [(&str, &str, usize); 8] = [
    ("5357", "Secrétariat", 2),
    ("5231", "Comptabilité", 2),
    ("5311", "Cuisine", 1),
    ("5298", "Mécanique automobile", 2),
    ("5325", "Santé, assistance et soins infirmiers", 2),
    ("5245", "Coiffure", 1),
    ("5295", "Électricité", 2),
    ("5358", "Assistance à la personne en établissement et à domicile", 1),
];

const FGA_DES: &str = "FBD";
const FGA_OTHER: [&str; 2] = ["FBC", "FRA"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Fga,
    Fp,
}

#[derive(Debug, Clone)]
struct Centre {
    ecocen: String,
    est: String,
    name: String,
    fp: bool,
    fga: bool,
}

/// One program at one centre, over one or more school years (one `e_freq` row per year).
#[derive(Debug, Clone)]
struct Spell {
    service: Service,
    centre: usize,
    prog: &'static str,
    /// Start year of the spell's first school year.
    start_year: i32,
    n_years: usize,
    first_day: NaiveDate,
    last_day: NaiveDate,
    /// Reason for leaving at the end: `DIP`, `ABA`, `FIN`.
    motif: &'static str,
}

#[derive(Debug, Clone)]
struct Mention {
    est: String,
    prog: &'static str,
    kind: &'static str,
    obtained: bool,
    date: NaiveDate,
    /// Obtained as a JADE student (fiche written) rather than in the youth sector.
    jade: bool,
}

/// A JADE student's identity.
struct Person<'a> {
    code_perm: &'a str,
    nom: &'a str,
    pnom: &'a str,
    sexe: u8,
    birth: NaiveDate,
}

#[derive(Default)]
struct Plan {
    spells: Vec<Spell>,
    mentions: Vec<Mention>,
}

fn add_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(Days::new(n)).unwrap_or(d)
}

/// The centres of a CSS: its registry establishments with the FP or adult flag.
fn centres(ctx: &Ctx<'_>, ci: usize) -> Vec<Centre> {
    let code = &ctx.css[ci];
    let mut r = rng::stream(ctx.seed, &[SALT_ADULTS, ctx.labels[ci], 0]);
    let ests: Vec<_> = ctx
        .registry
        .establishments_of(code)
        .filter(|e| e.vocational || e.adult)
        .collect();
    let mut numbers: Vec<u32> = (300..300 + ests.len() as u32 + 40).collect();
    numbers.shuffle(&mut r);
    numbers.truncate(ests.len());
    numbers.sort_unstable();
    let mut order: Vec<usize> = (0..ests.len()).collect();
    order.shuffle(&mut r);
    let mut out: Vec<Centre> = vec![
        Centre {
            ecocen: String::new(),
            est: String::new(),
            name: String::new(),
            fp: false,
            fga: false,
        };
        ests.len()
    ];
    for (k, &i) in order.iter().enumerate() {
        let e = ests[i];
        out[i] = Centre {
            ecocen: numbers[k].to_string(),
            est: e.code.clone(),
            name: e.name.clone(),
            fp: e.vocational,
            fga: e.adult,
        };
    }
    out.sort_by(|a, b| a.ecocen.cmp(&b.ecocen));
    out
}

/// Picks a centre offering a service (stable per student preference).
fn pick_centre(centres: &[Centre], service: Service, pref: u64) -> Option<usize> {
    let idx: Vec<usize> = centres
        .iter()
        .enumerate()
        .filter(|(_, c)| match service {
            Service::Fp => c.fp,
            Service::Fga => c.fga,
        })
        .map(|(i, _)| i)
        .collect();
    (!idx.is_empty()).then(|| idx[(pref % idx.len() as u64) as usize])
}

struct Planner<'a> {
    first_year: i32,
    years: usize,
    centres: &'a [Centre],
}

impl Planner<'_> {
    fn start(&self, y: usize) -> i32 {
        self.first_year + y as i32
    }

    /// A spell starting in school year `y`; `None` when the CSS has no such centre or the year
    /// is not generated.
    fn spell(&self, r: &mut ChaCha8Rng, service: Service, y: usize, prog: Option<&'static str>) -> Option<Spell> {
        if y >= self.years {
            return None;
        }
        let centre = pick_centre(self.centres, service, r.random())?;
        let start = self.start(y);
        let (prog, n_years) = match service {
            Service::Fp => {
                let (code, _, n) = DEP_PROGRAMS[r.random_range(0..DEP_PROGRAMS.len())];
                (code, n)
            }
            Service::Fga => (
                prog.unwrap_or(FGA_OTHER[r.random_range(0..FGA_OTHER.len())]),
                r.random_range(1..=2usize),
            ),
        };
        // FGA has continuous intake: some start in January.
        let first_day = if service == Service::Fga && r.random_bool(0.3) {
            ymd(start + 1, 1, r.random_range(8..=20))
        } else {
            add_days(ymd(start, 8, 25), r.random_range(0..12))
        };
        let end_year = start + n_years as i32;
        let last_day = if service == Service::Fga && r.random_bool(0.25) {
            ymd(end_year - 1, 12, r.random_range(10..=20))
        } else {
            ymd(end_year, 6, r.random_range(10..=22))
        };
        let last_day = last_day.max(add_days(first_day, 30));
        Some(Spell {
            service,
            centre,
            prog,
            start_year: start,
            n_years,
            first_day,
            last_day,
            motif: "FIN",
        })
    }

    /// Ends a spell with a diploma (or not) and records its mention.
    fn outcome(&self, plan: &mut Plan, mut spell: Spell, p_diploma: f64, r: &mut ChaCha8Rng) {
        let obtained = r.random_bool(p_diploma);
        let (kind, prog) = match spell.service {
            Service::Fp => ("DEP", spell.prog),
            Service::Fga => ("DES", "DES-FGA"),
        };
        if obtained {
            spell.motif = "DIP";
        } else {
            spell.motif = if r.random_bool(0.6) { "ABA" } else { "FIN" };
        }
        // A failed vocational program sometimes has its "not obtained" mention.
        if obtained || (spell.service == Service::Fp && r.random_bool(0.3)) {
            plan.mentions.push(Mention {
                est: self.centres[spell.centre].est.clone(),
                prog,
                kind,
                obtained,
                date: spell.last_day,
                jade: true,
            });
        }
        plan.spells.push(spell);
    }

    /// What a youth student does after the youth sector.
    fn youth(&self, r: &mut ChaCha8Rng, s: &Student, last: &LastYouth, school_est: &str) -> Plan {
        let mut plan = Plan::default();
        let next = last.y + 1;
        let finished = last.grade == 10 && next < self.years && s.leave_year != Some(last.y as u8);
        let left = s.leave_year == Some(last.y as u8);
        if finished && !last.inactive {
            if r.random_bool(0.93) {
                let date = ymd(self.start(last.y) + 1, 7, r.random_range(2..=9));
                plan.mentions.push(Mention {
                    est: school_est.to_string(),
                    prog: "DES-FGJ",
                    kind: "DES",
                    obtained: true,
                    date,
                    jade: false,
                });
                if r.random_bool(0.12)
                    && let Some(sp) = self.spell(r, Service::Fp, next, None)
                {
                    self.outcome(&mut plan, sp, 0.8, r);
                }
            } else if r.random_bool(0.6)
                && let Some(sp) = self.spell(r, Service::Fga, next, Some(FGA_DES))
            {
                self.outcome(&mut plan, sp, 0.5, r);
            }
        } else if (finished && last.inactive) || (left && last.grade >= 8) {
            let u: f64 = r.random();
            let y = next;
            if u < 0.35 {
                if let Some(sp) = self.spell(r, Service::Fga, y, Some(FGA_DES)) {
                    self.outcome(&mut plan, sp, 0.25, r);
                }
            } else if u < 0.5
                && last.grade >= 9
                && let Some(sp) = self.spell(r, Service::Fp, y, None)
            {
                self.outcome(&mut plan, sp, 0.65, r);
            }
        }
        plan
    }

    /// An adult never in the youth sector.
    fn adult(&self, r: &mut ChaCha8Rng, first: bool) -> Plan {
        let mut plan = Plan::default();
        let y = if first { 0 } else { r.random_range(0..self.years) };
        let fp = r.random_bool(0.35);
        let (service, other) = if fp {
            (Service::Fp, Service::Fga)
        } else {
            (Service::Fga, Service::Fp)
        };
        let prog = if r.random_bool(0.5) { Some(FGA_DES) } else { None };
        let sp = self
            .spell(r, service, y, prog)
            .or_else(|| self.spell(r, other, y, prog));
        if let Some(sp) = sp {
            let p = match (sp.service, sp.prog) {
                (Service::Fp, _) => 0.7,
                (Service::Fga, FGA_DES) => 0.3,
                (Service::Fga, _) => 0.0,
            };
            self.outcome(&mut plan, sp, p, r);
        }
        plan
    }
}

/// The JADE writers of one CSS and their row buffers.
struct Out<'c> {
    w: Vec<TableWriter<'c>>,
    rows: Vec<Vec<String>>,
}

impl Out<'_> {
    /// Index in `w` of a JADE table.
    fn slot(table: usize) -> usize {
        table - J_ELE
    }

    fn row(&mut self, table: usize) -> &mut Vec<String> {
        &mut self.rows[Self::slot(table)]
    }

    fn emit(&mut self, table: usize) -> Result<(), GenerateError> {
        let k = Self::slot(table);
        self.w[k].write(&self.rows[k])
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

/// A timestamp in the CSS's date style: ISO with a space (also for compact dates, which have
/// no timestamp form), or day-first.
fn set_timestamp(row: &mut [String], i: usize, t: NaiveDateTime, conv: &Conventions) {
    row[i].clear();
    let f = match conv.date_format {
        DateFormat::Dmy => "%d/%m/%Y %H:%M:%S",
        DateFormat::Iso | DateFormat::Compact => "%Y-%m-%d %H:%M:%S",
    };
    let _ = write!(row[i], "{}", t.format(f));
}

/// The kinds each JADE table of one CSS must receive (indexed like [`JADE_TABLES`]).
fn forced_plan(ci: usize, allow_undecodable: bool) -> Vec<Vec<BadKind>> {
    let n = JADE_TABLES.len();
    let mut plan: Vec<Vec<BadKind>> = vec![Vec::new(); n];
    let r = ci;
    let pos = |t: usize| t - J_ELE;
    const NUM_T: [usize; 4] = [J_ELE, J_FREQ, J_RES, J_MENT];
    const DOM_T: [usize; 4] = [J_FREQ, J_RES, J_MENT, J_ECOCEN];
    const END_T: [usize; 3] = [J_ELE, J_FREQ, J_RES];
    plan[r % n].push(BadKind::WrongColumnCount);
    plan[pos(NUM_T[r % 4])].push(BadKind::UnparsableNumber);
    plan[pos(NUM_T[(r + 1) % 4])].push(BadKind::UnparsableDate);
    plan[pos(DOM_T[(r + 2) % 4])].push(BadKind::OutOfDomain);
    plan[(r + 3) % n].push(BadKind::DuplicateKey);
    if allow_undecodable {
        plan[(r + 4) % n].push(BadKind::UndecodableBytes);
    }
    plan[pos(END_T[r % 3])].push(BadKind::UnterminatedQuote);
    plan
}

fn dup_values(table: usize) -> [String; 2] {
    let pair = |a: &str, b: &str| [a.to_string(), b.to_string()];
    match table {
        J_ELE => pair("F", "M"),
        J_FREQ => pair("FIN", "FRE"),
        J_RES => pair("59", "61"),
        J_MENT => pair("N", "O"),
        _ => pair("Centre en double", "Autre centre"),
    }
}

/// One version of a ministry result.
#[derive(Debug, Clone, Default)]
struct Version {
    ecobrute: String,
    ecomod: String,
    offbrute: String,
    offfinal: String,
    reussite: &'static str,
}

/// Generates and writes the JADE export of CSS `ci`.
pub(crate) fn generate(
    ctx: &Ctx<'_>,
    ci: usize,
    dir: &Path,
    facts: &YouthFacts<'_>,
    mut personal: Option<&mut Personal>,
) -> Result<JadeOutput, GenerateError> {
    let code = &ctx.css[ci];
    let label = ctx.labels[ci];
    let conv = &ctx.conventions[ci];
    std::fs::create_dir_all(dir).map_err(|e| GenerateError::Write {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let plan = if ctx.bad_rate > 0.0 {
        forced_plan(ci, conv.allow_undecodable)
    } else {
        vec![Vec::new(); JADE_TABLES.len()]
    };
    let mut writers = Vec::with_capacity(JADE_TABLES.len());
    for (k, &t) in JADE_TABLES.iter().enumerate() {
        let injector = (ctx.bad_rate > 0.0).then(|| {
            Injector::new(
                rng::stream(ctx.seed, &[SALT_BAD, label, t as u64]),
                t,
                ctx.bad_rate,
                conv.allow_undecodable,
                &plan[k],
                dup_values(t),
            )
        });
        writers.push(TableWriter::create(dir, t, conv, injector)?);
    }
    let mut out = Out {
        w: writers,
        rows: JADE_TABLES
            .iter()
            .map(|&t| vec![String::new(); TABLES[t].columns.len()])
            .collect(),
    };
    let mut res = JadeOutput::default();
    let night = ctx.night;

    let centres = centres(ctx, ci);
    for c in &centres {
        let row = out.row(J_ECOCEN);
        set(row, 0, &c.ecocen);
        set(row, 1, &c.est);
        set(row, 2, &c.name);
        out.emit(J_ECOCEN)?;
    }
    res.centres = centres.iter().map(|c| c.est.clone()).collect();
    let planner = Planner {
        first_year: ctx.first_year,
        years: ctx.years,
        centres: &centres,
    };

    // Students and their spells and diplomas, youth students first (roster order), then
    // adults never in the youth sector.
    let mut r_css = rng::stream(ctx.seed, &[SALT_ADULTS, label, 1]);
    let fiche_base: u64 = 1_000_000 + r_css.random_range(0..8_000_000u64);
    let mut next_fiche = fiche_base;
    let mut mentions_out: Vec<(String, Option<u64>, Mention)> = Vec::new();
    let mut ad_exams: Vec<(String, u64, Mention)> = Vec::new();
    for (i, s) in facts.roster.iter().enumerate() {
        let Some(last) = facts.last[i] else { continue };
        if s.last_css(ctx.years) != Some(ci) {
            continue;
        }
        let mut r = rng::stream(ctx.seed, &[SALT_JADE, rng::label(s.code_perm_str())]);
        let school = facts.schools.get(last.school).copied().unwrap_or("");
        let plan = planner.youth(&mut r, s, &last, school);
        let person = Person {
            code_perm: s.code_perm_str(),
            nom: s.nom,
            pnom: s.pnom,
            sexe: s.sexe,
            birth: s.birth,
        };
        write_person(
            &mut out,
            ctx.seed,
            &person,
            &plan,
            &centres,
            code,
            conv,
            night,
            &mut next_fiche,
            &mut mentions_out,
            &mut ad_exams,
            &mut res,
        )?;
    }
    let n_adults = if centres.is_empty() {
        0
    } else {
        (ctx.counts[ci] / 25).max(1)
    };
    let english = is_english_board(code);
    let seq = u8::try_from(ci % 100).unwrap_or(0);
    let mut seen: HashSet<[u8; 12]> = HashSet::with_capacity(n_adults * 2);
    let mut r_ad = rng::stream(ctx.seed, &[SALT_ADULTS, label, 2]);
    for a in 0..n_adults {
        let sexe = match rng::weighted(&mut r_ad, &[0.55, 0.445, 0.005]) {
            0 => b'F',
            1 => b'M',
            _ => b'X',
        };
        // Born 20 to 50 years before the first school year: never in the generated youth
        // sector, whose students are born later (so codes permanents never collide).
        let by = ctx.first_year - r_ad.random_range(20..=50);
        let mut birth = add_days(ymd(by, 1, 1), r_ad.random_range(0..360));
        let mut tries = 0u32;
        let (id, cp) = loop {
            let id = names::draw_identity(&mut r_ad, sexe, english);
            let cp = names::code_permanent(&id, sexe, birth, seq);
            if seen.insert(cp) {
                break (id, cp);
            }
            tries += 1;
            if tries.is_multiple_of(50) {
                birth = birth.succ_opt().unwrap_or(birth);
            }
            if tries > 100_000 {
                return Err(GenerateError::Internal(format!(
                    "cannot draw unique codes permanents for the adults of CSS {code}"
                )));
            }
        };
        let cp_str = std::str::from_utf8(&cp).unwrap_or("");
        let mut r = rng::stream(ctx.seed, &[SALT_JADE, rng::label(cp_str)]);
        let plan = planner.adult(&mut r, a == 0);
        let person = Person {
            code_perm: cp_str,
            nom: id.nom,
            pnom: id.pnom,
            sexe,
            birth,
        };
        let before = res.students;
        write_person(
            &mut out,
            ctx.seed,
            &person,
            &plan,
            &centres,
            code,
            conv,
            night,
            &mut next_fiche,
            &mut mentions_out,
            &mut ad_exams,
            &mut res,
        )?;
        if res.students > before {
            res.adults += 1;
            if let Some(p) = personal.as_deref_mut() {
                p.write(cp_str, id.nom, id.pnom, birth)?;
            }
        }
    }

    // Diplomas.
    for (cp, fiche, m) in &mentions_out {
        let row = out.row(J_MENT);
        set(row, 0, cp);
        match fiche {
            Some(f) => set_num(row, 1, f),
            None => row[1].clear(),
        }
        set(row, 2, &m.est);
        set(row, 3, m.prog);
        set(row, 4, m.kind);
        set(row, 5, if m.obtained { "O" } else { "N" });
        set_date(row, 6, Some(m.date), conv);
        out.emit(J_MENT)?;
        if m.obtained {
            let annee = SchoolYear::containing(m.date.year(), m.date.month()).to_string();
            *res.sanctions.entry((annee, m.kind)).or_default() += 1;
        }
    }

    // Ministry results: youth (JE), then adults' (AD).
    let mut buf = Vec::new();
    for e in facts.exams {
        let s = &facts.roster[e.stu];
        let def = &ctx.catalog.courses[e.course];
        let start = ctx.first_year + e.y as i32;
        let mut r = rng::stream(
            ctx.seed,
            &[
                SALT_JADE_RES,
                rng::label(s.code_perm_str()),
                rng::label(&def.canon),
                start as u64,
            ],
        );
        let school = facts.schools.get(e.school).copied().unwrap_or("");
        let key = ResultKey {
            code_perm: s.code_perm_str(),
            fiche: None,
            est: school,
            course: &def.canon,
            unites: def.unites,
            secteur: "JE",
        };
        let june = session_date(start + 1, 6, &mut r);
        let versions = if e.equivalence {
            vec![Version {
                offfinal: "EQU".into(),
                reussite: "R",
                ..Version::default()
            }]
        } else {
            let m = e.mark.unwrap_or(0.0);
            exam_versions(&mut r, conv, m, start, 0.0, true)
        };
        let latest = write_copies(&mut out, &mut r, conv, &key, start, 6, june, &versions, night, &mut buf)?;
        if let Some(v) = &latest {
            let ms = res
                .ministere
                .entry((SchoolYear::from_start_year(start).to_string(), def.canon.clone()))
                .or_default();
            if parse_number(&v.offfinal).is_some() {
                ms.0 += 1;
                ms.1 += u64::from(v.reussite == "R");
            }
        }
        // Retake of a failed June exam, in August or January.
        if let (Some(v), Some(m)) = (&latest, e.mark)
            && v.reussite == "E"
            && parse_number(&v.offfinal).is_some()
            && r.random_bool(0.4)
        {
            let (month, date) = if r.random_bool(0.7) {
                (8, session_date(start + 1, 8, &mut r))
            } else {
                (1, session_date(start + 2, 1, &mut r))
            };
            let versions = exam_versions(&mut r, conv, m, start, 5.0, false);
            write_copies(
                &mut out,
                &mut r,
                conv,
                &key,
                start + 1,
                month,
                date,
                &versions,
                night,
                &mut buf,
            )?;
        }
    }
    for (cp, fiche, m) in &ad_exams {
        let mut r = rng::stream(ctx.seed, &[SALT_JADE_RES, rng::label(cp), 1]);
        let key = ResultKey {
            code_perm: cp,
            fiche: Some(*fiche),
            est: &m.est,
            course: "132506",
            unites: 6,
            secteur: "AD",
        };
        // French 5, a few weeks before the diploma.
        let date = m.date.checked_sub_days(Days::new(20)).unwrap_or(m.date);
        let start = SchoolYear::containing(date.year(), date.month()).start_year();
        let mark = f64::from(r.random_range(64..=92u8));
        let versions = exam_versions(&mut r, conv, mark, start, 6.0, false);
        let latest = write_copies(
            &mut out,
            &mut r,
            conv,
            &key,
            start,
            date.month(),
            date,
            &versions,
            night,
            &mut buf,
        )?;
        if date.month() == 6
            && let Some(v) = latest
            && parse_number(&v.offfinal).is_some()
        {
            let ms = res
                .ministere
                .entry((SchoolYear::from_start_year(start).to_string(), "132506".to_string()))
                .or_default();
            ms.0 += 1;
            ms.1 += u64::from(v.reussite == "R");
        }
    }

    for w in out.w {
        res.stats.push(w.finish()?);
    }
    Ok(res)
}

/// Writes a JADE student's `e_ele` and `e_freq` rows (if a spell has started by the night) and
/// queues its mentions (and, for a DES through FGA, its French 5 result).
#[allow(clippy::too_many_arguments)]
fn write_person(
    out: &mut Out<'_>,
    seed: u64,
    p: &Person<'_>,
    plan: &Plan,
    centres: &[Centre],
    org: &str,
    conv: &Conventions,
    night: NaiveDate,
    next_fiche: &mut u64,
    mentions: &mut Vec<(String, Option<u64>, Mention)>,
    ad_exams: &mut Vec<(String, u64, Mention)>,
    res: &mut JadeOutput,
) -> Result<(), GenerateError> {
    let started = plan.spells.iter().any(|s| s.first_day <= night);
    let fiche = if started {
        let f = *next_fiche;
        *next_fiche += 1;
        let row = out.row(J_ELE);
        set_num(row, 0, f);
        set(row, 1, p.code_perm);
        set(row, 2, p.nom);
        set(row, 3, p.pnom);
        set_date(row, 4, Some(p.birth), conv);
        set(
            row,
            5,
            std::str::from_utf8(std::slice::from_ref(&p.sexe)).unwrap_or("X"),
        );
        out.emit(J_ELE)?;
        res.students += 1;
        Some(f)
    } else {
        None
    };
    if let Some(f) = fiche {
        for sp in &plan.spells {
            let centre = &centres[sp.centre];
            let mut r = rng::stream(seed, &[SALT_JADE, rng::label(p.code_perm), sp.start_year as u64]);
            for k in 0..sp.n_years {
                let start = sp.start_year + k as i32;
                let deb = if k == 0 {
                    sp.first_day
                } else {
                    add_days(ymd(start, 8, 25), r.random_range(0..10))
                };
                if deb > night {
                    break;
                }
                let is_last = k + 1 == sp.n_years;
                let fin = if is_last { sp.last_day } else { ymd(start + 1, 6, 21) };
                let open = fin > night;
                let row = out.row(J_FREQ);
                set_num(row, 0, f);
                set_num(row, 1, start);
                set(row, 2, &centre.ecocen);
                set(row, 3, sp.prog);
                set_date(row, 4, Some(deb), conv);
                set(row, 5, org);
                set(row, 6, if sp.service == Service::Fp { "FP" } else { "FGA" });
                set(row, 7, if r.random_bool(0.2) { "FIN" } else { "FRE" });
                set_date(row, 8, (!open).then_some(fin), conv);
                set(row, 9, if is_last && !open { sp.motif } else { "" });
                out.emit(J_FREQ)?;
            }
        }
    }
    for m in &plan.mentions {
        if m.date > night {
            continue;
        }
        let f = if m.jade { fiche } else { None };
        if m.jade && f.is_none() {
            continue;
        }
        mentions.push((p.code_perm.to_string(), f, m.clone()));
        if let Some(f) = f
            && m.obtained
            && m.kind == "DES"
        {
            ad_exams.push((p.code_perm.to_string(), f, m.clone()));
        }
    }
    Ok(())
}

/// A session's date: around the 20th of the month.
fn session_date(year: i32, month: u32, r: &mut ChaCha8Rng) -> NaiveDate {
    ymd(year, month, r.random_range(12..=24))
}

fn fmt_mark(conv: &Conventions, x: f64) -> String {
    let mut s = String::new();
    conv.push_number(&mut s, x);
    s
}

/// The versions of one exam result, oldest first; the last one is the truth. `bonus`: a retake
/// goes a little better.
fn exam_versions(
    r: &mut ChaCha8Rng,
    conv: &Conventions,
    m: f64,
    start: i32,
    bonus: f64,
    may_be_absent: bool,
) -> Vec<Version> {
    let moderation = (rng::normal(r) * 2.0).round().clamp(-5.0, 5.0);
    // Within 5 points of the raw mark, even from a half mark.
    let ecomod = (m + moderation)
        .round()
        .clamp((m - 5.0).ceil(), (m + 5.0).floor())
        .clamp(0.0, 100.0);
    let exam = (m - 3.0 + bonus + rng::normal(r) * 9.0).clamp(0.0, 100.0).round();
    let w = school_weight(start);
    let blend = |school: f64| (w * school + (1.0 - w) * exam).round();
    let absent = may_be_absent && r.random_bool(0.015);
    let final_v = if absent {
        Version {
            ecobrute: fmt_mark(conv, m),
            ecomod: fmt_mark(conv, ecomod),
            offbrute: "ABS".into(),
            offfinal: "ABS".into(),
            reussite: "E",
        }
    } else {
        let f = blend(ecomod);
        Version {
            ecobrute: fmt_mark(conv, m),
            ecomod: fmt_mark(conv, ecomod),
            offbrute: fmt_mark(conv, exam),
            offfinal: fmt_mark(conv, f),
            reussite: if f >= 60.0 { "R" } else { "E" },
        }
    };
    let n = 1 + rng::weighted(r, &[0.55, 0.3, 0.15]);
    let mut out = Vec::with_capacity(n);
    for _ in 1..n {
        if r.random_bool(0.5) {
            out.push(Version {
                ecobrute: fmt_mark(conv, m),
                offfinal: "RIN".into(),
                ..Version::default()
            });
        } else {
            // Before moderation.
            let f = blend(m);
            out.push(Version {
                ecobrute: fmt_mark(conv, m),
                ecomod: fmt_mark(conv, m),
                offbrute: fmt_mark(conv, exam),
                offfinal: fmt_mark(conv, f),
                reussite: if f >= 60.0 { "R" } else { "E" },
            });
        }
    }
    out.push(final_v);
    out
}

struct ResultKey<'a> {
    code_perm: &'a str,
    fiche: Option<u64>,
    est: &'a str,
    course: &'a str,
    unites: u8,
    secteur: &'static str,
}

/// Writes the copies of one result (those retrieved by the night), in time order or not;
/// returns the latest written version.
#[allow(clippy::too_many_arguments)]
fn write_copies(
    out: &mut Out<'_>,
    r: &mut ChaCha8Rng,
    conv: &Conventions,
    key: &ResultKey<'_>,
    annee: i32,
    month: u32,
    session: NaiveDate,
    versions: &[Version],
    night: NaiveDate,
    order: &mut Vec<usize>,
) -> Result<Option<Version>, GenerateError> {
    let mut when: Vec<NaiveDateTime> = Vec::with_capacity(versions.len());
    let mut day = add_days(session, r.random_range(10..=20));
    for _ in versions {
        let t = day
            .and_hms_opt(r.random_range(1..=5), r.random_range(0..60), r.random_range(0..60))
            .unwrap_or_default();
        when.push(t);
        day = add_days(day, r.random_range(3..=40));
    }
    let kept = when.iter().filter(|t| t.date() < night).count();
    if kept == 0 {
        return Ok(None);
    }
    order.clear();
    order.extend(0..kept);
    if kept > 1 && r.random_bool(0.3) {
        order.reverse();
    }
    for &k in order.iter() {
        let v = &versions[k];
        let row = out.row(J_RES);
        set(row, 0, key.code_perm);
        match key.fiche {
            Some(f) => set_num(row, 1, f),
            None => row[1].clear(),
        }
        set(row, 2, key.est);
        set(row, 3, key.course);
        set_num(row, 4, annee);
        set_num(row, 5, month);
        set(row, 6, &v.ecobrute);
        set(row, 7, &v.ecomod);
        set(row, 8, &v.offbrute);
        set(row, 9, &v.offfinal);
        set(row, 10, v.reussite);
        set_num(row, 11, key.unites);
        set(row, 12, "FG");
        set(row, 13, key.secteur);
        set_timestamp(row, 14, when[k], conv);
        out.emit(J_RES)?;
    }
    Ok(Some(versions[kept - 1].clone()))
}
